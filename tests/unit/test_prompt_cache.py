"""The prompt cache: which saved model state a prompt gets back, and what is dropped to stay in budget."""

from chatdesk.engine.prompt_cache import PromptCache, shared_prefix


def test_the_state_sharing_the_longest_start_with_the_prompt_is_found():
    cache = PromptCache(capacity_bytes=100)
    cache.put([1, 2, 3], "short chat", 10)
    cache.put([1, 5, 6, 7, 8], "long chat", 10)
    hit = cache.best([1, 5, 6, 7, 8, 9])
    assert (hit.state, hit.shared) == ("long chat", 5)
    assert cache.best([1, 2, 3, 4]).state == "short chat"
    assert cache.best([9, 9]) is None


def test_a_later_point_of_the_same_conversation_replaces_the_earlier_one():
    cache = PromptCache(capacity_bytes=100)
    cache.put([1, 2], "after the first reply", 10)
    cache.put([1, 3], "another conversation", 10)
    cache.put([1, 2, 3, 4], "after the second reply", 20)
    assert len(cache) == 2 and cache.size_bytes == 30
    assert cache.best([1, 2]).state == "after the second reply"  # a retry of the first reply starts from here


def test_the_least_recently_used_states_go_first_past_the_budget():
    cache = PromptCache(capacity_bytes=25)
    cache.put([1], "a", 10)
    cache.put([2], "b", 10)
    cache.best([1, 7])  # "a" is used again
    cache.put([3], "c", 10)
    assert cache.best([2]) is None and cache.best([1]).state == "a" and cache.best([3]).state == "c"


def test_a_state_bigger_than_the_whole_budget_is_not_kept():
    cache = PromptCache(capacity_bytes=10)
    cache.put([1], "a", 5)
    cache.put([2], "huge", 11)
    assert cache.best([2]) is None and cache.best([1]).state == "a"


def test_shared_prefix_counts_the_common_start():
    assert shared_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert shared_prefix([], [1]) == 0
    assert shared_prefix([1, 2], [1, 2, 3]) == 2
