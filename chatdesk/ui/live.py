"""A reply's text as it is written, streamed to the page beside Gradio's events.

Each Gradio update costs the page tens of milliseconds (its state is looked up and copied for every output), and
on a 2-core laptop that time is taken from the model. So the reply event sends the Chatbot when a reply starts
and ends, and the page reads the text between from GET /chatdesk/live/<key>: one JSON line per change,
{"add": text} to append or {"text": text} to replace what is shown. Each reply is offered under a new key, good
while its window shows the reply: one the page made as Enter sent the message (it asks at once, and its request
waits for the send to offer the reply: no event's round trip before the first words), else one the reply event
makes and sends the page.

A response ends with {"more": true} when its lease is up: the page asks again and the reply goes on where it
was. A browser opens at most 6 connections to one address, and each window already keeps two open (Gradio's
heartbeat and its event stream); a third held for a whole reply left two windows no connection for anything
else, so Stop waited for the reply's end. So while two windows read a reply a response lasts LEASE seconds;
a window reading alone keeps its response for ALONE_LEASE, since each new request costs the browser and the
app CPU that the model's threads wait for. (A third window that reads nothing is not seen here: its requests may
wait up to ALONE_LEASE.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from chatdesk.core.conversation import Conversation
from chatdesk.core.session import ChatSession
from chatdesk.ui.chatview import live_text

LIVE_PATH = re.compile(r"/chatdesk/live/([\w-]{1,64})")
PAGE_KEY = re.compile(r"page-[0-9a-f]{32}")  # a key the page made as it sent a message (live_page.py: 16 random bytes)
HEADERS = [(b"content-type", b"application/x-ndjson; charset=utf-8"), (b"cache-control", b"no-store"),
           (b"x-content-type-options", b"nosniff")]
LEASE = 0.25  # seconds a response lasts before the page asks again, while other windows read too
ALONE_LEASE = 2.0  # the same, for a window reading alone (a third window's request may wait for it)
ASKS_AGAIN = 1.0  # seconds within which a page whose response ended asks again
OFFERED_WITHIN = 60.0  # seconds a page asking for its message's reply waits for the send (queued) to offer it
KEPT_WITHDRAWN = 64  # the keys last withdrawn, remembered so that a page asking for one is answered at once
MORE = {"more": True}  # a response's last line when the reply goes on
log = logging.getLogger(__name__)


def live_pieces(session: ChatSession, conversation: Conversation, still: Callable[[], bool]) -> Iterator[dict]:
    """What the page does to the reply's live text as it is written: {"add": text} or {"text": text}. The
    reply's end is left to the Chatbot, which then shows the whole reply."""
    shown = ""
    for update in session.watch(conversation, still):
        text = live_text(update)
        if not text or text == shown:
            continue
        yield {"add": text[len(shown):]} if shown and text.startswith(shown) else {"text": text}
        shown = text


@dataclass
class _Offer:
    """A reply offered to the page: its pieces, read over one response after another."""

    pieces: Iterator[dict]
    still: Callable[[], bool]  # its window shows it, followed by the event offering it
    ended: threading.Event = field(default_factory=threading.Event)  # withdrawn: the pieces stop
    _pending: asyncio.Future | None = None  # a piece asked for that has not come yet: the next response's
    responses: int = 0  # open now (on the server's event loop)
    last_read: float = -math.inf  # when its last response ended

    def read_lately(self) -> bool:
        """Whether its window reads it: a response is open, or one ended a moment ago and the page asks again."""
        return self.responses > 0 or time.monotonic() - self.last_read < ASKS_AGAIN

    @contextmanager
    def reading(self) -> Iterator[None]:
        """While a response for it is open."""
        self.responses += 1
        try:
            yield
        finally:
            self.responses -= 1
            self.last_read = time.monotonic()

    async def next_piece(self, timeout: float) -> dict | None:
        """The next piece (None at the reply's end), or MORE if none comes within `timeout`."""
        if self._pending is None:  # on the server's event loop, which every response of the offer runs on
            self._pending = asyncio.wrap_future(_ask_next(self.pieces))
        try:  # shielded: a piece that comes after the timeout is the next response's
            piece = await asyncio.wait_for(asyncio.shield(self._pending), max(timeout, 0))
        except TimeoutError:
            return MORE
        self._pending = None
        return piece


def _ask_next(pieces: Iterator[dict]) -> Future:
    """The next of `pieces` (None at their end or on a failure, which the reply event reports), on a thread."""
    asked: Future = Future()

    def take() -> None:
        try:
            asked.set_result(next(pieces, None))
        except Exception:  # noqa: BLE001 -- the reply event says what failed; this text is a preview
            log.debug("a reply's live text ended early", exc_info=True)
            asked.set_result(None)

    threading.Thread(target=take, name="chatdesk-live", daemon=True).start()
    return asked


class LiveReplies:
    """The replies whose text the page may read as they are written, each offered under a key of its own."""

    def __init__(self, session: ChatSession):
        self.session = session
        self._offered: dict[str, _Offer] = {}
        self._withdrawn: OrderedDict[str, bool] = OrderedDict()  # True: its message was refused
        self._asking: dict[str, list[Callable[[], None]]] = {}  # a page's key: wake its requests waiting for it
        self._lock = threading.Lock()

    def crowded(self, offer: _Offer) -> bool:
        """Whether another window reads a reply too (each holds a connection of its own)."""
        with self._lock:
            others = [other for other in self._offered.values() if other is not offer]
        return any(other.read_lately() for other in others)

    def offer(self, conversation: Conversation, still: Callable[[], bool], key: str = "") -> str | None:
        """Let the page read the conversation's reply while `still()` (its window shows it, followed by the
        event offering it); returns the key: `key` if the page made one (None if it is unfit), else a new one.
        Offers whose window has moved on are dropped."""
        ended = threading.Event()
        pieces = live_pieces(self.session, conversation, lambda: still() and not ended.is_set())
        for old in [k for k, offer in list(self._offered.items()) if not offer.still()]:
            self.withdraw(old)
        with self._lock:
            if key and (not PAGE_KEY.fullmatch(key) or key in self._offered or key in self._withdrawn):
                return None
            key = key or secrets.token_urlsafe(16)
            self._offered[key] = _Offer(pieces, still, ended)
            waiting = self._asking.pop(key, [])
        for wake in waiting:
            wake()
        return key

    def withdraw(self, key: str) -> None:
        """Offer the reply under `key` no more (its event ended; the Chatbot shows the whole reply)."""
        with self._lock:
            offer = self._offered.pop(key, None)
            if offer is not None:
                self._withdrawn[key] = False
                self._forget_withdrawn()
        if offer is not None:
            offer.ended.set()  # its watcher returns at its next look (core/replies.WATCH_EVERY)

    def decline(self, key: str, refused: bool = False) -> None:
        """The page's `key` will not be offered (the reply event sends its own, or its message was `refused`): a
        page asking for it hears so at once."""
        with self._lock:
            if PAGE_KEY.fullmatch(key) and key not in self._offered:
                self._withdrawn[key] = refused
                self._forget_withdrawn()
            waiting = self._asking.pop(key, [])
        for wake in waiting:
            wake()

    def _forget_withdrawn(self) -> None:
        while len(self._withdrawn) > KEPT_WITHDRAWN:
            self._withdrawn.popitem(last=False)

    async def offered(self, key: str) -> _Offer | None:
        """The reply offered under `key`; for a key the page made, waiting OFFERED_WITHIN for it (the page asks
        as it sends the message, before the send offers the reply). None: withdrawn, or never offered."""
        if not PAGE_KEY.fullmatch(key):
            return self.find(key)
        loop, told = asyncio.get_running_loop(), asyncio.Event()

        def wake() -> None:  # on the thread of the send offering it
            with contextlib.suppress(RuntimeError):  # the loop has closed: the app is quitting
                loop.call_soon_threadsafe(told.set)

        with self._lock:
            if key in self._offered or key in self._withdrawn:
                return self._offered.get(key)
            self._asking.setdefault(key, []).append(wake)
        try:
            with anyio.move_on_after(OFFERED_WITHIN):
                await told.wait()
        finally:
            self._stop_asking(key, wake)
        return self.find(key)

    def _stop_asking(self, key: str, wake: Callable[[], None]) -> None:
        with self._lock:
            waiting = self._asking.get(key, [])
            if wake in waiting:
                waiting.remove(wake)
            if not waiting:
                self._asking.pop(key, None)

    def refuse(self, key: str) -> None:
        """The message the page made `key` for was refused: its page takes the message away."""
        self.decline(key, refused=True)

    def refused(self, key: str) -> bool:
        """Whether the message the page made `key` for was refused."""
        with self._lock:
            return self._withdrawn.get(key, False)

    def find(self, key: str) -> _Offer | None:
        """The reply offered under `key`, if one is."""
        with self._lock:
            return self._offered.get(key)


class LiveTextRoute:
    """ASGI middleware: GET /chatdesk/live/<key> streams the reply offered under `key`, as JSON lines."""

    def __init__(self, app: ASGIApp, replies: LiveReplies):
        self.app = app
        self.replies = replies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = LIVE_PATH.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        if found is None or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        key = found.group(1)
        offer = await _unless_leaving(receive, self.replies.offered(key))
        status = 200 if offer is not None else 410 if self.replies.refused(key) else 404
        await send({"type": "http.response.start", "status": status, "headers": HEADERS})
        if offer is not None:
            with offer.reading():
                await _stream(offer, receive, send, lambda: self.replies.crowded(offer))
        await send({"type": "http.response.body", "body": b""})


async def _stream(offer: _Offer, receive: Receive, send: Send, crowded: Callable[[], bool]) -> None:
    """Send the pieces until the reply ends, the lease runs out (then MORE) or the page goes."""
    started = anyio.current_time()

    def lease_left() -> float:
        return (LEASE if crowded() else ALONE_LEASE) - (anyio.current_time() - started)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_notice_leaving, receive, tasks.cancel_scope)
        try:
            while (piece := await offer.next_piece(min(lease_left(), LEASE))) is not None:
                if piece is MORE and lease_left() > 0:
                    continue  # a look, every LEASE at most, at whether another window reads too
                line = json.dumps(piece, ensure_ascii=False) + "\n"
                await send({"type": "http.response.body", "body": line.encode(), "more_body": True})
                if piece is MORE:
                    break
        finally:
            tasks.cancel_scope.cancel()


async def _unless_leaving(receive: Receive, waiting: Awaitable[_Offer | None]) -> _Offer | None:
    """What `waiting` gives, or None if the page goes first."""
    found = None

    async def wait() -> None:
        nonlocal found
        found = await waiting
        tasks.cancel_scope.cancel()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_notice_leaving, receive, tasks.cancel_scope)
        tasks.start_soon(wait)
    return found


async def _notice_leaving(receive: Receive, scope: anyio.CancelScope) -> None:
    """Wait for the page to close the stream, then stop it (a piece on its way waits for the next response)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()
