"""A long chat put in the history before the app starts: 20 exchanges whose replies hold lists and code."""

import time
from pathlib import Path

from chatdesk.store.database import Store


def seed_long_chat(database: Path, exchanges: int = 20) -> str:
    """Write the chat and make it the one the app opens; returns its id."""
    database.parent.mkdir(parents=True, exist_ok=True)
    store = Store(database)
    try:
        conversation = store.create_conversation("You are a helpful assistant.")
        parent = None
        for n in range(exchanges):
            parent = store.add_message(conversation.id, parent, "user", f"Show me step {n} with some code.").id
            parent = store.add_message(conversation.id, parent, "assistant", _reply(n)).id
        store.set_leaf(conversation.id, parent)
        store.set_state("last_conversation", conversation.id)
        return conversation.id
    finally:
        store.close()


def _reply(n: int) -> str:
    return (f"Here is step {n}:\n\n1. Read the notes\n2. Check the **budget**\n\n- one\n- two\n\n"
            f"```python\ndef step_{n}(x):\n    return [i * {n} for i in range(x)]\n```\n\nDone with step {n}.")


def seed_many_chats(database: Path, count: int = 30) -> list[str]:
    """`count` two-message chats spread over the last months, newest first; returns their ids."""
    database.parent.mkdir(parents=True, exist_ok=True)
    store = Store(database)
    ids = []
    try:
        for n in range(count):
            conversation = store.create_conversation()
            user = store.add_message(conversation.id, None, "user",
                                     f"Chat number {n} about a rather long subject that does not fit on one line")
            reply = store.add_message(conversation.id, user.id, "assistant", f"An answer for chat {n}.")
            used = time.time() - n * n * 3600 * 3  # hours, then days, then weeks ago
            store._run("UPDATE conversations SET updated = ? WHERE id = ?", (used, conversation.id))
            store.set_leaf(conversation.id, reply.id, touch=False)
            ids.append(conversation.id)
        return ids
    finally:
        store.close()
