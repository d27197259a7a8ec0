"""A long chat put in the history before the app starts: 20 exchanges whose replies hold lists and code."""

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
