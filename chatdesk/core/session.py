"""The seam between the UI and the model and history: one method per user action, no gradio."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict

from chatdesk.core import branching
from chatdesk.core.attachments import META_KEY, Attachment, attachments_of, with_files
from chatdesk.core.conversation import Conversation, Message
from chatdesk.core.file_room import check_room, file_tokens
from chatdesk.core.history import History
from chatdesk.core.host import ModelHost
from chatdesk.core.replies import Replies, stop
from chatdesk.errors import StorageError, UserError

MAX_MESSAGE_CHARS = 200_000
QUIT_WAIT = 5.0  # seconds the app waits at quitting for the replies it stopped to be saved
Watching = Callable[[], bool] | None  # whether whoever follows a reply still does (None: to its end)


class ChatSession:
    """Every conversation of this process and the actions a user can take on them.

    It has a model host (the engine, settings, models) and a history (the conversations as stored).
    """

    def __init__(self, host: ModelHost, history: History):
        self.host = host
        self.history = history
        self.replies = Replies(host, history)

    @classmethod
    def over(cls, host: ModelHost, store) -> "ChatSession":
        """A session over `store`, whose conversations are measured by `host`'s model."""
        return cls(host, History(store, host.measure))

    def close(self) -> None:
        """Stop the replies, release the model and close the history (saving what a full disk held back)."""
        self.replies.stop_all()
        self.host.close()
        self.replies.join(timeout=QUIT_WAIT)  # each worker saves what its reply has written
        try:
            self.history.flush()
        except StorageError:
            pass  # the replies concerned keep their last checkpoint, marked interrupted at the next start
        self.history.store.close()

    # opening and leaving conversations

    def new_conversation(self) -> Conversation:
        """Start an empty conversation with the system prompt for new chats."""
        return self.history.new_conversation(self.host.system_prompt)

    def new_temporary(self) -> Conversation:
        """Start a temporary chat: kept in RAM only, gone after a restart or when another chat is opened."""
        return self.history.new_temporary(self.host.system_prompt)

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
        """The window moves on: undone exchanges are deleted for good; a reply goes on in the background."""
        if conversation is None:
            return
        self.history.forget_undone(conversation)
        if conversation.temporary:  # it is gone, and so is its reply
            self.stop(conversation)
            self.history.discard(conversation.id)

    def focus(self, conversation: Conversation) -> None:
        """The user opened this conversation: reopen it at the next start, and get the model ready for it."""
        self.history.remember(conversation)
        self.host.get_ready(conversation)

    def open_at(self, conversation_id: str, message_id: str) -> Conversation:
        """Open a conversation on the branch that shows `message_id` (it keeps its place in the list)."""
        conversation = self.conversation(conversation_id)
        if not conversation.busy:  # else its reply, still being written, would lose the messages it writes into
            self.history.show_newest_below(conversation, message_id, touch=False)
        return conversation

    def pin(self, conversation_id: str, pinned: bool = True) -> None:
        """Keep a conversation on top of the list, or (`pinned` False) let it take its place by date again."""
        self.history.pin(conversation_id, pinned)

    def trash(self, conversation_id: str) -> None:
        """Move a conversation to the trash, stopping its reply (it can be restored)."""
        conversation = self.find(conversation_id)
        if conversation is not None:
            self.stop(conversation)
        self.leave(conversation)
        self.history.trash(conversation_id)

    def type_draft(self, conversation: Conversation | None, text: str) -> None:
        """The user is typing `text` as the next message (of a new chat when `conversation` is None)."""
        conversation = conversation or Conversation("", system_prompt=self.host.system_prompt)
        sent = [m.content for m in conversation.messages if m.role == "user"]
        if sent and text.strip() == sent[-1]:  # a keystroke of the message just sent, arriving after it
            return
        conversation.draft = text.strip()
        if not conversation.busy:  # else the end of the reply gets the model ready, draft and all
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

    def send(self, conversation: Conversation, text: str, attachments: Sequence[Attachment] = ()) -> Conversation:
        """Append the user's message and start its reply at once, in the background: the model reads the
        message while the window asks to follow the reply (follow())."""
        self.add_user_message(conversation, text, attachments)
        self.replies.start(conversation, continue_reply=False)
        return conversation

    def reply(self, conversation: Conversation, still: Watching = None) -> Iterator[Conversation]:
        """Start a new reply to the conversation's last message, written in the background, and follow it
        (until `still()`, when given, says the watcher looks elsewhere)."""
        yield from self._stream(conversation, continue_reply=False, still=still)

    def submit(self, conversation: Conversation, text: str, still: Watching = None) -> Iterator[Conversation]:
        """Send `text` and stream the reply."""
        self.send(conversation, text)
        yield conversation
        yield from self.follow(conversation, still)

    def stop(self, conversation: Conversation) -> None:
        """Stop the reply being generated, keeping what was written so far (or one waiting for its turn)."""
        stop(conversation)

    def follow(self, conversation: Conversation, still: Watching = None) -> Iterator[Conversation]:
        """Watch the conversation's reply (being written, or the last one): yields as it changes, and at its
        end; returns early once `still()` is False."""
        yield from self.replies.follow(conversation, still or _always)

    def watch(self, conversation: Conversation, still: Watching = None) -> Iterator[Conversation]:
        """Like follow(), for a second watcher of the same reply (the page's live text): the window's reply
        event may still come to follow it."""
        yield from self.replies.follow(conversation, still or _always, claim=False)

    def reply_unfollowed(self, conversation: Conversation) -> bool:
        """Whether the reply send() started has not been followed yet (it may have ended meanwhile)."""
        return self.replies.unfollowed(conversation)

    def writing_ids(self) -> set[str]:
        """The conversations whose reply is being written in the background or waits for its turn."""
        return self.replies.writing_ids()

    def waits_for(self, conversation: Conversation) -> Conversation | None:
        """The conversation whose reply this one's reply waits for (one model writes one reply at a time)."""
        return self.find(self.replies.waits_for(conversation))

    def retry(self, conversation: Conversation, index: int, still: Watching = None) -> Iterator[Conversation]:
        """Write a new version of the reply to the user message at or before `index` (fresh seed)."""
        self._ensure_idle(conversation)
        user_index = self._user_index_at_or_before(conversation, index)
        del conversation.messages[user_index + 1:]
        yield conversation
        yield from self.reply(conversation, still)

    def continue_reply(self, conversation: Conversation, index: int, still: Watching = None) -> Iterator[Conversation]:
        """Carry on writing a reply that ended by length, by Stop, or with the app."""
        self._ensure_idle(conversation)
        if not conversation.can_continue(index):
            raise UserError("Only the last reply, cut short by its length or by Stop, can be continued.")
        yield from self._stream(conversation, continue_reply=True, still=still)

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
        self._ensure_idle(conversation)
        if not conversation.can_redo():
            raise UserError("There is nothing to redo here.")
        message_id, _parent = conversation.undone.pop()
        self.history.show_newest_below(conversation, message_id)
        return conversation

    def edit(self, conversation: Conversation, index: int, text: str, still: Watching = None) -> Iterator[Conversation]:
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
        yield from self.reply(conversation, still)

    def step_version(self, conversation: Conversation, index: int, step: int) -> Conversation:
        """Show the previous (-1) or next (+1) version of the message at `index`."""
        self._ensure_idle(conversation)
        self.history.show_version_of(conversation, self._message(conversation, index).id, step)
        return conversation

    def branch_from(self, conversation: Conversation, index: int) -> Conversation:
        """A new chat with the messages up to `index`, titled after this one; this one is left as it is."""
        self._ensure_idle(conversation)
        return branching.branch_from(self.history, conversation, index)

    def deletion_question(self, conversation: Conversation, index: int) -> str:
        """What deleting the message at `index` would take away ("Delete this message and the 3 after it?")."""
        return branching.deletion_question(self.history, conversation, index)

    def delete_message(self, conversation: Conversation, index: int) -> Conversation:
        """Delete the message at `index` and what followed it on this branch; other versions stay."""
        self._ensure_idle(conversation)
        return branching.delete_from(self.history, conversation, index)

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

    def _stream(self, conversation: Conversation, *, continue_reply: bool, still: Watching) -> Iterator[Conversation]:
        self._ensure_idle(conversation)  # one reply at a time per conversation, whichever window asks
        self.replies.start(conversation, continue_reply=continue_reply)
        yield from self.replies.follow(conversation, still or _always)

    def _ensure_idle(self, conversation: Conversation) -> None:
        if conversation.generation is not None:
            raise UserError("A reply is still being written; press Stop first.")
        if conversation.waiting is not None and self.host.loading is not None:
            raise UserError("A reply is waiting for the model to load; press Stop first.")
        if conversation.waiting is not None:  # waiting for its turn, or its last words are being saved
            raise UserError("A reply is on its way; press Stop first.")

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


def _always() -> bool:
    return True


def _reported(server: dict) -> dict:
    """What an inference server said about a reply, worth showing: its own speed and its fingerprint."""
    facts = {}
    speed = (server.get("timings") or {}).get("predicted_per_second")
    if speed:
        facts["server_tokens_per_second"] = speed
    if server.get("system_fingerprint"):
        facts["system_fingerprint"] = server["system_fingerprint"]
    return facts
