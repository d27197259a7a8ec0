"""Settings: checks with reasons, presets, saving and loading."""

import json
from dataclasses import replace

import pytest

from chatdesk import config
from chatdesk.config import Settings, SettingsError


def test_the_defaults_are_valid_and_sample_as_the_engine_expects():
    settings = Settings()
    assert config.problems(settings) == []
    assert settings.sampling().temperature == 0.7 and settings.sampling().max_tokens == 512


@pytest.mark.parametrize("change, reason", [
    ({"temperature": -0.1}, "Temperature"),
    ({"temperature": "hot"}, "Temperature"),
    ({"top_p": 1.5}, "Top-p"),
    ({"top_k": -1}, "Top-k"),
    ({"min_p": 2}, "Min-p"),
    ({"repeat_penalty": 0}, "Repeat penalty"),
    ({"max_tokens": 0}, "Max reply tokens"),
    ({"context_length": 100}, "Context length"),
    ({"max_tokens": 4096, "context_length": 4096}, "smaller than the context"),
    ({"threads": -2}, "Threads"),
    ({"disk_cache_mb": -1}, r"Prompt cache on disk \(MB\)"),
    ({"model_folders": ("/no/such/folder",)}, "Model folder not found"),
])
def test_invalid_values_are_refused_with_a_reason(change, reason):
    with pytest.raises(SettingsError, match=reason):
        config.checked(replace(Settings(), **change))


def test_presets_apply_and_user_presets_are_kept():
    precise = config.with_preset(Settings(), "Precise")
    assert precise.temperature == 0.2 and precise.max_tokens == 512
    mine = config.save_preset(replace(Settings(), temperature=1.3, system_prompt="Talk like a pirate."), "Pirate")
    back = config.with_preset(Settings(presets=mine.presets), "Pirate")
    assert back.temperature == 1.3 and back.system_prompt == "Talk like a pirate."
    with pytest.raises(SettingsError):
        config.save_preset(Settings(), "Balanced")
    with pytest.raises(SettingsError):
        config.with_preset(Settings(), "Nope")


def test_settings_survive_a_restart(private_home):
    saved = replace(Settings(), temperature=0.3, model_folders=(str(private_home),), presets={"x": {"top_k": 5}})
    path = config.save_settings(saved)
    assert path == private_home / "data" / "settings.json"
    loaded, warning = config.load_settings()
    assert loaded == saved and warning is None


@pytest.mark.parametrize("content", ["{broken", json.dumps({"temperature": 9}), json.dumps(["a list"])])
def test_an_unusable_settings_file_falls_back_to_defaults_with_a_warning(private_home, content):
    path = config.settings_file()
    path.parent.mkdir(parents=True)
    path.write_text(content)
    loaded, warning = config.load_settings()
    assert loaded == Settings() and "could not be used" in warning
    assert path.read_text() == content  # left alone for the user to look at


def test_saving_over_a_damaged_settings_file_keeps_it_beside(private_home):
    path = config.settings_file()
    path.parent.mkdir(parents=True)
    path.write_text('{"presets": {"Mine": {"temperature": 0.3}}, "top_k": ')  # cut off mid-write, say
    loaded, warning = config.load_settings()
    assert loaded == Settings() and "is kept" in warning
    config.save_settings(replace(loaded, temperature=0.4))
    [kept] = path.parent.glob("settings.json.damaged-*")
    assert kept.read_text() == '{"presets": {"Mine": {"temperature": 0.3}}, "top_k": '  # the user's presets, kept
    assert config.load_settings() == (replace(Settings(), temperature=0.4), None)
    config.save_settings(Settings())  # a sound file is replaced as before, nothing more kept
    assert len(list(path.parent.glob("settings.json.damaged-*"))) == 1
