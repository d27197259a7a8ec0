"""A reply's text as it is written, streamed to the page beside Gradio's events.

Each Gradio update costs the page tens of milliseconds (its state is looked up and copied for every output), and
on a 2-core laptop that time is taken from the model. So the reply event sends the Chatbot when a reply starts
and ends, and the page reads the text between from GET /chatdesk/live/<key>: one JSON line per change,
{"add": text} to append or {"text": text} to replace what is shown. The event offers each reply under a new key,
good while its window shows the reply.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterator

import anyio
from anyio.to_thread import run_sync
from starlette.types import ASGIApp, Receive, Scope, Send

from chatdesk.core.conversation import Conversation
from chatdesk.core.session import ChatSession
from chatdesk.ui.chatview import live_text

LIVE_PATH = re.compile(r"/chatdesk/live/([\w-]{1,64})")
HEADERS = [(b"content-type", b"application/x-ndjson; charset=utf-8"), (b"cache-control", b"no-store"),
           (b"x-content-type-options", b"nosniff")]
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


class LiveReplies:
    """The replies whose text the page may read as they are written, each offered under a key of its own."""

    def __init__(self, session: ChatSession):
        self.session = session
        self._offered: dict[str, tuple[Conversation, Callable[[], bool]]] = {}
        self._lock = threading.Lock()

    def offer(self, conversation: Conversation, still: Callable[[], bool]) -> str:
        """Let the page read the conversation's reply while `still()` (its window shows it, followed by the
        event offering it); returns the key. Offers whose window has moved on are dropped."""
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._offered = {k: offer for k, offer in self._offered.items() if offer[1]()}
            self._offered[key] = (conversation, still)
        return key

    def withdraw(self, key: str) -> None:
        """Offer the reply under `key` no more (its event ended; the Chatbot shows the whole reply)."""
        with self._lock:
            self._offered.pop(key, None)

    def pieces(self, key: str, gone: threading.Event) -> Iterator[dict] | None:
        """The pieces of the reply offered under `key` until the page is `gone`; None when none is."""
        offered = self._offered.get(key)
        if offered is None:
            return None
        conversation, still = offered
        return live_pieces(self.session, conversation, lambda: still() and not gone.is_set())


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
        gone = threading.Event()
        pieces = self.replies.pieces(found.group(1), gone)
        await send({"type": "http.response.start", "status": 404 if pieces is None else 200, "headers": HEADERS})
        if pieces is not None:
            await _stream(pieces, gone, receive, send)
        await send({"type": "http.response.body", "body": b""})


async def _stream(pieces: Iterator[dict], gone: threading.Event, receive: Receive, send: Send) -> None:
    """Send the pieces until the reply ends or the page goes."""
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_notice_leaving, receive, gone, tasks.cancel_scope)
        try:
            while (piece := await run_sync(next, pieces, None)) is not None:
                line = json.dumps(piece, ensure_ascii=False) + "\n"
                await send({"type": "http.response.body", "body": line.encode(), "more_body": True})
        except Exception:  # noqa: BLE001 -- the reply event says what failed; this text is a preview
            log.debug("a reply's live text ended early", exc_info=True)
        finally:
            gone.set()  # the watcher's thread returns at its next look (core/replies.WATCH_EVERY)
            tasks.cancel_scope.cancel()


async def _notice_leaving(receive: Receive, gone: threading.Event, scope: anyio.CancelScope) -> None:
    """Wait for the page to close the stream, then stop it."""
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()
    scope.cancel()
