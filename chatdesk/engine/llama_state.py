"""What the loaded llama.cpp model holds: its tokens, cutting them short, and saving and restoring its state
through the prompt caches (RAM and disk). Part of the local engine, with local.py the only llama_cpp users."""

from __future__ import annotations

import ctypes
import hashlib
from pathlib import Path

from chatdesk.catalog import models
from chatdesk.engine.disk_cache import DiskPromptCache
from chatdesk.engine.prompt_cache import PromptCache, StateCache, shared_prefix


class HeldState:
    """The model's state: which tokens it holds, and states saved for conversations it turned away from."""

    def __init__(self, llm, cache: StateCache | None):
        self.llm = llm
        self.cache = cache
        self.unsaved = False  # the model holds tokens its saved states do not
        self.private = False  # what the model holds is a temporary chat's: its state never goes to disk
        self._first_logits: tuple[tuple[int, ...], object] = ((), None)  # the last prompt, its last token's logits

    def tokens(self) -> list[int]:
        """The tokens the model's state holds now."""
        return self.llm.input_ids[: self.llm.n_tokens].tolist()

    def trim(self, count: int) -> int:
        """Have the model hold only its first `count` tokens; how many it holds then.

        A model whose state cannot be cut short (recurrent or hybrid ones) is emptied instead, and holds 0:
        computing from there on top of tokens it still held would write replies from the wrong state.
        """
        llm = self.llm
        count = min(count, llm.n_tokens)
        if llm._ctx.kv_cache_seq_rm(-1, count, -1):
            llm.n_tokens = count
            return count
        llm._ctx.kv_cache_clear()
        llm.n_tokens = 0
        return 0

    def bring_in(self, tokens: list[int]) -> None:
        """Before computing `tokens`: save the state if most of it is about to go, restore a better one."""
        if self.cache is None:
            return
        held = self.tokens()
        kept = shared_prefix(held, tokens)
        if len(held) - kept > kept:  # another conversation, most likely: keep this one for a switch back
            self.save()
            self.cache.persist()
        hit = self.cache.best(tokens)
        if hit is not None and hit.shared > kept:
            self._load(hit.tokens, hit.state)

    def save(self) -> None:
        """Put what the model holds in the prompt cache, once."""
        import llama_cpp

        if self.cache is None or not self.unsaved:
            return
        size = llama_cpp.llama_state_seq_get_size(self.llm.ctx, 0)  # llama-cpp-python uses sequence 0
        state = (ctypes.c_uint8 * size)()
        llama_cpp.llama_state_seq_get_data(self.llm.ctx, state, size, 0)
        self.cache.put(self.tokens(), state, size, to_disk=not self.private)
        self.unsaved = False

    def close(self) -> None:
        """Write the saved states out and stop the cache's writer."""
        if self.cache is not None:
            self.cache.persist()
            self.cache.close()

    def keep_first_logits(self, prompt: list[int]) -> None:
        """Keep the model's output for the last token of `prompt`, for a retry of the same prompt."""
        self._first_logits = (tuple(prompt), self._last_logits().copy())

    def put_back_first_logits(self, prompt: list[int]) -> bool:
        """Write the kept output of `prompt`'s last token where the sampler reads it; False when it cannot."""
        if self._first_logits[0] != tuple(prompt):
            return False
        try:
            self._last_logits()[:] = self._first_logits[1]
        except ValueError:  # a NULL pointer: nothing computed since the model was loaded
            return False
        return True

    def _last_logits(self):
        """The model's output for the last token it computed, as a writable numpy view."""
        import llama_cpp
        import numpy

        row = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return numpy.ctypeslib.as_array(row, shape=(self.llm.n_vocab(),))

    def _load(self, tokens: tuple[int, ...], state) -> None:
        """Restore a state from the prompt cache (or, should llama.cpp refuse it, start from nothing)."""
        import llama_cpp

        if not isinstance(state, ctypes.Array):  # read from disk
            state = (ctypes.c_uint8 * len(state)).from_buffer(state)
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.llm.ctx), False)  # False: no zeroing
        restored = llama_cpp.llama_state_seq_set_data(self.llm.ctx, state, ctypes.sizeof(state), 0)
        if not restored:
            self.cache.forget(tokens)
        held = tokens if restored else ()
        self.llm.input_ids[: len(held)] = held
        self.llm.n_tokens = len(held)
        self.llm._requires_eval = True  # no logits came back: a reply recomputes the last token
        self.unsaved = False


def state_cache(info: models.GGUFInfo, ram_bytes: int, disk_root: Path | None, disk_bytes: int) -> StateCache | None:
    """Where model states are saved: RAM, and a folder of this model's own when a disk cache is asked for."""
    if ram_bytes <= 0:
        return None
    disk = None
    if disk_root is not None and disk_bytes > 0:
        try:
            disk = DiskPromptCache(Path(disk_root) / model_key(info), disk_bytes)
        except OSError:  # an unwritable cache folder: RAM alone still serves switching back
            disk = None
    return StateCache(PromptCache(ram_bytes), disk)


def model_key(info: models.GGUFInfo) -> str:
    """A folder name for one model file and llama.cpp version: states do not carry over to others."""
    import llama_cpp

    digest = hashlib.sha256(f"{llama_cpp.__version__}:{info.file_size}".encode())
    with open(info.path, "rb") as source:  # the start (metadata) and end (weights) tell models apart cheaply
        digest.update(source.read(1 << 16))
        source.seek(max(0, info.file_size - (1 << 16)))
        digest.update(source.read(1 << 16))
    return f"{info.path.stem}-{digest.hexdigest()[:16]}"
