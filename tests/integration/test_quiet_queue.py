"""Gradio's queue sleeps while free and still starts an event at once: the event wakes it."""

import threading
import time

import gradio as gr
import pytest

from chatdesk.ui import quiet
from tests.apprunner import free_port

HELD = 1.0  # seconds the first of two events that take turns holds its turn


@pytest.fixture
def served(monkeypatch):
    monkeypatch.setattr(quiet, "FREE_NAP", 30.0)  # a poll, not a wake, would make an event wait for it
    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(lambda text: text.upper(), box, box, api_name="shout")
        turn = {"concurrency_id": "turns", "concurrency_limit": 1}
        box.change(lambda text: time.sleep(HELD) or text, box, box, api_name="slow", **turn)
        box.blur(lambda text: text, box, box, api_name="next", **turn)
    demo.queue()
    quiet.quiet_queue(demo)
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                ssr_mode=False)
    try:
        yield demo
    finally:
        demo.close()


def client(demo):
    from gradio_client import Client

    return Client(demo.local_url, verbose=False)


def test_an_event_sent_to_an_idle_queue_is_answered_at_once(served):
    shouting = client(served)
    for word in ("one", "two"):  # the second after the queue has gone back to sleep
        time.sleep(1.5)
        started = time.monotonic()
        assert shouting.predict(word, api_name="/shout") == word.upper()
        assert time.monotonic() - started < 5


def test_an_event_waiting_for_its_turn_starts_when_the_one_before_ends(served):
    slow = threading.Thread(target=client(served).predict, args=("first",), kwargs={"api_name": "/slow"})
    slow.start()
    time.sleep(HELD / 2)  # the first holds the turn
    started = time.monotonic()
    assert client(served).predict("second", api_name="/next") == "second"
    assert time.monotonic() - started < HELD + 5
    slow.join()
