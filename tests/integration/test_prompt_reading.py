"""A long prompt read on the real model: progress reports after each batch, and Stop while it is read."""

from chatdesk.engine.generation import Reading, SamplingParams
from chatdesk.engine.server import ServerEngine

REPORT = "Summarize: " + "The committee met on Monday and agreed on the plan for the new bridge. " * 100
MINUTES = "List the decisions: " + "Each member read the minutes aloud and signed the last page twice. " * 100


def readings_of(generation) -> tuple[list[Reading], str]:
    """Every reading report seen while iterating `generation`, and the reply's text."""
    seen, text = [], []
    for piece in generation:
        text.append(piece)
        if generation.reading is not None and (not seen or seen[-1] != generation.reading):
            seen.append(generation.reading)
    return seen, "".join(text)


def test_a_long_prompt_is_read_in_batches_reporting_after_each(engine):
    generation = engine.chat([{"role": "user", "content": REPORT}], SamplingParams(max_tokens=8))
    seen, text = readings_of(generation)
    total = generation.prompt_tokens
    assert total > 2 * engine._llm.n_batch
    assert len(seen) >= 3 and {r.total for r in seen} == {total}
    done = [r.done for r in seen]
    assert done == sorted(done) and done[0] < done[-1] == total
    assert any(r.seconds_left is not None and r.seconds_left > 0 for r in seen[:-1])
    assert text.strip() and generation.stats.finish_reason in ("stop", "length")
    assert generation.stats.prompt_evaluated >= total - 64  # all of it computed (not from a cache)


def test_a_short_prompt_reports_no_reading(engine):
    generation = engine.chat([{"role": "user", "content": "Hi there"}], SamplingParams(max_tokens=3))
    seen, _text = readings_of(generation)
    assert seen == [] and generation.stats.completion_tokens > 0


def test_stop_while_a_long_prompt_is_read_stops_the_reading_within_one_batch(engine):
    generation = engine.chat([{"role": "user", "content": MINUTES}], SamplingParams(max_tokens=50))
    pieces = iter(generation)
    while not (generation.reading and generation.reading.done):  # the first batch is read
        assert next(pieces) == ""
    at_stop = generation.reading.done
    generation.cancel()
    assert "".join(pieces) == ""
    stats = generation.stats
    assert stats.finish_reason == "cancelled" and stats.completion_tokens == 0
    assert generation.reading.done <= at_stop + engine._llm.n_batch < generation.prompt_tokens
    follow_up = engine.chat([{"role": "user", "content": "Hi there"}], SamplingParams(max_tokens=3))
    assert "".join(follow_up).strip()  # the model is free again (its reply may end before 3 tokens)
    assert follow_up.stats.finish_reason in ("stop", "length")


def test_a_server_reports_reading_as_it_can(inference_server):
    engine = ServerEngine(inference_server.url, context_length=2048)
    try:
        generation = engine.chat([{"role": "user", "content": REPORT}], SamplingParams(max_tokens=4))
        seen, _text = readings_of(generation)
    finally:
        engine.close()
    if inference_server.kind != "llama-server":
        assert seen == [Reading(0, 0)]  # reading, how far not known
        return
    total = generation.stats.prompt_tokens  # llama-server says how far it has read, after each batch
    assert seen[-1] == Reading(total, total, seen[-1].seconds_left)
    done = [r.done for r in seen]
    assert len(seen) >= 2 and done == sorted(done) and done[0] < total
