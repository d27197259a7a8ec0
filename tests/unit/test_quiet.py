"""Gradio's queue sleeps while free and still starts an event at once: the event wakes it."""

import time

import gradio as gr
import pytest

from chatdesk.ui import quiet
from tests.apprunner import free_port


@pytest.fixture
def served(monkeypatch):
    monkeypatch.setattr(quiet, "FREE_NAP", 30.0)  # a poll, not a wake, would make an event wait for it
    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(lambda text: text.upper(), box, box, api_name="shout")
    demo.queue()
    quiet.quiet_queue(demo)
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                ssr_mode=False)
    try:
        yield demo
    finally:
        demo.close()


def test_an_event_sent_to_an_idle_queue_is_answered_at_once(served):
    from gradio_client import Client

    client = Client(served.local_url, verbose=False)
    for word in ("one", "two"):  # the second after the queue has gone back to sleep
        time.sleep(1.5)
        started = time.monotonic()
        assert client.predict(word, api_name="/shout") == word.upper()
        assert time.monotonic() - started < 5
