"""A reply's deltas as the engine hands them over: held back to a few a second, but never at its end."""

import threading
import time

from chatdesk.engine import generation as generation_module
from chatdesk.engine.generation import Generation, Stats

STATS = Stats(model="scripted", seed=1, prompt_tokens=3, completion_tokens=2, time_to_first_token=0.1,
              tokens_per_second=20.0, total_seconds=0.3, finish_reason="stop", dropped_messages=0)


def test_the_last_words_come_as_soon_as_the_reply_ends(monkeypatch):
    monkeypatch.setattr(generation_module, "DELTA_EVERY", 5.0)  # far longer than the test may take
    generation = Generation()
    generation.push("Once ")
    deltas = iter(generation)
    assert next(deltas) == "Once "  # the first words at once
    threading.Timer(0.1, lambda: (generation.push("upon."), generation.finish(STATS))).start()
    started = time.monotonic()
    assert list(deltas) == ["upon."]
    assert time.monotonic() - started < 2.5, "the end of the reply waited for the next screen update"


def test_words_written_meanwhile_come_together():
    generation = Generation()
    for word in ("a ", "b ", "c"):
        generation.push(word)
    generation.finish(STATS)
    assert list(generation) == ["a b c"]


def test_the_first_words_after_a_reading_report_are_not_held_back(monkeypatch):
    monkeypatch.setattr(generation_module, "DELTA_EVERY", 5.0)
    generation = Generation()
    generation.report_reading(0, 0)  # a server says it is reading the prompt
    deltas = iter(generation)
    assert next(deltas) == ""
    threading.Timer(0.1, lambda: generation.push("Hello")).start()
    started = time.monotonic()
    assert next(deltas) == "Hello"
    assert time.monotonic() - started < 2.5, "the first words waited for the next screen update"
    generation.cancel()
