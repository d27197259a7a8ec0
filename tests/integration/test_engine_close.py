"""Releasing the real model while it works: quitting stops the reply, queued work never touches the freed model."""

import subprocess
import sys
import textwrap

from chatdesk.engine.generation import SamplingParams
from chatdesk.engine.local import LocalEngine

STORY = [{"role": "user", "content": "Tell me a very long story about a dragon and a knight."}]


def test_closing_mid_reply_stops_it_instead_of_writing_to_the_end(model_path):
    engine = LocalEngine(model_path, n_ctx=2048, prompt_cache_bytes=0)
    generation = engine.chat(STORY, SamplingParams(max_tokens=1500, temperature=0.0, seed=1))
    pieces = iter(generation)
    next(pieces)
    engine.close()  # what quitting does: the app's process ends once this returns
    list(pieces)
    assert generation.stats.finish_reason == "cancelled"
    assert generation.stats.completion_tokens < 60


QUEUED_AFTER_CLOSE = textwrap.dedent("""
    import sys
    from chatdesk.engine.generation import SamplingParams
    from chatdesk.engine.local import LocalEngine
    from chatdesk.errors import ModelError

    engine = LocalEngine(sys.argv[1], n_ctx=2048)
    story = [{"role": "user", "content": "Tell me a story about a dragon."}]
    running = iter(engine.chat(story, SamplingParams(max_tokens=40)))
    next(running)  # it is being written
    ahead = engine.prepare(story + [{"role": "assistant", "content": "Once"}], 40, "And then")
    queued = engine.chat(story + [{"role": "assistant", "content": "Once"}, {"role": "user", "content": "More"}],
                         SamplingParams(max_tokens=40))
    engine.close()
    try:
        list(queued)
    except ModelError as error:
        print("refused:", error)
    ahead.wait(60)
    list(running)
    print("exited cleanly")
""")


def test_work_queued_when_the_model_is_released_is_refused_not_run_on_the_freed_model(model_path):
    done = subprocess.run([sys.executable, "-c", QUEUED_AFTER_CLOSE, str(model_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: This model was unloaded" in done.stdout and "exited cleanly" in done.stdout
