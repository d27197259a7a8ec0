"""Saved model states on disk, so that a long conversation is not computed again after a restart.

One file per conversation: a header, the tokens the state holds, then the state's bytes. Files are written
whole and then renamed into place, so a crash leaves either the old file or the new one; a checksum catches
a file damaged later, which llama.cpp would otherwise load as a wrong state.
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
import zlib
from array import array
from collections.abc import Sequence
from pathlib import Path

from chatdesk.engine.prompt_cache import Hit, best_match, extends

MAGIC = b"chatdesk-state-2\n"
SUFFIX = ".state"
_HEADER = struct.Struct("<IQI")  # how many tokens follow, the state's length, its CRC-32


class DiskPromptCache:
    """Model states in a folder, keyed by the tokens they hold; the least recently used go first past a budget."""

    def __init__(self, folder: Path, capacity_bytes: int):
        self.folder = Path(folder)
        self.capacity_bytes = capacity_bytes
        self._lock = threading.Lock()  # written from a background thread, read from the engine's
        self._files: dict[tuple[int, ...], Path] = {}
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in self.folder.iterdir():
            self._index(path)

    def __len__(self) -> int:
        return len(self._files)

    @property
    def size_bytes(self) -> int:
        """Bytes the saved states take on disk."""
        return sum(_size(path) for path in list(self._files.values()))

    def put(self, tokens: Sequence[int], state) -> None:
        """Write `state` (any bytes-like object) for `tokens`; earlier points it extends are dropped."""
        key = tuple(tokens)
        length = memoryview(state).nbytes
        if len(MAGIC) + _HEADER.size + 4 * len(key) + length > self.capacity_bytes:
            return
        path = self.folder / (hashlib.sha1(array("i", key).tobytes()).hexdigest()[:24] + SUFFIX)
        temporary = path.with_suffix(".tmp")
        try:
            with open(temporary, "wb") as out:
                out.write(MAGIC + _HEADER.pack(len(key), length, zlib.crc32(state)) + array("i", key).tobytes())
                out.write(state)
            os.replace(temporary, path)
        except OSError:  # a full disk, say: a partial file would hold the space it lacks
            _remove(temporary)
            raise
        with self._lock:
            for older in [k for k in self._files if extends(key, k)]:
                if self._files[older] != path:
                    _remove(self._files[older])
                del self._files[older]
            self._files[key] = path
            self._shrink()

    def best(self, tokens: Sequence[int]) -> Hit | None:
        """The saved state sharing the longest start with `tokens` (its `state` is the file), or None."""
        with self._lock:
            hit = best_match(self._files, tokens)
            return None if hit is None else Hit(hit.tokens, self._files[hit.tokens], hit.shared)

    def read(self, hit: Hit) -> bytearray | None:
        """The state's bytes, or None when its file is gone or damaged (it is then forgotten)."""
        try:
            with open(hit.state, "rb") as source:
                tokens, length, checksum = _read_header(source)
                data = bytearray(source.read())
            os.utime(hit.state)  # recently used: kept longest
        except (OSError, ValueError):
            tokens, length, checksum, data = None, 0, 0, bytearray()
        if tokens != hit.tokens or not data or len(data) != length or zlib.crc32(data) != checksum:
            self.forget(hit)
            return None
        return data

    def forget(self, hit: Hit) -> None:
        """Delete a state that turned out to be unusable."""
        with self._lock:
            if self._files.get(hit.tokens) == hit.state:
                del self._files[hit.tokens]
        _remove(hit.state)

    def _index(self, path: Path) -> None:
        """Learn which tokens a file holds; leftovers of an interrupted write and damaged files are deleted."""
        if path.suffix != SUFFIX:
            if path.suffix == ".tmp":
                _remove(path)
            return
        try:
            with open(path, "rb") as source:
                self._files[_read_header(source)[0]] = path
        except (OSError, ValueError):
            _remove(path)

    def _shrink(self) -> None:
        """Delete the least recently used files until the rest fit the budget."""
        by_age = sorted(self._files.items(), key=lambda item: _mtime(item[1]))
        total = sum(_size(path) for _key, path in by_age)
        for key, path in by_age:
            if total <= self.capacity_bytes:
                break
            total -= _size(path)
            _remove(path)
            del self._files[key]


def _read_header(source) -> tuple[tuple[int, ...], int, int]:
    """A state file's tokens, state length and checksum; ValueError when it is not one."""
    if source.read(len(MAGIC)) != MAGIC:
        raise ValueError("not a chatdesk state file")
    head = source.read(_HEADER.size)
    if len(head) != _HEADER.size:
        raise ValueError("truncated")
    count, length, checksum = _HEADER.unpack(head)
    raw = source.read(4 * count)
    if len(raw) != 4 * count:
        raise ValueError("truncated")
    tokens = array("i")
    tokens.frombytes(raw)
    return tuple(tokens), length, checksum


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
