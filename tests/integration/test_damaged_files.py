"""Damaged files at start: settings, history and a prompt-cache file. The app starts, says so, keeps the user's
data (the damaged file itself too, where it holds any) and answers."""

import os
import sqlite3

import pytest

from tests.apprunner import RunningApp
from tests.faultkit import Page, seed_history
from tests.integration.test_kill import state_files

pytestmark = pytest.mark.slow
SETTINGS = '{"temperature": 0.3, "presets": {"Mine": {"temperature": 0.3, "system_prompt": "Be brief."}}, "top_'


def notices(page: Page) -> str:
    """The warnings the page shows at the top."""
    return " ".join(str(c["props"].get("value")) for c in page.config["components"]
                    if "notice" in (c["props"].get("elem_classes") or []))


def damage_history(database) -> bytes:
    """Overwrite one page in the middle of the history file; the file as it now is."""
    data = bytearray(database.read_bytes())
    start = len(data) // 2 // 4096 * 4096
    data[start:start + 4096] = os.urandom(4096)
    database.write_bytes(bytes(data))
    return bytes(data)


def test_damaged_settings_history_and_prompt_cache_are_each_handled_without_loss(tmp_path):
    long_chat = seed_history(tmp_path, turns=8)
    for n in range(40):  # chats enough that one damaged page is not the whole history
        seed_history(tmp_path, turns=4)
    app = RunningApp(tmp_path, "--max-tokens", "32")
    try:  # the long chat's model state is written to the prompt cache when the app closes
        app.client().predict("Go on.", long_chat, api_name="/chat")
    finally:
        assert app.stop() == 0
    [state], _ = state_files(tmp_path)
    with open(state, "r+b") as damaged:  # the state's bytes, not its header: only the checksum tells
        damaged.seek(state.stat().st_size // 2)
        damaged.write(os.urandom(4096))
    settings = tmp_path / "data" / "settings.json"
    settings.write_text(SETTINGS)  # cut off mid-write
    with sqlite3.connect(app.database) as db:
        chats = db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]
    damaged_history = damage_history(app.database)

    app = RunningApp(tmp_path, "--max-tokens", "32")
    try:
        page = Page(app.url, app.headers)
        told = notices(page)
        assert "The settings file" in told and "could not be used" in told and "is kept" in told
        assert "The history file was damaged" in told and "could still be read" in told
        [kept] = (tmp_path / "data").glob("chatdesk.db.unreadable-*[0-9]")
        assert kept.read_bytes() == damaged_history  # kept as it was, for the user
        with sqlite3.connect(app.database) as db:
            recovered = db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]
        assert recovered >= chats - 2  # all but the chats on the damaged page (at most a couple)

        client = app.client()
        assert client.predict("Go on.", long_chat, api_name="/chat")  # the damaged state is not used: it answers
        assert not state.exists()  # the damaged file was found out by its checksum and deleted
        values = [page.value_of(i) for i in page.inputs("save-settings", "click")]
        assert page.start("save-settings", "click", values).result()["success"]
        [kept_settings] = (tmp_path / "data").glob("settings.json.damaged-*")
        assert kept_settings.read_text() == SETTINGS  # the user's presets are in it, not lost by the save
    finally:
        assert app.stop() == 0
    assert "Traceback" not in "".join(app.output)
