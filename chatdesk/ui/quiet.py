"""Gradio's queue woken by its events instead of polling for them.

Outside Windows, Gradio's queue looks for work 1,000 times a second and for progress 100 times a second, even
with nothing to do. On a 2-core laptop each wake-up is taken from llama.cpp's two threads, which wait for each
other at every token: a tenth of a core when polling every millisecond, 3% at every 10 ms. Here its loops sleep
up to a second while free, and an event that joins the queue or ends wakes them at once.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable

FREE_NAP = 1.0  # seconds the queue's loop sleeps while free, unless an event joins or ends
PROGRESS_NAP = 0.25  # seconds between looks at progress to send (only a model download reports any)


class Nap(float):
    """A sleep of one of the queue's loops that ends early when its `wake` is set."""

    wake: asyncio.Event

    def __new__(cls, seconds: float, wake: asyncio.Event) -> Nap:
        nap = super().__new__(cls, seconds)
        nap.wake = wake
        return nap


async def _sleep(delay: float, result: object = None) -> object:
    """asyncio.sleep for Gradio's queue: a Nap ends when it is woken."""
    if not isinstance(delay, Nap):
        return await asyncio.sleep(delay, result)
    try:
        await asyncio.wait_for(delay.wake.wait(), float(delay))
    except asyncio.TimeoutError:  # not the built-in TimeoutError before Python 3.11
        pass
    delay.wake.clear()  # whatever set it is in the queue by now: the loop looks next
    return result


class _QueueAsyncio(types.ModuleType):
    """The asyncio module as Gradio's queue module sees it, with naps that can be woken."""

    def __getattr__(self, name: str):
        return getattr(asyncio, name)

    sleep = staticmethod(_sleep)


def quiet_queue(demo) -> None:
    """Make the queue of `demo` sleep while it has nothing to do, and wake when an event joins or ends."""
    queue = getattr(demo, "_queue", None)
    if queue is None or not hasattr(queue, "sleep_when_free"):
        return
    _patch_queue_module()
    work, progress = asyncio.Event(), asyncio.Event()
    queue.sleep_when_free = Nap(FREE_NAP, work)
    queue.progress_update_sleep_when_free = Nap(PROGRESS_NAP, progress)
    queue.push = _waking_after(queue.push, work)
    queue.process_events = _waking_after(_waking_before(queue.process_events, progress), work)
    # an event's end frees its slot, then awaits this and the analytics: a next event may start at once
    queue.reset_iterators = _waking_before(queue.reset_iterators, work)


def _patch_queue_module() -> None:
    from gradio import queueing

    if not isinstance(queueing.asyncio, _QueueAsyncio):
        queueing.asyncio = _QueueAsyncio("asyncio")


def _waking_after(method: Callable[..., Awaitable], wake: asyncio.Event) -> Callable[..., Awaitable]:
    """The coroutine function `method`, setting `wake` when it returns or fails."""

    async def waking(*args, **kwargs):
        try:
            return await method(*args, **kwargs)
        finally:
            wake.set()

    return waking


def _waking_before(method: Callable[..., Awaitable], wake: asyncio.Event) -> Callable[..., Awaitable]:
    """The coroutine function `method`, setting `wake` as it starts."""

    async def waking(*args, **kwargs):
        wake.set()
        return await method(*args, **kwargs)

    return waking
