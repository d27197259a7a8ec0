"""The model library: GGUF files found and described without loading them; adding a model."""

import gguf
import numpy as np
import pytest

from chatdesk import paths
from chatdesk.catalog import library, models


def write_gguf(path, *, context=2048, template="{{ messages }}"):
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("Tiny")
    writer.add_context_length(context)
    if template:
        writer.add_chat_template(template)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    writer.add_tensor("token_embd.weight", np.zeros((8, 4), dtype=np.float16))
    writer.add_tensor("output.weight", np.zeros((2, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def user_models():
    folder = paths.user_models_dir()
    folder.mkdir(parents=True)
    return folder


def test_the_library_describes_every_gguf_from_its_metadata(user_models, monkeypatch):
    monkeypatch.setattr(paths, "shipped_models_dir", lambda: None)
    write_gguf(user_models / "tiny-chat.gguf")
    write_gguf(user_models / "tiny-base.gguf", context=512, template=None)
    (user_models / "broken.gguf").write_text("not a model")
    (user_models / "notes.txt").write_text("ignored")
    entries = {entry.name: entry for entry in library.scan()}
    assert set(entries) == {"tiny-chat", "tiny-base", "broken"}
    chat = entries["tiny-chat"]
    assert (chat.architecture, chat.parameters, chat.context_length, chat.has_chat_template) == ("llama", 40, 2048, True)
    assert chat.quantization and chat.file_size > 0 and chat.problem is None
    assert entries["tiny-base"].has_chat_template is False and "no chat template" in entries["tiny-base"].label()
    assert "Not a GGUF" in entries["broken"].problem and "unusable" in entries["broken"].label()


def test_folders_added_in_settings_are_searched(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "shipped_models_dir", lambda: None)
    extra = tmp_path / "my-models"
    extra.mkdir()
    write_gguf(extra / "elsewhere.gguf")
    assert [e.name for e in library.scan((str(extra),))] == ["elsewhere"]


def test_adding_a_model_puts_it_in_the_users_folder(tmp_path):
    source = write_gguf(tmp_path / "download.gguf")
    entry = library.add_model(source)
    assert entry.path.parent == paths.user_models_dir() and entry.problem is None
    assert source.exists()  # a file the user pointed at stays where it was
    uploaded = write_gguf(tmp_path / "upload.gguf")
    moved = library.add_model(uploaded, move=True)
    assert moved.path.exists() and not uploaded.exists()


def test_adding_something_that_is_not_a_model_is_refused(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 10)
    with pytest.raises(models.ModelFileError):
        library.add_model(bad)
    assert not paths.user_models_dir().exists() or not any(paths.user_models_dir().iterdir())


def test_the_hub_download_says_plainly_when_offline(monkeypatch):
    import huggingface_hub

    def unreachable(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    from huggingface_hub import constants

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", unreachable)
    before = constants.HF_HUB_OFFLINE
    with pytest.raises(library.HubUnavailable, match="offline"):
        library.download_from_hub("someone/model", "model.gguf")
    assert constants.HF_HUB_OFFLINE == before  # switched back off


def test_the_hub_download_needs_a_gguf_name():
    with pytest.raises(library.HubUnavailable, match=".gguf"):
        library.download_from_hub("someone/model", "README.md")


def hub_answers(status):
    """The error the hub library raises for an HTTP answer with this status."""
    import httpx2
    from huggingface_hub.utils import hf_raise_for_status

    url = "https://huggingface.co/someone/model/resolve/main/model.gguf"
    try:
        hf_raise_for_status(httpx2.Response(status, request=httpx2.Request("GET", url)))
    except Exception as error:
        return error
    raise AssertionError(f"HTTP {status} raised nothing")


def no_space():
    import errno
    import os

    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def not_reachable():
    from huggingface_hub.errors import LocalEntryNotFoundError

    return LocalEntryNotFoundError("An error happened while trying to locate the file on the Hub and we cannot "
                                   "find the requested files in the local cache.")


@pytest.mark.parametrize("failure, says", [
    (lambda: hub_answers(401), r"refused.*HTTP 401"),
    (lambda: hub_answers(403), r"refused.*HTTP 403"),
    (lambda: hub_answers(500), r"answered with an error \(HTTP 500\)"),
    (no_space, "disk is full"),
    (not_reachable, "offline"),
])
def test_a_failed_download_says_what_went_wrong_not_always_offline(monkeypatch, caplog, failure, says):
    import huggingface_hub

    def download(*args, **kwargs):
        raise failure()

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    with pytest.raises(library.HubUnavailable, match=says):
        library.download_from_hub("someone/model", "model.gguf")
    assert "model.gguf" in caplog.text  # and the log keeps the details
