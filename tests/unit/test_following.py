"""The page's events follow a reply only while its chat is on screen (handlers, without a browser)."""

import threading
import time

import pytest

from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.core.session import ChatSession
from chatdesk.store.database import Store
from chatdesk.ui.busy import FINISHED, STOPPED, WRITING
from chatdesk.ui.handlers import UNCHANGED, Handlers
from chatdesk.ui.sidebar import SidebarHandlers
from tests.unit.test_background_replies import wait_until


@pytest.fixture
def session(engine, tmp_path):
    session = ChatSession.over(ModelHost(engine, Settings(max_tokens=20)), Store(tmp_path / "chatdesk.db"))
    yield session
    session.close()


def sent(session, handlers, text):
    conversation = session.new_conversation()
    handlers.add_message(text, conversation.id)
    return conversation


def chats_in(updates) -> list:
    """The Chatbot values written to the pane (skips left out)."""
    return [update[0] for update in updates if isinstance(update[0], list)]


def chat_list(session) -> str:
    return SidebarHandlers(session, None).lists()[0]


def visible(update) -> bool:
    return update["visible"]


def test_opening_another_chat_stops_writing_the_reply_into_the_pane(session, engine):
    handlers = Handlers(session)
    gate = engine.hold()
    engine.enqueue(["Once ", "upon ", "a ", "time."])
    story = session.new_conversation()
    _chat, send, stop, *_rest = handlers.add_message("Tell me a story", story.id)
    assert not visible(send) and visible(stop)
    stream = handlers.reply(story.id)
    text = handlers.live.find(next(stream)[1]).pieces  # the page reads the reply's text
    gate.release(1)
    assert next(text) == {"text": "Once "}
    other = session.new_conversation()
    handlers.show(other)  # the window opens another chat
    gate.release(10)
    assert list(stream) == [UNCHANGED]  # nothing more lands: the pane shows the other chat
    assert list(text) == []  # nor in its text
    wait_until(lambda: not story.busy)
    assert story.messages[-1].content == "Once upon a time."


def test_opening_a_chat_still_writing_follows_its_reply_to_the_end(session, engine):
    handlers = Handlers(session)
    gate = engine.hold()
    engine.enqueue(["Once ", "upon ", "a ", "time."])
    story = sent(session, handlers, "Tell me a story")
    stream = handlers.reply(story.id)
    next(stream)
    handlers.show(session.new_conversation())
    assert list(stream) == [UNCHANGED]
    assert "still writing: </span></span>Tell me a story" in chat_list(session)  # marked in the list while it writes
    handlers.show(story)  # the window opens the story again
    followed = handlers.follow(story.id)
    assert WRITING in next(followed)[4]
    gate.release(10)
    updates = list(followed)
    assert chats_in(updates)[-1][-1]["content"] == "Once upon a time."
    assert visible(updates[-1][2]) and not visible(updates[-1][3])  # Send again
    assert FINISHED in updates[-1][4] and 'data-busy="false"' in updates[-1][4]
    assert "still writing" not in chat_list(session)


def test_a_reply_waiting_for_another_says_so_and_stop_cancels_it(session, engine):
    handlers = Handlers(session)
    gate = engine.hold()
    engine.enqueue(["Once ", "upon"], ["Hi"])
    story = sent(session, handlers, "Tell me a story")
    first = handlers.reply(story.id)
    while story.generation is None:
        next(first)
    greeting = session.new_conversation()  # another chat: the window shows it now
    status = handlers.add_message("Hello", greeting.id)[3]  # as the send shows it, or the reply event soon after
    stream = handlers.reply(greeting.id)
    while "Waiting" not in status:
        status = next(stream)[4]
    assert "“Tell me a story”" in status and 'data-busy="true"' in status
    handlers.stop(greeting.id)
    last = list(stream)[-1]
    assert STOPPED in last[4] and visible(last[2])
    gate.release(10)
    wait_until(lambda: not story.busy)
    assert [m.content for m in greeting.messages] == ["Hello"] and len(engine.calls) == 1


def writing_out_of_sight(session, engine):
    """A story whose reply has started and is held; the handlers of the window that asked for it."""
    handlers = Handlers(session)
    gate = engine.hold()
    engine.enqueue(["Once ", "upon"])
    story = sent(session, handlers, "Tell me a story")
    stream = handlers.reply(story.id)
    while story.generation is None:
        next(stream)
    return handlers, gate


def test_a_window_showing_another_chat_hears_when_a_reply_in_the_background_ends(session, engine):
    handlers, gate = writing_out_of_sight(session, engine)
    handlers.show(session.new_conversation())
    watching = handlers.watch_writing()
    next(watching)  # nothing yet
    gate.release(10)
    assert next(watching) == ""  # nothing is being written any more: the list loses its mark
    assert "still writing" not in chat_list(session)


def test_watching_the_background_ends_when_the_window_follows_a_reply_of_its_own(session, engine):
    handlers, gate = writing_out_of_sight(session, engine)
    other = session.new_conversation()
    handlers.show(other)
    heard = []
    watcher = threading.Thread(target=lambda: heard.extend(handlers.watch_writing()), daemon=True)
    watcher.start()
    time.sleep(0.3)
    handlers.screens.show(other.id)  # e.g. a message sent there: its reply's event takes over
    watcher.join(2)
    assert not watcher.is_alive() and heard == [{"__type__": "update"}]  # nothing heard
    gate.release(10)


def test_the_reply_starts_as_the_message_is_sent_before_the_window_follows_it(session, engine):
    handlers = Handlers(session)
    gate = engine.hold()  # the send shows the reply's place, not the reply
    engine.enqueue(["Hello ", "there."])
    greeting = sent(session, handlers, "Hello")
    gate.release(10)
    wait_until(lambda: not greeting.busy)  # written whole with no one following yet: the page's round trip is saved
    assert len(engine.calls) == 1
    updates = list(handlers.reply(greeting.id))  # the window's event, late: it still shows the reply
    assert chats_in(updates)[-1][-1]["content"] == "Hello there." and FINISHED in updates[-1][4]
    assert list(handlers.reply(greeting.id)) == [UNCHANGED]  # a refused message later: no old reply shown again


def test_no_reply_to_follow_leaves_every_output_as_it_is(session):
    handlers = Handlers(session)
    empty = session.new_conversation()  # e.g. a message refused as too long: nothing to reply to
    for updates in (handlers.reply(empty.id), handlers.follow("no-such-chat")):
        [update] = list(updates)  # one update, all skips: none at all would blank the Send button's label
        assert all(part == {"__type__": "update"} for part in update)


def test_a_chat_put_on_screen_arrives_after_the_old_chats_update_already_on_its_way():
    import threading

    from chatdesk.ui.screens import Screens

    screens = Screens()
    still = screens.show("story")

    def follower():
        with screens.sending(still) as showing:
            yield showing

    updates = follower()
    assert next(updates) is True  # an update of the story, being sent: its generator has not resumed yet
    shown = threading.Event()
    threading.Thread(target=lambda: (screens.show("new chat"), shown.set()), daemon=True).start()
    assert not shown.wait(0.3)  # + New chat waits for it: else the story could land in the new chat's pane
    list(updates)  # sent: Gradio resumes the generator
    assert shown.wait(1) and not still()
