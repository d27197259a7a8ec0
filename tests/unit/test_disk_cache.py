"""The prompt cache on disk: states survive a restart, stay in budget, and a damaged file costs nothing."""

import os
import time

from chatdesk.engine.disk_cache import DiskPromptCache
from chatdesk.engine.prompt_cache import PromptCache, StateCache

LONG = list(range(1, 200))  # a state long enough to be worth a file


def reopened(cache: DiskPromptCache) -> DiskPromptCache:
    """The same folder as a new process sees it."""
    return DiskPromptCache(cache.folder, cache.capacity_bytes)


def test_a_state_written_before_a_restart_is_found_after_it(tmp_path):
    DiskPromptCache(tmp_path, 1 << 20).put([1, 2, 3], b"state of the chat")
    cache = DiskPromptCache(tmp_path, 1 << 20)
    hit = cache.best([1, 2, 3, 4])
    assert (hit.tokens, hit.shared) == ((1, 2, 3), 3)
    assert cache.read(hit) == b"state of the chat"
    assert cache.best([9]) is None


def test_a_later_point_of_the_same_conversation_replaces_the_earlier_file(tmp_path):
    cache = DiskPromptCache(tmp_path, 1 << 20)
    cache.put([1, 2], b"after the first reply")
    cache.put([1, 3], b"another conversation")
    cache.put([1, 2, 3, 4], b"after the second reply")
    assert len(list(tmp_path.glob("*.state"))) == 2
    cache = reopened(cache)
    assert cache.read(cache.best([1, 2])) == b"after the second reply"


def test_the_least_recently_used_files_go_first_past_the_budget(tmp_path):
    cache = DiskPromptCache(tmp_path, 3 * 1100)
    for n, name in enumerate([b"a", b"b"]):
        cache.put([n + 1], name * 1000)
        os.utime(cache.best([n + 1]).state, (time.time() - 100 + n, time.time() - 100 + n))
    cache.read(cache.best([1]))  # "a" is used again
    cache.put([3], b"c" * 1000)
    cache.put([4], b"d" * 1000)
    cache = reopened(cache)
    assert cache.best([2]) is None
    assert [cache.read(cache.best([n]))[:1] for n in (1, 3, 4)] == [b"a", b"c", b"d"]
    assert cache.size_bytes <= 3 * 1100


def test_a_state_bigger_than_the_whole_budget_is_not_written(tmp_path):
    cache = DiskPromptCache(tmp_path, 100)
    cache.put([1], b"x" * 200)
    assert cache.best([1]) is None and not list(tmp_path.iterdir())


def test_damaged_files_and_interrupted_writes_are_cleared_away(tmp_path):
    cache = DiskPromptCache(tmp_path, 1 << 20)
    cache.put([1, 2, 3], b"good")
    cache.put([7, 8, 9], b"will be cut short")
    cut = cache.best([7, 8, 9]).state
    cut.write_bytes(cut.read_bytes()[:20])
    (tmp_path / "0123.state").write_bytes(b"not a state at all")
    (tmp_path / "4567.tmp").write_bytes(b"a write a crash interrupted")
    cache = reopened(cache)
    assert cache.best([7, 8, 9]) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [cache.best([1, 2, 3]).state.name]


def test_a_file_removed_behind_the_cache_s_back_is_a_miss(tmp_path):
    cache = DiskPromptCache(tmp_path, 1 << 20)
    cache.put([1, 2, 3], b"state")
    hit = cache.best([1, 2, 3])
    hit.state.unlink()
    assert cache.read(hit) is None and cache.best([1, 2, 3]) is None


def test_a_state_the_model_leaves_is_written_to_disk_and_read_back_after_a_restart(tmp_path):
    states = StateCache(PromptCache(1 << 20), DiskPromptCache(tmp_path, 1 << 20))
    states.put(LONG[:150], bytearray(b"long chat, one reply earlier"), 28)
    states.put(LONG, bytearray(b"long chat"), 9)
    assert not list(tmp_path.iterdir())  # not after every reply
    states.persist()  # the model turns to another chat
    states.put([900, 901], bytearray(b"short chat"), 10)  # quick to compute again: RAM only
    states.persist()
    states.close()
    assert len(list(tmp_path.iterdir())) == 1
    after_restart = StateCache(PromptCache(1 << 20), DiskPromptCache(tmp_path, 1 << 20))
    hit = after_restart.best(LONG + [500])
    assert (hit.state, hit.shared) == (b"long chat", len(LONG))
    assert after_restart.best([900, 901]) is None
    assert len(after_restart.ram) == 1  # read once, then kept in RAM


def test_a_state_that_could_not_be_used_is_forgotten_on_disk_too(tmp_path):
    states = StateCache(PromptCache(1 << 20), DiskPromptCache(tmp_path, 1 << 20))
    states.put(LONG, bytearray(b"unusable"), 8)
    states.persist()
    states.close()
    states.forget(LONG)
    assert states.best(LONG) is None and not list(tmp_path.iterdir())


def test_a_state_damaged_after_it_was_written_is_not_read(tmp_path):
    cache = DiskPromptCache(tmp_path, 1 << 20)
    cache.put([1, 2, 3], b"the model state as computed")
    path = cache.best([1, 2, 3]).state
    path.write_bytes(path.read_bytes().replace(b"computed", b"corrupt!"))
    cache = reopened(cache)
    assert cache.read(cache.best([1, 2, 3])) is None and not path.exists()


def test_a_state_that_cannot_be_written_to_disk_is_logged_and_kept_in_ram(tmp_path, caplog):
    folder = tmp_path / "prompt-cache"
    cache = StateCache(PromptCache(1 << 20), DiskPromptCache(folder, 1 << 20))
    folder.rmdir()
    folder.write_text("the disk went away: a file where the folder was")  # every write now fails
    cache.put(LONG, b"state", 5)
    cache.persist()
    cache.close()
    assert "could not keep a model state on disk" in caplog.text
    assert cache.best(LONG).state == b"state"


def test_a_temporary_chat_s_state_is_kept_in_ram_and_never_written_to_disk(tmp_path):
    states = StateCache(PromptCache(1 << 20), DiskPromptCache(tmp_path, 1 << 20))
    states.put(LONG, bytearray(b"temporary chat"), 14, to_disk=False)
    states.persist()  # the model turns to another chat
    states.close()
    assert not list(tmp_path.iterdir())
    assert states.best(LONG + [500]).state == b"temporary chat"  # still reused while the app runs
