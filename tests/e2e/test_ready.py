"""A long chat reopened after a restart is not computed again before the next message gets its reply."""

import json
import re

from playwright.sync_api import expect

from tests.apprunner import RunningApp
from tests.e2e.chatpage import box, open_page, send, wait_idle

NOTES = "Minutes: " + "the team reviewed the schedule, the budget and the risks. " * 20  # about 250 tokens


def prompt_tokens_computed(page) -> int:
    """From the last reply's details: how many prompt tokens the model computed for it."""
    page.locator('#chat [data-testid="bot"]').last.click()
    details = page.locator("#details")
    expect(details).to_contain_text("Prompt tokens computed")
    return int(re.search(r"Prompt tokens computed \(rest cached\): (\d+)", details.inner_text()).group(1))


def chat_then_restart(chromium, home):
    """Have a long chat and a short one, quit, start again; the page with the long chat opened from the sidebar."""
    app = RunningApp(home, "--max-tokens", "16")
    try:
        page = open_page(chromium, app.page_url, new_chat=True)
        send(page, NOTES)
        assert prompt_tokens_computed(page) > 200  # nothing was cached
        page.click("#new-chat")
        send(page, "Name one zebra fact.")
        page.close()
    finally:
        assert app.stop() == 0
    app = RunningApp(home, "--max-tokens", "16")
    page = open_page(chromium, app.page_url)
    page.locator("#chat-list .row-open", has_text="Minutes").click()
    expect(page.locator('#chat [data-testid="user"]').first).to_contain_text("Minutes")
    return app, page


def test_a_chat_reopened_after_a_restart_comes_back_from_the_disk_cache(chromium, tmp_path):
    app, page = chat_then_restart(chromium, tmp_path)
    try:
        send(page, "Shorter?")  # at once: no time to compute the chat again
        assert prompt_tokens_computed(page) <= 12  # only the new message and its turn's closing tokens
        assert list(tmp_path.glob("cache/prompt-cache/*/*.state"))
    finally:
        assert app.stop() == 0


def test_without_a_disk_cache_a_reopened_chat_is_computed_while_the_person_types(chromium, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "settings.json").write_text(json.dumps({"disk_cache_mb": 0}))
    app, page = chat_then_restart(chromium, tmp_path)
    try:
        page.wait_for_timeout(10_000)  # the person reads and types; the model computes the chat meanwhile
        send(page, "Shorter?")
        assert prompt_tokens_computed(page) <= 12
        assert not list(tmp_path.glob("cache/prompt-cache/*/*.state"))  # the setting was honoured
    finally:
        assert app.stop() == 0


def test_a_message_is_computed_while_it_is_typed(chromium, tmp_path):
    app = RunningApp(tmp_path, "--max-tokens", "16")
    try:
        page = open_page(chromium, app.page_url, new_chat=True)
        send(page, NOTES)
        question = "What did the team decide about the schedule, and who will follow up on the budget and the risks?"
        box(page).press_sequentially(question[:40], delay=20)
        page.wait_for_timeout(1_000)  # the person thinks, then finishes the question
        box(page).press_sequentially(question[40:], delay=20)
        page.wait_for_timeout(3_000)
        box(page).press("Enter")
        wait_idle(page, 2)
        assert prompt_tokens_computed(page) <= 1  # the question and the turn's closing tokens were computed
    finally:
        assert app.stop() == 0
