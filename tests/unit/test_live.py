"""The page reads a reply's text as it is written from the live route, not from an update of every output."""

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from chatdesk.engine import generation
from chatdesk.ui.attach import AttachHandlers
from chatdesk.ui.chatview import STREAMING_PLACEHOLDER
from chatdesk.ui.handlers import UNCHANGED, Handlers
from chatdesk.ui.live import LiveTextRoute
from tests.unit.test_background_replies import wait_until
from tests.unit.test_following import chats_in


PAGE_KEY = "page-" + "0123456789abcdef" * 2  # as the page makes one (live_page.READ_LIVE_JS)


def sending(session, engine, tokens: list[str], key: str = "", handlers=None):
    """The window's handlers, a held reply to a message sent as Enter sends it (the page reading it under
    `key`, if given), what that put on the page (chat, Send, Stop, status, ...), and the reply event following it."""
    handlers = handlers or Handlers(session)
    gate = engine.hold()
    engine.enqueue(tokens)
    conversation = session.new_conversation()
    attach = AttachHandlers(session, handlers.sent_to_page, handlers.live.refuse)
    sent = attach.send("Tell me a story", conversation.id, [], key)
    return handlers, gate, conversation, sent, handlers.reply(conversation.id)


def following(session, engine, tokens: list[str]):
    """The window's handlers and its reply event, started on a held reply, and the key it offered the page."""
    handlers, gate, conversation, _sent, event = sending(session, engine, tokens)
    return handlers, gate, conversation, event, next(event)[1]


def test_the_page_reads_the_reply_as_pieces_added_to_what_it_shows(session, engine):
    handlers, gate, conversation, _event, key = following(session, engine, ["Once ", "upon ", "a ", "time."])
    pieces = handlers.live.find(key).pieces
    seen = []
    for _ in range(3):
        gate.release(1)
        seen.append(next(pieces))
    gate.release(1)
    seen += list(pieces)  # to the reply's end
    assert seen[0] == {"text": "Once "} and all(set(piece) == {"add"} for piece in seen[1:])
    shown = seen[0]["text"] + "".join(piece["add"] for piece in seen[1:])
    assert shown in ("Once upon a ", "Once upon a time.")  # the last piece may come with the whole reply
    assert conversation.messages[-1].content == "Once upon a time."


def test_a_reply_in_many_pieces_sends_the_window_no_more_updates_than_one_in_three(session, engine, monkeypatch):
    monkeypatch.setattr(generation, "DELTA_EVERY", 0)  # each token is a piece of its own

    def updates(tokens):
        _handlers, gate, conversation, event, _key = following(session, engine, tokens)
        with ThreadPoolExecutor(1) as thread:
            window = thread.submit(list, event)  # the window follows the reply as it is written
            for count in range(1, len(tokens) + 1):
                gate.release(1)
                wait_until(lambda: conversation.messages[-1].content == "".join(tokens[:count]))
            return window.result(5)

    few, many = updates(["Once ", "upon ", "time."]), updates([f"word{n} " for n in range(15)])  # max_tokens 20
    assert len(many) == len(few) == 1  # after the key to read the text under: the end
    assert "word14" in [update[0] for update in many if isinstance(update[0], list)][-1][-1]["content"]


def test_a_key_offers_nothing_once_its_window_shows_another_chat(session, engine):
    handlers, gate, _conversation, _event, key = following(session, engine, ["Once ", "upon"])
    handlers.show(session.new_conversation())
    gate.release(2)
    assert list(handlers.live.find(key).pieces) == []
    assert handlers.live.find("no-such-key") is None


def route(handlers) -> TestClient:
    async def elsewhere(request):
        return PlainTextResponse("the app")
    return TestClient(LiveTextRoute(Starlette(routes=[Route("/{path:path}", elsewhere)]), replies=handlers.live))


def lines(response) -> list[dict]:
    return [json.loads(line) for line in response.text.splitlines()]


def test_a_key_offers_nothing_once_its_reply_event_has_ended(session, engine):
    handlers, gate, _conversation, event, key = following(session, engine, ["Once ", "upon ", "a ", "time."])
    gate.release(10)
    list(event)
    assert handlers.live.find(key) is None  # nor is the chat kept for it


def test_the_route_streams_the_text_as_json_lines_and_leaves_other_paths_to_the_app(session, engine, monkeypatch):
    monkeypatch.setattr("chatdesk.ui.live.ALONE_LEASE", 30)  # the whole reply in one response
    handlers, gate, _conversation, _event, key = following(session, engine, ["Once ", "upon"])
    gate.release(1)
    with route(handlers) as client, ThreadPoolExecutor(1) as thread:
        reading = thread.submit(client.get, f"/chatdesk/live/{key}")
        time.sleep(0.5)  # the route sends the first words
        gate.release(1)
        response = reading.result(5)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
        assert lines(response)[0] == {"text": "Once "} and {"more": True} not in lines(response)
        assert client.get("/chatdesk/live/unknown").status_code == 404
        assert client.get("/").text == "the app"


def test_a_response_ends_within_its_lease_and_the_next_goes_on_where_it_left_off(session, engine, monkeypatch):
    """No piece of the reply is lost or repeated from one response to the next."""
    monkeypatch.setattr("chatdesk.ui.live.ALONE_LEASE", 1.5)
    handlers, gate, conversation, _event, key = following(session, engine, ["Once ", "upon ", "a ", "time."])
    with route(handlers) as client:
        started = time.monotonic()
        assert lines(client.get(f"/chatdesk/live/{key}")) == [{"more": True}]  # no words yet
        assert time.monotonic() - started < 1.5 + 1
        gate.release(1)
        assert lines(client.get(f"/chatdesk/live/{key}")) == [{"text": "Once "}, {"more": True}]
        gate.release(1)
        assert lines(client.get(f"/chatdesk/live/{key}")) == [{"add": "upon "}, {"more": True}]
        gate.release(10)
        wait_until(lambda: not conversation.busy)
        assert {"more": True} not in lines(client.get(f"/chatdesk/live/{key}"))  # the page stops asking


def test_while_two_windows_read_a_response_lasts_its_short_lease_and_one_alone_keeps_it(session, engine,
                                                                                       monkeypatch):
    """Two windows holding a connection each for a whole reply left none for Stop (6 per address)."""
    monkeypatch.setattr("chatdesk.ui.live.LEASE", 0.5)
    monkeypatch.setattr("chatdesk.ui.live.ALONE_LEASE", 30)
    monkeypatch.setattr("chatdesk.ui.live.ASKS_AGAIN", 5)  # however slowly this machine sends the next request
    handlers, gate, conversation, _event, key = following(session, engine, ["Once ", "upon ", "a ", "time."])
    second = handlers.live.offer(conversation, lambda: True)  # another window showing the same reply
    with route(handlers) as client, ThreadPoolExecutor(2) as threads:
        alone = threads.submit(client.get, f"/chatdesk/live/{key}")
        time.sleep(1.5)
        assert not alone.done()  # three leases and more
        gate.release(1)
        both = threads.submit(client.get, f"/chatdesk/live/{second}")
        assert lines(alone.result(2))[-1] == {"more": True}
        again = threads.submit(client.get, f"/chatdesk/live/{key}")  # as the first window's page asks again
        for response in (both, again):
            assert lines(response.result(2))[-1] == {"more": True}
        gate.release(10)


def test_a_page_that_goes_stops_its_stream_while_the_reply_goes_on(session, engine):
    handlers, gate, conversation, _event, key = following(session, engine, ["Once ", "upon ", "a ", "time."])
    gate.release(1)
    sent, asked = [], asyncio.Event()

    async def receive():
        await asked.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
        if message.get("more_body"):
            asked.set()  # the page closes the stream after the first piece

    scope = {"type": "http", "method": "GET", "path": f"/chatdesk/live/{key}"}
    with ThreadPoolExecutor(1) as thread:  # the browser tests' Playwright keeps a loop running on this one
        thread.submit(asyncio.run, LiveTextRoute(None, replies=handlers.live)(scope, receive, send)).result(5)
    assert json.loads(sent[1]["body"]) == {"text": "Once "}
    assert conversation.busy  # the route returned while the reply is still being written
    gate.release(10)
    wait_until(lambda: not conversation.busy)
    assert conversation.messages[-1].content == "Once upon a time."


def test_the_window_gets_the_chat_once_as_the_message_is_sent_and_once_at_the_reply_end(session, engine):
    _handlers, gate, _conversation, sent, event = sending(session, engine, ["Once ", "upon ", "a ", "time."])
    added = sent[0]
    first = next(event)  # the key the page reads the reply's text under
    gate.release(10)
    chats = [update[0] for update in [first, *event] if isinstance(update[0], list)]
    assert added[-1]["role"] == "assistant"  # the reply's place, where the page writes its text
    assert len(chats) == 1 and chats[0][-1]["content"] == "Once upon a time."


def test_sending_a_message_shows_the_reply_place_and_stop_at_once_before_the_reply_event(session, engine):
    _handlers, gate, _conversation, sent, _event = sending(session, engine, ["Once ", "upon ", "a ", "time."])
    chat, send, stop, status = sent[:4]
    assert chat[-1] == {"role": "assistant", "content": STREAMING_PLACEHOLDER}
    assert send["visible"] is False and stop["visible"] is True
    assert 'data-busy="true"' in status and "Writing a reply" in status
    gate.release(10)


def test_a_reply_that_fails_before_its_first_words_puts_send_back_and_takes_its_place_away(session, engine,
                                                                                           monkeypatch):
    sent_now = threading.Event()

    def crash(*args, **kwargs):
        sent_now.wait(5)
        raise RuntimeError("the model crashed")

    monkeypatch.setattr(engine, "chat", crash)
    _handlers, _gate, _conversation, sent, event = sending(session, engine, ["Once "])
    sent_now.set()
    assert sent[2]["visible"] is True  # the send showed Stop
    updates = []
    with pytest.raises(RuntimeError):
        for update in event:
            updates.append(update)
    chat, _live, send, stop, _status, _writing = updates[-1]
    assert send["visible"] is True and stop["visible"] is False
    assert chat == [{"role": "user", "content": "Tell me a story"}]


def test_the_page_reads_the_first_words_under_its_own_key_asked_for_before_the_message_is_sent(session, engine,
                                                                                              monkeypatch):
    """The first words wait for no event's round trip: the page asks for them as Enter sends the message."""
    monkeypatch.setattr("chatdesk.ui.live.ALONE_LEASE", 30)
    handlers = Handlers(session)
    with route(handlers) as client, ThreadPoolExecutor(1) as thread:
        reading = thread.submit(client.get, f"/chatdesk/live/{PAGE_KEY}")
        time.sleep(0.5)  # the page asks before the send is taken
        _handlers, gate, conversation, _sent, event = sending(session, engine, ["Once ", "upon"], PAGE_KEY, handlers)
        gate.release(1)
        wait_until(lambda: conversation.messages[-1].content == "Once ")
        updates = [next(event)]  # the reply event follows the reply, and offers the page no key of its own
        gate.release(10)
        updates += list(event)
        assert lines(reading.result(5))[0] == {"text": "Once "}
    assert all(update[1] in ("", {"__type__": "update"}) for update in updates)
    assert handlers.live.find(PAGE_KEY) is None  # withdrawn at the reply's end


def test_a_key_the_page_made_is_offered_once_and_only_in_its_own_form(session, engine):
    handlers, gate, _conversation, sent, _event = sending(session, engine, ["Once "], PAGE_KEY)
    assert handlers.live.find(PAGE_KEY) is not None and sent[5] == PAGE_KEY  # the page's live-text output
    for key in (PAGE_KEY, "page-guessable", "x" * 37):  # taken, or not as random as the page makes them
        _handlers, _gate, _other, _sent, event = sending(session, engine, ["Hi"], key, handlers)
        offered = next(event)[1]
        assert offered not in (key, "") and handlers.live.find(offered) is not None  # the app's own key instead
    gate.release(10)


def test_the_page_asking_for_a_key_the_app_withdrew_or_never_offered_gets_no_text(session, engine, monkeypatch):
    monkeypatch.setattr("chatdesk.ui.live.OFFERED_WITHIN", 1)
    handlers, gate, conversation, _sent, event = sending(session, engine, ["Once "], PAGE_KEY)
    gate.release(10)
    list(event)
    with route(handlers) as client:
        started = time.monotonic()
        assert client.get(f"/chatdesk/live/{PAGE_KEY}").status_code == 404
        assert time.monotonic() - started < 0.5  # at once: the page stops asking
        assert client.get("/chatdesk/live/page-" + "f" * 32).status_code == 404  # after OFFERED_WITHIN


def test_a_new_chats_id_arriving_leaves_its_reply_to_the_event_following_it_since_the_send(session, engine):
    """The follow of a new chat's id would take the reply over, and the page would read it again from the start."""
    handlers, gate, conversation, _sent, event = sending(session, engine, ["Once ", "upon"], PAGE_KEY)
    assert list(handlers.follow(conversation.id)) == [UNCHANGED]
    gate.release(10)
    assert chats_in(list(event))[-1][-1]["content"] == "Once upon"


def test_a_message_read_under_the_pages_key_costs_the_window_no_update_until_the_replys_end(session, engine):
    """At the first words the page has work enough: the send showed the reply's place and Stop, and marked the
    chat in the list (its change refreshes the list)."""
    handlers, gate, conversation, sent, event = sending(session, engine, ["Once ", "upon"], PAGE_KEY)
    assert sent[4] == conversation.id
    with ThreadPoolExecutor(1) as thread:
        window = thread.submit(list, event)  # the window follows the reply as it is written
        gate.release(1)
        wait_until(lambda: conversation.messages[-1].content == "Once ")
        time.sleep(0.3)  # the event sees the first words
        gate.release(10)
        updates = window.result(5)
    assert len(updates) == 1 and updates[0][0][-1]["content"] == "Once upon"
    assert updates[0][5] == ""  # the mark goes


def test_the_page_asking_for_the_reply_of_a_message_refused_hears_at_once_that_it_was_refused(session, monkeypatch):
    """410, not 404: the page takes away the message it drew as Enter sent it (live_page.SHOW_SENT_JS)."""
    monkeypatch.setattr("chatdesk.ui.live.OFFERED_WITHIN", 30)
    handlers = Handlers(session)
    conversation = session.new_conversation()
    attach = AttachHandlers(session, handlers.sent_to_page, handlers.live.refuse)
    outputs = attach.send("  ", conversation.id, [], PAGE_KEY)
    assert all(output == {"__type__": "update"} for output in outputs)  # refused: everything stays
    with route(handlers) as client:
        started = time.monotonic()
        assert client.get(f"/chatdesk/live/{PAGE_KEY}").status_code == 410
        assert time.monotonic() - started < 5


def test_a_send_that_fails_tells_the_page_at_once_to_take_its_message_away(session, monkeypatch):
    """An error the app did not expect (a full disk, say): the page asked for the reply's words under its key, and
    would have waited OFFERED_WITHIN with the message it drew still on screen."""
    monkeypatch.setattr("chatdesk.ui.live.OFFERED_WITHIN", 30)
    handlers = Handlers(session)
    conversation = session.new_conversation()

    def full_disk(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session, "send", full_disk)
    with pytest.raises(OSError):
        AttachHandlers(session, handlers.sent_to_page, handlers.live.refuse).send("Hi", conversation.id, [], PAGE_KEY)
    with route(handlers) as client:
        started = time.monotonic()
        assert client.get(f"/chatdesk/live/{PAGE_KEY}").status_code == 410
        assert time.monotonic() - started < 5


def test_a_new_chats_follow_changes_nothing_a_send_beside_it_shows(session, engine):
    """+ New chat's follow finds no reply. Gradio's page may apply its update after the send of a message typed
    at once, when both arrive in one read (CI: Send came back and the page stopped reading the reply's text), so
    that update must leave Send, Stop and the live text as they are, in whichever order the two arrive."""
    handlers = Handlers(session)
    conversation = session.new_conversation()
    handlers.show(conversation)  # + New chat: its id's change follows it
    assert list(handlers.follow(conversation.id)) == [UNCHANGED]
    gate = engine.hold()
    engine.enqueue(["Once ", "upon"])
    session.send(conversation, "Tell me a story")  # a send started the reply; its answer is not made yet
    follow = handlers.follow(conversation.id)
    assert next(follow) == UNCHANGED  # the send's reply event follows its reply
    follow.close()
    assert handlers.sent_to_page(conversation, PAGE_KEY)[-1] == PAGE_KEY  # the page reads its text
    gate.release(10)


def test_a_chat_left_while_its_reply_is_written_gives_the_next_chat_send_back(session, engine):
    handlers, gate, _conversation, _sent, _event = sending(session, engine, ["Once ", "upon"], PAGE_KEY)
    other = session.new_conversation()
    handlers.show(other)  # + New chat while the reply is written: the reply event stops writing to the page
    follow = handlers.follow(other.id)
    _chat, live, send, stop, _status, _marks = next(follow)
    follow.close()
    assert live == "" and send["visible"] and not stop["visible"]
    assert list(handlers.follow(other.id)) == [UNCHANGED]  # once: Send is back already
    gate.release(10)
