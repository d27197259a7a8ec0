"""The seam between the UI and the model and history: one method per user action, no gradio."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict

from chatdesk.core.attachments import META_KEY, Attachment, attachments_of, with_files
from chatdesk.core.conversation import Conversation, Message
from chatdesk.core.file_room import check_room, file_tokens
from chatdesk.core.history import History
from chatdesk.core.host import ModelHost
from chatdesk.engine.base import ChatEngine
from chatdesk.engine.generation import Generation, SamplingParams
from chatdesk.errors import ContextOverflow, ModelError, StorageError, UserError

MAX_MESSAGE_CHARS = 200_000
SAVE_EVERY = 0.5  # seconds between checkpoints of a streaming reply


class ChatSession:
    """Every conversation of this process and the actions a user can take on them.

    It has a model host (the engine, settings, models) and a history (the conversations as stored).
    """

    def __init__(self, host: ModelHost, history: History):
        self.host = host
        self.history = history

    @classmethod
    def over(cls, host: ModelHost, store) -> "ChatSession":
        """A session over `store`, whose conversations are measured by `host`'s model."""
        return cls(host, History(store, host.measure))

    def close(self) -> None:
        """Release the model and close the history (saving what a full disk held back, if it can now)."""
        self.host.close()
        try:
            self.history.flush()
        except StorageError:
            pass  # the replies concerned keep their last checkpoint, marked interrupted at the next start
        self.history.store.close()

    # opening and leaving conversations

    def new_conversation(self) -> Conversation:
        """Start an empty conversation with the system prompt for new chats."""
        return self.history.new_conversation(self.host.system_prompt)

    def find(self, conversation_id: str | None) -> Conversation | None:
        """The conversation with this id; None if there is none."""
        return self.history.find(conversation_id)

    def conversation(self, conversation_id: str | None) -> Conversation:
        """The conversation with this id, or a new one when the id is unknown or empty."""
        return self.find(conversation_id) or self.new_conversation()

    def last_conversation(self) -> Conversation:
        """The conversation open when the app last ran (restored exactly), else a new one."""
        return self.history.last_open() or self.new_conversation()

    def leave(self, conversation: Conversation | None) -> None:
        """The window moves on: the reply stops and undone exchanges are deleted for good."""
        if conversation is None:
            return
        self.stop(conversation)
        self.history.forget_undone(conversation)

    def focus(self, conversation: Conversation) -> None:
        """The user opened this conversation: reopen it at the next start, and get the model ready for it."""
        self.history.remember(conversation)
        self.host.get_ready(conversation)

    def open_at(self, conversation_id: str, message_id: str) -> Conversation:
        """Open a conversation on the branch that shows `message_id`."""
        conversation = self.conversation(conversation_id)
        self.history.show_newest_below(conversation, message_id)
        return conversation

    def trash(self, conversation_id: str) -> None:
        """Move a conversation to the trash, stopping its reply (it can be restored)."""
        self.leave(self.find(conversation_id))
        self.history.trash(conversation_id)

    def type_draft(self, conversation: Conversation | None, text: str) -> None:
        """The user is typing `text` as the next message (of a new chat when `conversation` is None)."""
        conversation = conversation or Conversation("", system_prompt=self.host.system_prompt)
        sent = [m.content for m in conversation.messages if m.role == "user"]
        if sent and text.strip() == sent[-1]:  # a keystroke of the message just sent, arriving after it
            return
        conversation.draft = text.strip()
        if conversation.generation is None:  # else the end of the reply gets the model ready, draft and all
            self.host.get_ready(conversation)

    # sending and generating

    def add_user_message(self, conversation: Conversation, text: str,
                         attachments: Sequence[Attachment] = ()) -> Conversation:
        """Check `text` (and its attached files) and append it as the user's next message."""
        text = (text or "").strip()
        if not text and not attachments:
            raise UserError("Type a message first.")
        if len(text) > MAX_MESSAGE_CHARS:
            raise UserError(f"This message has {len(text):,} characters; the limit is {MAX_MESSAGE_CHARS:,}.")
        self._ensure_idle(conversation)
        if self.host.loading is None:  # while a model loads, the reply waits for it and is fitted then
            if attachments:  # too big: say how much fits
                check_room(self.host, conversation, text, [(a, file_tokens(self.host, a)) for a in attachments])
            self.host.check_fits(conversation.prompt() + [{"role": "user", "content": with_files(text, attachments)}])
        meta = {META_KEY: [a.to_meta() for a in attachments]} if attachments else None
        self.history.append(conversation, "user", text, meta=meta)
        if not conversation.title and attachments:  # a message of files only: titled after them
            self.history.rename(conversation.id, ", ".join(a.name for a in attachments))
        conversation.draft = ""
        self.history.remember(conversation)
        return conversation

    def reply(self, conversation: Conversation) -> Iterator[Conversation]:
        """Stream a new reply to the conversation's last message."""
        yield from self._stream(conversation, continue_reply=False)

    def submit(self, conversation: Conversation, text: str) -> Iterator[Conversation]:
        """Send `text` and stream the reply."""
        self.add_user_message(conversation, text)
        yield conversation
        yield from self.reply(conversation)

    def stop(self, conversation: Conversation) -> None:
        """Stop the reply being generated, keeping what was written so far (or one waiting for a model)."""
        if conversation.waiting is not None:
            conversation.waiting.set()
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
        self.history.show(conversation, removed.parent_id)
        return removed.content

    def redo(self, conversation: Conversation) -> Conversation:
        """Bring back the exchange undone last."""
        if not conversation.can_redo():
            raise UserError("There is nothing to redo here.")
        message_id, _parent = conversation.undone.pop()
        self.history.show_newest_below(conversation, message_id)
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
            self.history.save(message)
            self.host.measure(conversation)
            yield conversation
            return
        files = attachments_of(message.meta)  # an edited message keeps its files
        self.host.check_fits(conversation.prompt(upto=index) + [{"role": "user", "content": with_files(text, files)}])
        del conversation.messages[index:]
        self.history.append(conversation, "user", text, meta={META_KEY: message.meta[META_KEY]} if files else None)
        yield conversation
        yield from self.reply(conversation)

    def step_version(self, conversation: Conversation, index: int, step: int) -> Conversation:
        """Show the previous (-1) or next (+1) version of the message at `index`."""
        self._ensure_idle(conversation)
        self.history.show_version_of(conversation, self._message(conversation, index).id, step)
        return conversation

    # feedback and details

    def rate(self, conversation: Conversation, index: int, kind: str | None) -> Message:
        """Record a like, dislike or reason on a message (None takes the rating back); a repeat changes nothing."""
        message = self._message(conversation, index)
        if message.rating != (kind or None):
            self.history.add_feedback(message, kind or "none")
        return message

    def record_copy(self, conversation: Conversation, index: int) -> Message:
        """Record that the user copied the message at `index`."""
        message = self._message(conversation, index)
        self.history.add_feedback(message, "copy")
        return message

    def details(self, conversation: Conversation, index: int) -> dict:
        """What is known about the message at `index`, for a details panel."""
        message = self._message(conversation, index)
        facts = {"role": message.role, "characters": len(message.content),
                 "sent": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(message.created)),
                 "version": f"{message.version} of {message.versions}"}
        if message.stats is not None:
            facts.update(asdict(message.stats))
            facts.update(_reported(facts.pop("server") or {}))
        origin = message.meta.get("origin") or {}
        if origin:
            facts["server"] = origin.get("server")
        if message.status == "interrupted":
            facts["finish_reason"] = "interrupted (" + ("the server went away or " if origin else "") + "the app stopped)"
        if message.feedback:
            facts["feedback"] = ", ".join(f.kind for f in message.feedback)
        return facts

    def context_usage(self, conversation: Conversation) -> tuple[int, int]:
        """Tokens the conversation takes in the context, and the context length."""
        engine = self.host.engine
        total = engine.context_length if engine else 0
        generation = conversation.generation
        if generation is not None:
            return generation.prompt_tokens + generation.tokens_so_far, total
        return conversation.tokens_used, total

    # internals

    def _stream(self, conversation: Conversation, *, continue_reply: bool) -> Iterator[Conversation]:
        started = self._start(conversation, continue_reply)
        if started is None:  # stopped while the model loaded: the message stays, unanswered
            return
        generation, reply, made_by = started
        earlier = reply.stats if continue_reply else None
        saved, whole, failure = time.monotonic(), False, None
        try:
            for delta in generation:
                reply.content += delta
                if time.monotonic() - saved >= SAVE_EVERY:
                    self._checkpoint(reply, generation)
                    saved = time.monotonic()
                yield conversation
            whole = True
        except (ContextOverflow, ModelError) as error:  # queued on a model unloaded meanwhile, or a server failed
            failure = error
        finally:
            conversation.generation = None
            self._finish(conversation, reply, generation, earlier, made_by, whole)
        if failure is not None:
            if not reply.content:
                self.history.drop(conversation, reply)
            raise UserError(str(failure)) from failure
        yield conversation

    def _start(self, conversation: Conversation, continue_reply: bool):
        """Wait for a model being loaded, then start the reply: (generation, reply, (engine, params)), or None
        when Stop was pressed meanwhile. Until the reply is written the conversation is busy, so nothing can be
        added, undone or switched under it: the reply answers the message it was asked for."""
        stop = threading.Event()
        conversation.waiting = stop
        try:
            if not self.host.wait_for_model(stop=stop) and stop.is_set():
                return None
            engine, params = self.host.require_engine(), self.host.params
            prompt = conversation.prompt(whole_last=True) if continue_reply else conversation.prompt()
            try:
                generation = engine.chat(prompt, params, continue_reply=continue_reply)
            except (ContextOverflow, ModelError) as error:  # too long, or the model was switched meanwhile
                raise UserError(str(error)) from error
            try:
                reply = conversation.messages[-1] if continue_reply else \
                    self.history.append(conversation, "assistant", "", status="streaming")
            except BaseException:
                generation.cancel()
                raise
            conversation.generation = generation
            return generation, reply, (engine, params)
        finally:
            conversation.waiting = None

    def _checkpoint(self, reply: Message, generation: Generation) -> None:
        """Save the reply so far; when the disk cannot take it, stop writing a reply that cannot be kept."""
        try:
            self.history.save_content(reply)
        except StorageError as error:
            generation.cancel()
            raise _not_saved(error) from error

    def _finish(self, conversation: Conversation, reply: Message, generation: Generation, earlier,
                made_by: tuple[ChatEngine, SamplingParams], whole: bool = True) -> None:
        stats = generation.stats
        if stats is None or not whole:  # the reader went away, the engine failed, or the disk was full
            reply.status = "interrupted"
        else:
            reply.stats = _merge(earlier, stats) if earlier else stats
            reply.status = "complete"
        engine, params = made_by  # what wrote it, though another model may be in use by now
        reply.meta.update(model=getattr(engine, "model_name", None), model_sha256=self.host.sha256_of(engine),
                          params=asdict(params))
        origin = getattr(engine, "origin", None)  # where a model not on this machine ran
        if origin:
            reply.meta["origin"] = dict(origin)
        try:
            self.history.save(reply)
        except StorageError as error:
            raise _not_saved(error) from error
        self.host.measure(conversation)
        self.host.get_ready(conversation)

    @staticmethod
    def _ensure_idle(conversation: Conversation) -> None:
        if conversation.waiting is not None:
            raise UserError("A reply is waiting for the model to load; press Stop first.")
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


def _reported(server: dict) -> dict:
    """What an inference server said about a reply, worth showing: its own speed and its fingerprint."""
    facts = {}
    speed = (server.get("timings") or {}).get("predicted_per_second")
    if speed:
        facts["server_tokens_per_second"] = speed
    if server.get("system_fingerprint"):
        facts["system_fingerprint"] = server["system_fingerprint"]
    return facts


def _not_saved(error: StorageError) -> StorageError:
    """What the user is told when a reply could not be saved."""
    return StorageError(f"{error} The reply was stopped; what was written stays on screen and is saved as soon "
                        "as there is room (when you send your next message, or press Continue).")


def _merge(earlier, later):
    """The stats of a reply that was continued: counted as one reply."""
    fields = asdict(later) | {
        "completion_tokens": earlier.completion_tokens + later.completion_tokens,
        "time_to_first_token": earlier.time_to_first_token,
        "total_seconds": earlier.total_seconds + later.total_seconds,
    }
    return type(later)(**fields)
