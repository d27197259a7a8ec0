"""The page's Blocks: a streamed piece of a reply, which leaves the chat and the buttons as they are, costs the
server no rebuilding of them, and the page gets the same updates as from Gradio's own Blocks."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import pytest
from gradio.blocks import BlocksConfig
from gradio.state_holder import SessionState

from chatdesk.ui.blocks import SKIP, Blocks
from chatdesk.ui.busy import busy_look, idle_look

CHAT = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello! How can I help?"}]


def run(coroutine):
    """Run `coroutine` to its end on a thread of its own: the browser tests' Playwright keeps a loop running here."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def page(blocks_class):
    """A page with the streamed outputs of chatdesk's reply events: (chat, live text, Send, Stop, status, writing)."""
    with blocks_class() as demo:
        outputs = [gr.Chatbot(), gr.Textbox(visible="hidden"), gr.Button("Send"), gr.Button("Stop", visible=False),
                   gr.HTML(""), gr.State("")]
        outputs[2].click(lambda: None, None, outputs)
    return demo, demo.fns[0], SessionState(demo)


def stream_updates() -> list[list]:
    """What a reply's event yields: the start, pieces of the reply (the rest skipped), the end."""
    skip = gr.skip()
    return [[CHAT[:1], "", *busy_look(), "writing"],
            [skip, "Hello!", skip, skip, skip, skip],
            [skip, "Hello! How can", skip, skip, skip, skip],
            [CHAT, "", *idle_look("Reply finished."), ""]]


def postprocessed(blocks_class) -> list:
    demo, event, state = page(blocks_class)
    return [run(demo.postprocess_data(event, update, state)) for update in stream_updates()]


def test_the_page_gets_the_same_updates_as_from_gradios_blocks():
    ours, gradios = postprocessed(Blocks), postprocessed(gr.Blocks)
    for mine, theirs in zip(ours, gradios, strict=True):
        status = 4  # Gradio's skip of an HTML output also carries an empty "props": the same no-change
        assert mine[:status] + mine[status + 1:] == theirs[:status] + theirs[status + 1:]
        if theirs[status] != mine[status]:
            assert mine[status] == SKIP and theirs[status]["__type__"] == "update"
    assert ours[1][:4] == [SKIP, "Hello!", SKIP, SKIP]


def test_a_streamed_piece_rebuilds_neither_the_chat_nor_the_buttons(monkeypatch):
    demo, event, state = page(Blocks)
    run(demo.postprocess_data(event, stream_updates()[0], state))
    chat = state[event.outputs[0]._id]
    built = []
    original = BlocksConfig.config_for_block
    monkeypatch.setattr(BlocksConfig, "config_for_block",
                        lambda self, *args, **kwargs: built.append(args) or original(self, *args, **kwargs))
    for update in stream_updates()[1:3]:
        run(demo.postprocess_data(event, update, state))
    assert built == [] and state[event.outputs[0]._id] is chat


def test_a_wrong_number_of_values_still_gets_gradios_own_message():
    demo, event, state = page(Blocks)
    with pytest.raises(ValueError, match=r"didn't return enough output values \(needed: 6, returned: 2\)"):
        run(demo.postprocess_data(event, [gr.skip(), "text"], state))
