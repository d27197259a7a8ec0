"""kill -9 at random points: while a reply streams, during a model switch, an import and a prompt-cache write.

Each test kills the app several times in one data folder (CHATDESK_FAULT_RUNS, see tests/faultkit.py); after
every kill the history passes SQLite's integrity check and holds every message it held before, each
reply at least up to its last checkpoint; every next start must open it, and a last one answers.
"""

import json
import sqlite3
import time

import pytest

from chatdesk.engine.disk_cache import DiskPromptCache
from tests.apprunner import RunningApp, wait_for
from tests.faultkit import Page, fault_random, fault_runs, lost_since, read_history, seed_history, streaming_checkpoint

pytestmark = pytest.mark.slow
LONG = "Write a very long story about a lighthouse keeper and the ships she saw, year by year."


def check_after_kill(app: RunningApp, before: dict, seed: int, run: int) -> dict:
    """The history after a kill: sound, nothing earlier lost. Returns what it holds."""
    verdict, after = read_history(app.database)
    assert verdict == "ok", f"run {run} (seed {seed}): integrity check says {verdict}"
    assert not lost_since(before, after), f"run {run} (seed {seed}): {lost_since(before, after)}"
    return after


def answers(home) -> str:
    """Start the app after the kills and have it answer a message; the reply."""
    app = RunningApp(home, "--max-tokens", "32")
    try:
        return app.client().predict("Say hello.", "", api_name="/chat")
    finally:
        app.stop()


def test_kill_while_a_reply_streams_loses_nothing_saved(tmp_path):
    rng, seed = fault_random()
    runs, streaming_kills, checkpoints = fault_runs(), 0, []
    seed_history(tmp_path)
    for run in range(runs):
        app = RunningApp(tmp_path, "--max-tokens", "1500")
        try:
            client = app.client()
            _verdict, before = read_history(app.database)  # as this start left it
            job = client.submit(f"{LONG} (Story {run}.)", "", api_name="/chat")  # a new chat: a short prompt
            wait_for(lambda: job.outputs(), timeout=600)  # the reply has started
            time.sleep(rng.uniform(0, 3))
            saved = streaming_checkpoint(app.database)
            app.kill()
        finally:
            app.stop()
        after = check_after_kill(app, before, seed, run)
        [sent] = [m for i, m in after.items() if i not in before and m.role == "user"]
        assert sent.content == f"{LONG} (Story {run}.)"
        [reply] = [m for i, m in after.items() if i not in before and m.role == "assistant"]
        if saved is not None:
            streaming_kills += 1
            checkpoints.append(len(saved))
            assert reply.content.startswith(saved), f"run {run} (seed {seed}): the reply lost its checkpoint"
    assert answers(tmp_path)
    print(f"\nkill -9 while a reply streams: {runs} runs (seed {seed}), {streaming_kills} while it streamed, "
          f"checkpoints of {min(checkpoints, default=0)}-{max(checkpoints, default=0)} characters kept; "
          "integrity ok and nothing earlier lost every time")


def test_kill_during_a_model_switch_keeps_the_settings_and_the_history(tmp_path):
    rng, seed = fault_random()
    settings = tmp_path / "data" / "settings.json"
    settings.parent.mkdir(parents=True)
    mine = {"temperature": 0.3, "top_p": 0.9, "top_k": 30, "min_p": 0.05, "repeat_penalty": 1.1,
            "max_tokens": 64, "system_prompt": "Answer briefly."}
    settings.write_text(json.dumps({"context_length": 2048, "max_tokens": 64, "presets": {"Mine": mine}}))
    seed_history(tmp_path)  # computed ahead at start: the old model's state is written to disk as it goes
    runs, switched = fault_runs(), 0
    for run in range(runs):
        app = RunningApp(tmp_path)
        try:
            old = json.loads(settings.read_text())["context_length"]
            _verdict, before = read_history(app.database)
            page = Page(app.url, app.headers)
            values = [page.value_of(i) for i in page.inputs("save-settings", "click")]
            new = 3072 if old == 2048 else 2048
            values[values.index(old)] = new  # the context length field: a change that reloads the model
            call = page.start("save-settings", "click", values)
            time.sleep(rng.uniform(0, 1))  # loading the default model takes about as long
            switched += call.done.is_set()
            app.kill()
        finally:
            app.stop()
        check_after_kill(app, before, seed, run)
        saved = json.loads(settings.read_text())
        assert saved["presets"] == {"Mine": mine}, f"run {run} (seed {seed}): the presets were lost"
        assert saved["context_length"] in (old, new), f"run {run} (seed {seed}): {saved}"
    assert answers(tmp_path)
    print(f"\nkill -9 during a model switch: {runs} runs (seed {seed}), {runs - switched} before the new model was "
          "ready; the settings file whole (old or new, presets kept), integrity ok, nothing earlier lost every time")


@pytest.fixture(scope="module")
def big_export(tmp_path_factory):
    """A chatdesk export of 1,000 chats of 12 messages: its import takes the app a second or two."""
    words = "the keeper lit the lamp and watched the sea for ships " * 8
    chats = []
    for n in range(1000):
        messages = [{"id": f"{n}.{turn}", "parent_id": f"{n}.{turn - 1}" if turn else None,
                     "role": "user" if turn % 2 == 0 else "assistant", "content": f"Imported {n}.{turn} {words}",
                     "created": 1.7e9 + turn, "status": "complete", "meta": {}, "feedback": []} for turn in range(12)]
        chats.append({"id": str(n), "title": f"Imported {n}", "system_prompt": "", "created": 1.7e9,
                      "updated": 1.7e9, "leaf_id": f"{n}.11", "deleted_at": None, "messages": messages})
    path = tmp_path_factory.mktemp("export") / "all-chats.json"
    path.write_text(json.dumps({"format": "chatdesk-export", "version": 1, "exported": 1.7e9, "conversations": chats}))
    return path


def imported_chats(database) -> int:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT COUNT(*) FROM conversations WHERE title LIKE 'Imported %'").fetchone()[0]


def test_kill_during_an_import_keeps_it_all_or_nothing(tmp_path, big_export):
    rng, seed = fault_random()
    seed_history(tmp_path)
    runs, whole = fault_runs(), 0
    for run in range(runs):
        app = RunningApp(tmp_path)
        try:
            _verdict, before = read_history(app.database)
            chats = imported_chats(app.database)
            page = Page(app.url, app.headers)
            call = page.start("import-json", "upload", [None, page.upload(big_export)])
            time.sleep(rng.uniform(0, 2.5))
            app.kill()
        finally:
            app.stop()
        check_after_kill(app, before, seed, run)
        added = imported_chats(app.database) - chats
        assert added in (0, 1000), f"run {run} (seed {seed}): {added} of 1,000 chats imported"
        whole += added == 1000
    assert answers(tmp_path)
    print(f"\nkill -9 during an import of 1,000 chats: {runs} runs (seed {seed}), {whole} imported whole, "
          f"{runs - whole} not at all, none in part; integrity ok, nothing earlier lost every time")


def state_files(home):
    """The prompt cache's files on disk: (finished states, partly written ones)."""
    found = list((home / "cache" / "prompt-cache").glob("*/*"))
    return [p for p in found if p.suffix == ".state"], [p for p in found if p.suffix == ".tmp"]


def test_kill_during_a_prompt_cache_write_discards_the_partial_file(tmp_path):
    rng, seed = fault_random()
    long_chat = seed_history(tmp_path, turns=8)  # about 700 tokens: a 16 MB state
    runs, partial = fault_runs(), 0
    for run in range(runs):
        app = RunningApp(tmp_path, "--max-tokens", "48")
        try:
            states, leftovers = state_files(tmp_path)
            assert not leftovers, f"run {run} (seed {seed}): a partial file was kept: {leftovers}"
            assert_whole(states)
            client = app.client()
            assert client.predict(f"{run}. Go on.", long_chat, api_name="/chat")  # from a state file, if one is kept
            _verdict, before = read_history(app.database)
            client.submit("Say hello.", "", api_name="/chat")  # the model turns away: the long chat's state is written
            wait_for(lambda: state_files(tmp_path)[1], timeout=600, interval=0.001)
            time.sleep(rng.uniform(0, 0.01))  # writing it takes about as long here
            app.kill()
        finally:
            app.stop()
        check_after_kill(app, before, seed, run)
        partial += bool(state_files(tmp_path)[1])
    assert answers(tmp_path)
    states, leftovers = state_files(tmp_path)
    assert not leftovers
    assert_whole(states)
    print(f"\nkill -9 during a prompt-cache write: {runs} runs (seed {seed}), {partial} left a partial file; each "
          "was discarded at the next start, which answered; integrity ok, nothing earlier lost every time")


def assert_whole(states) -> None:
    """Every state file kept reads back whole, checksum and all."""
    for folder in {state.parent for state in states}:
        cache = DiskPromptCache(folder, 1 << 40)
        for tokens, path in list(cache._files.items()):
            assert cache.read(cache.best(tokens)) is not None, f"{path} is damaged"
