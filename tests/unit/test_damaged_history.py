"""A history file damaged on disk: the app still starts, the file is kept, and what can be read is brought over."""

import os

from chatdesk.store.database import Store


def history_of(path, chats: int = 30, turns: int = 8) -> list[str]:
    """A history of `chats` chats; the texts of all its messages."""
    store = Store(path)
    texts = []
    for n in range(chats):
        conversation = store.create_conversation()
        parent = None
        for turn in range(turns):
            texts.append(f"Chat {n}, turn {turn}: the keeper lit the lamp at dusk. " * 6)
            parent = store.add_message(conversation.id, parent, "user" if turn % 2 == 0 else "assistant",
                                       texts[-1]).id
    store.close()
    return texts


def damage_a_page(path, where: float) -> bytes:
    """Overwrite one page in the middle of the file with garbage; the file as it was."""
    data = bytearray(path.read_bytes())
    start = int(len(data) * where) // 4096 * 4096
    data[start:start + 4096] = os.urandom(4096)
    path.write_bytes(bytes(data))
    return bytes(data)


def test_a_damaged_page_does_not_stop_the_start_and_the_rest_is_recovered(tmp_path):
    path = tmp_path / "chatdesk.db"
    texts = history_of(path)
    damaged = damage_a_page(path, 0.5)
    store = Store(path)  # before: "database disk image is malformed" at every start
    assert store.moved_aside.read_bytes() == damaged  # kept for the user, as it was
    chats, messages = store.recovered
    assert chats == 30 and len(texts) * 0.9 <= messages <= len(texts)  # all but the damaged page's messages, if any
    shown = [m.content for c in store.conversations() for m in store.branch(c.leaf_id)]
    assert set(shown) <= set(texts) and len(shown) == messages  # every recovered message is shown
    assert store.integrity() == "ok" and store.search("keeper")
    store.close()


def test_a_damaged_file_from_before_pins_is_recovered_with_its_chats_unpinned(tmp_path):
    import sqlite3

    path = tmp_path / "chatdesk.db"
    texts = history_of(path)
    old = sqlite3.connect(path)  # as an earlier chatdesk wrote it: no pinned column, migration 4 not applied
    old.executescript("ALTER TABLE conversations DROP COLUMN pinned; DELETE FROM schema_migrations WHERE version = 4;"
                      "VACUUM;")
    old.close()
    damage_a_page(path, 0.5)
    store = Store(path)
    chats, messages = store.recovered
    assert chats == 30 and len(texts) * 0.9 <= messages <= len(texts)  # before: 0 chats, a new empty history
    assert not any(row.pinned for row in store.conversations())
    store.close()
