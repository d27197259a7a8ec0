"""The chat you open is the chat you see: a reply goes on in the background while another chat is open."""

import time

import pytest
from playwright.sync_api import expect

from tests.apprunner import RunningApp
from tests.e2e.chatpage import REPLY_TIMEOUT, bots, box, last_reply, open_page, option, users, wait_replied
from tests.e2e.conftest import artifact

STORY = "Write a long story about a lighthouse keeper and his cat."
GREETING = "Say hello to me."


def buttons(page):
    return page.get_by_role("button", name="Send", exact=True), page.get_by_role("button", name="Stop", exact=True)


def writing_in_list(page, text: str = ""):
    """Chats in the list marked as still writing a reply."""
    return page.locator("#chat-list .row-open:has(.row-writing)", has_text=text)


def wait_growing(page, longer_than: int) -> None:
    page.wait_for_function("""(n) => { const b = document.querySelectorAll('#chat [data-testid="bot"]');
                              return b.length && b[b.length - 1].innerText.length > n; }""",
                           arg=longer_than, timeout=60_000)


@pytest.fixture(scope="module")
def story_app(tmp_path_factory):
    """Replies long enough to be still writing after the switches below, on an idle machine too (~40 s)."""
    running = RunningApp(tmp_path_factory.mktemp("home"), "--max-tokens", "2000")
    yield running
    running.stop()


def test_a_reply_goes_on_in_another_chat_and_is_shown_again_when_that_chat_is_opened(chromium, story_app):
    page = open_page(chromium, story_app.page_url, new_chat=True)
    send, stop = buttons(page)
    box(page).fill(STORY)
    send.click()
    wait_growing(page, 40)
    expect(stop).to_be_visible()  # one button: Stop while the reply is written, in the stop look
    expect(stop).to_have_attribute("aria-keyshortcuts", "Escape")
    expect(send).to_be_hidden()
    expect(page.locator("#chat")).to_have_attribute("aria-busy", "true")
    expect(page.locator("#reply-status")).to_contain_text("Writing a reply")
    expect(page.locator("#reply-status")).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("status").filter(has_text="Writing a reply")).to_be_visible()
    menu = page.get_by_role("button", name="Options for Write a long story", exact=False)
    menu.click()
    page.keyboard.press("Escape")  # closes the menu, and only that
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(stop).to_be_visible()

    page.get_by_role("button", name="+ New chat").click()  # the story goes on being written, out of sight
    expect(users(page)).to_have_count(0)
    expect(send).to_be_visible()
    time.sleep(0.5)  # short: the story must still be writing when the window goes back to it (~10 s in all)
    expect(bots(page)).to_have_count(0)  # nothing of the story is written into the new chat
    assert "lighthouse" not in page.locator("#chat").inner_text()
    expect(writing_in_list(page, "Write a long story")).to_be_visible()  # marked as still writing
    expect(page.locator("#chat")).to_have_attribute("aria-busy", "false")

    box(page).fill(GREETING)  # one model: this reply waits for the story, and the window says so
    send.click()
    expect(users(page)).to_have_count(1)
    expect(page.locator("#reply-status")).to_contain_text("Waiting for the reply in “Write a long story")
    expect(stop).to_be_visible()
    page.screenshot(path=str(artifact("switch-waiting.png")))

    page.locator("#chat-list .row-open", has_text="lighthouse").click()  # back to the story: still being written, and followed again
    expect(users(page).first).to_contain_text("lighthouse keeper")
    expect(stop).to_be_visible()
    before = len(last_reply(page))
    wait_growing(page, before + 20)
    assert GREETING not in page.locator("#chat").inner_text()
    page.screenshot(path=str(artifact("switch-back-streaming.png")))
    stop.click()  # Stop in the story's pane stops the story
    expect(send).to_be_visible()
    expect(page.locator("#reply-status")).to_contain_text("Reply stopped")
    expect(option(page, "Continue")).to_be_visible()
    expect(page.locator("#chat")).to_have_attribute("aria-busy", "false")
    stopped = last_reply(page)
    time.sleep(1.0)
    assert last_reply(page) == stopped

    # now the greeting is written, out of sight (too quickly, on a fast machine, to see its mark for sure);
    # the list hears when it has ended
    expect(writing_in_list(page)).to_have_count(0, timeout=REPLY_TIMEOUT)
    page.locator("#chat-list .row-open", has_text="Say hello").click()  # the greeting, answered once the story stopped
    expect(users(page).first).to_contain_text(GREETING)
    wait_replied(page, GREETING)
    assert "lighthouse" not in page.locator("#chat").inner_text()
    expect(writing_in_list(page)).to_have_count(0)
    page.screenshot(path=str(artifact("switch-answered.png")))


def test_the_window_says_when_a_reply_has_finished(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send, stop = buttons(page)
    box(page).fill(GREETING)
    send.click()
    expect(stop).to_be_visible()
    wait_replied(page, GREETING)
    expect(page.get_by_role("status").filter(has_text="Reply finished.")).to_be_visible()
    expect(page.locator("#chat")).to_have_attribute("aria-busy", "false")
    expect(send).to_be_visible()
    expect(stop).to_be_hidden()
