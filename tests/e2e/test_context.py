"""A conversation longer than the context: the page shows which messages the model no longer sees."""

import pytest
from playwright.sync_api import expect

from tests.apprunner import RunningApp
from tests.e2e.chatpage import open_page, send, users
from tests.e2e.conftest import artifact

MESSAGE = "Here is a list of fruit for a shopping trip this week: " + ", ".join(
    ["apples", "pears", "plums", "grapes", "lemons", "limes", "melons", "cherries"])


@pytest.fixture(scope="module")
def small_app(tmp_path_factory):
    """The app with a 256-token context, which a few exchanges outgrow."""
    running = RunningApp(tmp_path_factory.mktemp("home"), "--context", "256", "--max-tokens", "40")
    yield running
    running.stop()


def left_out(page) -> list[bool]:
    """For every message on screen, in order: is it marked as left out of the context?"""
    return page.evaluate("""() => [...document.querySelectorAll(
        '#chat [data-testid="user"], #chat [data-testid="bot"]')].map((e) => e.hasAttribute('data-left-out'))""")


def test_the_oldest_messages_left_out_of_the_context_are_marked(chromium, small_app):
    page = open_page(chromium, small_app.page_url, new_chat=True)
    send(page, MESSAGE)
    assert left_out(page) == [False, False]
    for number in range(2, 5):
        send(page, f"Message {number}: {MESSAGE}")
        if any(left_out(page)):
            break
    marked = left_out(page)
    assert marked[:2] == [True, True] and not marked[-1], marked
    assert marked == sorted(marked, reverse=True), "only the oldest messages are left out"
    expect(page.locator("#context-usage")).to_contain_text(f"oldest {marked.count(True)} messages left out")
    expect(users(page).first).to_have_css("opacity", "0.45")
    page.screenshot(path=str(artifact("context-left-out.png")))
    page.reload()
    page.wait_for_selector("#message textarea")
    expect(users(page)).to_have_count(len(marked) // 2)
    page.wait_for_function("(n) => document.querySelectorAll('#chat [data-left-out]').length === n",
                           arg=marked.count(True))
