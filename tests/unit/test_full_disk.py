"""A disk that fills up: the user is told, the reply stops, nothing is lost, and the chat goes on once there is room.

The history is made full the way SQLite itself reports a full disk (PRAGMA max_page_count: SQLITE_FULL); the
prompt cache's file the way the system refuses a write (RLIMIT_FSIZE: EFBIG). tests/integration/test_full_disk.py
fills a real small filesystem under the running app.
"""

import resource
from array import array

import pytest

from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.core.session import ChatSession
from chatdesk.engine.disk_cache import DiskPromptCache
from chatdesk.errors import StorageError, UserError
from chatdesk.store.database import Store
from chatdesk.ui.handlers import Handlers
from tests.unit.test_background_replies import wait_until
from tests.unit.fake_engine import ScriptedEngine

TOKENS = [f"{i:03d} " + "lighthouse " * 200 for i in range(60)]  # about 130 kB of reply


@pytest.fixture
def engine():
    return ScriptedEngine(context_length=100_000)


@pytest.fixture
def session(engine, store, monkeypatch):
    monkeypatch.setattr("chatdesk.core.replies.SAVE_EVERY", 0)
    return ChatSession.over(ModelHost(engine, Settings(max_tokens=1000, system_prompt="Be brief.")), store)


def fill_disk(store: Store) -> None:
    """From now on the history file cannot grow."""
    store._run(f"PRAGMA max_page_count = {store._one('PRAGMA page_count')[0]}")


def make_room(store: Store) -> None:
    store._run("PRAGMA max_page_count = 1073741823")


def stream_until_full(session, engine, conversation, store) -> tuple[list, StorageError]:
    """Stream a long reply, filling the disk once part of it is saved; the updates and the error."""
    gate = engine.hold()
    engine.enqueue(TOKENS)
    updates = session.submit(conversation, "Tell me about lighthouses.")
    next(updates)
    gate.release(3)
    while len(conversation.messages[-1].content) < 3 * len(TOKENS[0]):
        next(updates)
    fill_disk(store)
    seen = []
    gate.release()
    with pytest.raises(StorageError) as raised:
        for update in updates:
            seen.append(update.messages[-1].content)
            gate.release()
    gate.release(len(TOKENS))
    return seen, raised.value


def test_a_full_disk_stops_the_reply_and_says_so_keeping_what_was_written(session, engine, store):
    conversation = session.new_conversation()
    engine.enqueue(["Hello", "!"])
    list(session.submit(conversation, "Hi"))
    seen, error = stream_until_full(session, engine, conversation, store)
    assert "The disk is full" in str(error) and "The reply was stopped" in str(error)
    reply = conversation.messages[-1]
    assert reply.status == "interrupted" and conversation.can_continue(len(conversation.messages) - 1)
    assert len(reply.content) < len("".join(TOKENS))  # it was not written on to the end
    assert reply.content.startswith(seen[-1] if seen else "")
    saved = store.message(reply.id)
    assert saved.content and reply.content.startswith(saved.content)  # the last checkpoint is on disk
    assert [(m.role, m.content) for m in store.branch(store.message(reply.parent_id).parent_id)] == [
        ("user", "Hi"), ("assistant", "Hello!")]
    assert store.integrity() == "ok"


def test_once_there_is_room_the_chat_goes_on_and_the_stopped_reply_is_saved_whole(session, engine, store):
    conversation = session.new_conversation()
    stream_until_full(session, engine, conversation, store)
    reply = conversation.messages[-1]
    with pytest.raises(UserError, match="The disk is full"):  # a message cannot be saved either: it is refused
        session.add_user_message(conversation, "Are you there?")
    assert conversation.messages[-1] is reply
    make_room(store)
    engine.enqueue(["Yes."])
    list(session.submit(conversation, "Are you there?"))
    assert [m.content for m in conversation.messages[-2:]] == ["Are you there?", "Yes."]
    saved = store.message(reply.id)
    assert (saved.content, saved.status) == (reply.content, "interrupted")


def test_the_page_shows_the_stopped_reply_with_continue(session, engine, store):
    conversation = session.new_conversation()
    gate = engine.hold()
    engine.enqueue(TOKENS)
    session.send(conversation, "Tell me about lighthouses.")
    shown = Handlers(session).reply(conversation.id)
    next(shown)  # the window follows the reply
    gate.release(3)
    wait_until(lambda: len(conversation.messages[-1].content) == 3 * len(TOKENS[0]))
    fill_disk(store)
    gate.release(len(TOKENS))
    last = list(shown)[-1][0][-1]  # the handler warns (a toast) and ends with the reply as it now is
    assert last["content"] == conversation.messages[-1].content
    assert last["options"] == [{"value": "continue:1", "label": "Continue"}]


def test_a_prompt_cache_file_the_disk_cannot_take_leaves_nothing_behind(tmp_path):
    cache = DiskPromptCache(tmp_path / "states", 1 << 30)
    tokens, state = list(range(200)), bytes(4 << 20)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, hard))  # files stop growing at 1 MB, as on a full disk
    try:
        with pytest.raises(OSError):
            cache.put(tokens, state)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert list((tmp_path / "states").iterdir()) == []  # no partial file keeps the space
    assert cache.best(tokens) is None
    cache.put(tokens, state)  # room again: it is written
    assert cache.read(cache.best(array("i", tokens))) == state
