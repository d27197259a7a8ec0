"""Settings: a dataclass with defaults, checks, presets, saved as JSON under the data dir."""

from __future__ import annotations

import json
import math
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
    """Settings that cannot be used, with every reason; `fields` maps each bad field to its own reason."""

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.fields = dict(fields or {})


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
    server_url: str = ""
    """An inference server to chat through instead of a local model ("": none, and no connection is made)."""
    server_model: str = ""
    """The model to use on that server ("": its first)."""
    servers: tuple[str, ...] = ()
    """Servers added in the Model panel (their API keys are kept apart, never here)."""
    theme: str = "system"
    """The page's colours: "system" follows the computer's light or dark mode; "light" or "dark" stay so."""

    def sampling(self) -> SamplingParams:
        """The sampling part, for the engine."""
        return SamplingParams(**{name: getattr(self, name) for name in SAMPLING_FIELDS})


BUILTIN_PRESETS = {
    "Balanced": {"temperature": 0.7, "top_p": 0.95, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1},
    "Precise": {"temperature": 0.2, "top_p": 0.9, "top_k": 20, "min_p": 0.1, "repeat_penalty": 1.1},
    "Creative": {"temperature": 1.0, "top_p": 0.98, "top_k": 80, "min_p": 0.02, "repeat_penalty": 1.05},
}
PRESET_FIELDS = (*SAMPLING_FIELDS, "system_prompt")
CUSTOM = "Custom"  # what the Preset field shows when no preset matches the settings

LIMITS = {  # field: (lowest, highest)
    "temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "top_k": (0, 1000), "min_p": (0.0, 1.0),
    "repeat_penalty": (0.5, 2.0), "max_tokens": (1, 32768), "context_length": (256, 131072),
    "threads": (0, 256), "gpu_layers": (-1, 1000), "disk_cache_mb": (0, 1 << 20),
}
TEXT_FIELDS = ("system_prompt", "model", "server_url", "server_model")
THEMES = ("system", "light", "dark")


def problems(settings: Settings, before: Settings | None = None) -> list[str]:
    """Every reason these settings cannot be used (empty when they are fine).

    A model folder already in `before` may be missing (an unplugged drive); only a newly added one must exist.
    """
    return list(field_problems(settings, before).values())


def field_problems(settings: Settings, before: Settings | None = None) -> dict[str, str]:
    """Each field that cannot be used, with its reason, to be shown under that field (empty when all are fine)."""
    found = {name: reason for name in (*LIMITS, *TEXT_FIELDS, "model_folders", "presets", "theme")
             if (reason := field_problem(name, getattr(settings, name)))}
    if isinstance(settings.max_tokens, int) and isinstance(settings.context_length, int) \
            and settings.max_tokens >= settings.context_length and "max_tokens" not in found:
        found["max_tokens"] = "Max reply tokens must be smaller than the context length."
    kept = before.model_folders if before is not None else ()
    missing = [folder for folder in settings.model_folders
               if folder not in kept and not Path(folder).expanduser().is_dir()]
    if missing and "model_folders" not in found:
        found["model_folders"] = " ".join(f"Model folder not found: {folder}" for folder in missing)
    return found


def field_problem(name: str, value) -> str | None:
    """Why `value` cannot be the setting `name` on its own, or None."""
    if name in LIMITS:
        low, high = LIMITS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            return f"{_label(name)} must be a number from {low} to {high} (got {value!r})."
    elif name in TEXT_FIELDS and not isinstance(value, str):
        return f"{_label(name)} must be text (got {value!r})."
    elif name in ("model_folders", "servers") and not (
            isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)):
        return f"{_label(name)} must be a list of text (got {value!r})."
    elif name == "theme" and value not in THEMES:
        return f"Theme must be one of {', '.join(THEMES)} (got {value!r})."
    elif name == "presets" and not (isinstance(value, dict) and all(isinstance(v, dict) for v in value.values())):
        return f"Presets must map names to settings (got {value!r})."
    return None


def checked(settings: Settings, before: Settings | None = None) -> Settings:
    """The settings, or SettingsError listing what is wrong (model folders in `before` may be missing)."""
    found = field_problems(settings, before)
    if found:
        raise SettingsError(" ".join(found.values()), found)
    return settings


def with_preset(settings: Settings, name: str) -> Settings:
    """The settings with a built-in or saved preset applied."""
    values = BUILTIN_PRESETS.get(name) or settings.presets.get(name)
    if values is None:
        raise SettingsError(f"There is no preset called {name!r}.")
    return replace(settings, **{k: v for k, v in values.items() if k in PRESET_FIELDS})


def matching_preset(settings: Settings) -> str:
    """The name of the first preset (built-in, then the user's) whose every value the settings have, or "Custom"."""
    for name, values in (*BUILTIN_PRESETS.items(), *settings.presets.items()):
        if isinstance(values, dict) and _has(settings, values):
            return name
    return CUSTOM


def _has(settings: Settings, values: dict) -> bool:
    """True when the settings hold each preset value (numbers compared to 1e-6)."""
    for name, wanted in values.items():
        have = getattr(settings, name, None) if name in PRESET_FIELDS else wanted
        numbers = isinstance(have, (int, float)) and isinstance(wanted, (int, float))
        if not (math.isclose(have, wanted, abs_tol=1e-6) if numbers else have == wanted):
            return False
    return True


def save_preset(settings: Settings, name: str) -> Settings:
    """The settings with their sampling and system prompt kept as a named preset."""
    name = name.strip()
    if not name or name in BUILTIN_PRESETS or name == CUSTOM:
        raise SettingsError("Give the preset a new name (the built-in ones cannot be replaced).")
    preset = {k: getattr(settings, k) for k in PRESET_FIELDS}
    return replace(settings, presets={**settings.presets, name: preset})


def settings_file() -> Path:
    """Where settings are saved."""
    return paths.data_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> tuple[Settings, str | None]:
    """Saved settings (defaults for anything missing or unusable), and a warning naming what was not used."""
    path = path or settings_file()
    if not path.exists():
        return Settings(), None
    raw, problem = _read(path)
    if problem is not None:
        return Settings(), (f"The settings file {path} could not be used ({problem}); defaults are in effect. "
                            f"The file is kept: saving settings first moves it aside as {path.name}.damaged-DATE.")
    settings, rejected = usable_settings(raw)
    if not rejected:
        return settings, None
    return settings, f"Some settings in {path} could not be used and are back to their defaults: {' '.join(rejected)}"


def _read(path: Path) -> tuple[dict, str | None]:
    """The values saved in a settings file, or why the file cannot be read at all."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return {}, str(error)
    return (raw, None) if isinstance(raw, dict) else ({}, "it does not hold a JSON object")


def usable_settings(raw: dict) -> tuple[Settings, list[str]]:
    """Settings from saved values, each unusable one left at its default; and why each was left out."""
    values, rejected = {}, []
    for name in (f.name for f in fields(Settings)):
        if name not in raw:
            continue
        reason = field_problem(name, raw[name])
        if reason:
            rejected.append(reason)
        else:
            values[name] = tuple(raw[name]) if name in ("model_folders", "servers") else raw[name]
    settings = Settings(**values)
    if settings.max_tokens >= settings.context_length:
        rejected.append("Max reply tokens must be smaller than the context length.")
        settings = replace(settings, max_tokens=min(Settings.max_tokens, settings.context_length // 2))
    return settings, rejected


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
            "gpu_layers": "GPU layers", "disk_cache_mb": "Prompt cache on disk (MB)", "model": "Model"}.get(name, name.replace("_", " ").capitalize())
