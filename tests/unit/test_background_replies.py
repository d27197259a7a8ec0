"""Replies written in the background: switching chats never stops one, and one model writes one at a time."""

import threading
import time

import pytest

from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.core.session import ChatSession
from chatdesk.errors import UserError
from chatdesk.store.database import Store


@pytest.fixture
def session(engine, store):
    return ChatSession.over(ModelHost(engine, Settings(max_tokens=20)), store)


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def start_reply(session, engine, conversation, text, tokens):
    """Send `text` and watch its reply until it has started, then walk away (as a window opening another chat)."""
    engine.enqueue(tokens)
    updates = session.submit(conversation, text)
    next(updates)
    next(updates)
    updates.close()


def test_a_reply_goes_on_when_the_window_opens_another_chat(session, engine, store):
    gate = engine.hold()
    first = session.new_conversation()
    start_reply(session, engine, first, "Tell me a story", ["Once ", "upon ", "a ", "time."])
    session.leave(first)
    second = session.new_conversation()
    assert session.writing_ids() == {first.id}
    gate.release(10)
    wait_until(lambda: not session.writing_ids())
    assert first.messages[-1].content == "Once upon a time." and first.messages[-1].finish_reason == "stop"
    assert store.message(first.messages[-1].id).status == "complete"
    assert second.messages == []


def test_opening_a_chat_still_writing_follows_its_reply_to_the_end(session, engine):
    gate = engine.hold()
    conversation = session.new_conversation()
    start_reply(session, engine, conversation, "Count", ["one ", "two ", "three"])
    followed = session.follow(session.find(conversation.id))
    gate.release(10)
    seen = [c.messages[-1].content for c in followed]
    assert seen[-1] == "one two three" and not session.writing_ids()
    assert [c.messages[-1].content for c in session.follow(conversation)] == ["one two three"]  # finished: once


def test_a_watcher_that_looks_elsewhere_stops_watching_but_not_the_reply(session, engine):
    gate = engine.hold()
    conversation = session.new_conversation()
    start_reply(session, engine, conversation, "Count", ["one ", "two"])
    watching = [True]
    followed = session.follow(conversation, lambda: watching[0])
    watching[0] = False
    assert list(followed) == []
    gate.release(10)
    wait_until(lambda: conversation.messages[-1].content == "one two" and not conversation.busy)


def test_a_message_sent_in_another_chat_waits_for_the_reply_being_written(session, engine):
    gate = engine.hold()
    first, second = session.new_conversation(), session.new_conversation()
    start_reply(session, engine, first, "Tell me a story", ["Once ", "upon ", "a ", "time."])
    engine.enqueue(["Hi!"])
    updates = session.submit(second, "Hello")
    next(updates)
    waiting = next(updates)  # the reply has not started: it waits for the first chat's
    assert session.waits_for(waiting) is first and waiting.busy and len(engine.calls) == 1
    assert session.writing_ids() == {first.id, second.id}
    gate.release(10)
    assert [c.messages[-1].content for c in updates][-1] == "Hi!"
    assert first.messages[-1].content == "Once upon a time." and session.waits_for(second) is None
    assert [call["messages"][-1]["content"] for call in engine.calls] == ["Tell me a story", "Hello"]


def test_stop_in_a_waiting_chat_leaves_its_message_unanswered_and_the_other_reply_going(session, engine):
    gate = engine.hold()
    first, second = session.new_conversation(), session.new_conversation()
    start_reply(session, engine, first, "Tell me a story", ["Once ", "upon"])
    engine.enqueue(["Hi!"])
    updates = session.submit(second, "Hello")
    next(updates)
    next(updates)
    session.stop(second)
    assert [c.messages[-1].content for c in updates][-1] == "Hello"
    assert not second.busy and first.busy
    gate.release(10)
    wait_until(lambda: not first.busy)
    assert first.messages[-1].content == "Once upon" and len(engine.calls) == 1


def test_quitting_stops_the_replies_and_keeps_what_they_wrote(engine, tmp_path):
    store = Store(tmp_path / "chatdesk.db")
    session = ChatSession.over(ModelHost(engine, Settings(max_tokens=20)), store)
    gate = engine.hold()
    conversation = session.new_conversation()
    start_reply(session, engine, conversation, "Tell me a story", ["Once ", "upon ", "a ", "time."])
    gate.release(1)
    wait_until(lambda: conversation.messages[-1].content == "Once ")
    threading.Timer(0.2, lambda: gate.release(10)).start()
    session.close()
    assert not session.writing_ids()
    reopened = Store(tmp_path / "chatdesk.db")
    saved = reopened.message(conversation.messages[-1].id)
    assert saved.content.startswith("Once ") and saved.status == "complete"
    assert saved.meta["stats"]["finish_reason"] == "cancelled"
    reopened.close()


def test_a_second_reply_cannot_start_in_a_chat_still_writing(session, engine):
    gate = engine.hold()
    conversation = session.new_conversation()
    start_reply(session, engine, conversation, "Count", ["one ", "two"])
    with pytest.raises(UserError, match="Stop"):
        next(session.reply(conversation))
    gate.release(10)
    wait_until(lambda: not conversation.busy)
    assert len(engine.calls) == 1 and [m.role for m in conversation.messages] == ["user", "assistant"]


def test_retry_while_the_last_words_are_saved_is_refused_and_leaves_one_reply(session, engine):
    engine.prepare_gate = threading.Event()  # the reply has all its words; the model reads the chat for the next
    conversation = session.new_conversation()
    start_reply(session, engine, conversation, "Name a cat", ["A ", "cat."])
    assert engine.preparing.wait(5) and conversation.messages[-1].content == "A cat."
    engine.enqueue(["Tom."])
    with pytest.raises(UserError, match="Stop"):
        next(session.retry(conversation, 1))
    engine.prepare_gate.set()
    wait_until(lambda: not conversation.busy)
    list(session.retry(conversation, 1))
    assert [(m.role, m.content) for m in conversation.messages] == [("user", "Name a cat"), ("assistant", "Tom.")]


def test_leaving_a_temporary_chat_stops_its_reply_and_nothing_of_it_reaches_the_disk(session, engine, store):
    gate = engine.hold()
    temporary = session.new_temporary()
    start_reply(session, engine, temporary, "A secret question", ["Never ", "saved ", "anywhere."])
    session.leave(temporary)  # another chat opened: the temporary chat is gone, and its reply with it
    engine.prepared.clear()
    gate.release(10)
    wait_until(lambda: not session.writing_ids())
    assert not any("A secret question" in str(messages) for messages in engine.prepared)  # not computed again
    assert session.find(temporary.id) is None
    assert not any("anywhere" in m.content for m in temporary.messages)  # stopped, not written to its end
    assert not [row for row in store.conversations() if row.id == temporary.id]
    assert store.search("secret") == [] and store.search("Never") == []


def test_a_reply_stopped_before_its_first_word_leaves_no_empty_reply(session, engine, store):
    gate = engine.hold()  # as while a long prompt is read: nothing written yet
    conversation = session.new_conversation()
    start_reply(session, engine, conversation, "A long question", ["An ", "answer."])
    session.stop(conversation)
    gate.release(10)
    wait_until(lambda: not session.writing_ids())
    assert [m.role for m in conversation.messages] == ["user"]  # the message stays, unanswered
    assert [m.role for m in store.branch(store.conversation(conversation.id).leaf_id)] == ["user"]


def test_a_search_hit_in_a_chat_still_writing_opens_it_with_its_reply_going_on(session, engine, store):
    gate = engine.hold()
    story = session.new_conversation()
    start_reply(session, engine, story, "Tell me a story", ["Once ", "upon ", "a ", "time."])
    session.leave(story)
    opened = session.open_at(story.id, story.messages[0].id)  # found by a search while it writes
    gate.release(10)
    wait_until(lambda: not session.writing_ids())
    assert opened.messages[-1].content == "Once upon a time."  # before: stuck at its last checkpoint
    assert opened.messages[-1].finish_reason == "stop"
