"""Saved model states, so that a conversation switched away from and back is not computed again."""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

DISK_MIN_TOKENS = 128  # shorter states are computed again in about a second: not worth a file


@dataclass(frozen=True)
class Hit:
    """A saved state and how many leading tokens of the asked-for prompt it holds."""

    tokens: tuple[int, ...]
    state: Any
    shared: int


def shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens `a` and `b` have in common."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def best_match(keys: Iterable[tuple[int, ...]], tokens: Sequence[int]) -> Hit | None:
    """The key sharing the longest start with `tokens` (as a Hit without a state), or None when none shares any."""
    best: Hit | None = None
    for key in keys:
        shared = shared_prefix(key, tokens)
        if shared and (best is None or shared > best.shared):
            best = Hit(key, None, shared)
    return best


class PromptCache:
    """Model states keyed by the tokens they hold; the least recently used go first past a byte budget."""

    def __init__(self, capacity_bytes: int):
        self.capacity_bytes = capacity_bytes
        self._states: OrderedDict[tuple[int, ...], tuple[Any, int]] = OrderedDict()

    @property
    def size_bytes(self) -> int:
        """Bytes held by the saved states."""
        return sum(nbytes for _state, nbytes in self._states.values())

    def __len__(self) -> int:
        return len(self._states)

    def put(self, tokens: Sequence[int], state: Any, nbytes: int) -> None:
        """Keep `state` for `tokens`; earlier points of the same conversation, which it extends, are dropped."""
        if nbytes > self.capacity_bytes:
            return
        key = tuple(tokens)
        for older in [k for k in self._states if extends(key, k)]:
            del self._states[older]
        self._states[key] = (state, nbytes)
        while self.size_bytes > self.capacity_bytes:
            self._states.popitem(last=False)

    def forget(self, tokens: Sequence[int]) -> None:
        """Drop the state saved for exactly `tokens`, if any."""
        self._states.pop(tuple(tokens), None)

    def best(self, tokens: Sequence[int]) -> Hit | None:
        """The saved state sharing the longest start with `tokens`, or None when none shares any."""
        match = best_match(self._states, tokens)
        if match is None:
            return None
        self._states.move_to_end(match.tokens)
        return Hit(match.tokens, self._states[match.tokens][0], match.shared)


class StateCache:
    """States kept in RAM and, when a disk cache is given, written to disk as the model leaves them.

    Not after every reply: a long chat's state is tens of megabytes for a small model and hundreds for a
    big one. It is written when the model turns to another chat, and when chatdesk closes.
    """

    def __init__(self, ram: PromptCache, disk=None):
        self.ram = ram
        self.disk = disk  # a disk_cache.DiskPromptCache, or None
        self._writes: queue.SimpleQueue = queue.SimpleQueue()
        self._unwritten: tuple[tuple[int, ...], Any] | None = None  # the latest state, if worth a file
        self._writer = None
        if disk is not None:
            self._writer = threading.Thread(target=self._write, name="chatdesk-state-writer", daemon=True)
            self._writer.start()

    def put(self, tokens: Sequence[int], state: Any, nbytes: int, *, to_disk: bool = True) -> None:
        """Keep `state` in RAM; persist() then writes it to disk if it would take a while to compute again
        (never when not `to_disk`: a temporary chat's)."""
        self.ram.put(tokens, state, nbytes)
        if self.disk is not None:
            worth = to_disk and len(tokens) >= DISK_MIN_TOKENS
            self._unwritten = (tuple(tokens), state) if worth else None

    def persist(self) -> None:
        """Write the latest state to disk in the background: the model is about to leave it."""
        if self._unwritten is not None:
            self._writes.put(self._unwritten)
            self._unwritten = None

    def best(self, tokens: Sequence[int]) -> Hit | None:
        """The state sharing the longest start with `tokens`, from RAM or else read from disk."""
        hit = self.ram.best(tokens)
        on_disk = self.disk.best(tokens) if self.disk is not None else None
        if on_disk is None or (hit is not None and hit.shared >= on_disk.shared):
            return hit
        data = self.disk.read(on_disk)
        if data is None:
            return hit
        self.ram.put(on_disk.tokens, data, len(data))
        return Hit(on_disk.tokens, data, on_disk.shared)

    def forget(self, tokens: Sequence[int]) -> None:
        """Drop a state that could not be used, wherever it is kept."""
        self.ram.forget(tokens)
        if self.disk is not None:
            on_disk = self.disk.best(tokens)
            if on_disk is not None and on_disk.tokens == tuple(tokens):
                self.disk.forget(on_disk)

    def close(self, timeout: float = 30.0) -> None:
        """Finish the disk writes already asked for (waiting at most `timeout` seconds)."""
        if self._writer is not None:
            self._writes.put(None)
            self._writer.join(timeout)

    def _write(self) -> None:
        """The writer thread: write states in order, skipping those a later one in the queue extends."""
        while True:
            pending = [self._writes.get()]
            while not self._writes.empty():
                pending.append(self._writes.get())
            ending = None in pending
            pending = [item for item in pending if item is not None]
            for i, (tokens, state) in enumerate(pending):
                if not any(extends(later, tokens) for later, _state in pending[i + 1:]):
                    self._write_one(tokens, state)
            if ending:
                return

    def _write_one(self, tokens: tuple[int, ...], state: Any) -> None:
        try:
            self.disk.put(tokens, state)
        except OSError as error:  # a full or read-only disk: the state is still in RAM, and the chat goes on
            log.warning("could not keep a model state on disk in %s (%d tokens: %s); it stays in memory only",
                        self.disk.folder, len(tokens), error)


def extends(longer: tuple[int, ...], shorter: tuple[int, ...]) -> bool:
    """Whether `longer` is a later point of the conversation `shorter` is at."""
    return len(shorter) <= len(longer) and longer[:len(shorter)] == shorter
