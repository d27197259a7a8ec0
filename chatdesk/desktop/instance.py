"""One chatdesk per data dir: a lock held while serving, and a file that says where it serves.

The file also holds the launch's secret, so it is readable by its user only (0600 on POSIX).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_NAME = "instance.lock"
INFO_NAME = "instance.json"
PORT_NAME = "port"  # the port of the last launch, tried first at the next one
PRIVATE_FILE = 0o600


@dataclass(frozen=True)
class InstanceInfo:
    """Where a running chatdesk serves."""

    url: str
    pid: int
    secret: str


class Instance:
    """This process's claim to be the chatdesk serving `folder`'s history."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.info_file = folder / INFO_NAME
        self.port_file = folder / PORT_NAME
        self._lock = FileLock(str(folder / LOCK_NAME), mode=PRIVATE_FILE)
        self.leftover: InstanceInfo | None = None  # what a crashed run left behind

    def claim(self) -> bool:
        """Take the lock if no other chatdesk holds it; the OS frees it when its holder dies."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        self.leftover = read_info(self.info_file)
        self.info_file.unlink(missing_ok=True)
        return True

    def publish(self, url: str, secret: str) -> None:
        """Tell later launches of this user where this instance serves, and its secret."""
        temporary = self.info_file.with_suffix(".tmp")
        temporary.unlink(missing_ok=True)
        info = json.dumps(asdict(InstanceInfo(url=url, pid=os.getpid(), secret=secret)))
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(info)
        os.replace(temporary, self.info_file)

    def last_port(self) -> int | None:
        """The port kept by keep_port(), or None when none is kept or the file is damaged."""
        try:
            port = int(self.port_file.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None
        return port if 1024 <= port <= 65535 else None

    def keep_port(self, port: int) -> None:
        """Remember `port` for the next launch (best effort: without it the next launch picks a free one)."""
        try:
            self.port_file.write_text(f"{port}\n", encoding="ascii")
        except OSError:
            pass

    def release(self) -> None:
        """Forget the instance file and free the lock."""
        if self._lock.is_locked:
            self.info_file.unlink(missing_ok=True)
            self._lock.release()

    def running(self, timeout: float = 10.0) -> InstanceInfo | None:
        """The instance that holds the lock, once it has published where it serves."""
        deadline = time.monotonic() + timeout
        while True:
            info = read_info(self.info_file)
            if info is not None and info.pid != os.getpid():
                return info
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)


def read_info(path: Path) -> InstanceInfo | None:
    """The instance file's contents, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        # An older chatdesk wrote no secret (and asked for none)
        return InstanceInfo(url=str(data["url"]), pid=int(data["pid"]), secret=str(data.get("secret", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
