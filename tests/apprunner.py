"""Start the real app as a subprocess, the way a user would, with its own data dir."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

READY = re.compile(r"chatdesk is running at (http://127\.0\.0\.1:\d+/)\?token=(\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningApp:
    """A chatdesk process serving on loopback; its output is kept for failure messages."""

    def __init__(self, home: Path, *args: str, timeout: float = 90, env: dict | None = None,
                 cwd: Path | None = None, port: int | None = 0):
        env = dict(os.environ, CHATDESK_HOME=str(home), PYTHONUNBUFFERED="1", **(env or {}))
        env.pop("DISPLAY", None)
        chosen = [] if port is None else ["--port", str(port or free_port())]  # None: the app's own choice
        command = [sys.executable, "-m", "chatdesk", "--no-window", *chosen, *args]
        self.home = home
        self.output: list[str] = []
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, bufsize=1, cwd=cwd)
        self.url, self.secret = self._wait_ready(timeout)
        self.page_url = f"{self.url}?token={self.secret}"  # what the window opens: the page gets its cookie

    @property
    def headers(self) -> dict[str, str]:
        """What a program must send with every request."""
        return {"Authorization": f"Bearer {self.secret}"}

    def client(self):
        """A gradio_client on the app, with the secret."""
        from gradio_client import Client

        return Client(self.url, headers=self.headers, verbose=False)

    def _wait_ready(self, timeout: float) -> tuple[str, str]:
        found: list[tuple[str, str]] = []
        ready = threading.Event()

        def read():
            for line in self.process.stdout:
                self.output.append(line)
                match = READY.search(line)
                if match and not found:
                    found.append(match.groups())
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        if not ready.wait(timeout) or not found:
            self.stop()
            raise RuntimeError("chatdesk did not start:\n" + "".join(self.output))
        return found[0]

    def stop(self) -> int | None:
        """Stop the app as SIGTERM does; one still running after 15 s fails with its threads' stacks."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self._fail_stuck()
        return self.process.returncode

    def _fail_stuck(self) -> None:
        """Kill the app that ignored SIGTERM and fail with its stacks, output and log."""
        self.process.send_signal(signal.SIGUSR1)  # the app writes its threads' stacks
        time.sleep(1.0)
        self.process.kill()
        self.process.wait(5)
        self._reader.join(5)  # the stacks, to the end of the output
        log = self.home / "logs" / "chatdesk.log"
        tail = log.read_text(errors="replace")[-6000:] if log.exists() else "(no log)"
        raise AssertionError("chatdesk still ran 15 s after SIGTERM:\n" + "".join(self.output) +
                             "\n--- its log ---\n" + tail)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    @property
    def database(self) -> Path:
        return self.home / "data" / "chatdesk.db"


def wait_for(condition, timeout: float = 30, interval: float = 0.05):
    """Poll until `condition()` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {condition}")
