"""The seam between the UI and the model: one method per user action, no gradio."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from chatdesk.engine import ContextOverflow, Generation, SamplingParams, Stats

MAX_MESSAGE_CHARS = 200_000
CONTINUE = "continue"
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


@dataclass
class Feedback:
    """One signal a user gave on a message: like, dislike, a reason, or a copy."""

    kind: str
    at: float = field(default_factory=time.time)


@dataclass
class Message:
    """One message of a conversation, with what produced it."""

    role: str
    content: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.time)
    stats: Stats | None = None
    feedback: list[Feedback] = field(default_factory=list)

    @property
    def finish_reason(self) -> str | None:
        """Why the reply ended, if it is a finished reply."""
        return self.stats.finish_reason if self.stats else None

    @property
    def rating(self) -> str | None:
        """The latest like/dislike/reason, or None (copies do not count)."""
        rated = [f.kind for f in self.feedback if f.kind != "copy"]
        return rated[-1] if rated and rated[-1] != "none" else None


@dataclass
class Conversation:
    """One chat: its messages and what the last reply had to leave out."""

    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    system_prompt: str = "You are a helpful assistant."
    messages: list[Message] = field(default_factory=list)
    dropped_messages: int = 0
    tokens_used: int = 0
    generation: Generation | None = field(default=None, repr=False, compare=False)

    def prompt(self) -> list[dict]:
        """The messages as the model sees them, system prompt first."""
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return system + [{"role": m.role, "content": m.content} for m in self.messages]

    def can_continue(self, index: int) -> bool:
        """Whether the message at `index` is a last reply cut short by length or Stop."""
        last = index == len(self.messages) - 1
        return last and self.messages[index].finish_reason in ("length", "cancelled")


class ChatSession:
    """Every conversation of this process and the actions a user can take on them."""

    def __init__(self, engine: ChatEngine | None, *, params: SamplingParams = SamplingParams(),
                 system_prompt: str = "You are a helpful assistant.", load_error: str | None = None):
        self.engine = engine
        self.params = params
        self.system_prompt = system_prompt
        self.load_error = load_error
        self._conversations: dict[str, Conversation] = {}

    # conversations

    def new_conversation(self) -> Conversation:
        """Start an empty conversation with a new id."""
        conversation = Conversation(system_prompt=self.system_prompt)
        self._conversations[conversation.id] = conversation
        return conversation

    def conversation(self, conversation_id: str | None) -> Conversation:
        """The conversation with this id, or a new one when the id is unknown or empty."""
        found = self._conversations.get(conversation_id or "")
        return found if found is not None else self.new_conversation()

    def find(self, conversation_id: str | None) -> Conversation | None:
        """The conversation with this id, if there is one."""
        return self._conversations.get(conversation_id or "")

    # sending and generating

    def add_user_message(self, conversation: Conversation, text: str) -> Conversation:
        """Check `text` and append it as the user's next message."""
        text = (text or "").strip()
        if not text:
            raise UserError("Type a message first.")
        if len(text) > MAX_MESSAGE_CHARS:
            raise UserError(f"This message has {len(text):,} characters; the limit is {MAX_MESSAGE_CHARS:,}.")
        self._ensure_idle(conversation)
        self._check_fits(conversation.prompt() + [{"role": "user", "content": text}])
        conversation.messages.append(Message("user", text))
        return conversation

    def reply(self, conversation: Conversation) -> Iterator[Conversation]:
        """Stream a new reply to the conversation's last message."""
        conversation.messages.append(Message("assistant", ""))
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
        """Regenerate the reply to the user message at or before `index`, with a fresh seed."""
        self._ensure_idle(conversation)
        user_index = self._user_index_at_or_before(conversation, index)
        del conversation.messages[user_index + 1:]
        yield conversation
        yield from self.reply(conversation)

    def continue_reply(self, conversation: Conversation, index: int) -> Iterator[Conversation]:
        """Carry on writing a reply that ended by length or by Stop."""
        self._ensure_idle(conversation)
        if not conversation.can_continue(index):
            raise UserError("Only the last reply, cut short by its length or by Stop, can be continued.")
        yield from self._stream(conversation, continue_reply=True)

    # editing

    def undo(self, conversation: Conversation, index: int) -> str:
        """Remove the last exchange from the user message at or before `index`; return its text."""
        self._ensure_idle(conversation)
        user_index = self._user_index_at_or_before(conversation, index)
        text = conversation.messages[user_index].content
        del conversation.messages[user_index:]
        self._recount(conversation)
        return text

    def edit(self, conversation: Conversation, index: int, text: str) -> Iterator[Conversation]:
        """Change a message: a user message regenerates from there, a reply is just replaced."""
        self._ensure_idle(conversation)
        message = self._message(conversation, index)
        text = (text or "").strip()
        if not text:
            raise UserError("A message cannot be empty; use Undo to remove it.")
        message.content = text
        if message.role == "assistant":
            self._recount(conversation)
            yield conversation
            return
        del conversation.messages[index + 1:]
        self._check_fits(conversation.prompt())
        yield conversation
        yield from self.reply(conversation)

    # feedback and details

    def rate(self, conversation: Conversation, index: int, kind: str | None) -> Message:
        """Record a like, dislike or reason on a message (None takes the rating back)."""
        message = self._message(conversation, index)
        message.feedback.append(Feedback(kind or "none"))
        return message

    def record_copy(self, conversation: Conversation, text: str) -> Message | None:
        """Record that the user copied a message, found by its text (newest first)."""
        for message in reversed(conversation.messages):
            if message.content.strip() == (text or "").strip():
                message.feedback.append(Feedback("copy"))
                return message
        return None

    def details(self, conversation: Conversation, index: int) -> dict:
        """What is known about the message at `index`, for a details panel."""
        message = self._message(conversation, index)
        facts = {"role": message.role, "characters": len(message.content),
                 "sent": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(message.created))}
        if message.stats is not None:
            facts.update(vars(message.stats))
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

    def _stream(self, conversation: Conversation, *, continue_reply: bool) -> Iterator[Conversation]:
        engine = self._require_engine()
        reply = conversation.messages[-1]
        prompt = conversation.prompt() if continue_reply else conversation.prompt()[:-1]
        try:
            generation = engine.chat(prompt, self.params, continue_reply=continue_reply)
        except ContextOverflow as error:
            if not reply.content:
                conversation.messages.pop()
            raise UserError(str(error)) from error
        conversation.generation = generation
        started_with = reply.content
        try:
            for delta in generation:
                reply.content += delta
                yield conversation
        finally:
            conversation.generation = None
            self._finish(conversation, reply, generation, started_with)
        yield conversation

    def _finish(self, conversation, reply, generation, started_with) -> None:
        stats = generation.stats
        if stats is None:  # the reader went away before the end
            return
        if started_with and reply.stats is not None:  # a continuation: count the whole reply
            stats = _merge(reply.stats, stats)
        reply.stats = stats
        conversation.dropped_messages = stats.dropped_messages
        conversation.tokens_used = stats.prompt_tokens + stats.completion_tokens

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


def _merge(earlier: Stats, later: Stats) -> Stats:
    """The stats of a reply that was continued: counted as one reply."""
    fields = vars(later) | {
        "completion_tokens": earlier.completion_tokens + later.completion_tokens,
        "time_to_first_token": earlier.time_to_first_token,
        "total_seconds": earlier.total_seconds + later.total_seconds,
    }
    return Stats(**fields)
