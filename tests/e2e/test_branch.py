"""Branch from a message, delete a message, and a temporary chat, in real Chromium, by accessible name."""

import sqlite3

import pytest
from playwright.sync_api import expect

from tests.apprunner import RunningApp
from tests.e2e.chatpage import bots, open_page, send, users
from tests.e2e.conftest import artifact

pytestmark = pytest.mark.slow


def chat_list(page):
    return page.locator("#chat-list .row-open")


def test_branch_from_a_reply_opens_a_new_chat_and_delete_asks_first(chromium, tmp_path):
    app = RunningApp(tmp_path, "--max-tokens", "16")
    try:
        page = open_page(chromium, app.page_url)
        send(page, "Tell me about owls.")
        send(page, "And about cats?")
        branch = page.get_by_role("button", name="Branch from here")
        expect(branch).to_have_count(4)  # one per message
        branch.nth(1).click()  # the first reply
        expect(users(page)).to_have_count(1)
        expect(bots(page)).to_have_count(1)
        expect(users(page).first).to_contain_text("Tell me about owls.")
        expect(chat_list(page)).to_have_count(2)
        expect(chat_list(page).filter(has_text="Tell me about owls. (branch)")).to_be_visible()
        expect(page.locator('#chat-list [aria-current="page"]')).to_have_text("Tell me about owls. (branch)")
        page.screenshot(path=str(artifact("branch-opened.png")))

        chat_list(page).filter(has_not_text="(branch)").click()
        expect(users(page)).to_have_count(2)  # the original is unchanged
        expect(bots(page)).to_have_count(2)

        page.get_by_role("button", name="Delete message").nth(2).click()  # the second question
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("Delete this message and the 1 message after it?")
        page.screenshot(path=str(artifact("delete-confirm.png")))
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_have_count(0)
        expect(users(page)).to_have_count(2)

        page.get_by_role("button", name="Delete message").nth(2).click()
        page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        expect(users(page)).to_have_count(1)
        expect(bots(page)).to_have_count(1)
        expect(users(page).first).to_contain_text("Tell me about owls.")
    finally:
        assert app.stop() == 0
    with _db(tmp_path) as db:
        contents = [row[0] for row in db.execute("SELECT content FROM messages")]
    assert "And about cats?" not in contents and contents.count("Tell me about owls.") == 2


def _db(home):
    return sqlite3.connect(next(home.rglob("chatdesk.db")))


def test_a_temporary_chat_is_marked_exports_and_is_gone_after_a_restart(chromium, tmp_path):
    app = RunningApp(tmp_path, "--max-tokens", "16")
    try:
        page = open_page(chromium, app.page_url)
        send(page, "Remember the word pelican.")  # a saved chat
        page.get_by_role("button", name="Temporary chat").click()
        expect(users(page)).to_have_count(0)
        banner = page.locator("#temporary-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("Temporary chat")
        send(page, "Whisper the made-up word zorblax.")
        expect(banner).to_be_visible()
        expect(chat_list(page)).to_have_count(1)  # not listed
        page.screenshot(path=str(artifact("temporary-chat.png")))

        page.get_by_role("button", name="This chat").click()
        page.get_by_role("button", name="Export Markdown").click()
        expect(page.locator("#download")).to_be_visible()
        with page.expect_download() as download:
            page.locator("#download a").first.click()
        assert "zorblax" in download.value.path().read_text()
        chat_list(page).first.click()  # another chat: the temporary one is gone
        expect(users(page).first).to_contain_text("Remember the word pelican.")
        expect(banner).to_be_hidden()
        page.close()
    finally:
        assert app.stop() == 0
    with _db(tmp_path) as db:
        rows = [row[0] for row in db.execute("SELECT content FROM messages")]
        titles = [row[0] for row in db.execute("SELECT title FROM conversations")]
    assert len(rows) == 2, rows  # the saved chat's message and reply only
    assert not any("zorblax" in text for text in rows + titles), rows + titles

    app = RunningApp(tmp_path, "--max-tokens", "16")  # a restart on the same home
    try:
        page = open_page(chromium, app.page_url)
        expect(users(page).first).to_contain_text("Remember the word pelican.")
        expect(chat_list(page)).to_have_count(1)
        expect(page.locator("#temporary-banner")).to_be_hidden()
        page.locator("#search textarea, #search input").fill("zorblax")
        page.locator("#search textarea, #search input").press("Enter")
        expect(page.locator("#search-hits")).to_contain_text("Nothing found")
        expect(page.locator("#search-hits .hit-row")).to_have_count(0)
        page.close()
    finally:
        assert app.stop() == 0
