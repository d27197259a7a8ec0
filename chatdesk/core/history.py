"""The conversations: open, list, rename, trash, search, export and import, and the branch on screen."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from chatdesk.core.conversation import Conversation, Feedback, Message
from chatdesk.errors import StorageError, UserError
from chatdesk.store import exchange
from chatdesk.store.database import ConversationRow, MessageRow, SearchHit, Store

LAST_CONVERSATION = "last_conversation"
EXPORT_KINDS = {"markdown": "chat.md", "json": "chat.json"}


def message_from_row(row: MessageRow, feedback=(), version: int = 1, versions: int = 1) -> Message:
    """A message as loaded from the store."""
    return Message(row.role, row.content, row.id, row.parent_id, row.created, row.status, dict(row.meta),
                   [Feedback(kind, at) for kind, at in feedback], version, versions)


class History:
    """Every conversation, loaded from the store on demand and written through to it.

    `measure` counts what a conversation takes in the model's context; it is called whenever the branch
    on screen changes.
    """

    def __init__(self, store: Store, measure: Callable[[Conversation], None] = lambda conversation: None):
        self.store = store
        self._measure = measure
        self._open: dict[str, Conversation] = {}
        self._opening = threading.RLock()  # two windows opening one chat get the same Conversation
        self._unsaved: dict[str, Message] = {}  # messages whose last change the disk could not take
        self._ram: Store | None = None  # temporary chats: a history in RAM, made when the first one starts
        self._temporary: set[str] = set()  # the ids of those chats

    @property
    def moved_aside(self) -> Path | None:
        """Where an unreadable history file was kept, when a new one had to be started."""
        return self.store.moved_aside

    @property
    def recovered(self) -> tuple[int, int] | None:
        """(chats, messages) brought over from an unreadable history file into the new one."""
        return self.store.recovered

    def new_conversation(self, system_prompt: str) -> Conversation:
        """Start an empty conversation with a new id."""
        row = self.store.create_conversation(system_prompt)
        conversation = Conversation(row.id, system_prompt=row.system_prompt)
        self._open[row.id] = conversation
        return conversation

    def new_temporary(self, system_prompt: str) -> Conversation:
        """Start an empty conversation kept in RAM only: never written to disk, gone when discarded."""
        if self._ram is None:
            self._ram = Store.in_memory()
        row = self._ram.create_conversation(system_prompt)
        self._temporary.add(row.id)
        conversation = Conversation(row.id, system_prompt=row.system_prompt, temporary=True)
        self._open[row.id] = conversation
        return conversation

    def is_temporary(self, conversation_id: str | None) -> bool:
        """Whether this conversation lives in RAM only."""
        return conversation_id in self._temporary

    def discard(self, conversation_id: str) -> None:
        """Forget a temporary conversation and every message of it."""
        if conversation_id in self._temporary:
            self._ram.trash(conversation_id)
            self._ram.purge(conversation_id)
            self._temporary.discard(conversation_id)
            self._open.pop(conversation_id, None)

    def find(self, conversation_id: str | None) -> Conversation | None:
        """The conversation with this id, loaded from the store if needed; None if there is none."""
        if not conversation_id:
            return None
        with self._opening:
            if conversation_id not in self._open:
                row = self._store(conversation_id).conversation(conversation_id)
                if row is None:
                    return None
                conversation = Conversation(row.id, row.title, row.system_prompt,
                                            temporary=self.is_temporary(row.id))
                self._load_branch(conversation, row.leaf_id)
                self._measure(conversation)
                self._open[row.id] = conversation
            return self._open[conversation_id]

    def last_open(self) -> Conversation | None:
        """The conversation open when the app last ran, unless it is gone or in the trash."""
        found = self.find(self.store.get_state(LAST_CONVERSATION))
        if found is not None and self.store.conversation(found.id).deleted_at is None:
            return found
        return None

    def remember(self, conversation: Conversation) -> None:
        """This is the conversation to reopen at the next start (a temporary one is not)."""
        if self.is_temporary(conversation.id):
            return
        self.store.set_state(LAST_CONVERSATION, conversation.id)

    def forget_undone(self, conversation: Conversation) -> None:
        """Undone exchanges are deleted for good once the window moves on."""
        for message_id, _parent in conversation.undone:
            self._store(conversation.id).delete_message(message_id)
        conversation.undone.clear()

    def conversations(self, *, trashed: bool = False) -> list[ConversationRow]:
        """Conversations for the sidebar (or the trash), most recent first."""
        return self.store.conversations(trashed=trashed)

    def set_system_prompt(self, conversation: Conversation, text: str) -> None:
        """Give one conversation its own system prompt."""
        conversation.system_prompt = text.strip()
        self._store(conversation.id).set_system_prompt(conversation.id, conversation.system_prompt)
        self._measure(conversation)

    def rename(self, conversation_id: str, title: str) -> None:
        """Give a conversation a new title."""
        if not title.strip():
            raise UserError("A title cannot be empty.")
        self._store(conversation_id).rename(conversation_id, title)
        if conversation_id in self._open:
            self._open[conversation_id].title = title.strip()

    def pin(self, conversation_id: str, pinned: bool = True) -> None:
        """Keep a conversation on top of the list (or stop keeping it there); it stays so after a restart."""
        self.store.set_pinned(conversation_id, pinned)

    def trash(self, conversation_id: str) -> None:
        """Move a conversation to the trash (it can be restored); a temporary one is gone at once."""
        if self.is_temporary(conversation_id):
            self.discard(conversation_id)
            return
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

    def search(self, query: str) -> list[SearchHit]:
        """Messages matching every word of `query`."""
        return self.store.search(query)

    def show(self, conversation: Conversation, leaf_id: str | None, *, touch: bool = True) -> None:
        """Put the branch ending at `leaf_id` on screen, and keep it as the conversation's current one
        (with `touch`, the conversation moves up the list as just used)."""
        self._store(conversation.id).set_leaf(conversation.id, leaf_id, touch=touch)
        self._load_branch(conversation, leaf_id)
        self._measure(conversation)

    def show_version_of(self, conversation: Conversation, message_id: str, step: int) -> None:
        """Show the branch through the previous (-1) or next (+1) version of a message, if there is one."""
        store = self._store(conversation.id)
        versions = store.siblings(store.message(message_id))
        position = [v.id for v in versions].index(message_id) + step
        if 0 <= position < len(versions):
            self.show(conversation, store.newest_leaf(versions[position].id))

    def show_newest_below(self, conversation: Conversation, message_id: str, *, touch: bool = True) -> None:
        """Show the newest branch through `message_id`."""
        self.show(conversation, self._store(conversation.id).newest_leaf(message_id), touch=touch)

    # messages

    def append(self, conversation: Conversation, role: str, text: str, status: str = "complete",
               meta: dict | None = None) -> Message:
        """Add a message below the last one on screen (saving first what could not be saved before)."""
        self.flush()
        store = self._store(conversation.id)
        row = store.add_message(conversation.id, conversation.leaf_id, role, text, status=status, meta=meta)
        message = message_from_row(row)
        message.version = message.versions = len(store.siblings(row))
        conversation.messages.append(message)
        if not conversation.title and role == "user":
            conversation.title = store.conversation(conversation.id).title
        return message

    def drop(self, conversation: Conversation, message: Message) -> None:
        """Delete a message that never got any text, and show what was above it."""
        self._store(conversation.id).delete_message(message.id)
        self.show(conversation, message.parent_id)

    def save_content(self, message: Message) -> None:
        """Checkpoint the text of a message being written."""
        self._store_of(message).save_content(message.id, message.content)

    def save(self, message: Message) -> None:
        """Write a message's text, status and metadata; if the disk cannot take it, it is written by the next
        save or message, or at the end (StorageError says so)."""
        try:
            self._store_of(message).finish_message(message.id, message.content, message.meta, message.status)
        except StorageError:
            self._unsaved[message.id] = message
            raise
        self._unsaved.pop(message.id, None)

    def flush(self) -> None:
        """Write the messages a full disk kept from being saved; StorageError if it still cannot."""
        for message in list(self._unsaved.values()):
            self.save(message)

    def add_feedback(self, message: Message, kind: str) -> None:
        """Record a like, dislike, reason, copy or "none" on a message."""
        self._store_of(message).add_feedback(message.id, kind)
        message.feedback.append(Feedback(kind))

    def copy_branch(self, conversation: Conversation, upto: int, title: str) -> Conversation:
        """A new conversation holding the messages on screen up to index `upto`, with their metadata
        (feedback is not copied); it lives where the original does (on disk, or in RAM if temporary)."""
        store = self._store(conversation.id)
        new_id, now, parent, messages = uuid.uuid4().hex, time.time(), None, []
        for message in conversation.messages[:upto + 1]:
            messages.append({"id": uuid.uuid4().hex, "parent_id": parent, "role": message.role,
                             "content": message.content, "created": message.created, "status": message.status,
                             "meta": dict(message.meta), "feedback": []})
            parent = messages[-1]["id"]
        store.insert_conversations([{"id": new_id, "title": title, "system_prompt": conversation.system_prompt,
                                     "created": now, "updated": now, "leaf_id": parent, "messages": messages}])
        if self.is_temporary(conversation.id):
            self._temporary.add(new_id)
        return self.find(new_id)

    def below(self, conversation: Conversation, message_id: str) -> int:
        """How many messages hang below `message_id`, every version of them counted."""
        store = self._store(conversation.id)
        count, level = 0, [message_id]
        while level:
            level = [child.id for parent in level for child in store.children(parent)]
            count += len(level)
        return count

    def delete(self, conversation: Conversation, message: Message) -> None:
        """Delete a message and everything below it; show another version of it if it has one, else what
        was above it."""
        store = self._store(conversation.id)
        others = [v for v in store.siblings(store.message(message.id)) if v.id != message.id]
        store.delete_message(message.id)
        self._unsaved.pop(message.id, None)
        conversation.undone = [(m, p) for m, p in conversation.undone if store.message(m) is not None]
        self.show(conversation, store.newest_leaf(others[-1].id) if others else message.parent_id)

    # export and import

    def export(self, conversation: Conversation, kind: str) -> Path:
        """Write one chat as Markdown or JSON for download."""
        if not conversation.messages:
            raise UserError("This chat is empty; there is nothing to export yet.")
        writer = exchange.export_markdown if kind == "markdown" else exchange.export_json
        return exchange.write_export(writer(self._store(conversation.id), [conversation.id]), EXPORT_KINDS[kind])

    def export_all(self) -> Path:
        """Write every chat, the trash too, with every version, its metadata and feedback."""
        ids = [row.id for row in self.conversations() + self.conversations(trashed=True)]
        return exchange.write_export(exchange.export_json(self.store, ids), "all-chats.json")

    def export_feedback(self) -> Path:
        """Write the feedback given on replies as JSONL, for tuning."""
        return exchange.write_export(exchange.export_feedback_jsonl(self.store), "feedback.jsonl")

    def import_file(self, path: str | Path) -> list[str]:
        """Add the chats of a chatdesk JSON export, all or none; their new ids."""
        try:
            with open(path, encoding="utf-8") as source:
                return exchange.import_json(self.store, source.read())
        except (exchange.InvalidExport, UnicodeDecodeError, OSError) as error:
            raise UserError(f"Nothing was imported: {error}") from error

    def _load_branch(self, conversation: Conversation, leaf_id: str | None) -> None:
        store = self._store(conversation.id)
        rows = store.branch(leaf_id)
        feedback = store.feedback([row.id for row in rows])
        conversation.messages = []
        for row in rows:
            versions = [v.id for v in store.siblings(row)]
            conversation.messages.append(
                message_from_row(row, feedback.get(row.id, ()), versions.index(row.id) + 1, len(versions)))

    def _store(self, conversation_id: str | None) -> Store:
        """Where a conversation is kept: the history file, or RAM for a temporary chat."""
        return self._ram if conversation_id in self._temporary else self.store

    def _store_of(self, message: Message) -> Store:
        """Where a message is kept."""
        if self._temporary and self._ram.message(message.id) is not None:
            return self._ram
        return self.store
