"""Models that cannot be used give a clear message, never a crash."""

import os

import gguf
import numpy as np
import pytest

from chatdesk.engine.local import LocalEngine
from chatdesk.errors import ModelError


def test_a_missing_file(tmp_path):
    with pytest.raises(ModelError, match="(?i)not found"):
        LocalEngine(tmp_path / "nope.gguf")


def test_a_file_that_is_not_gguf(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("these are my notes, not a model\n" * 10)
    with pytest.raises(ModelError, match="(?i)not a GGUF"):
        LocalEngine(path)


def test_a_truncated_download(tmp_path, model_path):
    path = tmp_path / "truncated.gguf"
    with open(model_path, "rb") as source:
        path.write_bytes(source.read(30_000_000))
    with pytest.raises(ModelError, match="ends early|truncated|incomplete|corrupt"):
        LocalEngine(path)


def test_a_file_with_corrupt_metadata(tmp_path, model_path):
    path = tmp_path / "corrupt.gguf"
    data = bytearray(model_path.read_bytes())
    data[24:64] = os.urandom(40)  # the first key's length and name
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError):
        LocalEngine(path)


def test_a_model_larger_than_memory(tmp_path):
    path = tmp_path / "huge.gguf"
    writer = gguf.GGUFWriter(path, "llama")
    shape = (1 << 20, 1 << 16)  # 64 Gi F32 elements: 256 GiB
    writer.add_tensor_info("token_embd.weight", shape, np.float32, 4 * shape[0] * shape[1])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    with open(path, "r+b") as sparse:  # the size without the bytes: nothing is written to disk
        sparse.truncate(os.path.getsize(path) + 4 * shape[0] * shape[1] + 64)
    with pytest.raises(ModelError, match="memory"):
        LocalEngine(path)
