"""The history database against a temp dir: schema, tree, trash, search, upgrades, damage."""

import sqlite3
import threading

import pytest

from chatdesk.store.database import HistoryUnavailable, Store
from chatdesk.store.migrations import MIGRATIONS


def exchange(store, conversation_id, question, answer, parent=None):
    user = store.add_message(conversation_id, parent, "user", question)
    return user, store.add_message(conversation_id, user.id, "assistant", answer)


def test_a_new_database_uses_wal_foreign_keys_and_the_latest_schema(store):
    assert store.schema_version() == MIGRATIONS[-1][0]
    assert store._one("PRAGMA journal_mode")[0] == "wal"
    assert store._one("PRAGMA foreign_keys")[0] == 1
    assert store.integrity() == "ok"


def test_the_default_location_is_under_the_data_dir(private_home):
    store = Store()
    assert store.path == private_home / "data" / "chatdesk.db" and store.path.exists()
    store.close()


def test_a_conversation_is_titled_from_its_first_message_and_listed_most_recent_first(store):
    first = store.create_conversation()
    exchange(store, first.id, "What is the capital of France, and why is it there?" * 2, "Paris.")
    second = store.create_conversation()
    exchange(store, second.id, "Hello", "Hi!")
    store.create_conversation()  # never used: not listed
    listed = store.conversations()
    assert [c.id for c in listed] == [second.id, first.id]
    assert listed[1].title.startswith("What is the capital of France") and len(listed[1].title) <= 60
    store.add_message(first.id, listed[1].leaf_id, "user", "And Spain?")
    assert [c.id for c in store.conversations()] == [first.id, second.id]


def test_versions_are_siblings_and_the_branch_follows_the_leaf(store):
    conversation = store.create_conversation()
    user, first = exchange(store, conversation.id, "Hi", "Hello")
    second = store.add_message(conversation.id, user.id, "assistant", "Hey")
    follow = store.add_message(conversation.id, first.id, "user", "More")
    assert [m.content for m in store.siblings(first)] == ["Hello", "Hey"]
    assert [m.content for m in store.branch(second.id)] == ["Hi", "Hey"]
    assert store.newest_leaf(first.id) == follow.id
    assert [m.content for m in store.branch(follow.id)] == ["Hi", "Hello", "More"]


def test_trash_restore_and_only_trashed_conversations_are_purged(store):
    conversation = store.create_conversation()
    exchange(store, conversation.id, "Keep me", "Kept")
    store.purge(conversation.id)
    assert store.conversation(conversation.id) is not None  # not in the trash: purge refuses
    store.trash(conversation.id)
    assert store.conversations() == [] and [c.id for c in store.conversations(trashed=True)] == [conversation.id]
    store.restore(conversation.id)
    assert [c.id for c in store.conversations()] == [conversation.id]
    store.trash(conversation.id)
    store.purge(conversation.id)
    assert store.conversation(conversation.id) is None
    assert store.messages(conversation.id) == []


def test_search_finds_words_in_old_conversations_but_not_in_the_trash(store):
    old = store.create_conversation()
    exchange(store, old.id, "Tell me about zebras", "Zebras have stripes.")
    gone = store.create_conversation()
    exchange(store, gone.id, "zebra facts", "Trashed zebras.")
    store.trash(gone.id)
    hits = store.search("zebra")
    assert {h.conversation_id for h in hits} == {old.id}
    assert all("zebra" in h.snippet.lower() for h in hits)
    assert isinstance(store.search('stripes" OR ( NEAR'), list)  # query syntax in the input must not raise
    assert [h.conversation_id for h in store.search('"stripes')] == [old.id]
    assert store.search("   ") == []


def test_search_sees_edited_text(store):
    conversation = store.create_conversation()
    _, reply = exchange(store, conversation.id, "Hi", "quokka")
    store.finish_message(reply.id, "wombat", {})
    assert store.search("quokka") == [] and len(store.search("wombat")) == 1


def test_replies_streaming_when_the_app_died_are_kept_as_interrupted(tmp_path):
    store = Store(tmp_path / "chatdesk.db")
    conversation = store.create_conversation()
    user = store.add_message(conversation.id, None, "user", "Hi")
    reply = store.add_message(conversation.id, user.id, "assistant", "", status="streaming")
    store.save_content(reply.id, "Half a repl")
    store._db.close()  # no clean shutdown
    reopened = Store(tmp_path / "chatdesk.db")
    message = reopened.message(reply.id)
    assert (message.content, message.status) == ("Half a repl", "interrupted")
    reopened.close()


def test_an_older_database_is_upgraded_and_keeps_its_history(tmp_path):
    path = tmp_path / "chatdesk.db"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied REAL NOT NULL);"
                      + MIGRATIONS[0][2] + "; INSERT INTO schema_migrations VALUES (1, 'v1', 0);")
    old.execute("INSERT INTO conversations VALUES ('c1', 'Old chat', '', 1, 1, 'm2')")
    old.execute("INSERT INTO messages VALUES ('m1', 'c1', NULL, 'user', 'an aardvark question', 1, 'complete', '{}')")
    old.execute("INSERT INTO messages VALUES ('m2', 'c1', 'm1', 'assistant', 'an answer', 2, 'complete', '{}')")
    old.commit()
    old.close()
    store = Store(path)
    assert store.schema_version() == MIGRATIONS[-1][0]
    assert [c.title for c in store.conversations()] == ["Old chat"]
    assert [m.content for m in store.branch("m2")] == ["an aardvark question", "an answer"]
    assert [h.message_id for h in store.search("aardvark")] == ["m1"]
    store.add_feedback("m2", "Like")
    assert store.feedback(["m2"])["m2"][0][0] == "Like"
    store.close()


def test_a_file_that_is_not_a_database_is_moved_aside_and_kept(tmp_path):
    path = tmp_path / "chatdesk.db"
    junk = b"this is not a database " * 100
    path.write_bytes(junk)
    store = Store(path)
    assert store.moved_aside is not None and store.moved_aside.read_bytes() == junk
    assert "unreadable" in store.moved_aside.name
    assert store.schema_version() == MIGRATIONS[-1][0]
    store.close()


def test_two_threads_writing_at_once_lose_nothing(store):
    conversations = [store.create_conversation() for _ in range(2)]

    def write(conversation):
        parent = None
        for i in range(150):
            parent = store.add_message(conversation.id, parent, "user" if i % 2 == 0 else "assistant", f"m{i}").id
            store.add_feedback(parent, "copy")

    threads = [threading.Thread(target=write, args=(c,)) for c in conversations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for conversation in conversations:
        leaf = store.conversation(conversation.id).leaf_id
        assert len(store.branch(leaf)) == 150
    assert store.integrity() == "ok"


def test_app_state_is_remembered(tmp_path):
    store = Store(tmp_path / "chatdesk.db")
    store.set_state("last_conversation", "abc")
    store.set_state("last_conversation", "def")
    store.close()
    assert Store(tmp_path / "chatdesk.db").get_state("last_conversation") == "def"


def test_insert_conversations_is_all_or_nothing(store):
    good = {"id": "c1", "title": "t", "system_prompt": "", "created": 1.0, "updated": 1.0, "leaf_id": "m1",
            "messages": [{"id": "m1", "parent_id": None, "role": "user", "content": "hi", "created": 1.0,
                          "status": "complete", "meta": {}, "feedback": []}]}
    bad = dict(good, id="c2", messages=[dict(good["messages"][0], id="m2", parent_id="nowhere")])
    with pytest.raises(sqlite3.IntegrityError):
        store.insert_conversations([good, bad])
    assert store.conversation("c1") is None


def history_with_one_chat(path):
    """A history file in the old rollback-journal mode holding one chat; its bytes."""
    store = Store(path)
    exchange(store, store.create_conversation("").id, "Keep this", "Kept")
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=DELETE")
    return path.read_bytes()


def assert_not_moved(path):
    assert path.exists()
    assert [p.name for p in path.parent.iterdir() if "unreadable" in p.name] == []


def test_a_history_locked_by_another_program_is_left_alone_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr("chatdesk.store.database.BUSY_SECONDS", 0.2)
    path = tmp_path / "chatdesk.db"
    before = history_with_one_chat(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program writing to it
    try:
        with pytest.raises(HistoryUnavailable, match="locked.*left as it is"):
            Store(path)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert_not_moved(path)
    assert path.read_bytes() == before
    store = Store(path)  # once the other program lets go, every chat is there
    assert [c.title for c in store.conversations()] == ["Keep this"]
    store.close()


def test_a_failing_migration_leaves_the_history_untouched(tmp_path):
    path = tmp_path / "chatdesk.db"
    with sqlite3.connect(path) as db:  # says it has migration 1, but its tables are not what 2 expects
        db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied REAL)")
        db.execute("INSERT INTO schema_migrations VALUES (1, 'conversations', 0)")
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES ('keep me')")
    with pytest.raises(HistoryUnavailable, match="no such table: conversations"):
        Store(path)
    assert_not_moved(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT text FROM notes").fetchall() == [("keep me",)]
        assert db.execute("SELECT version FROM schema_migrations").fetchall() == [(1,)]  # 2 applied not at all
