"""The app's own window: pywebview if it works, else a Chromium-family browser in --app mode, else a tab.

Every kind first shows the loading page, at once, which switches to the chat when the server answers.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import webbrowser
from pathlib import Path

from chatdesk import paths
from chatdesk.desktop.loading import loading_html, write_loading_page

TITLE = "chatdesk"
BROWSER_ENV = "CHATDESK_BROWSER"  # a Chromium-family executable to use, or "none" to skip them
WINDOW_SIZE = (1200, 820)
HANDOFF_SECONDS = 2.0  # a browser that exits this fast passed its window to one already running
log = logging.getLogger(__name__)

def browser_profile_dir() -> Path:
    """The Chromium profile that only chatdesk's windows use."""
    return paths.cache_dir() / "browser-profile"


# choosing


def webview_usable() -> bool:
    """Whether pywebview is installed and has a GUI toolkit it can use on this system."""
    try:
        importlib.import_module("webview")
    except Exception as error:  # not installed, or broken: the app window falls back to a browser
        log.info("pywebview cannot be used: %s", error)
        return False
    toolkits = {"darwin": ["cocoa", "qt"], "win32": ["winforms"]}.get(sys.platform, ["gtk", "qt"])
    for toolkit in toolkits:
        try:
            importlib.import_module(f"webview.platforms.{toolkit}")
            return True
        except Exception as error:  # ImportError, ValueError from gi.require_version, missing runtimes
            log.info("pywebview cannot use %s: %s", toolkit, error)
    return False


def chromium_candidates() -> list[str]:
    """Where Chrome, Edge, Chromium and Brave live on this platform, most common first."""
    if sys.platform == "win32":
        roots = [os.environ.get(n, "") for n in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")]
        apps = [r"Google\Chrome\Application\chrome.exe", r"Microsoft\Edge\Application\msedge.exe",
                r"Chromium\Application\chrome.exe", r"BraveSoftware\Brave-Browser\Application\brave.exe"]
        return [str(Path(root) / app) for app in apps for root in roots if root]
    if sys.platform == "darwin":
        apps = ["Google Chrome", "Microsoft Edge", "Chromium", "Brave Browser"]
        roots = ["/Applications", str(Path.home() / "Applications")]
        return [f"{root}/{app}.app/Contents/MacOS/{app}" for app in apps for root in roots]
    names = ["google-chrome", "google-chrome-stable", "chromium", "chromium-browser",
             "microsoft-edge", "microsoft-edge-stable", "brave-browser", "brave"]
    return [found for name in names if (found := shutil.which(name))]


def find_chromium() -> str | None:
    """A Chromium-family browser that can run chatdesk's window, if the machine has one."""
    chosen = os.environ.get(BROWSER_ENV, "").strip()
    if chosen:
        return None if chosen.lower() == "none" else chosen
    for candidate in chromium_candidates():
        resolved = os.path.realpath(candidate)
        if resolved.startswith("/snap/"):
            continue  # a snap's sandbox cannot use a profile under a hidden folder
        if os.path.isfile(resolved) and os.access(resolved, os.X_OK):
            return candidate
    return None


def chromium_command(executable: str, page: str, profile: Path) -> list[str]:
    """The command line of an app window on `page` with its own profile and no background traffic."""
    width, height = WINDOW_SIZE
    command = [
        executable, f"--app={page}", f"--user-data-dir={profile}", f"--window-size={width},{height}",
        "--no-first-run", "--no-default-browser-check", "--disable-default-apps", "--disable-sync",
        "--disable-background-networking", "--disable-component-update", "--disable-domain-reliability",
        "--no-pings", "--disable-features=Translate,MediaRouter,OptimizationHints",
        "--hide-crash-restore-bubble",
    ]
    if sys.platform.startswith("linux"):
        command += ["--class=chatdesk", "--password-store=basic"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return command


def choose_window(url: str, ready: threading.Event, *, detached: bool = False) -> Window:
    """The best window this machine can show for `url` (`ready` is set once it answers)."""
    if webview_usable():
        return WebviewWindow(url, ready)
    executable = find_chromium()
    if executable:
        return ChromiumWindow(url, executable, detached=detached)
    return BrowserTab(url)


# the kinds of window


class Window:
    """A window on the app; `show()` returns at once, `run_until_closed()` blocks."""

    kind = "window"
    url = ""
    handed_off = False  # True when another process now shows this window
    failed = False  # True when it could not be shown at all

    def show(self) -> None:
        """Put the loading page on screen."""

    def run_until_closed(self, stop: threading.Event) -> None:
        """Block until the user closes the window or `stop` is set."""
        stop.wait()

    def close(self) -> None:
        """Close the window if it is still open."""


class ChromiumWindow(Window):
    """A Chromium-family browser in --app mode, with its own profile so it is its own process."""

    kind = "chromium"

    def __init__(self, url: str, executable: str, *, detached: bool = False, profile: Path | None = None):
        self.url = url
        self.executable = executable
        self.detached = detached  # a window that outlives this process (a second launch's)
        self.profile = profile or browser_profile_dir()
        self.process: subprocess.Popen | None = None
        self._spawned_at = 0.0

    def show(self) -> None:
        self.profile.mkdir(parents=True, exist_ok=True)
        command = chromium_command(self.executable, write_loading_page(self.url).as_uri(), self.profile)
        options = _detached_options() if self.detached else _tied_options()
        log.info("opening %s in %s", self.url, self.executable)
        with _browser_log(truncate=not self.detached) as output:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=output, **options)
        self._spawned_at = time.monotonic()

    def run_until_closed(self, stop: threading.Event) -> None:
        while not stop.is_set() and self.process.poll() is None:
            stop.wait(0.1)
        status = self.process.poll()
        quick = time.monotonic() - self._spawned_at < HANDOFF_SECONDS
        self.handed_off = status == 0 and quick
        self.failed = status not in (0, None) and quick
        log.log(logging.WARNING if self.failed else logging.INFO, "browser window ended with status %s%s",
                status, " (handed off)" if self.handed_off else " at once: it could not start" if self.failed else "")

    def close(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class WebviewWindow(Window):
    """A native window from pywebview; its GUI loop must run on the main thread."""

    kind = "webview"

    def __init__(self, url: str, ready: threading.Event):
        self.url = url
        self.ready = ready
        self.window = None

    def show(self) -> None:
        import webview

        width, height = WINDOW_SIZE
        self.window = webview.create_window(TITLE, html=loading_html(self.url), width=width, height=height)

    def run_until_closed(self, stop: threading.Event) -> None:
        import webview

        try:
            webview.start(self._follow, (stop,), icon=str(paths.icon_file()))
        except Exception:  # no usable toolkit after all: the launcher falls back to a tab
            log.exception("pywebview could not show its window")
            self.failed = True

    def _follow(self, stop: threading.Event) -> None:
        """On pywebview's worker thread: open the chat when ready; close the window on stop."""
        while not stop.is_set() and not self.ready.wait(0.1):
            pass
        if not stop.is_set():
            self.window.load_url(self.url)
        stop.wait()
        self.close()

    def close(self) -> None:
        if self.window is not None:
            self.window.destroy()
            self.window = None


class BrowserTab(Window):
    """A tab in the default browser: the app cannot tell when it closes, so pages are watched instead."""

    kind = "browser"
    handed_off = True  # the browser owns the tab

    def __init__(self, url: str):
        self.url = url

    def show(self) -> None:
        if not webbrowser.open(write_loading_page(self.url).as_uri()):
            raise OSError("no default browser was found")

    def run_until_closed(self, stop: threading.Event) -> None:
        """Return at once: the launcher watches the page instead."""


def _browser_log(*, truncate: bool):
    """`browser.log` in the log dir for the browser's own chatter (or the null device)."""
    try:
        paths.log_dir().mkdir(parents=True, exist_ok=True)
        return open(paths.log_dir() / "browser.log", "wb" if truncate else "ab")
    except OSError as error:
        log.warning("the browser's own log is not kept: %s", error)
        return open(os.devnull, "wb")


def _tied_options() -> dict:
    """Popen options that make the browser end with chatdesk (Linux), in its own process group."""
    if sys.platform.startswith("linux"):
        return {"start_new_session": True, "preexec_fn": _die_with_parent}
    return {"start_new_session": True} if os.name == "posix" else {}


def _detached_options() -> dict:
    """Popen options for a window that outlives the launch that opened it."""
    return {"start_new_session": True} if os.name == "posix" else {"creationflags": subprocess.DETACHED_PROCESS}


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the parent dies (a crashed chatdesk leaves no window)."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
