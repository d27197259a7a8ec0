"""Saved model states, so that a conversation switched away from and back is not computed again."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


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
        for older in [k for k in self._states if len(k) <= len(key) and key[:len(k)] == k]:
            del self._states[older]
        self._states[key] = (state, nbytes)
        while self.size_bytes > self.capacity_bytes:
            self._states.popitem(last=False)

    def best(self, tokens: Sequence[int]) -> Hit | None:
        """The saved state sharing the longest start with `tokens`, or None when none shares any."""
        best: Hit | None = None
        for key, (state, _nbytes) in self._states.items():
            shared = shared_prefix(key, tokens)
            if shared and (best is None or shared > best.shared):
                best = Hit(key, state, shared)
        if best is not None:
            self._states.move_to_end(best.tokens)
        return best
