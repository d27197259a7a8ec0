"""The chat list's groups and pins: a pure function of dates, and pins kept by the store."""

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from chatdesk.core.chatgroups import group_chats, group_label
from chatdesk.store.database import Store
from chatdesk.store.migrations import MIGRATIONS

TODAY = date(2026, 3, 10)


def noon(days: int) -> float:
    return datetime.combine(TODAY - timedelta(days=days), datetime.min.time()).timestamp() + 12 * 3600


@dataclass
class Row:
    id: str
    updated: float
    pinned: bool = False


@pytest.mark.parametrize("days, label", [
    (0, "Today"), (1, "Yesterday"), (2, "Previous 7 days"), (7, "Previous 7 days"),
    (8, "March 2026"), (9, "March 2026"), (10, "February 2026"), (70, "December 2025"),
    (-1, "Today"),  # a clock set back: not "tomorrow"
])
def test_a_chat_is_grouped_by_the_day_it_was_last_used(days, label):
    assert group_label(TODAY - timedelta(days=days), TODAY) == label


def test_groups_come_newest_first_with_pinned_chats_on_top():
    rows = [Row("old", noon(40)), Row("today", noon(0)), Row("pinned-old", noon(90), pinned=True),
            Row("yesterday", noon(1)), Row("week", noon(3)), Row("pinned-new", noon(2), pinned=True),
            Row("today-later", noon(0) + 60)]
    groups = group_chats(rows, TODAY)
    assert [(label, [row.id for row in chats]) for label, chats in groups] == [
        ("Pinned", ["pinned-new", "pinned-old"]),
        ("Today", ["today-later", "today"]),
        ("Yesterday", ["yesterday"]),
        ("Previous 7 days", ["week"]),
        ("January 2026", ["old"]),
    ]


def test_no_chats_make_no_groups():
    assert group_chats([], TODAY) == []


def _chat(store, text):
    conversation = store.create_conversation()
    store.add_message(conversation.id, None, "user", text)
    return conversation.id


def test_pinned_chats_are_listed_first_and_stay_pinned_after_a_restart(tmp_path):
    store = Store(tmp_path / "chatdesk.db")
    first, second, third = (_chat(store, text) for text in ("first", "second", "third"))
    store.set_pinned(first, True)
    assert [row.id for row in store.conversations()] == [first, third, second]
    store.close()
    store = Store(tmp_path / "chatdesk.db")
    assert [(row.id, row.pinned) for row in store.conversations()] == [(first, True), (third, False), (second, False)]
    store.set_pinned(first, False)
    assert [row.id for row in store.conversations()] == [third, second, first]
    store.close()


def test_migration_4_gives_an_older_database_the_pin_with_every_chat_unpinned(tmp_path):
    path = tmp_path / "chatdesk.db"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied REAL);"
                      + "".join(sql + ";" for _, _, sql in MIGRATIONS[:3])
                      + "INSERT INTO schema_migrations VALUES (1, 'a', 0), (2, 'b', 0), (3, 'c', 0);")
    old.execute("INSERT INTO conversations (id, title, system_prompt, created, updated, leaf_id) "
                "VALUES ('c1', 'Old chat', '', 1, 1, 'm1')")
    old.execute("INSERT INTO messages VALUES ('m1', 'c1', NULL, 'user', 'hello', 1, 'complete', '{}')")
    old.commit()
    old.close()
    store = Store(path)
    assert store.schema_version() == 4
    assert [(row.title, row.pinned) for row in store.conversations()] == [("Old chat", False)]
    store.set_pinned("c1", True)
    assert store.conversation("c1").pinned is True
    store.close()


def test_opening_a_search_hit_keeps_the_chat_in_its_place_and_pins_go_through_the_session(tmp_path):
    from chatdesk.config import Settings
    from chatdesk.core.host import ModelHost
    from chatdesk.core.session import ChatSession
    from tests.unit.fake_engine import ScriptedEngine

    store = Store(tmp_path / "chatdesk.db")
    session = ChatSession.over(ModelHost(ScriptedEngine(), Settings()), store)
    older = _chat(store, "an aardvark question")
    newer = _chat(store, "a zebra question")
    hit = session.history.search("aardvark")[0]
    assert session.open_at(hit.conversation_id, hit.message_id).id == older
    assert [row.id for row in session.history.conversations()] == [newer, older]
    session.pin(older)
    assert [(row.id, row.pinned) for row in session.history.conversations()] == [(older, True), (newer, False)]
    session.pin(older, False)
    assert [row.id for row in session.history.conversations()] == [newer, older]
    store.close()


def test_an_export_keeps_the_pin_on_import(tmp_path):
    from chatdesk.store import exchange
    store = Store(tmp_path / "chatdesk.db")
    pinned = _chat(store, "keep me on top")
    store.set_pinned(pinned, True)
    _chat(store, "plain")
    text = exchange.export_json(store, [row.id for row in store.conversations()])
    other = Store(tmp_path / "other.db")
    exchange.import_json(other, text)
    assert sorted((row.title, row.pinned) for row in other.conversations()) == [
        ("keep me on top", True), ("plain", False)]
    store.close()
    other.close()
