"""The conversations: open, list, rename, trash, search, export and import, and the branch on screen."""

from __future__ import annotations

import threading
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

    def find(self, conversation_id: str | None) -> Conversation | None:
        """The conversation with this id, loaded from the store if needed; None if there is none."""
        if not conversation_id:
            return None
        with self._opening:
            if conversation_id not in self._open:
                row = self.store.conversation(conversation_id)
                if row is None:
                    return None
                conversation = Conversation(row.id, row.title, row.system_prompt)
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
        """This is the conversation to reopen at the next start."""
        self.store.set_state(LAST_CONVERSATION, conversation.id)

    def forget_undone(self, conversation: Conversation) -> None:
        """Undone exchanges are deleted for good once the window moves on."""
        for message_id, _parent in conversation.undone:
            self.store.delete_message(message_id)
        conversation.undone.clear()

    def conversations(self, *, trashed: bool = False) -> list[ConversationRow]:
        """Conversations for the sidebar (or the trash), most recent first."""
        return self.store.conversations(trashed=trashed)

    def set_system_prompt(self, conversation: Conversation, text: str) -> None:
        """Give one conversation its own system prompt."""
        conversation.system_prompt = text.strip()
        self.store.set_system_prompt(conversation.id, conversation.system_prompt)
        self._measure(conversation)

    def rename(self, conversation_id: str, title: str) -> None:
        """Give a conversation a new title."""
        if not title.strip():
            raise UserError("A title cannot be empty.")
        self.store.rename(conversation_id, title)
        if conversation_id in self._open:
            self._open[conversation_id].title = title.strip()

    def trash(self, conversation_id: str) -> None:
        """Move a conversation to the trash (it can be restored)."""
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

    def show(self, conversation: Conversation, leaf_id: str | None) -> None:
        """Put the branch ending at `leaf_id` on screen, and keep it as the conversation's current one."""
        self.store.set_leaf(conversation.id, leaf_id)
        self._load_branch(conversation, leaf_id)
        self._measure(conversation)

    def show_version_of(self, conversation: Conversation, message_id: str, step: int) -> None:
        """Show the branch through the previous (-1) or next (+1) version of a message, if there is one."""
        versions = self.store.siblings(self.store.message(message_id))
        position = [v.id for v in versions].index(message_id) + step
        if 0 <= position < len(versions):
            self.show(conversation, self.store.newest_leaf(versions[position].id))

    def show_newest_below(self, conversation: Conversation, message_id: str) -> None:
        """Show the newest branch through `message_id`."""
        self.show(conversation, self.store.newest_leaf(message_id))

    # messages

    def append(self, conversation: Conversation, role: str, text: str, status: str = "complete",
               meta: dict | None = None) -> Message:
        """Add a message below the last one on screen (saving first what could not be saved before)."""
        self.flush()
        row = self.store.add_message(conversation.id, conversation.leaf_id, role, text, status=status, meta=meta)
        message = message_from_row(row)
        message.version = message.versions = len(self.store.siblings(row))
        conversation.messages.append(message)
        if not conversation.title and role == "user":
            conversation.title = self.store.conversation(conversation.id).title
        return message

    def drop(self, conversation: Conversation, message: Message) -> None:
        """Delete a message that never got any text, and show what was above it."""
        self.store.delete_message(message.id)
        self.show(conversation, message.parent_id)

    def save_content(self, message: Message) -> None:
        """Checkpoint the text of a message being written."""
        self.store.save_content(message.id, message.content)

    def save(self, message: Message) -> None:
        """Write a message's text, status and metadata; if the disk cannot take it, it is written by the next
        save or message, or at the end (StorageError says so)."""
        try:
            self.store.finish_message(message.id, message.content, message.meta, message.status)
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
        self.store.add_feedback(message.id, kind)
        message.feedback.append(Feedback(kind))

    # export and import

    def export(self, conversation: Conversation, kind: str) -> Path:
        """Write one chat as Markdown or JSON for download."""
        if not conversation.messages:
            raise UserError("This chat is empty; there is nothing to export yet.")
        writer = exchange.export_markdown if kind == "markdown" else exchange.export_json
        return exchange.write_export(writer(self.store, [conversation.id]), EXPORT_KINDS[kind])

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
        rows = self.store.branch(leaf_id)
        feedback = self.store.feedback([row.id for row in rows])
        conversation.messages = []
        for row in rows:
            versions = [v.id for v in self.store.siblings(row)]
            conversation.messages.append(
                message_from_row(row, feedback.get(row.id, ()), versions.index(row.id) + 1, len(versions)))
