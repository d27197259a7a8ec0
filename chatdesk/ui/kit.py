"""Small helpers shared by the page's parts."""

from __future__ import annotations

import gradio as gr

# The events that choose the open chat, or start one, run one at a time in the order the page sent them: the
# page's load (open the last chat) could otherwise land after a New chat or a message sent as the page appeared.
CHOOSING = {"concurrency_id": "choose-chat", "concurrency_limit": 1}


def refuse(message: str, outputs: int = 1):
    """Tell the user why not, in a toast, and leave every output as it is.

    Raising gr.Error would also cover the outputs (the whole chat, say) with an error badge.
    """
    gr.Warning(message)
    return gr.skip() if outputs == 1 else tuple(gr.skip() for _ in range(outputs))
