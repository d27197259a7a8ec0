"""Logging into the user log dir with rotation, and safe streams for a build with no console."""

from __future__ import annotations

import faulthandler
import io
import logging
import os
import signal
import sys
import threading
from logging.handlers import RotatingFileHandler
from pathlib import Path

from chatdesk import paths

LOG_FILE_NAME = "chatdesk.log"
MAX_BYTES = 1_000_000
BACKUP_COUNT = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS = ("httpx", "httpcore", "urllib3")  # one line per request otherwise


def log_file() -> Path:
    """The current log file."""
    return paths.log_dir() / LOG_FILE_NAME


def setup_logging(level: int = logging.INFO) -> Path:
    """Send chatdesk's and its libraries' records to a rotating file; returns its path."""
    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "chatdesk", False)]:
        root.removeHandler(handler)
        handler.close()
    handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.chatdesk = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in QUIET_LOGGERS:
        logging.getLogger(chatty).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return path


def dump_threads_on_sigusr1() -> None:
    """Make `kill -USR1 <pid>` print every thread's stack to stderr: how a hang is looked into."""
    if not hasattr(signal, "SIGUSR1"):
        return
    try:
        faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    except (AttributeError, ValueError, io.UnsupportedOperation):  # no console (a windowed build)
        pass


class LogStream(io.TextIOBase):
    """A text stream that turns each written line into a log record (for a missing console)."""

    def __init__(self, logger_name: str, level: int, fd: int):
        self._logger = logging.getLogger(logger_name)
        self._level = level
        self._fd = fd
        self._pending = ""
        self._writing = threading.local()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._log(line)
        return len(text)

    def flush(self) -> None:
        self._log(self._pending)
        self._pending = ""

    def _log(self, line: str) -> None:
        """Log one line, unless logging itself is writing here (no handler yet: it falls back to stderr)."""
        if not line.strip() or getattr(self._writing, "active", False):
            return
        self._writing.active = True
        try:
            self._logger.log(self._level, line.rstrip())
        finally:
            self._writing.active = False

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return False


def ensure_std_streams() -> None:
    """Give a process with no console (stdout/stderr None) streams that log, over valid descriptors."""
    for name, fd, level in (("stdout", 1, logging.INFO), ("stderr", 2, logging.WARNING)):
        if getattr(sys, name) is not None:
            continue
        _ensure_descriptor(fd)
        setattr(sys, name, LogStream(f"chatdesk.{name}", level, fd))


def _ensure_descriptor(fd: int) -> None:
    """Point descriptor `fd` at the null device unless it is open (native code writes to it)."""
    try:
        os.fstat(fd)
    except OSError:
        null = os.open(os.devnull, os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
