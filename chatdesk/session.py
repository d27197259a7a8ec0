"""The seam between the UI and the model and history: one method per user action, no gradio."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import asdict

from chatdesk.config import Settings
from chatdesk.conversation import Conversation, Feedback, Message
from chatdesk.engine import ContextOverflow, ModelError
from chatdesk.generation import Generation
from chatdesk.history import History
from chatdesk.host import ChatEngine, EngineLoader, ModelHost, UserError
from chatdesk.store import Store

__all__ = ["ChatSession", "ChatEngine", "UserError", "EXAMPLES", "MAX_MESSAGE_CHARS"]

MAX_MESSAGE_CHARS = 200_000
SAVE_EVERY = 0.5  # seconds between checkpoints of a streaming reply
EXAMPLES = (
    "Explain what a large language model is in two sentences.",
    "Write a haiku about the sea.",
    "Give me three ideas for a rainy afternoon.",
)


class ChatSession(ModelHost, History):
    """Every conversation of this process and the actions a user can take on them."""

    def __init__(self, engine: ChatEngine | None, store: Store, *, settings: Settings = Settings(),
                 load_error: str | None = None, model_sha256: str | None = None, loader: EngineLoader | None = None):
        ModelHost.__init__(self, engine, settings, load_error, model_sha256, loader)
        History.__init__(self, store)
        self._rating = threading.Lock()

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
        conversation.draft = ""
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
        """Record a like, dislike or reason on a message (None takes the rating back); a repeat changes nothing."""
        message = self._message(conversation, index)
        with self._rating:  # Gradio 6.31 sends a reason click twice at once
            if message.rating != (kind or None):
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
        except (ContextOverflow, ModelError) as error:  # too long, or the model was switched meanwhile
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
        reply.meta.update(model=getattr(self.engine, "model_name", None), model_sha256=self.model_sha256,
                          params=asdict(self.params))
        self.store.finish_message(reply.id, reply.content, reply.meta, reply.status)
        self._recount(conversation)
        self.get_ready(conversation)

    def _feedback(self, message: Message, kind: str) -> None:
        self.store.add_feedback(message.id, kind)
        message.feedback.append(Feedback(kind))

    def _check_fits(self, messages: list[dict]) -> None:
        engine = self._require_engine()
        try:
            engine.fit(messages, self.params.max_tokens)
        except (ContextOverflow, ModelError) as error:
            raise UserError(str(error)) from error

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
