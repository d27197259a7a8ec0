"""The desktop pieces without launching anything: the guard, the window choice, logs, page counting."""

import io
import socket
import logging
import sys
import threading
import time
from types import SimpleNamespace
from logging.handlers import RotatingFileHandler

import pytest

from chatdesk.desktop import guard, launcher, loading, logs, window
from chatdesk.desktop.guard import PageCount, refusal
from chatdesk.desktop.instance import Instance


@pytest.mark.parametrize("headers, method, refused", [
    ({"host": "127.0.0.1:8000"}, "POST", False),  # gradio_client, curl: no Origin
    ({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8000", "sec-fetch-site": "same-origin"}, "POST", False),
    ({"host": "localhost:8000", "origin": "http://localhost:8000"}, "POST", False),
    ({"host": "127.0.0.1:8000", "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate",
      "sec-fetch-dest": "document"}, "GET", False),  # the loading page switching to the chat
    ({"host": "127.0.0.1:8000", "origin": "http://127.0.0.1:8001"}, "POST", True),
    ({"host": "127.0.0.1:8000", "origin": "http://localhost:8000"}, "POST", True),
    ({"host": "127.0.0.1:8000", "origin": "null"}, "POST", True),
    ({"host": "evil.example:8000"}, "GET", True),  # DNS rebinding
    ({"host": "127.0.0.1:8000", "sec-fetch-site": "same-site", "sec-fetch-mode": "no-cors"}, "GET", True),
    ({"host": "127.0.0.1:8000", "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate",
      "sec-fetch-dest": "iframe"}, "GET", True),
    ({"host": "127.0.0.1:8000", "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}, "POST", True),
])
def test_which_requests_the_guard_refuses(headers, method, refused):
    assert (refusal(headers, method, 8000) is not None) == refused


def test_idleness_counts_from_when_the_last_page_closed(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(guard, "time", SimpleNamespace(monotonic=lambda: now[0]))
    pages = PageCount()
    now[0] = 130.0
    assert pages.idle_for() == 0 and not pages.ever_opened  # the window is still coming: not idle
    pages.opened()
    pages.opened()
    now[0] = 140.0
    pages.closed()
    now[0] = 150.0
    assert pages.open == 1 and pages.idle_for() == 0  # one window still shows the chat
    pages.closed()
    now[0] = 175.0
    assert pages.idle_for() == 25 and pages.ever_opened  # from the last close, not the first nor the start
    pages.opened()  # a reload: the page comes back
    assert pages.idle_for() == 0
    now[0] = 180.0
    pages.closed()
    now[0] = 181.0
    assert pages.idle_for() == 1


@pytest.mark.parametrize("root, sandboxed", [(True, False), (False, True)])
def test_the_app_window_command(monkeypatch, tmp_path, root, sandboxed):
    monkeypatch.setattr(window.os, "geteuid", lambda: 0 if root else 1000)
    command = window.chromium_command("/usr/bin/chromium", "file:///x/loading.html", tmp_path)
    assert command[:3] == ["/usr/bin/chromium", "--app=file:///x/loading.html", f"--user-data-dir={tmp_path}"]
    assert ("--no-sandbox" not in command) == sandboxed
    assert "--disable-background-networking" in command


def test_the_profile_and_loading_page_live_in_chatdesks_own_dirs(private_home):
    page = loading.write_loading_page("http://127.0.0.1:4242/")
    assert page.is_relative_to(private_home / "cache")
    assert window.browser_profile_dir().is_relative_to(private_home / "cache")
    text = page.read_text()
    assert '"http://127.0.0.1:4242/"' in text and "Loading chatdesk" in text and "data:image/png;base64," in text


def test_the_window_falls_back_from_webview_to_chromium_to_a_tab(monkeypatch):
    ready = threading.Event()
    monkeypatch.setattr(window, "webview_usable", lambda: False)
    monkeypatch.setenv(window.BROWSER_ENV, "/opt/some/chrome")
    chosen = window.choose_window("http://127.0.0.1:1/", ready)
    assert isinstance(chosen, window.ChromiumWindow) and chosen.executable == "/opt/some/chrome"
    monkeypatch.setenv(window.BROWSER_ENV, "none")
    assert isinstance(window.choose_window("http://127.0.0.1:1/", ready), window.BrowserTab)
    monkeypatch.setattr(window, "webview_usable", lambda: True)
    assert isinstance(window.choose_window("http://127.0.0.1:1/", ready), window.WebviewWindow)


def test_webview_without_a_gui_toolkit_is_not_used(monkeypatch):
    pytest.importorskip("webview")
    real_import = window.importlib.import_module

    def no_toolkits(name):
        if name.startswith("webview.platforms."):
            raise ImportError(f"no {name}")
        return real_import(name)

    monkeypatch.setattr(window.importlib, "import_module", no_toolkits)
    assert window.webview_usable() is False


def test_snap_browsers_are_skipped(monkeypatch):
    monkeypatch.delenv(window.BROWSER_ENV, raising=False)
    monkeypatch.setattr(window, "chromium_candidates", lambda: ["/usr/bin/chromium-browser"])
    monkeypatch.setattr(window.os.path, "realpath", lambda path: "/snap/bin/chromium")
    assert window.find_chromium() is None


def test_logs_rotate_in_the_log_dir(private_home):
    path = logs.setup_logging()
    assert path == private_home / "logs" / "chatdesk.log"
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "chatdesk", False))
    assert isinstance(handler, RotatingFileHandler)
    assert handler.maxBytes == logs.MAX_BYTES and handler.backupCount == logs.BACKUP_COUNT
    logging.getLogger("chatdesk.test").warning("written")
    handler.flush()
    assert "written" in path.read_text()
    logging.getLogger().removeHandler(handler)
    handler.close()


def test_missing_console_streams_become_log_streams(monkeypatch, caplog):
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    logs.ensure_std_streams()
    assert isinstance(sys.stdout, logs.LogStream) and sys.stdout.fileno() == 1
    with caplog.at_level(logging.INFO):
        print("chatdesk is running at http://127.0.0.1:1/")
        print("partial", end="")
        sys.stdout.flush()
    assert [r.getMessage() for r in caplog.records] == ["chatdesk is running at http://127.0.0.1:1/", "partial"]


class FakeServer:
    """What the launcher watches: open pages and readiness."""

    def __init__(self):
        self.pages = PageCount()
        self.ready = threading.Event()


def _waiting(server, **timing) -> threading.Thread:
    stop = threading.Event()
    waiter = threading.Thread(target=launcher.wait_until_no_pages, args=(server, stop), kwargs=timing, daemon=True)
    waiter.start()
    return waiter


def test_the_app_stops_once_no_page_has_been_open_for_the_grace_period():
    server = FakeServer()
    server.ready.set()
    waiter = _waiting(server, grace=0.3, first_page_wait=5.0)
    server.pages.opened()
    time.sleep(0.4)
    assert waiter.is_alive(), "a page is open"
    server.pages.closed()
    server.pages.opened()  # a reload: back within the grace period
    server.pages.closed()
    waiter.join(timeout=2)
    assert not waiter.is_alive()


def test_a_window_closed_before_the_chat_showed_stops_the_app_at_once():
    waiter = _waiting(FakeServer(), grace=0.3, first_page_wait=0.0)
    waiter.join(timeout=1)
    assert not waiter.is_alive()


def test_a_tab_that_never_connects_stops_the_app_after_the_wait():
    server = FakeServer()
    waiter = _waiting(server, grace=0.3, first_page_wait=0.3)
    time.sleep(0.5)
    assert waiter.is_alive(), "the wait starts when the server is ready"
    server.ready.set()
    waiter.join(timeout=2)
    assert not waiter.is_alive()


def test_a_log_stream_survives_logging_that_falls_back_to_stderr(monkeypatch):
    isolated = logging.getLogger("chatdesk.isolated")
    monkeypatch.setattr(isolated, "propagate", False)  # no handler: logging writes to sys.stderr itself
    stream = logs.LogStream("chatdesk.isolated", logging.WARNING, 2)
    monkeypatch.setattr(sys, "stderr", stream)
    stream.write("early trouble\n")  # would recurse without its guard


def test_a_broken_pywebview_is_logged_not_silently_skipped(monkeypatch, caplog):
    def broken(name):
        raise ImportError("libwebkit2gtk-4.1.so.0: cannot open shared object file")

    monkeypatch.setattr(window.importlib, "import_module", broken)
    caplog.set_level(logging.INFO, logger="chatdesk")
    assert window.webview_usable() is False
    assert "libwebkit2gtk" in caplog.text


def test_a_browser_log_that_cannot_be_written_is_logged(private_home, caplog):
    private_home.mkdir(parents=True, exist_ok=True)
    (private_home / "logs").write_text("a file where the log folder should be")
    with window._browser_log(truncate=True) as stream:
        stream.write(b"chatter")
    assert "browser's own log is not kept" in caplog.text


def test_a_launch_serves_on_the_port_of_the_last_one_while_it_is_free(tmp_path):
    """The window's browser keeps the page's files for the address it opened: the same port loads them from there."""
    instance = Instance(tmp_path)
    first = launcher.usual_port(instance)
    assert launcher.usual_port(Instance(tmp_path)) == first
    with socket.socket() as taken:
        taken.bind((launcher.HOST, first))
        taken.listen()
        other = launcher.usual_port(Instance(tmp_path))
    assert other != first and launcher.usual_port(Instance(tmp_path)) == other
    (tmp_path / "port").write_text("not a port")
    assert launcher.port_available(launcher.usual_port(Instance(tmp_path)))
