"""A long message: the pending reply shows how far it has been read, then the reply; Stop stops the reading."""

import re

import pytest
from playwright.sync_api import expect

from tests.apprunner import RunningApp
from tests.e2e.chatpage import REPLY_TIMEOUT, bots, box, open_page, users, wait_replied
from tests.e2e.conftest import artifact

LONG = "Summarize this report. " + "The committee met on Monday and agreed on the plan for the new bridge. " * 200
OTHER = "List the decisions. " + "Each member read the minutes aloud and signed the last page twice. " * 200
READING = re.compile(r"Reading your message: [\d,]+ / [\d,]+ tokens")
READ_TIMEOUT = 600_000  # a busy 2-core machine reads this message at 10 tokens/s


@pytest.fixture(scope="module")
def roomy_app(tmp_path_factory):
    """The app with a context that holds a ~3,000-token message, and short replies."""
    running = RunningApp(tmp_path_factory.mktemp("home"), "--context", "4096", "--max-tokens", "12")
    yield running
    running.stop()


SEEN_READING = """() => {
  const bots = document.querySelectorAll('#chat [data-testid="bot"]');
  const seen = bots.length && bots[bots.length - 1].innerText.match(/Reading your message: [\\d,]+ \\/ [\\d,]+ tokens/);
  return seen && seen[0];
}"""


def context_used(page) -> int:
    """The tokens the context readout says are used."""
    text = page.locator("#context-usage").inner_text()
    return int(re.search(r"Context: ([\d,]+) /", text).group(1).replace(",", ""))


def test_a_long_message_shows_how_far_it_is_read_then_the_reply(chromium, roomy_app):
    page = open_page(chromium, roomy_app.page_url, new_chat=True)
    box(page).fill(LONG)
    page.get_by_role("button", name="Send").click()
    pending = bots(page).last
    shown = page.wait_for_function(SEEN_READING, timeout=REPLY_TIMEOUT).json_value()  # at the first frame showing it
    page.screenshot(path=str(artifact("progress-reading.png")))
    expect(page.locator("#context-usage")).to_contain_text(re.compile(r"Context: [23],\d{3} /"))
    done, total = (int(n.replace(",", "")) for n in re.findall(r"[\d,]+", shown))
    assert 2_500 < total < 4_096 and done < total
    expect(pending).not_to_contain_text("Reading your message", timeout=READ_TIMEOUT)
    wait_replied(page, LONG)
    reply = bots(page).last.inner_text()
    assert reply.strip() and "Reading your message" not in reply
    assert context_used(page) > total


def test_stop_while_a_long_message_is_read_stops_the_reading(chromium, roomy_app):
    page = open_page(chromium, roomy_app.page_url, new_chat=True)
    box(page).fill(OTHER)
    page.get_by_role("button", name="Send").click()
    expect(bots(page).last).to_contain_text(READING, timeout=REPLY_TIMEOUT)
    page.get_by_role("button", name="Stop").click()
    expect(bots(page)).to_have_count(0, timeout=REPLY_TIMEOUT)  # within a batch: no empty reply is left
    expect(users(page)).to_have_count(1)  # the message stays, unanswered
    expect(page.locator("#reply-status")).to_contain_text("Reply stopped")
    page.screenshot(path=str(artifact("progress-stopped.png")))
