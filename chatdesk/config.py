"""Settings: a dataclass with defaults, checks, presets, saved as JSON under the data dir."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from chatdesk import paths
from chatdesk.engine.generation import SamplingParams

SETTINGS_FILE = "settings.json"
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
SAMPLING_FIELDS = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens")


class SettingsError(ValueError):
    """Settings that cannot be used, with every reason."""


@dataclass(frozen=True)
class Settings:
    """What a user can tune; every field has a sensible default."""

    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    """Sent first in every new conversation."""
    temperature: float = SamplingParams.temperature
    """Randomness of sampling: 0 always picks the likeliest token."""
    top_p: float = SamplingParams.top_p
    """Sample only from the most likely tokens whose probabilities add up to this."""
    top_k: int = SamplingParams.top_k
    """Sample only from this many most likely tokens (0: no limit)."""
    min_p: float = SamplingParams.min_p
    """Drop tokens less likely than this fraction of the likeliest one."""
    repeat_penalty: float = SamplingParams.repeat_penalty
    """Above 1 discourages repeating recent tokens."""
    max_tokens: int = SamplingParams.max_tokens
    """The longest reply, in tokens."""
    context_length: int = 4096
    """Tokens of conversation the model sees at once."""
    threads: int = 0
    """CPU threads for generation (0: chosen from the core count)."""
    gpu_layers: int = 0
    """Layers offloaded to a GPU, when llama.cpp was built with one (-1: all)."""
    disk_cache_mb: int = 2048
    """Model states kept on disk, so a long chat reopened after a restart is not computed again (0: none)."""
    model: str = ""
    """The GGUF file to load ("": the default model)."""
    model_folders: tuple[str, ...] = ()
    """Extra folders searched for GGUF files."""
    presets: dict = field(default_factory=dict)
    """The user's named presets: name -> the sampling fields and system prompt."""

    def sampling(self) -> SamplingParams:
        """The sampling part, for the engine."""
        return SamplingParams(**{name: getattr(self, name) for name in SAMPLING_FIELDS})


BUILTIN_PRESETS = {
    "Balanced": {"temperature": 0.7, "top_p": 0.95, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1},
    "Precise": {"temperature": 0.2, "top_p": 0.9, "top_k": 20, "min_p": 0.1, "repeat_penalty": 1.1},
    "Creative": {"temperature": 1.0, "top_p": 0.98, "top_k": 80, "min_p": 0.02, "repeat_penalty": 1.05},
}
PRESET_FIELDS = (*SAMPLING_FIELDS, "system_prompt")

LIMITS = {  # field: (lowest, highest)
    "temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "top_k": (0, 1000), "min_p": (0.0, 1.0),
    "repeat_penalty": (0.5, 2.0), "max_tokens": (1, 32768), "context_length": (256, 131072),
    "threads": (0, 256), "gpu_layers": (-1, 1000), "disk_cache_mb": (0, 1 << 20),
}


def problems(settings: Settings) -> list[str]:
    """Every reason these settings cannot be used (empty when they are fine)."""
    found = []
    for name, (low, high) in LIMITS.items():
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            found.append(f"{_label(name)} must be a number from {low} to {high} (got {value!r}).")
    if isinstance(settings.max_tokens, int) and isinstance(settings.context_length, int) \
            and settings.max_tokens >= settings.context_length:
        found.append("Max reply tokens must be smaller than the context length.")
    for folder in settings.model_folders:
        if not Path(folder).expanduser().is_dir():
            found.append(f"Model folder not found: {folder}")
    return found


def checked(settings: Settings) -> Settings:
    """The settings, or SettingsError listing what is wrong."""
    found = problems(settings)
    if found:
        raise SettingsError(" ".join(found))
    return settings


def with_preset(settings: Settings, name: str) -> Settings:
    """The settings with a built-in or saved preset applied."""
    values = BUILTIN_PRESETS.get(name) or settings.presets.get(name)
    if values is None:
        raise SettingsError(f"There is no preset called {name!r}.")
    return replace(settings, **{k: v for k, v in values.items() if k in PRESET_FIELDS})


def save_preset(settings: Settings, name: str) -> Settings:
    """The settings with their sampling and system prompt kept as a named preset."""
    name = name.strip()
    if not name or name in BUILTIN_PRESETS:
        raise SettingsError("Give the preset a new name (the built-in ones cannot be replaced).")
    preset = {k: getattr(settings, k) for k in PRESET_FIELDS}
    return replace(settings, presets={**settings.presets, name: preset})


def settings_file() -> Path:
    """Where settings are saved."""
    return paths.data_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> tuple[Settings, str | None]:
    """Saved settings (defaults for anything missing), and a warning if the file was unusable."""
    path = path or settings_file()
    if not path.exists():
        return Settings(), None
    settings, problem = _read(path)
    if problem is None:
        return settings, None
    return Settings(), (f"The settings file {path} could not be used ({problem}); defaults are in effect. "
                        f"The file is kept: saving settings first moves it aside as {path.name}.damaged-DATE.")


def _read(path: Path) -> tuple[Settings, str | None]:
    """The settings in a file, or the defaults and why the file cannot be used."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("it does not hold a JSON object")
        known = {f.name for f in fields(Settings)}
        values = {k: tuple(v) if k == "model_folders" else v for k, v in raw.items() if k in known}
        return checked(Settings(**values)), None
    except (OSError, ValueError, TypeError) as error:
        return Settings(), str(error)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings atomically (keeping a damaged file they replace); returns the file."""
    path = path or settings_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and _read(path)[1] is not None:
        keep_damaged(path)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(settings), indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)
    return path


def keep_damaged(path: Path) -> Path:
    """Move a file chatdesk could not use aside, to a dated name beside it; never delete it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = path.with_name(f"{path.name}.damaged-{stamp}"), 1
    while target.exists():
        target, n = path.with_name(f"{path.name}.damaged-{stamp}-{n}"), n + 1
    os.replace(path, target)
    return target


def _label(name: str) -> str:
    return {"top_p": "Top-p", "top_k": "Top-k", "min_p": "Min-p", "max_tokens": "Max reply tokens",
            "gpu_layers": "GPU layers", "disk_cache_mb": "Prompt cache on disk (MB)"}.get(name, name.replace("_", " ").capitalize())
