"""The app's life: one instance, a window at once, the server on loopback, a clean stop."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chatdesk import paths
from chatdesk.desktop.guard import PageCount
from chatdesk.desktop.instance import Instance, InstanceInfo
from chatdesk.desktop.secret import make_secret, url_with_token
from chatdesk.desktop.window import BrowserTab, Window, choose_window

HOST = "127.0.0.1"
CLOSE_GRACE = 0.5  # after our window closed: how long no page may be open before stopping
TAB_GRACE = 10.0  # a window we cannot watch (a tab, a handed-off window): room for a reload
FIRST_PAGE_WAIT = 120.0  # such a window must connect this soon after the server is ready
SIGNAL_POLL = 0.2  # seconds between the main thread's looks at a signal's flag
log = logging.getLogger(__name__)


@dataclass
class Built:
    """What the app factory makes: how to serve the page, stop serving, and release what it holds."""

    serve: Callable[[str, int, list], None]  # (host, port, ASGI middleware): serve without blocking
    stop: Callable[[], None] = lambda: None
    close: Callable[[], None] = lambda: None


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def usual_port(instance: Instance) -> int:
    """The port chatdesk served on last time if it is free, else a free one, kept for next time: the window's
    browser keeps the page's files for the address it opened, and loads them again only for a new one."""
    port = instance.last_port()
    if port is None or not port_available(port):
        port = free_port()
        instance.keep_port(port)
    return port


def port_available(port: int) -> bool:
    """Whether chatdesk could listen on `port` of loopback now."""
    with socket.socket() as probe:
        if os.name == "posix":  # as the server does: connections of a previous run may linger in TIME_WAIT
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


class Server:
    """The Gradio app on loopback behind the guard, built and started on a worker thread."""

    def __init__(self, build: Callable[[], Built], port: int, on_failure: Callable[[], None]):
        self.build = build
        self.port = port
        self.url = f"http://{HOST}:{port}/"
        self.secret = make_secret()  # a new one at each launch: what a window or program must show
        self.page_url = url_with_token(self.url, self.secret)
        self.pages = PageCount()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._on_failure = on_failure
        self._built: Built | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._start, name="chatdesk-start", daemon=True)

    def start(self) -> None:
        """Build and launch in the background; `ready` is set once the server answers."""
        self._thread.start()

    def _start(self) -> None:
        started = time.perf_counter()
        try:
            self._built = self.build()
            if not self._stopping.is_set():
                self._launch(self._built)
        except BaseException as error:  # reported by the launcher on the main thread
            log.exception("chatdesk could not start")
            self.error = error
            self._on_failure()
            return
        log.info("serving %s, %.2f s after the launch began", self.url, time.perf_counter() - started)
        print(f"chatdesk is running at {self.page_url}", flush=True)
        self.ready.set()

    def _launch(self, built: Built) -> None:
        from starlette.middleware import Middleware

        from chatdesk.desktop.guard import LoopbackGuard

        guard = Middleware(LoopbackGuard, port=self.port, pages=self.pages, secret=self.secret)
        built.serve(HOST, self.port, [guard])

    def stop(self) -> None:
        """Stop serving, free the port and release the model."""
        began = time.perf_counter()
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=120)
        if self._built is not None:
            self._built.stop()
            self._built.close()
            self._built = None
        log.info("stopped serving %s in %.2f s", self.url, time.perf_counter() - began)


def run(build: Callable[[], Built], *, port: int = 0, show_window: bool = True) -> int:
    """Serve the app until its last window closes, or until SIGINT/SIGTERM; returns the exit status."""
    instance = Instance(paths.data_dir())
    if not instance.claim():
        running = instance.running()
        if running is not None or not instance.claim():  # no answer: the holder may have just stopped
            return join_running(running, show_window)
    try:
        if instance.leftover is not None:
            log.warning("took over from a chatdesk that did not stop cleanly (pid %s)", instance.leftover.pid)
        return serve(instance, build, port, show_window)
    finally:
        instance.release()


def serve(instance: Instance, build: Callable[[], Built], port: int, show_window: bool) -> int:
    """Show the window at once, start the server behind it, and stop both when the window closes."""
    if port and not port_available(port):
        print(f"chatdesk: port {port} is in use; choose another with --port, or leave it out", file=sys.stderr)
        return 1
    stop = threading.Event()
    stop_on_signals(stop)
    server = Server(build, port or usual_port(instance), on_failure=stop.set)
    instance.publish(server.url, server.secret)
    window = show(choose_window(server.page_url, server.ready)) if show_window else None
    server.start()
    try:
        wait_for_the_end(window, server, stop)
        log.info("the last window closed" if not stop.is_set() else "asked to stop")
    finally:
        if window is not None:
            window.close()
        server.stop()
    if server.error is not None:
        print(f"chatdesk: could not start: {server.error}", file=sys.stderr)
        return 1
    return 0


def wait_for_the_end(window: Window | None, server: Server, stop: threading.Event) -> None:
    """Return when the user closed the last window on the app, or on a signal or failure."""
    if window is not None:
        window.run_until_closed(stop)
        if window.failed and not stop.is_set():
            window = show(BrowserTab(server.page_url))
    if window is None:
        wait_for_signal(stop)  # nothing to watch
    elif window.handed_off:
        wait_until_no_pages(server, stop, grace=TAB_GRACE, first_page_wait=FIRST_PAGE_WAIT)
    else:
        wait_until_no_pages(server, stop, grace=CLOSE_GRACE, first_page_wait=0.0)


def wait_for_signal(stop: threading.Event) -> None:
    """Block until `stop` is set, waking often: a signal another thread took runs its handler only then."""
    while not stop.wait(SIGNAL_POLL):
        pass


def wait_until_no_pages(server: Server, stop: threading.Event, *, grace: float, first_page_wait: float) -> None:
    """Wait until no page has been open for `grace` s, or none opened `first_page_wait` s after ready."""
    ready_at: float | None = None
    while not stop.wait(0.1):
        pages = server.pages
        if pages.ever_opened:
            if pages.idle_for() >= grace:
                return
        elif not first_page_wait:
            return  # closed before the chat ever showed
        elif server.ready.is_set():
            ready_at = ready_at or time.monotonic()
            if time.monotonic() - ready_at >= first_page_wait:
                return


def show(window: Window) -> Window | None:
    """Put `window` on screen, else a default-browser tab; None when neither can be shown."""
    fallback = [] if isinstance(window, BrowserTab) else [BrowserTab(window.url)]
    for candidate in [window, *fallback]:
        try:
            candidate.show()
        except OSError as error:
            log.warning("could not open a %s window: %s", candidate.kind, error)
            continue
        log.info("showing a %s window", candidate.kind)
        return candidate
    return None


def join_running(running: InstanceInfo | None, show_window: bool) -> int:
    """Another chatdesk serves this history: open a window on it instead of starting a second server."""
    if running is None:
        print("chatdesk: another chatdesk holds the lock but has not said where it serves", file=sys.stderr)
        return 1
    page_url = url_with_token(running.url, running.secret)
    print(f"chatdesk is already running at {page_url}", flush=True)
    log.info("chatdesk already runs (pid %s) at %s", running.pid, running.url)
    if show_window:
        ready = threading.Event()
        ready.set()
        window = show(choose_window(page_url, ready, detached=True))
        if window is not None and window.kind == "webview":  # its window lives in this process
            stop = threading.Event()
            stop_on_signals(stop)
            window.run_until_closed(stop)
    return 0


def stop_on_signals(stop: threading.Event) -> None:
    """Make Ctrl+C, SIGTERM and a closed terminal set `stop` (from the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def on_signal(number, _frame) -> None:
        if stop.is_set():  # asked twice: stop waiting for a clean stop
            log.warning("signal %s again: exiting at once", number)
            os._exit(1)
        stop.set()

    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), on_signal)
