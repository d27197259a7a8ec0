"""chatdesk as a real subprocess with its own data dir; a virtual display for the window tests."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.desktop import xsession

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
URL_LINE = re.compile(r"^chatdesk is running at (http://127\.0\.0\.1:\d+/)\?token=(\S+)$")
START_TIMEOUT = 90


class Chatdesk:
    """A chatdesk process started the way a user starts it, with its output collected."""

    def __init__(self, args: list[str], home: Path, *, display: str | None = None, command: list[str] | None = None,
                 extra_env: dict | None = None):
        self.home = home
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        env.update({"CHATDESK_HOME": str(home), "PYTHONUNBUFFERED": "1", **(extra_env or {})})
        if display:
            env["DISPLAY"] = display
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            (command or [sys.executable, "-m", "chatdesk"]) + args, cwd=ROOT, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_url(self, timeout: float = START_TIMEOUT) -> str:
        """The URL from the `chatdesk is running at URL?token=SECRET` line (the secret is kept too)."""
        def found():
            if self.process.poll() is not None:
                raise AssertionError(f"chatdesk exited with {self.process.returncode}:\n{self.output}")
            return next((m.groups() for m in map(URL_LINE.match, self.lines) if m), None)
        printed = xsession.wait_for(found, timeout, step=0.1)
        assert printed, f"no URL within {timeout} s:\n{self.output}"
        self.url, self.secret = printed
        url = self.url
        self.page_url = f"{url}?token={self.secret}"
        return url

    @property
    def headers(self) -> dict[str, str]:
        """What a program must send with every request (after wait_for_url)."""
        return bearer(self.secret)

    def client(self):
        from gradio_client import Client

        return Client(self.url, headers=self.headers, verbose=False)

    def instance_info(self) -> dict | None:
        """The instance file the running chatdesk wrote."""
        try:
            return json.loads((self.home / "data" / "instance.json").read_text())
        except (OSError, ValueError):
            return None

    def wait_exit(self, timeout: float) -> int:
        """The exit status, which must come within `timeout` seconds."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGUSR1)  # its threads' stacks, into the output
            time.sleep(1.0)
            raise AssertionError(f"chatdesk still runs after {timeout} s:\n{self.output}\n"
                                 f"--- its log ---\n{self.log_text()[-6000:]}") from None

    def signal(self, number: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(number)

    def log_text(self) -> str:
        path = self.home / "logs" / "chatdesk.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def launch(tmp_path):
    """Start chatdesk processes under a private data dir; any still running are killed afterwards."""
    started: list[Chatdesk] = []

    def start(*args: str, home: Path | None = None, **options) -> Chatdesk:
        app = Chatdesk(list(args), home or tmp_path / "home", **options)
        started.append(app)
        return app

    yield start
    for app in started:
        app.kill()


@pytest.fixture(scope="session")
def display():
    """A virtual X display for the whole session."""
    missing = xsession.tools_missing()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (build/system_deps.sh installs them)")
    process, name = xsession.start_xvfb()
    try:
        manager = xsession.start_window_manager(name)
    except BaseException:
        process.terminate()
        raise
    yield name
    for running in (manager, process):
        running.terminate()
    for running in (manager, process):
        running.wait(timeout=10)


def bearer(secret: str) -> dict[str, str]:
    """The header a program sends with the secret."""
    return {"Authorization": f"Bearer {secret}"}


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:port."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as in /proc/net/tcp*) listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


def processes_using(text: str) -> list[int]:
    """Pids whose command line contains `text`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """One chatdesk serving headless for the browser tests."""
    app = Chatdesk(["--no-window"], tmp_path_factory.mktemp("served") / "home")
    app.url = app.wait_for_url()
    yield app
    app.signal(signal.SIGTERM)
    app.wait_exit(timeout=15)
    app.kill()


def user_messages(home: Path) -> int:
    """How many user messages the history holds (read-only, while the app runs)."""
    import sqlite3

    database = home / "data" / "chatdesk.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT count(*) FROM messages WHERE role = 'user'").fetchone()[0]


@pytest.fixture(scope="session")
def browser(chromium):
    """Headless Chromium driven by Playwright (the system's chromium), shared with the other suites."""
    return chromium
