"""History in real Chromium: versions, feedback, a restart, search, trash and restore."""

import re

import pytest
from playwright.sync_api import expect

from tests.apprunner import RunningApp
from tests.e2e.chatpage import bot_texts, open_page, send, version_label, wait_idle
from tests.e2e.conftest import artifact

pytestmark = pytest.mark.slow


def test_versions_and_feedback_survive_a_restart_and_search_and_trash_work(chromium, tmp_path):
    app = RunningApp(tmp_path, "--max-tokens", "24")
    try:
        page = open_page(chromium, app.page_url)
        send(page, "Tell me about owls.")
        versions = [bot_texts(page)[-1]]
        for _ in range(2):
            page.locator('#chat button[aria-label="Retry"]').last.click()
            page.wait_for_timeout(300)
            wait_idle(page)
            versions.append(bot_texts(page)[-1])
        assert version_label(page) == "3/3"
        assert len(set(versions)) >= 2, "retry gave the same reply three times"
        page.locator("#chat button.option", has_text="◀").click()
        expect(page.locator("#chat button.option", has_text="2/3")).to_be_visible()
        assert bot_texts(page)[-1].startswith(versions[1][:20])
        page.locator('#chat button[aria-label="Like"]').last.click()
        page.wait_for_timeout(500)
        page.locator('#chat [data-testid="bot"]').last.click()
        expect(page.locator("#details")).to_contain_text("Like")
        page.close()
    finally:
        assert app.stop() == 0

    app = RunningApp(tmp_path, "--max-tokens", "24")  # the same data dir: a restart
    try:
        page = open_page(chromium, app.page_url)
        expect(page.locator("#chat button.option", has_text="2/3")).to_be_visible()
        assert bot_texts(page)[-1].startswith(versions[1][:20])
        page.locator('#chat [data-testid="bot"]').last.click()
        expect(page.locator("#details")).to_contain_text("Like")
        page.locator("#chat button.option", has_text="▶").click()
        expect(page.locator("#chat button.option", has_text="3/3")).to_be_visible()
        assert bot_texts(page)[-1].startswith(versions[2][:20])

        page.click("#new-chat")
        send(page, "Name one zebra fact.")
        expect(page.locator("#chat-list .row-open")).to_have_count(2)
        page.locator("#search textarea, #search input").fill("owls")
        page.locator("#search textarea, #search input").press("Enter")
        hit = page.locator("#search-hits").get_by_role("button").first
        expect(hit).to_contain_text("owls")
        expect(hit.locator("mark").first).to_have_text(re.compile("owls", re.I))
        hit.click()
        expect(page.locator('#chat [data-testid="user"]').first).to_contain_text("Tell me about owls.")

        page.get_by_role("button", name="Options for Tell me about owls.").click()
        page.get_by_role("button", name="Move to trash").click()
        expect(page.locator("#chat-list .row-open")).to_have_count(1)
        page.click("#trash")
        page.get_by_role("button", name="Restore Tell me about owls.").click()
        expect(page.locator("#chat-list .row-open")).to_have_count(2)
        page.locator("#chat-list .row-open", has_text="owls").click()
        expect(page.locator('#chat [data-testid="user"]').first).to_contain_text("Tell me about owls.")
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(artifact("history.png")))
        page.close()
    finally:
        assert app.stop() == 0


def test_two_tabs_keep_their_own_conversations_and_lose_nothing(chromium, tmp_path):
    app = RunningApp(tmp_path, "--max-tokens", "16")
    try:
        first, second = open_page(chromium, app.page_url), open_page(chromium, app.page_url)
        second.click("#new-chat")
        for page, text in ((first, "Tab one: apples."), (second, "Tab two: pears.")):
            page.fill("#message textarea", text)
            page.get_by_role("button", name="Send", exact=True).click()
        wait_idle(first)
        wait_idle(second)
        assert "Tab one: apples." in first.locator("#chat").inner_text()
        assert "Tab two" not in first.locator("#chat").inner_text()
        assert "Tab two: pears." in second.locator("#chat").inner_text()
        third = open_page(chromium, app.page_url)
        expect(third.locator("#chat-list .row-open")).to_have_count(2)
    finally:
        assert app.stop() == 0

