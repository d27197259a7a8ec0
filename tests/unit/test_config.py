"""Settings: checks with reasons, presets, saving and loading."""

import json
from dataclasses import replace

import pytest

from chatdesk import cli, config
from chatdesk.config import Settings, SettingsError
from chatdesk.core.host import ModelHost
from chatdesk.errors import UserError


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
    saved = replace(Settings(), temperature=0.3, model_folders=(str(private_home),), presets={"x": {"top_k": 5}},
                    server_url="http://gpu-box:8080/v1", server_model="qwen3", servers=("http://gpu-box:8080/v1",))
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


def write_settings(values):
    path = config.settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    return path


def test_one_unusable_setting_keeps_the_others_and_the_presets_survive_the_next_save(private_home):
    pirate = {"temperature": 1.3, "system_prompt": "Talk like a pirate."}
    path = write_settings({"temperature": 9, "top_k": 5, "system_prompt": "Be terse.", "presets": {"Pirate": pirate}})
    loaded, warning = config.load_settings()
    assert (loaded.top_k, loaded.system_prompt, loaded.presets) == (5, "Be terse.", {"Pirate": pirate})
    assert loaded.temperature == Settings().temperature and "Temperature" in warning
    config.save_settings(replace(loaded, min_p=0.1))
    assert json.loads(path.read_text())["presets"] == {"Pirate": pirate}


@pytest.mark.parametrize("values, reason", [
    ({"max_tokens": 3000, "context_length": 2048}, "smaller than the context"),
    ({"system_prompt": 42}, "System prompt must be text"),
    ({"presets": ["Pirate"]}, "Presets"),
    ({"model_folders": "/models"}, "Model folders"),
])
def test_a_setting_of_the_wrong_kind_is_left_at_its_default_with_a_reason(private_home, values, reason):
    write_settings({**values, "top_k": 7})
    loaded, warning = config.load_settings()
    assert reason in warning and loaded.top_k == 7 and config.problems(loaded) == []


def test_a_missing_model_folder_is_kept_and_other_changes_are_still_accepted(private_home, tmp_path):
    unplugged = str(tmp_path / "usb-drive" / "models")
    write_settings({"model_folders": [unplugged], "temperature": 0.3})
    loaded, warning = config.load_settings()
    assert warning is None and loaded.model_folders == (unplugged,) and loaded.temperature == 0.3
    host = ModelHost(None, loaded)
    host.apply_settings(replace(host.settings, temperature=0.4))
    assert config.load_settings()[0] == replace(loaded, temperature=0.4)
    with pytest.raises(UserError, match="Model folder not found"):  # a folder newly added must exist
        host.apply_settings(replace(host.settings, model_folders=(unplugged, str(tmp_path / "typo"))))


def test_command_line_options_are_used_but_not_saved(private_home, tmp_path):
    config.save_settings(replace(Settings(), max_tokens=300, threads=1))
    args = cli.parse_args(["--model", str(tmp_path / "elsewhere.gguf"), "--max-tokens", "99", "--context", "1024",
                           "--threads", "2"])
    session = cli.load_session(args)
    try:
        host = session.host
        assert (host.params.max_tokens, host.settings.context_length, host.settings.threads) == (99, 1024, 2)
        host.apply_settings(replace(host.settings, temperature=0.2))
        saved = json.loads(config.settings_file().read_text())
        assert (saved["temperature"], saved["max_tokens"], saved["context_length"], saved["threads"],
                saved["model"]) == (0.2, 300, 4096, 1, "")
        host.apply_settings(replace(host.settings, max_tokens=200))  # changed by the user: saved
        assert json.loads(config.settings_file().read_text())["max_tokens"] == 200
    finally:
        session.close()


@pytest.mark.parametrize("argv, server_url, server_model", [
    ([], "http://saved:8080/v1", "saved-model"),
    (["--server", "http://gpu-box:8080", "--server-model", "qwen3"], "http://gpu-box:8080", "qwen3"),
    (["--model", "/models/x.gguf"], "", "saved-model"),  # a model file given runs here
])
def test_the_command_line_picks_a_server_or_a_local_model(argv, server_url, server_model):
    saved = replace(Settings(), server_url="http://saved:8080/v1", server_model="saved-model")
    settings = replace(saved, **cli.options(cli.parse_args(argv)))
    assert (settings.server_url, settings.server_model) == (server_url, server_model)


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
