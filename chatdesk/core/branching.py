"""Branching a chat from one of its messages, deleting a message and what followed it, temporary chats."""

from __future__ import annotations

from chatdesk.core.conversation import Conversation, Message
from chatdesk.core.history import History
from chatdesk.errors import UserError

BRANCH_MARK = " (branch)"  # words, not a glyph such as ⑂ that system fonts may lack
UNTITLED = "New chat"


def branch_title(conversation: Conversation) -> str:
    """The original's title with the branch mark (once, however deep the branch)."""
    title = conversation.title or UNTITLED
    return title if title.endswith(BRANCH_MARK) else title + BRANCH_MARK


def branch_from(history: History, conversation: Conversation, index: int) -> Conversation:
    """A new chat holding the messages up to and including the one at `index`, as shown; the original stays."""
    _message_at(conversation, index)
    return history.copy_branch(conversation, index, branch_title(conversation))


def deletion_question(history: History, conversation: Conversation, index: int) -> str:
    """What deleting the message at `index` takes away, asked as a question."""
    message = _message_at(conversation, index)
    after = len(conversation.messages) - index - 1
    versions = history.below(conversation, message.id) - after
    question = "Delete this message" + (f" and the {_count(after, 'message')} after it" if after else "")
    if versions:
        question += f" (and {_count(versions, 'other version')} below it)"
    return question + "?"


def delete_from(history: History, conversation: Conversation, index: int) -> Conversation:
    """Delete the message at `index` and what followed it; its other versions, and theirs, stay."""
    history.delete(conversation, _message_at(conversation, index))
    return conversation


def _message_at(conversation: Conversation, index: int) -> Message:
    if not 0 <= index < len(conversation.messages):
        raise UserError("That message is no longer there.")
    return conversation.messages[index]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
