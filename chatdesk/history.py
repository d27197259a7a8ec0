"""The conversations of a session: open, list, rename, trash, search, and the branch on screen."""

from __future__ import annotations

from chatdesk.conversation import Conversation, Message
from chatdesk.engine import ContextOverflow, ModelError
from chatdesk.host import UserError
from chatdesk.store import Store

LAST_CONVERSATION = "last_conversation"


class History:
    """Every conversation, loaded from the store on demand and written through to it.

    Part of ChatSession, which provides `engine`, `loading`, `params` and `system_prompt` (ModelHost)
    and `stop`.
    """

    store: Store

    def __init__(self, store: Store):
        self.store = store
        self._open: dict[str, Conversation] = {}

    def set_system_prompt(self, conversation: Conversation, text: str) -> None:
        """Give one conversation its own system prompt."""
        conversation.system_prompt = text.strip()
        self.store.set_system_prompt(conversation.id, conversation.system_prompt)
        self._recount(conversation)

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

    def focus(self, conversation: Conversation) -> None:
        """The user opened this conversation: reopen it at the next start, and get the model ready for it."""
        self.remember(conversation)
        self.get_ready(conversation)

    def get_ready(self, conversation: Conversation) -> None:
        """Let the model compute, while the user reads and types, how the next message's prompt starts
        (with the message as far as it is typed)."""
        if self.engine is not None and self.loading is None:
            self.engine.prepare(conversation.prompt(), self.params.max_tokens, conversation.draft)

    def type_draft(self, conversation: Conversation | None, text: str) -> None:
        """The user is typing `text` as the next message (of a new chat when `conversation` is None)."""
        conversation = conversation or Conversation("", system_prompt=self.system_prompt)
        sent = [m.content for m in conversation.messages if m.role == "user"]
        if sent and text.strip() == sent[-1]:  # a keystroke of the message just sent, arriving after it
            return
        conversation.draft = text.strip()
        if conversation.generation is None:  # else the end of the reply gets the model ready, draft and all
            self.get_ready(conversation)

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

    def _recount(self, conversation: Conversation) -> None:
        """What the next reply's prompt takes: its tokens and the oldest messages left out of it."""
        if self.engine is None:
            return
        try:
            tokens, conversation.dropped_messages = self.engine.fit(conversation.prompt(), self.params.max_tokens)
            conversation.tokens_used = len(tokens)
        except ContextOverflow:  # even the last turn alone is too long: sending says so
            conversation.tokens_used = self.engine.count_tokens(conversation.prompt())
        except ModelError:  # switched to another model meanwhile: the next recount uses that one
            pass
