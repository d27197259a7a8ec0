"""The page's Blocks: Gradio's, with outputs left as they are (gr.skip()) costing nothing to send, and routes of
its own."""

from __future__ import annotations

import copy

import gradio as gr

SKIP = {"__type__": "update"}


class Blocks(gr.Blocks):
    """gr.Blocks whose event outputs left unchanged by gr.skip() are passed on as they are.

    Gradio 6.31 handles a skip() as a change of the component's settings: it builds a new copy of the component
    and its config, JSON schema included. That is about 9 ms for the Chatbot, on the server's event loop, for
    every streamed piece of a reply; on a 2-core laptop the model writes slower for it.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.served_with: list = []  # ASGI middleware of the page's own routes (ui/live.py)

    async def postprocess_data(self, block_fn, predictions, state):
        skipped = _skipped(block_fn, predictions)
        if not skipped:
            return await super().postprocess_data(block_fn, predictions, state)
        kept = [index for index in range(len(predictions)) if index not in skipped]
        done = await self._postprocess_some(block_fn, predictions, kept, state)
        output = [dict(SKIP) for _ in predictions]
        for index, value in zip(kept, done, strict=True):
            output[index] = value
        return output

    async def _postprocess_some(self, block_fn, predictions, kept: list[int], state) -> list:
        """Gradio's postprocessing of the outputs at `kept` alone."""
        if not kept:
            return []
        some = copy.copy(block_fn)
        some.outputs = [block_fn.outputs[index] for index in kept]
        values = [predictions[index] for index in kept]
        return await super().postprocess_data(some, values if len(kept) > 1 else values[0], state)


def _skipped(block_fn, predictions) -> set[int]:
    """The indexes of the outputs an event's values leave as they are (none when Gradio must see them all)."""
    outputs = block_fn.outputs
    if block_fn.batch or len(outputs) < 2 or not isinstance(predictions, list | tuple):
        return set()
    if len(predictions) != len(outputs):  # Gradio says what is wrong
        return set()
    return {index for index, value in enumerate(predictions)
            if isinstance(value, dict) and value == SKIP and not outputs[index].stateful}
