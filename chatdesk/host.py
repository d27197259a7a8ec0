"""The model behind a session: settings, loading and switching models in the background."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from chatdesk import config
from chatdesk.config import Settings
from chatdesk.engine import ModelError
from chatdesk.generation import Generation, SamplingParams
from chatdesk.models import file_sha256

MODEL_WAIT = 600  # seconds a message waits for a model that is loading
RELOAD_FIELDS = ("model", "context_length", "threads", "gpu_layers", "disk_cache_mb")


class UserError(ValueError):
    """Something the user asked for that cannot be done, with a message saying why."""


class ChatEngine(Protocol):
    """What a session needs from a model (engine.Engine, or a scripted fake in tests)."""

    model_name: str
    context_length: int

    def chat(self, messages: list[dict], params: SamplingParams, *, continue_reply: bool = False) -> Generation: ...

    def fit(self, messages: list[dict], reply_budget: int, *, continue_reply: bool = False) -> tuple[list[int], int]: ...

    def count_tokens(self, messages: list[dict]) -> int: ...

    def prepare(self, messages: list[dict], reply_budget: int, draft: str = "") -> threading.Event: ...

    def close(self) -> None: ...


EngineLoader = Callable[[Settings], tuple[ChatEngine, str | None]]  # settings -> (engine, model sha256)


class ModelHost:
    """The engine in use, the settings, and switching to another model without stopping the chat."""

    def __init__(self, engine: ChatEngine | None, settings: Settings, load_error: str | None,
                 model_sha256: str | None, loader: EngineLoader | None):
        self.engine = engine
        self.settings = settings
        self.load_error = load_error
        self.model_sha256 = model_sha256
        self.loading: str | None = None  # the model being loaded, if any
        self._loaded_with = settings  # the settings the current engine was loaded with
        self._loader = loader
        self._model_ready = threading.Event()
        self._model_ready.set()
        if engine is not None and model_sha256 is None:
            self._hash_model(engine)

    @property
    def params(self) -> SamplingParams:
        """How replies are sampled now."""
        return self.settings.sampling()

    @property
    def system_prompt(self) -> str:
        """The system prompt new conversations start with."""
        return self.settings.system_prompt

    def apply_settings(self, new: Settings) -> bool:
        """Check, save and use new settings; True when a model (re)load was started for them."""
        try:
            config.checked(new)
        except config.SettingsError as error:
            raise UserError(str(error)) from error
        reload = any(getattr(new, name) != getattr(self.settings, name) for name in RELOAD_FIELDS)
        self.settings = new
        config.save_settings(new)
        if reload:
            self.switch_model(new)
        return reload

    def switch_model(self, settings: Settings) -> None:
        """Load the model `settings` name in the background; messages wait; a failure keeps the old one."""
        if self._loader is None:
            raise UserError("This chatdesk cannot load models.")
        self._model_ready.wait(MODEL_WAIT)
        self._model_ready.clear()
        self.loading = settings.model or "the default model"
        threading.Thread(target=self._load, args=(settings,), name="chatdesk-model-load", daemon=True).start()

    def wait_for_model(self, timeout: float = MODEL_WAIT) -> bool:
        """Block until no model is loading; False on timeout."""
        return self._model_ready.wait(timeout)

    def _load(self, settings: Settings) -> None:
        previous = self.engine
        try:
            engine, sha256 = self._loader(settings)
        except ModelError as error:
            self.load_error = f"{error} The previous model is still in use." if previous else str(error)
            if previous is not None:  # keep what works, and do not name the bad model at the next start
                loaded = {name: getattr(self._loaded_with, name) for name in RELOAD_FIELDS}
                self.settings = replace(settings, **loaded)
                config.save_settings(self.settings)
        else:
            self.engine, self.model_sha256, self.load_error = engine, sha256, None
            self._loaded_with = settings
            if sha256 is None:
                self._hash_model(engine)
            if previous is not None:
                previous.close()  # waits for a reply still being written with it
        finally:
            self.loading = None
            self._model_ready.set()

    def _hash_model(self, engine: ChatEngine) -> None:
        """Work out the model file's sha256 meanwhile; replies record it once known."""
        path = getattr(engine, "model_path", None)
        if path is None:
            return

        def work():
            digest = file_sha256(path)
            if self.engine is engine:
                self.model_sha256 = digest

        threading.Thread(target=work, name="chatdesk-model-hash", daemon=True).start()

    def _require_engine(self) -> ChatEngine:
        """The engine, once no model is loading; UserError saying why when there is none."""
        if not self._model_ready.is_set() and not self._model_ready.wait(MODEL_WAIT):
            raise UserError(f"Still loading {self.loading}; try again in a moment.")
        if self.engine is None:
            raise UserError(self.load_error or "No model is loaded.")
        return self.engine
