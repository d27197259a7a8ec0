"""The seam between the UI and the model and history: one method per user action, no gradio."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from typing import Protocol

from chatdesk import config
from chatdesk.config import Settings
from chatdesk.conversation import Conversation, Feedback, Message
from chatdesk.engine import ContextOverflow, Generation, ModelError, SamplingParams
from chatdesk.models import file_sha256
from chatdesk.store import Store

MAX_MESSAGE_CHARS = 200_000
SAVE_EVERY = 0.5  # seconds between checkpoints of a streaming reply
LAST_CONVERSATION = "last_conversation"
MODEL_WAIT = 600  # seconds a message waits for a model that is loading
RELOAD_FIELDS = ("model", "context_length", "threads", "gpu_layers")
EXAMPLES = (
    "Explain what a large language model is in two sentences.",
    "Write a haiku about the sea.",
    "Give me three ideas for a rainy afternoon.",
)


class UserError(ValueError):
    """Something the user asked for that cannot be done, with a message saying why."""


class ChatEngine(Protocol):
    """What the session needs from a model (engine.Engine, or a scripted fake in tests)."""

    model_name: str
    context_length: int

    def chat(self, messages: list[dict], params: SamplingParams, *, continue_reply: bool = False) -> Generation: ...

    def fit(self, messages: list[dict], reply_budget: int, *, continue_reply: bool = False) -> tuple[list[int], int]: ...

    def count_tokens(self, messages: list[dict]) -> int: ...

    def close(self) -> None: ...


EngineLoader = Callable[[Settings], tuple[ChatEngine, str | None]]  # settings -> (engine, model sha256)


class ChatSession:
    """Every conversation of this process and the actions a user can take on them."""

    def __init__(self, engine: ChatEngine | None, store: Store, *, settings: Settings = Settings(),
                 load_error: str | None = None, model_sha256: str | None = None, loader: EngineLoader | None = None):
        self.engine = engine
        self.store = store
        self.settings = settings
        self.load_error = load_error
        self.model_sha256 = model_sha256
        self.loading: str | None = None  # the model being loaded, if any
        self._loaded_with = settings  # the settings the current engine was loaded with
        self._loader = loader
        self._model_ready = threading.Event()
        self._model_ready.set()
        self._open: dict[str, Conversation] = {}
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

    # settings and models

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

    def set_system_prompt(self, conversation: Conversation, text: str) -> None:
        """Give one conversation its own system prompt."""
        conversation.system_prompt = text.strip()
        self.store.set_system_prompt(conversation.id, conversation.system_prompt)
        self._recount(conversation)

    # conversations

    def new_conversation(self) -> Conversation:
        """Start an empty conversation with a new id."""
        row = self.store.create_conversation(self.system_prompt)
        conversation = Conversation(row.id, system_prompt=row.system_prompt)
        self._open[row.id] = conversation
        return conversation

    def find(self, conversation_id: str | None) -> Conversation | None:
        """The conversation with this id, loaded from the store if needed; None if there is none."""
        if not conversation_id:
            return None
        if conversation_id not in self._open:
            row = self.store.conversation(conversation_id)
            if row is None:
                return None
            conversation = Conversation(row.id, row.title, row.system_prompt)
            self._load_branch(conversation, row.leaf_id)
            self._recount(conversation)
            self._open[row.id] = conversation
        return self._open[conversation_id]

    def conversation(self, conversation_id: str | None) -> Conversation:
        """The conversation with this id, or a new one when the id is unknown or empty."""
        return self.find(conversation_id) or self.new_conversation()

    def last_conversation(self) -> Conversation:
        """The conversation open when the app last ran (restored exactly), else a new one."""
        found = self.find(self.store.get_state(LAST_CONVERSATION))
        if found is not None and self.store.conversation(found.id).deleted_at is None:
            return found
        return self.new_conversation()

    def leave(self, conversation: Conversation | None) -> None:
        """The window moves on: undone exchanges are now deleted for good."""
        if conversation is None:
            return
        self.stop(conversation)
        for message_id, _parent in conversation.undone:
            self.store.delete_message(message_id)
        conversation.undone.clear()

    def conversations(self, *, trashed: bool = False):
        """Conversations for the sidebar (or the trash), most recent first."""
        return self.store.conversations(trashed=trashed)

    def rename(self, conversation_id: str, title: str) -> None:
        """Give a conversation a new title."""
        if not title.strip():
            raise UserError("A title cannot be empty.")
        self.store.rename(conversation_id, title)
        if conversation_id in self._open:
            self._open[conversation_id].title = title.strip()

    def delete(self, conversation_id: str) -> None:
        """Move a conversation to the trash (it can be restored)."""
        found = self.find(conversation_id)
        self.leave(found)
        self.store.trash(conversation_id)

    def restore(self, conversation_id: str) -> None:
        """Bring a conversation back from the trash."""
        self.store.restore(conversation_id)

    def delete_forever(self, conversation_id: str) -> None:
        """Destroy a conversation that is already in the trash."""
        row = self.store.conversation(conversation_id)
        if row is None or row.deleted_at is None:
            raise UserError("Only a conversation in the trash can be deleted for good.")
        self.store.purge(conversation_id)
        self._open.pop(conversation_id, None)

    def search(self, query: str):
        """Messages matching every word of `query`."""
        return self.store.search(query)

    def open_at(self, conversation_id: str, message_id: str) -> Conversation:
        """Open a conversation on the branch that shows `message_id`."""
        conversation = self.conversation(conversation_id)
        self._show(conversation, self.store.newest_leaf(message_id))
        return conversation

    def remember(self, conversation: Conversation) -> None:
        """This is the conversation to reopen at the next start."""
        self.store.set_state(LAST_CONVERSATION, conversation.id)

    # sending and generating

    def add_user_message(self, conversation: Conversation, text: str) -> Conversation:
        """Check `text` and append it as the user's next message."""
        text = (text or "").strip()
        if not text:
            raise UserError("Type a message first.")
        if len(text) > MAX_MESSAGE_CHARS:
            raise UserError(f"This message has {len(text):,} characters; the limit is {MAX_MESSAGE_CHARS:,}.")
        self._ensure_idle(conversation)
        if self.loading is None:  # while a model loads, the reply waits for it and is fitted then
            self._check_fits(conversation.prompt() + [{"role": "user", "content": text}])
        self._append(conversation, "user", text)
        self.remember(conversation)
        return conversation

    def reply(self, conversation: Conversation) -> Iterator[Conversation]:
        """Stream a new reply to the conversation's last message."""
        self._append(conversation, "assistant", "", status="streaming")
        yield from self._stream(conversation, continue_reply=False)

    def submit(self, conversation: Conversation, text: str) -> Iterator[Conversation]:
        """Send `text` and stream the reply."""
        self.add_user_message(conversation, text)
        yield conversation
        yield from self.reply(conversation)

    def stop(self, conversation: Conversation) -> None:
        """Stop the reply being generated, keeping what was written so far."""
        if conversation.generation is not None:
            conversation.generation.cancel()

    def retry(self, conversation: Conversation, index: int) -> Iterator[Conversation]:
        """Write a new version of the reply to the user message at or before `index` (fresh seed)."""
        self._ensure_idle(conversation)
        user_index = self._user_index_at_or_before(conversation, index)
        del conversation.messages[user_index + 1:]
        yield conversation
        yield from self.reply(conversation)

    def continue_reply(self, conversation: Conversation, index: int) -> Iterator[Conversation]:
        """Carry on writing a reply that ended by length, by Stop, or with the app."""
        self._ensure_idle(conversation)
        if not conversation.can_continue(index):
            raise UserError("Only the last reply, cut short by its length or by Stop, can be continued.")
        yield from self._stream(conversation, continue_reply=True)

    # editing and versions

    def undo(self, conversation: Conversation, index: int) -> str:
        """Take back the exchange from the user message at or before `index`; return its text."""
        self._ensure_idle(conversation)
        user_index = self._user_index_at_or_before(conversation, index)
        removed = conversation.messages[user_index]
        conversation.undone.append((removed.id, removed.parent_id))
        self._show(conversation, removed.parent_id)
        return removed.content

    def redo(self, conversation: Conversation) -> Conversation:
        """Bring back the exchange undone last."""
        if not conversation.can_redo():
            raise UserError("There is nothing to redo here.")
        message_id, _parent = conversation.undone.pop()
        self._show(conversation, self.store.newest_leaf(message_id))
        return conversation

    def edit(self, conversation: Conversation, index: int, text: str) -> Iterator[Conversation]:
        """Change a message: a user message becomes a new version and is answered; a reply is rewritten."""
        self._ensure_idle(conversation)
        message = self._message(conversation, index)
        text = (text or "").strip()
        if not text:
            raise UserError("A message cannot be empty; use Undo to remove it.")
        if message.role == "assistant":
            message.content = text
            message.meta["edited"] = True
            self.store.finish_message(message.id, text, message.meta, message.status)
            self._recount(conversation)
            yield conversation
            return
        self._check_fits(conversation.prompt(upto=index) + [{"role": "user", "content": text}])
        del conversation.messages[index:]
        self._append(conversation, "user", text)
        yield conversation
        yield from self.reply(conversation)

    def step_version(self, conversation: Conversation, index: int, step: int) -> Conversation:
        """Show the previous (-1) or next (+1) version of the message at `index`."""
        self._ensure_idle(conversation)
        message = self._message(conversation, index)
        versions = self.store.siblings(self.store.message(message.id))
        position = [v.id for v in versions].index(message.id) + step
        if 0 <= position < len(versions):
            self._show(conversation, self.store.newest_leaf(versions[position].id))
        return conversation

    # feedback and details

    def rate(self, conversation: Conversation, index: int, kind: str | None) -> Message:
        """Record a like, dislike or reason on a message (None takes the rating back)."""
        message = self._message(conversation, index)
        self._feedback(message, kind or "none")
        return message

    def record_copy(self, conversation: Conversation, text: str) -> Message | None:
        """Record that the user copied a message, found by its text (newest first)."""
        for message in reversed(conversation.messages):
            if message.content.strip() == (text or "").strip():
                self._feedback(message, "copy")
                return message
        return None

    def details(self, conversation: Conversation, index: int) -> dict:
        """What is known about the message at `index`, for a details panel."""
        message = self._message(conversation, index)
        facts = {"role": message.role, "characters": len(message.content),
                 "sent": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(message.created)),
                 "version": f"{message.version} of {message.versions}"}
        if message.stats is not None:
            facts.update(asdict(message.stats))
        if message.status == "interrupted":
            facts["finish_reason"] = "interrupted (the app stopped)"
        if message.feedback:
            facts["feedback"] = ", ".join(f.kind for f in message.feedback)
        return facts

    def context_usage(self, conversation: Conversation) -> tuple[int, int]:
        """Tokens the conversation takes in the context, and the context length."""
        total = self.engine.context_length if self.engine else 0
        generation = conversation.generation
        if generation is not None:
            return generation.prompt_tokens + generation.tokens_so_far, total
        return conversation.tokens_used, total

    # internals

    def _append(self, conversation: Conversation, role: str, text: str, status: str = "complete") -> Message:
        row = self.store.add_message(conversation.id, conversation.leaf_id, role, text, status=status)
        message = Message.from_row(row)
        siblings = len(self.store.siblings(row))
        message.version = message.versions = siblings
        conversation.messages.append(message)
        if not conversation.title and role == "user":
            conversation.title = self.store.conversation(conversation.id).title
        return message

    def _stream(self, conversation: Conversation, *, continue_reply: bool) -> Iterator[Conversation]:
        engine = self._require_engine()
        reply = conversation.messages[-1]
        prompt = conversation.prompt(whole_last=True) if continue_reply else conversation.prompt(upto=-1)
        try:
            generation = engine.chat(prompt, self.params, continue_reply=continue_reply)
        except ContextOverflow as error:
            if not reply.content:
                self.store.delete_message(reply.id)
                self._show(conversation, reply.parent_id)
            raise UserError(str(error)) from error
        conversation.generation = generation
        earlier = reply.stats if continue_reply else None
        saved = time.monotonic()
        try:
            for delta in generation:
                reply.content += delta
                if time.monotonic() - saved >= SAVE_EVERY:
                    self.store.save_content(reply.id, reply.content)
                    saved = time.monotonic()
                yield conversation
        finally:
            conversation.generation = None
            self._finish(conversation, reply, generation, earlier)
        yield conversation

    def _finish(self, conversation: Conversation, reply: Message, generation: Generation, earlier) -> None:
        stats = generation.stats
        if stats is None:  # the reader went away before the end
            reply.status = "interrupted"
        else:
            reply.stats = _merge(earlier, stats) if earlier else stats
            reply.status = "complete"
            conversation.dropped_messages = stats.dropped_messages
            conversation.tokens_used = stats.prompt_tokens + stats.completion_tokens
        reply.meta.update(model=getattr(self.engine, "model_name", None), model_sha256=self.model_sha256,
                          params=asdict(self.params))
        self.store.finish_message(reply.id, reply.content, reply.meta, reply.status)

    def _show(self, conversation: Conversation, leaf_id: str | None) -> None:
        self.store.set_leaf(conversation.id, leaf_id)
        self._load_branch(conversation, leaf_id)
        self._recount(conversation)

    def _load_branch(self, conversation: Conversation, leaf_id: str | None) -> None:
        rows = self.store.branch(leaf_id)
        feedback = self.store.feedback([row.id for row in rows])
        conversation.messages = []
        for row in rows:
            versions = [v.id for v in self.store.siblings(row)]
            conversation.messages.append(
                Message.from_row(row, feedback.get(row.id, ()), versions.index(row.id) + 1, len(versions)))

    def _feedback(self, message: Message, kind: str) -> None:
        self.store.add_feedback(message.id, kind)
        message.feedback.append(Feedback(kind))

    def _recount(self, conversation: Conversation) -> None:
        if self.engine is not None:
            conversation.tokens_used = self.engine.count_tokens(conversation.prompt())

    def _check_fits(self, messages: list[dict]) -> None:
        engine = self._require_engine()
        try:
            engine.fit(messages, self.params.max_tokens)
        except ContextOverflow as error:
            raise UserError(str(error)) from error

    def _require_engine(self) -> ChatEngine:
        if not self._model_ready.is_set() and not self._model_ready.wait(MODEL_WAIT):
            raise UserError(f"Still loading {self.loading}; try again in a moment.")
        if self.engine is None:
            raise UserError(self.load_error or "No model is loaded.")
        return self.engine

    @staticmethod
    def _ensure_idle(conversation: Conversation) -> None:
        if conversation.generation is not None:
            raise UserError("A reply is still being written; press Stop first.")

    @staticmethod
    def _message(conversation: Conversation, index: int) -> Message:
        if not 0 <= index < len(conversation.messages):
            raise UserError("That message is no longer in the conversation.")
        return conversation.messages[index]

    @staticmethod
    def _user_index_at_or_before(conversation: Conversation, index: int) -> int:
        for i in range(min(index, len(conversation.messages) - 1), -1, -1):
            if conversation.messages[i].role == "user":
                return i
        raise UserError("There is no message to go back to.")


def _merge(earlier, later):
    """The stats of a reply that was continued: counted as one reply."""
    fields = asdict(later) | {
        "completion_tokens": earlier.completion_tokens + later.completion_tokens,
        "time_to_first_token": earlier.time_to_first_token,
        "total_seconds": earlier.total_seconds + later.total_seconds,
    }
    return type(later)(**fields)
