"""The model behind a session: settings, the model library, loading and switching models in the background."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from chatdesk import config
from chatdesk.catalog import library, server_keys
from chatdesk.catalog.models import ModelFileError, file_sha256
from chatdesk.config import Settings
from chatdesk.core.conversation import Conversation
from chatdesk.engine import server_api
from chatdesk.engine.base import ChatEngine
from chatdesk.engine.generation import SamplingParams
from chatdesk.errors import ContextOverflow, InvalidSettings, ModelError, UserError

MODEL_WAIT = 600  # seconds a message waits for a model that is loading
WAIT_STEP = 0.1  # seconds between looks at whether a wait for the model was stopped
RELOAD_FIELDS = ("model", "context_length", "threads", "gpu_layers", "disk_cache_mb", "server_url", "server_model")

EngineLoader = Callable[[Settings], tuple[ChatEngine, str | None]]  # settings -> (engine, model sha256)


class ModelHost:
    """The engine in use, the settings, and switching to another model without stopping the chat."""

    def __init__(self, engine: ChatEngine | None, settings: Settings = Settings(), load_error: str | None = None,
                 model_sha256: str | None = None, loader: EngineLoader | None = None, overrides: dict | None = None):
        self.engine = engine
        self._overrides = dict(overrides or {})  # this run's command-line options: used, never saved
        self._saved = settings  # as in the settings file
        settings = replace(settings, **self._overrides)
        self.settings = settings
        self.load_error = load_error
        self._sha256: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> its model file's hash
        if engine is not None and model_sha256 is not None:
            self._sha256[engine] = model_sha256
        self.loading: str | None = None  # the model being loaded, if any
        self._loaded_with = settings  # the settings the current engine was loaded with
        self._loader = loader
        self._model_ready = threading.Event()
        self._model_ready.set()
        self._switching = threading.Lock()  # one switch at a time gets past the wait for the load before it
        if engine is not None and model_sha256 is None:
            self._hash_model(engine)

    @property
    def model_sha256(self) -> str | None:
        """The sha256 of the model in use, once known."""
        return self.sha256_of(self.engine)

    def sha256_of(self, engine: ChatEngine | None) -> str | None:
        """The sha256 of the file `engine` was loaded from, once known (it may no longer be in use)."""
        return self._sha256.get(engine) if engine is not None else None

    @property
    def params(self) -> SamplingParams:
        """How replies are sampled now."""
        return self.settings.sampling()

    @property
    def system_prompt(self) -> str:
        """The system prompt new conversations start with."""
        return self.settings.system_prompt

    @property
    def model_path(self) -> str | None:
        """The file of the model in use, if it has one."""
        path = getattr(self.engine, "model_path", None) if self.engine else None
        return str(path) if path else None

    # settings and presets

    def apply_settings(self, new: Settings) -> bool:
        """Check, save and use new settings; True when a model (re)load was started for them."""
        try:
            config.checked(new, before=self.settings)
        except config.SettingsError as error:
            raise InvalidSettings(str(error), error.fields) from error
        reload = any(getattr(new, name) != getattr(self.settings, name) for name in RELOAD_FIELDS)
        self.settings = new
        self._save(new)
        if reload:
            self.switch_model(new)
        return reload

    def matching_preset(self) -> str:
        """The preset the settings in use match, or "Custom"."""
        return config.matching_preset(self.settings)

    def presets(self) -> list[str]:
        """The built-in presets' names, then the user's."""
        return [*config.BUILTIN_PRESETS, *self.settings.presets]

    def preset(self, name: str) -> Settings:
        """The settings with a preset filled in (not saved)."""
        try:
            return config.with_preset(self.settings, name)
        except config.SettingsError as error:
            raise UserError(str(error)) from error

    def save_preset(self, values: Settings, name: str) -> None:
        """Keep `values`' sampling and system prompt as a named preset, saved with the settings."""
        try:
            kept = config.save_preset(values, name)
        except config.SettingsError as error:
            raise UserError(str(error)) from error
        self.apply_settings(replace(self.settings, presets=kept.presets))

    # the model library

    def models(self) -> list[library.ModelEntry]:
        """Every model in chatdesk's model folders."""
        return library.scan(self.settings.model_folders)

    def add_model(self, path: str | Path, *, move: bool = False) -> library.ModelEntry:
        """Check a GGUF file and put it in the library (an upload is moved, a path linked)."""
        try:
            return library.add_model(Path(str(path).strip()), move=move)
        except (ModelFileError, OSError) as error:
            raise UserError(f"Not added: {error}") from error

    def download_model(self, repo_id: str, filename: str) -> library.ModelEntry:
        """Fetch a GGUF from the Hugging Face Hub into the library; only ever on request."""
        try:
            return library.download_from_hub(repo_id, filename)
        except (library.HubUnavailable, ModelFileError) as error:
            raise UserError(str(error)) from error

    # inference servers

    @property
    def server(self) -> str | None:
        """The server the model in use runs on (None: it runs here)."""
        origin = getattr(self.engine, "origin", None) or {}
        return origin.get("server")

    def server_models(self, url: str, api_key: str = "") -> list[str]:
        """The models a server offers (checking it can be used); UserError saying why it cannot."""
        try:
            address = server_api.Address.parse(url)
            return server_api.model_ids(url, api_key.strip() or server_keys.api_key(address.shown))
        except ModelError as error:
            raise UserError(str(error)) from error

    def add_server(self, url: str, api_key: str = "") -> list[str]:
        """Check a server, keep it in the list (its key apart, never in the settings); its models."""
        found = self.server_models(url, api_key)
        shown = server_api.Address.parse(url).shown
        if api_key.strip():
            server_keys.save_key(shown, api_key)
        if shown not in self.settings.servers:
            self.apply_settings(replace(self.settings, servers=(*self.settings.servers, shown)))
        return found

    def use_server(self, url: str, model: str, api_key: str = "") -> bool:
        """Chat through `model` on the server at `url` from now on (connected in the background); a key given
        is kept for it."""
        try:
            shown = server_api.Address.parse(url).shown
        except ModelError as error:
            raise UserError(str(error)) from error
        if api_key.strip():
            server_keys.save_key(shown, api_key)
        servers = self.settings.servers if shown in self.settings.servers else (*self.settings.servers, shown)
        return self.apply_settings(replace(self.settings, server_url=shown, server_model=model or "",
                                           servers=servers))

    def use_local(self, path: str) -> bool:
        """Chat with the GGUF file at `path` on this machine from now on."""
        return self.apply_settings(replace(self.settings, model=path, server_url="", server_model=""))

    # loading

    def switch_model(self, settings: Settings) -> None:
        """Load the model `settings` name in the background; messages wait; a failure keeps the old one."""
        if self._loader is None:
            raise UserError("This chatdesk cannot load models.")
        with self._switching:
            self._model_ready.wait(MODEL_WAIT)
            self._model_ready.clear()
            self.loading = _model_label(settings)
            threading.Thread(target=self._load, args=(settings,), name="chatdesk-model-load", daemon=True).start()

    def wait_for_model(self, timeout: float = MODEL_WAIT, stop: threading.Event | None = None) -> bool:
        """Block until no model is loading (True), or until `timeout` passes or `stop` is set (False)."""
        if stop is None:
            return self._model_ready.wait(timeout)
        deadline = time.monotonic() + timeout
        while not self._model_ready.wait(min(WAIT_STEP, max(0.0, deadline - time.monotonic()))):
            if stop.is_set() or time.monotonic() >= deadline:
                return False
        return True

    def require_engine(self) -> ChatEngine:
        """The engine; UserError saying why when a model is still loading or there is none."""
        if not self._model_ready.is_set():
            raise UserError(f"Still loading {self.loading}; try again in a moment.")
        if self.engine is None:
            raise UserError(self.load_error or "No model is loaded.")
        return self.engine

    def close(self) -> None:
        """Release the model."""
        if self.engine is not None:
            self.engine.close()

    def _load(self, settings: Settings) -> None:
        previous = self.engine
        try:
            engine, sha256 = self._loader(settings)
        except ModelError as error:
            self.load_error = f"{error} The previous model is still in use." if previous else str(error)
            if previous is not None:  # keep what works, and do not name the bad model at the next start
                loaded = {name: getattr(self._loaded_with, name) for name in RELOAD_FIELDS}
                self.settings = replace(settings, **loaded)
                self._save(self.settings)
        else:
            if sha256 is not None:
                self._sha256[engine] = sha256
            self.engine, self.load_error = engine, None
            self._loaded_with = settings
            if sha256 is None:
                self._hash_model(engine)
            if previous is not None:
                previous.close(wait_for_reply=True)  # a reply being written with it is finished first
        finally:
            self.loading = None
            self._model_ready.set()

    def _save(self, settings: Settings) -> None:
        """Write `settings` to the settings file, but for command-line options the user has not changed since."""
        kept = {name: getattr(self._saved, name) for name, value in self._overrides.items()
                if getattr(settings, name) == value}
        self._saved = replace(settings, **kept)
        config.save_settings(self._saved)

    def _hash_model(self, engine: ChatEngine) -> None:
        """Work out the model file's sha256 meanwhile; replies record it once known."""
        path = getattr(engine, "model_path", None)
        if path is None:
            return

        def work():
            self._sha256[engine] = file_sha256(path)

        threading.Thread(target=work, name="chatdesk-model-hash", daemon=True).start()

    # what the model makes of a conversation

    def measure(self, conversation: Conversation) -> None:
        """Count what the next reply's prompt takes: its tokens and the oldest messages left out of it."""
        if self.engine is None:
            return
        try:
            tokens, conversation.dropped_messages = self.engine.fit(conversation.prompt(), self.params.max_tokens)
            conversation.tokens_used = len(tokens)
        except ContextOverflow:  # even the last turn alone is too long: sending says so
            conversation.tokens_used = self.engine.count_tokens(conversation.prompt())
        except ModelError:  # switched to another model meanwhile: the next count uses that one
            pass

    def check_fits(self, messages: list[dict]) -> None:
        """UserError when the last of `messages` leaves no room for a reply."""
        engine = self.require_engine()
        try:
            engine.fit(messages, self.params.max_tokens)
        except (ContextOverflow, ModelError) as error:
            raise UserError(str(error)) from error

    def get_ready(self, conversation: Conversation) -> None:
        """Let the model compute, while the user reads and types, how the next message's prompt starts
        (with the message as far as it is typed)."""
        if self.engine is not None and self.loading is None:
            self.engine.prepare(conversation.prompt(), self.params.max_tokens, conversation.draft,
                                private=conversation.temporary)


def _model_label(settings: Settings) -> str:
    """The model some settings name, in a few words."""
    if settings.server_url:
        return f"{settings.server_model or 'the model'} on {settings.server_url}"
    return settings.model or "the default model"
