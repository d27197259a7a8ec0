"""The model library: every GGUF in chatdesk's model folders, described from its metadata."""

from __future__ import annotations

import errno
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from chatdesk import paths
from chatdesk.catalog import models

log = logging.getLogger(__name__)
OFFLINE = ("The Hugging Face Hub cannot be reached: this computer seems to be offline. "
           "Download the .gguf file elsewhere and add it with “Add a model”.")
ELSEWHERE = "Download it in a browser (signed in, if it needs that) and add it with “Add a model”."


@dataclass(frozen=True)
class ModelEntry:
    """One GGUF file as the library shows it; `problem` says why it cannot be used."""

    path: Path
    name: str
    architecture: str | None = None
    parameters: int | None = None
    quantization: str | None = None
    file_size: int = 0
    context_length: int | None = None
    has_chat_template: bool = False
    problem: str | None = None

    def label(self) -> str:
        """One line for a model picker."""
        if self.problem:
            return f"{self.name} · unusable: {self.problem}"
        parts = [self.name, self.architecture, _count(self.parameters), self.quantization,
                 f"{self.file_size / 2**20:,.0f} MB", f"{self.context_length:,} ctx" if self.context_length else None,
                 None if self.has_chat_template else "no chat template"]
        return " · ".join(p for p in parts if p)


def describe(path: Path) -> ModelEntry:
    """What a GGUF file is, read from its metadata without loading the weights."""
    try:
        info = models.inspect_gguf(path)
    except models.ModelFileError as error:
        size = path.stat().st_size if path.is_file() else 0
        return ModelEntry(path, path.stem, file_size=size, problem=str(error))
    return ModelEntry(info.path, path.stem, info.architecture, info.parameter_count, info.quantization,
                      info.file_size, info.context_length, bool(info.chat_template))


def model_folders(extra: tuple[str, ...] = ()) -> list[Path]:
    """Folders searched for models: the shipped one, the user's, then the ones added in settings."""
    folders = [*paths.model_search_dirs(), *(Path(f).expanduser() for f in extra)]
    unique = []
    for folder in folders:
        if folder.resolve() not in [u.resolve() for u in unique]:
            unique.append(folder)
    return unique


def scan(extra_folders: tuple[str, ...] = ()) -> list[ModelEntry]:
    """Every GGUF file in the model folders, by name."""
    found: dict[Path, ModelEntry] = {}
    for folder in model_folders(extra_folders):
        if folder.is_dir():
            for path in sorted(folder.glob("*.gguf")):
                found.setdefault(path.resolve(), describe(path))
    return sorted(found.values(), key=lambda entry: entry.name.lower())


def add_model(source: Path, *, move: bool = False) -> ModelEntry:
    """Check a GGUF file and put it in the user's models folder (moved, linked or copied)."""
    source = Path(source).expanduser()
    entry = describe(source)
    if entry.problem:
        raise models.ModelFileError(entry.problem)
    folder = paths.user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (source.name if source.suffix == ".gguf" else source.name + ".gguf")
    if target.exists() and target.resolve() != source.resolve():
        raise models.ModelFileError(f"A model called {target.name} is already in the library.")
    if not target.exists():
        _place(source, target, move)
    return describe(target)


class HubUnavailable(RuntimeError):
    """The Hugging Face Hub could not be used, with a message saying why."""


def download_from_hub(repo_id: str, filename: str) -> ModelEntry:
    """Fetch a GGUF from the Hugging Face Hub into the user's models folder; only ever on request."""
    repo_id, filename = repo_id.strip(), filename.strip()
    if not repo_id or not filename.endswith(".gguf"):
        raise HubUnavailable("Give a repository (owner/name) and the name of a .gguf file in it.")
    import huggingface_hub
    from huggingface_hub import constants

    was_offline = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = False  # chatdesk keeps the hub switched off except for this request
    try:
        path = huggingface_hub.hf_hub_download(repo_id, filename, local_dir=paths.user_models_dir())
    except Exception as error:
        log.warning("downloading %s from %s failed", filename, repo_id, exc_info=True)
        raise HubUnavailable(_download_problem(error, repo_id, filename)) from error
    finally:
        constants.HF_HUB_OFFLINE = was_offline
    return add_model(Path(path))


def _download_problem(error: Exception, repo_id: str, filename: str) -> str:
    """What went wrong with a download from the Hub, told apart: refused, missing, disk, offline, other."""
    from huggingface_hub import errors

    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, errors.GatedRepoError) or status in (401, 403):
        return (f"The Hub refused to give {filename} from {repo_id} (HTTP {status}): the repository may be private "
                f"or gated, or not exist. Check its name. {ELSEWHERE}")
    if isinstance(error, (errors.RepositoryNotFoundError, errors.RemoteEntryNotFoundError,
                          errors.RevisionNotFoundError)) or status == 404:
        return f"{repo_id} has no file {filename} that can be downloaded ({type(error).__name__})."
    if isinstance(error, errors.HfHubHTTPError) and status:
        return f"The Hub answered with an error (HTTP {status}). Try again later, or: {ELSEWHERE}"
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"The disk is full: {filename} could not be saved in {paths.user_models_dir()}. Free some space and try again."
    if isinstance(error, OSError) and error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{filename} could not be saved in {paths.user_models_dir()}: {error.strerror}."
    if _is_unreachable(error):
        return OFFLINE
    return f"The download failed ({type(error).__name__}: {error}). {ELSEWHERE}"


def _is_unreachable(error: Exception) -> bool:
    """Whether the Hub could not be reached at all: no network, DNS, refused connection, timeout, proxy."""
    from huggingface_hub import errors

    transport = tuple(getattr(module, "TransportError") for module in _http_modules())
    return isinstance(error, (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled, ConnectionError,
                              TimeoutError, OSError, *transport))


def _http_modules() -> list:
    """The HTTP clients the hub library may use (httpx2 in recent versions, httpx before)."""
    import importlib

    found = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            pass
    return found


def _place(source: Path, target: Path, move: bool) -> None:
    """Move an upload; link a file the user points at (no copy of gigabytes when avoidable)."""
    if move:
        shutil.move(source, target)
        return
    try:
        os.link(source, target)
    except OSError:
        try:
            target.symlink_to(source.resolve())
        except OSError:
            shutil.copy2(source, target)


def _count(parameters: int | None) -> str | None:
    if not parameters:
        return None
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if parameters >= size:
            return f"{parameters / size:.3g}{unit} params"
    return f"{parameters} params"
