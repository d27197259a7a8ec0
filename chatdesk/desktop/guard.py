"""An ASGI guard in front of the app: only its own page and programs that hold the secret may drive it.

Gradio's own CORS layer echoes any localhost origin back (any port), so a page from another local
server could post messages and read replies; this guard refuses such requests before they reach
Gradio (403), and any request without this launch's secret (401). Its Content-Security-Policy keeps
the page from loading anything from outside the app, whatever a message holds. It also counts the
open pages (each keeps a heartbeat stream open) so the app can stop when the last window closes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from chatdesk.desktop import secret as secrets_

if TYPE_CHECKING:  # starlette is imported only once the server starts, to keep the window quick
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEARTBEAT_PREFIX = "/gradio_api/heartbeat/"
# Gradio's launch() calls this on itself, without our secret, and fails unless it answers. It runs the
# app's start-up work once and answers `true`: it reads nothing, and later calls change nothing.
STARTUP_EVENTS = "/gradio_api/startup-events"
# The tightest policy with which Gradio's page works; why each relaxation is there is in the README (Privacy).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",  # Gradio's inline config; it evaluates the page's js=
    "style-src 'self' 'unsafe-inline'",  # Svelte components set inline styles; the page's css=
    "img-src 'self' data:",  # Gradio's icons are data: SVGs
    "media-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-src 'none'",
    "object-src 'none'",
    "worker-src 'self'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-DNS-Prefetch-Control": "off",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
log = logging.getLogger(__name__)


def own_hosts(port: int) -> set[str]:
    """The Host header values of requests meant for this app."""
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
    return hosts | {"127.0.0.1", "localhost"} if port == 80 else hosts


def refusal(headers: Mapping[str, str], method: str, port: int) -> str | None:
    """Why a request must be refused, or None when it comes from this app's page or a local program."""
    headers = {key.lower(): value for key, value in headers.items()}
    host = headers.get("host", "")
    if host not in own_hosts(port):
        return f"unexpected Host {host!r}"
    origin = headers.get("origin")
    if origin is not None and origin != f"http://{host}":
        return f"cross-origin request from {origin!r}"
    site = headers.get("sec-fetch-site", "none")
    if site in ("same-origin", "none") or _is_navigation(headers, method):
        return None
    return f"{site} {headers.get('sec-fetch-mode', '')} request"


def _is_navigation(headers: dict, method: str) -> bool:
    """A top-level page load (a link or the loading page), which cannot read or send anything."""
    return (method == "GET" and headers.get("sec-fetch-mode") == "navigate"
            and headers.get("sec-fetch-dest", "document") == "document")


class PageCount:
    """How many pages are open now, and since when none is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = 0
        self.ever_opened = False
        self._idle_since = time.monotonic()

    def opened(self) -> None:
        """A page connected its heartbeat."""
        with self._lock:
            self.open += 1
            self.ever_opened = True

    def closed(self) -> None:
        """A page's heartbeat ended (the page was closed or reloaded)."""
        with self._lock:
            self.open -= 1
            if self.open == 0:
                self._idle_since = time.monotonic()

    def idle_for(self) -> float:
        """Seconds since the last page closed; 0 while a page is open or before any opened."""
        with self._lock:
            if self.open or not self.ever_opened:
                return 0.0
            return time.monotonic() - self._idle_since


class LoopbackGuard:
    """Refuses requests from other origins or hosts, or without the secret; counts open pages; sets the CSP."""

    def __init__(self, app: ASGIApp, port: int, *, secret: str, pages: PageCount | None = None):
        self.app = app
        self.port = port
        self.secret = secret  # this launch's: every request but Gradio's own start-up call must show it
        self.pages = pages or PageCount()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import Headers

        headers = Headers(scope=scope)
        method = scope.get("method", "WEBSOCKET")
        reason = refusal(headers, method, self.port)
        if reason is not None:
            blind = method == "GET" and "origin" not in headers  # could not read the answer
            log.log(logging.INFO if blind else logging.WARNING, "refused %s %s: %s", method, scope["path"], reason)
            await _refuse(scope, receive, send, 403, "Forbidden: chatdesk only answers its own window.")
            return
        access = self._access(headers, scope)
        if access == "none":
            log.info("refused %s %s: no secret", method, scope["path"])
            await _refuse(scope, receive, send, 401, UNAUTHORIZED)
            return
        if access == "login":
            await self._log_in(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"].startswith(HEARTBEAT_PREFIX):
            await self._count_page(scope, receive, send)
            return
        await self.app(scope, receive, _with_security_headers(send))

    def _access(self, headers: Mapping[str, str], scope: Scope) -> str:
        """"ok" with the secret as a header or cookie, "login" for a page opened with it, else "none"."""
        if secrets_.bearer_ok(headers, self.secret):
            return "ok"
        if scope["path"] == STARTUP_EVENTS and scope.get("method") == "GET":
            return "ok"
        if secrets_.cookie_ok(headers, self.secret, self.port):
            return "ok"
        if not secrets_.token_ok(scope.get("query_string", b"").decode("latin-1"), self.secret):
            return "none"
        page = scope["type"] == "http" and scope.get("method") == "GET" and not scope["path"].startswith("/gradio_api/")
        return "login" if page else "ok"

    async def _log_in(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Give the page its cookie, then open the same address without the token."""
        from starlette.responses import HTMLResponse

        target = secrets_.address_without_token(scope["path"], scope.get("query_string", b"").decode("latin-1"))
        response = HTMLResponse(secrets_.login_page(target), headers={"Cache-Control": "no-store"})
        response.headers["Set-Cookie"] = secrets_.set_cookie_header(self.secret, self.port)
        await response(scope, receive, _with_security_headers(send))

    async def _count_page(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.pages.opened()
        try:
            await self.app(scope, receive, send)
        finally:
            self.pages.closed()


UNAUTHORIZED = ("Unauthorized: open chatdesk from its window or from the address it printed (with ?token=…); "
                "programs send the header Authorization: Bearer <secret> (see the instance file).")


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    from starlette.responses import PlainTextResponse

    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await PlainTextResponse(text, status_code=status)(scope, receive, _with_security_headers(send))


def _with_security_headers(send: Send) -> Send:
    from starlette.datastructures import MutableHeaders

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                headers.setdefault(name, value)
        await send(message)
    return sending
