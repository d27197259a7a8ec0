"""Settings checked field by field (each reason shown under its field), the preset shown, the theme."""

from dataclasses import replace

import pytest

from chatdesk import config
from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.errors import InvalidSettings


@pytest.mark.parametrize("change, expected", [
    ({}, {}),
    ({"temperature": 3}, {"temperature": "Temperature"}),
    ({"top_k": None, "min_p": -1}, {"top_k": "Top-k", "min_p": "Min-p"}),
    ({"max_tokens": 4096, "context_length": 4096}, {"max_tokens": "smaller than the context length"}),
    ({"max_tokens": 0, "context_length": 100}, {"max_tokens": "Max reply tokens", "context_length": "Context"}),
    ({"model_folders": ("/no/such/folder",)}, {"model_folders": "Model folder not found: /no/such/folder"}),
    ({"theme": "purple"}, {"theme": "Theme must be one of system, light, dark"}),
])
def test_each_bad_field_gets_its_own_reason(change, expected):
    found = config.field_problems(replace(Settings(), **change))
    assert set(found) == set(expected)
    for name, words in expected.items():
        assert words in found[name]


def test_refused_settings_name_their_fields_and_change_nothing(private_home):
    host = ModelHost(None, Settings())
    with pytest.raises(InvalidSettings) as refused:
        host.apply_settings(replace(Settings(), temperature=5, top_p=2, system_prompt="Kept?"))
    assert set(refused.value.fields) == {"temperature", "top_p"}
    assert "Temperature" in str(refused.value) and "Top-p" in str(refused.value)
    assert host.settings == Settings() and not config.settings_file().exists()


@pytest.mark.parametrize("change, shown", [
    ({}, "Balanced"),
    (config.BUILTIN_PRESETS["Precise"], "Precise"),
    ({**config.BUILTIN_PRESETS["Creative"], "max_tokens": 100, "system_prompt": "Be brief."}, "Creative"),
    ({"temperature": 0.71}, "Custom"),
    ({"temperature": 1.3, "presets": {"Pirate": {"temperature": 1.3}}}, "Pirate"),
])
def test_the_preset_shown_is_the_one_the_settings_match(change, shown):
    assert config.matching_preset(replace(Settings(), **change)) == shown


def test_custom_cannot_be_a_preset_name():
    with pytest.raises(config.SettingsError):
        config.save_preset(Settings(), "Custom")


def test_the_theme_is_remembered_and_a_bad_one_falls_back_to_following_the_system(private_home):
    config.save_settings(replace(Settings(), theme="dark"))
    assert config.load_settings()[0].theme == "dark"
    config.settings_file().write_text('{"theme": "neon"}')
    loaded, warning = config.load_settings()
    assert loaded.theme == "system" and "Theme" in warning
