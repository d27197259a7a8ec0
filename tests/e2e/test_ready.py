"""A chat opened after a restart is computed in the background, before the next message is sent."""

import re

from playwright.sync_api import expect

from tests.apprunner import RunningApp
from tests.e2e.chatpage import open_page, send

NOTES = "Minutes: " + "the team reviewed the schedule, the budget and the risks. " * 20  # about 250 tokens


def prompt_tokens_computed(page) -> int:
    """From the last reply's details: how many prompt tokens the model computed for it."""
    page.locator('#chat [data-testid="bot"]').last.click()
    details = page.locator("#details")
    expect(details).to_contain_text("Prompt tokens computed")
    return int(re.search(r"Prompt tokens computed \(rest cached\): (\d+)", details.inner_text()).group(1))


def test_a_chat_opened_after_a_restart_is_ready_before_the_next_message(chromium, tmp_path):
    app = RunningApp(tmp_path, "--max-tokens", "16")
    try:
        page = open_page(chromium, app.url, new_chat=True)
        send(page, NOTES)
        assert prompt_tokens_computed(page) > 200  # nothing was cached
        page.click("#new-chat")
        send(page, "Name one zebra fact.")
        page.close()
    finally:
        assert app.stop() == 0

    app = RunningApp(tmp_path, "--max-tokens", "16")  # a restart: no model state survives it
    try:
        page = open_page(chromium, app.url)
        page.locator("#chat-list label", has_text="Minutes").click()
        expect(page.locator('#chat [data-testid="user"]').first).to_contain_text("Minutes")
        page.wait_for_timeout(10_000)  # the person reads and types; the model computes the chat meanwhile
        send(page, "Shorter?")
        assert prompt_tokens_computed(page) <= 12  # only the new message and its turn's closing tokens
    finally:
        assert app.stop() == 0
