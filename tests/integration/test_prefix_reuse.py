"""Reusing what the model already computed is only done when its state could really be cut back to the shared part.

Recurrent and hybrid models (Mamba, RWKV, Jamba…) keep a state that llama.cpp cannot cut short: removing the tail
of a sequence fails. Here the default model is made to refuse such removals by llama.cpp's own rule for recurrent
memory, so that the replies can be compared with those of a model that starts from nothing.
"""

import llama_cpp
import pytest

from chatdesk.engine.generation import SamplingParams
from chatdesk.engine.local import LocalEngine

GREEDY = SamplingParams(max_tokens=16, temperature=0.0, seed=3)
QUESTION = [{"role": "user", "content": "Name three colours."}]


def refuse_partial_removal(engine: LocalEngine) -> None:
    """Make the model's memory refuse to drop part of a sequence, as llama.cpp's recurrent memory does."""
    context = engine._llm._ctx
    remove = context.kv_cache_seq_rm

    def recurrent_seq_rm(seq_id, p0, p1):
        last = llama_cpp.llama_memory_seq_pos_max(context.memory, max(seq_id, 0))
        if 0 < p0 <= last:  # "partial intersection is invalid" (llama-memory-recurrent.cpp)
            return False
        return remove(seq_id, p0, p1)

    context.kv_cache_seq_rm = recurrent_seq_rm


@pytest.fixture
def recurrent_like(model_path):
    engine = LocalEngine(model_path, n_ctx=1024, prompt_cache_bytes=0)
    refuse_partial_removal(engine)
    yield engine
    engine.close()


def from_nothing(model_path, messages):
    engine = LocalEngine(model_path, n_ctx=1024, prompt_cache_bytes=0)
    try:
        return "".join(engine.chat(messages, GREEDY))
    finally:
        engine.close()


def test_a_follow_up_on_a_model_that_cannot_cut_its_state_is_computed_from_the_right_state(recurrent_like,
                                                                                          model_path):
    first = "".join(recurrent_like.chat(QUESTION, GREEDY))
    follow_up = [*QUESTION, {"role": "assistant", "content": first}, {"role": "user", "content": "And two more?"}]
    assert "".join(recurrent_like.chat(follow_up, GREEDY)) == from_nothing(model_path, follow_up)


def test_a_retry_on_a_model_that_cannot_cut_its_state_writes_the_same_greedy_reply(recurrent_like):
    first = "".join(recurrent_like.chat(QUESTION, GREEDY))
    again = recurrent_like.chat(QUESTION, GREEDY)
    assert "".join(again) == first

