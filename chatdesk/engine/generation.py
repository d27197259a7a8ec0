"""A reply as it is being written: how it is sampled, its stream of text, and what happened."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SamplingParams:
    """How to sample a reply."""

    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 512
    seed: int | None = None  # None: a fresh random seed per reply


@dataclass(frozen=True)
class Stats:
    """What happened during one reply."""

    model: str
    seed: int
    prompt_tokens: int
    completion_tokens: int
    time_to_first_token: float | None
    tokens_per_second: float | None
    total_seconds: float
    finish_reason: str  # "stop", "length" or "cancelled"
    dropped_messages: int  # oldest messages left out to fit the context
    prompt_evaluated: int | None = None  # prompt tokens computed; the rest came from the prompt cache
    server: dict | None = None  # what an inference server reported: its usage, timings and fingerprint


@dataclass(frozen=True)
class Reading:
    """How far the prompt has been read before the reply starts."""

    done: int  # prompt tokens the model holds (cached ones included); 0 with total 0 when not known
    total: int  # the prompt's tokens
    seconds_left: float | None = None  # estimated from the pace so far; None until there is one


@dataclass(frozen=True)
class _Failure:
    error: BaseException


_DONE = object()
_READ = object()  # the reading progress changed
# Deltas come at most this often (the first at once). Each is a screen update, and the CPU it costs the server and
# the browser is taken from the model: on 2 cores a page showing 20 updates a second wrote 11 tokens/s, 10 a second
# 27; later, with less work per update, 10 a second 50 and 5 a second 57 (raw llama-cpp-python: 78).
DELTA_EVERY = 0.2


class Generation:
    """One reply being computed on a worker thread; iterate it for text deltas."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._cancelled = threading.Event()
        self._ending = threading.Event()  # set by Stop, the end or a failure: nothing is held back then
        self._on_cancel: list = []
        self._hooks = threading.Lock()
        self.stats: Stats | None = None
        self.prompt_tokens = 0
        self.tokens_so_far = 0
        self.reading: Reading | None = None  # the last report on reading the prompt; None: none came
        self._reading_since: tuple[float, int] | None = None

    def cancel(self) -> None:
        """Stop the computation after the token being computed now."""
        with self._hooks:
            if self._cancelled.is_set():
                return
            self._cancelled.set()
            self._ending.set()
            hooks, self._on_cancel = self._on_cancel, []
        for hook in hooks:
            hook()

    def on_cancel(self, hook) -> None:
        """Producer side: call `hook` (once, on the cancelling thread) when cancelled; at once if already so."""
        with self._hooks:
            if not self._cancelled.is_set():
                self._on_cancel.append(hook)
                return
        hook()

    @property
    def cancelled(self) -> bool:
        """Whether cancel() was called."""
        return self._cancelled.is_set()

    def __iter__(self) -> Iterator[str]:
        """Yield deltas, at most one text per DELTA_EVERY seconds (the first at once): the tokens that arrived
        meanwhile come as one; an empty one when only the reading progress (`reading`) changed."""
        try:
            last = 0.0  # when text was last handed over
            while True:
                items = [self._queue.get()]
                if isinstance(items[0], str):  # the end, and a stop, are never held back
                    self._ending.wait(max(0.0, DELTA_EVERY - (time.monotonic() - last)))
                while not self._queue.empty():
                    items.append(self._queue.get())
                text = "".join(i for i in items if isinstance(i, str))
                if text:
                    last = time.monotonic()
                if text or _READ in items:
                    yield text
                for item in items:
                    if isinstance(item, _Failure):
                        raise item.error
                    if item is _DONE:
                        return
        finally:
            self.cancel()  # a reader that walks away must not leave the model running

    def push(self, text: str) -> None:
        """Producer side: hand over one token's text."""
        self.tokens_so_far += 1
        self._queue.put(text)

    def report_reading(self, done: int, total: int) -> None:
        """Producer side: `done` of the prompt's `total` tokens are read (0, 0: reading, how far is unknown)."""
        now = time.monotonic()
        if self.reading is None or self.reading.total != total:  # the pace counts from the first figures
            self._reading_since = (now, done)
        since, start = self._reading_since
        left = (total - done) * (now - since) / (done - start) if done > start else None
        self.reading = Reading(done, total, left)
        self._queue.put(_READ)

    def finish(self, stats: Stats) -> None:
        """Producer side: the reply is complete."""
        self.stats = stats
        self._queue.put(_DONE)
        self._ending.set()

    def fail(self, error: BaseException) -> None:
        """Producer side: the reply failed; the reader gets `error` raised."""
        self._queue.put(_Failure(error))
        self._ending.set()
