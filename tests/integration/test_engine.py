"""The engine on the real default model: streaming, stop, seeds, context fitting."""

import time

import pytest

from chatdesk.engine.local import LocalEngine
from chatdesk.errors import ModelError
from chatdesk.engine.generation import SamplingParams

STORY = [{"role": "user", "content": "Tell me a long story about a dragon and a knight."}]
NOTES = [{"role": "user", "content": "Summarize: " + "The committee met and agreed on the plan. " * 40}]
GREEDY = SamplingParams(max_tokens=12, temperature=0.0, seed=7)


def test_a_reply_streams_in_many_pieces_with_its_stats(engine):
    generation = engine.chat(STORY, SamplingParams(max_tokens=80))
    pieces = list(generation)
    stats = generation.stats
    assert len(pieces) >= 3 and "".join(pieces).strip()  # pieces come at most 10 a second
    assert stats.finish_reason in ("stop", "length")
    assert stats.prompt_tokens > 10 and 0 < stats.completion_tokens <= 81
    assert stats.time_to_first_token > 0 and stats.tokens_per_second > 0
    assert stats.model == "SmolLM2-135M-Instruct.Q4_1"


def test_a_short_budget_ends_by_length(engine):
    generation = engine.chat(STORY, SamplingParams(max_tokens=5))
    list(generation)
    assert generation.stats.finish_reason == "length"


def test_cancel_stops_the_computation_within_one_token(engine):
    generation = engine.chat(STORY, SamplingParams(max_tokens=400))
    pieces = iter(generation)
    next(pieces)
    generation.cancel()
    at_cancel = generation.tokens_so_far
    list(pieces)
    assert generation.stats.finish_reason == "cancelled"
    assert generation.tokens_so_far - at_cancel <= 1
    assert generation.stats.completion_tokens < 20
    follow_up = engine.chat(STORY, SamplingParams(max_tokens=3))  # the model is free again
    list(follow_up)
    assert follow_up.stats.finish_reason == "length"


def test_a_reader_that_walks_away_stops_the_computation(engine):
    generation = engine.chat(STORY, SamplingParams(max_tokens=400))
    pieces = iter(generation)
    next(pieces)
    pieces.close()
    assert generation.cancelled
    list(engine.chat(STORY, SamplingParams(max_tokens=3)))  # would wait 400 tokens if it went on


def test_each_reply_gets_a_fresh_seed_so_retry_differs(engine):
    params = SamplingParams(max_tokens=30, temperature=0.9)
    first, second = engine.chat(STORY, params), engine.chat(STORY, params)
    first_text, second_text = "".join(first), "".join(second)
    assert first.stats.seed != second.stats.seed
    assert first_text != second_text


def test_the_same_seed_gives_the_same_reply(engine):
    params = SamplingParams(max_tokens=20, temperature=0.9, seed=1234)
    assert "".join(engine.chat(STORY, params)) == "".join(engine.chat(STORY, params))


def test_continue_carries_on_from_the_partial_reply(engine):
    partial = "Once upon a time, a dragon"
    messages = STORY + [{"role": "assistant", "content": partial}]
    prompt = engine.tokenize_chat(messages, continue_reply=True)
    assert engine.tokenize_chat(STORY)[: len(prompt) - 8] == prompt[: len(prompt) - 8]
    generation = engine.chat(messages, SamplingParams(max_tokens=10), continue_reply=True)
    assert "".join(generation).strip()


def test_the_oldest_turns_are_dropped_to_fit_and_the_system_prompt_stays(model_path):
    small = LocalEngine(model_path, n_ctx=512)
    try:
        messages = [{"role": "system", "content": "You are a pirate."}]
        for i in range(12):
            messages += [{"role": "user", "content": f"Question {i}: " + "tell me more " * 10},
                         {"role": "assistant", "content": f"Answer {i}: " + "arr matey " * 10}]
        messages.append({"role": "user", "content": "Last question?"})
        tokens, dropped = small.fit(messages, reply_budget=128)
        text = small._llm.detokenize(tokens).decode()
        assert dropped > 0 and dropped % 2 == 0
        assert len(tokens) <= 512 - 128
        assert "You are a pirate." in text and "Last question?" in text and "Question 0:" not in text
        generation = small.chat(messages, SamplingParams(max_tokens=8))
        list(generation)
        assert generation.stats.dropped_messages == small.fit(messages, reply_budget=8)[1] > 0
    finally:
        small.close()


def finish(engine: LocalEngine, messages: list[dict], max_tokens: int):
    """Run a reply to its end; its stats."""
    generation = engine.chat(messages, SamplingParams(max_tokens=max_tokens))
    list(generation)
    return generation.stats


def test_switching_conversations_and_back_reuses_the_cached_prompt(model_path):
    engine = LocalEngine(model_path, n_ctx=2048)
    try:
        notes = [{"role": "user", "content": "Summarize: " + "The committee met and agreed on the plan. " * 60}]
        first = engine.chat(notes, SamplingParams(max_tokens=8))
        reply = "".join(first)
        assert first.stats.prompt_evaluated >= first.stats.prompt_tokens - 1  # nothing cached yet
        finish(engine, [{"role": "user", "content": "Something else entirely."}], 8)
        follow_up = notes + [{"role": "assistant", "content": reply}, {"role": "user", "content": "Shorter?"}]
        back = finish(engine, follow_up, 8)
        assert back.prompt_tokens > 400
        assert back.prompt_evaluated < 40  # only the new turn, not the whole conversation again
        assert finish(engine, follow_up, 8).prompt_evaluated <= 2  # a retry
    finally:
        engine.close()


def test_a_follow_up_computes_only_the_new_message_once_the_model_got_ready(model_path):
    engine = LocalEngine(model_path, n_ctx=2048)
    try:
        chat = NOTES + [{"role": "assistant", "content": "".join(engine.chat(NOTES, SamplingParams(max_tokens=8)))}]
        unprepared = finish(engine, chat + [{"role": "user", "content": "Shorter?"}], 4).prompt_evaluated
        assert engine.prepare(chat, 4).wait(60)  # the user reads the reply and types
        prepared = finish(engine, chat + [{"role": "user", "content": "Shorter?"}], 4).prompt_evaluated
        # the next turn's opening tokens (end of reply, start of a user message) were computed ahead
        assert prepared <= unprepared - 4
        engine.prepare([{"role": "user", "content": "Something else."}], 4).wait(60)  # the user switches away
        assert engine.prepare(chat, 4).wait(60)  # and back
        assert finish(engine, chat + [{"role": "user", "content": "Longer?"}], 4).prompt_evaluated <= unprepared - 4
    finally:
        engine.close()


def test_computing_ahead_gives_way_to_a_reply(model_path):
    engine = LocalEngine(model_path, n_ctx=4096)
    try:
        whole_book = [{"role": "user", "content": "Read this: " + "A long chapter about the sea. " * 300}]
        engine.prepare(whole_book, 8)  # about 2,400 tokens: many seconds here
        time.sleep(0.3)
        assert finish(engine, STORY, 4).time_to_first_token < 3  # waited for one batch, not for the whole book
    finally:
        engine.close()


def test_a_closed_engine_refuses_a_reply_instead_of_hanging(model_path):
    engine = LocalEngine(model_path, n_ctx=512)
    engine.close()
    with pytest.raises(ModelError, match="unloaded"):
        engine.chat(STORY, SamplingParams(max_tokens=3))



def test_a_long_chat_reopened_after_a_restart_is_restored_from_disk(model_path, tmp_path):
    engine = LocalEngine(model_path, n_ctx=2048, disk_cache=tmp_path)
    # a reply of its own words (greedy: a sampled one may lead to a greedy reply of a few characters)
    chat = NOTES + [{"role": "assistant", "content": "".join(engine.chat(NOTES, GREEDY))},
                    {"role": "user", "content": "Shorter?"}]
    before = "".join(engine.chat(chat, GREEDY))
    engine.close()
    restarted = LocalEngine(model_path, n_ctx=2048, disk_cache=tmp_path)
    try:
        again = restarted.chat(chat, GREEDY)
        # the restored state is the one the reply was computed from: the same words (a near tie at the end, such
        # as a last "." or not, can go either way: a state read back is not computed in the same batches)
        assert "".join(again)[:30] == before[:30] and len(before) >= 30
        assert again.stats.prompt_tokens > 300 and again.stats.prompt_evaluated <= 2
    finally:
        restarted.close()


def test_a_damaged_state_on_disk_is_computed_again_and_deleted(model_path, tmp_path):
    engine = LocalEngine(model_path, n_ctx=2048, disk_cache=tmp_path)
    list(engine.chat(NOTES, SamplingParams(max_tokens=4)))
    engine.close()
    (state_file,) = tmp_path.glob("*/*.state")
    data = bytearray(state_file.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = b"\x7b" * 64  # a few numbers of the model state changed: llama.cpp would load it
    state_file.write_bytes(data)
    restarted = LocalEngine(model_path, n_ctx=2048, disk_cache=tmp_path)
    try:
        reply = restarted.chat(NOTES, GREEDY)
        assert "".join(reply).strip() and reply.stats.prompt_evaluated > 300
    finally:
        restarted.close()
    assert not state_file.exists() or state_file.read_bytes() != data


def test_a_long_chat_is_written_to_disk_when_the_model_turns_to_another(model_path, tmp_path):
    engine = LocalEngine(model_path, n_ctx=2048, disk_cache=tmp_path)
    try:
        list(engine.chat(NOTES, SamplingParams(max_tokens=4)))
        assert not list(tmp_path.glob("*/*.state"))  # not after every reply
        list(engine.chat(STORY, SamplingParams(max_tokens=4)))
        deadline = time.monotonic() + 10
        while not list(tmp_path.glob("*/*.state")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(tmp_path.glob("*/*.state"))  # a crash from now on loses no computed chat
    finally:
        engine.close()


def test_a_message_is_computed_while_it_is_typed(model_path):
    engine = LocalEngine(model_path, n_ctx=2048)
    try:
        question = "And what did the committee say about the budget, the schedule and the risks it found?"
        chat = NOTES + [{"role": "assistant", "content": "".join(engine.chat(NOTES, SamplingParams(max_tokens=8)))}]
        sent = chat + [{"role": "user", "content": question}]
        untyped = engine.chat(sent, GREEDY)
        untyped_text = "".join(untyped)
        for typed in (question[:20], question[:50], question):  # the person pauses now and then
            assert engine.prepare(chat, GREEDY.max_tokens, draft=typed).wait(60)
        typed = engine.chat(sent, GREEDY)
        assert "".join(typed) == untyped_text  # the same reply, from the same prompt
        assert untyped.stats.prompt_evaluated >= 20 and typed.stats.prompt_evaluated <= 1  # nothing left to compute
        engine.prepare(chat, 4, draft=question[:50]).wait(60)
        changed = finish(engine, chat + [{"role": "user", "content": question[:50] + " and the staff?"}], 4)
        assert changed.prompt_evaluated <= 12  # sent otherwise than typed: from where it differs
    finally:
        engine.close()


def test_typing_does_not_push_other_chats_out_of_the_prompt_cache(model_path):
    state_size = 400 * 24 * 1024  # about 24 KB a token for the default model
    engine = LocalEngine(model_path, n_ctx=2048, prompt_cache_bytes=3 * state_size)
    try:
        notes = NOTES + [{"role": "assistant", "content": "".join(engine.chat(NOTES, SamplingParams(max_tokens=8)))}]
        other = [{"role": "user", "content": "Write about the sea. " * 60}]
        other.append({"role": "assistant", "content": "".join(engine.chat(other, SamplingParams(max_tokens=8)))})
        for n in range(1, 8):
            assert engine.prepare(other, 4, draft=f"Question {n}: why").wait(60)
        back = finish(engine, notes + [{"role": "user", "content": "Shorter?"}], 4)
        assert back.prompt_evaluated < 40  # the notes' state was still cached
    finally:
        engine.close()


def test_a_retry_starts_without_computing_anything_and_samples_as_the_first_reply_did(model_path):
    engine = LocalEngine(model_path, n_ctx=2048)
    try:
        seeded = SamplingParams(max_tokens=12, temperature=0.9, seed=42)
        first = "".join(engine.chat(NOTES, seeded))
        assert engine.prepare(NOTES + [{"role": "assistant", "content": first}], 4).wait(60)  # the model moved on
        again = engine.chat(NOTES, seeded)
        assert "".join(again) == first  # the same probabilities for the first token, so the same reply
        assert again.stats.prompt_evaluated == 0
    finally:
        engine.close()
