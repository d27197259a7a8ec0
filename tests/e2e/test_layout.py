"""The window's layout in real Chromium: full height, never scrolling as a whole, at three sizes."""

import re

import pytest
from playwright.sync_api import expect

from chatdesk import paths
from tests.apprunner import RunningApp
from tests.e2e.chatpage import open_page
from tests.e2e.conftest import artifact
from tests.e2e.long_chat import seed_long_chat, seed_many_chats

pytestmark = pytest.mark.slow
SIZES = [(1280, 800, "light"), (1280, 800, "dark"), (1920, 1080, "light"), (1920, 1080, "dark"), (900, 800, "light")]
PANELS = ("This chat", "Trash", "Import and export", "Model", "Settings")
MEASURE = """() => {
  const box = (selector) => document.querySelector(selector).getBoundingClientRect();
  const list = document.querySelector('#chat-list');
  return {page: document.scrollingElement.scrollHeight, wide: document.scrollingElement.scrollWidth,
          height: innerHeight, width: innerWidth, message: box('#message').bottom, chat: box('#chat').height,
          listScrolls: list.scrollHeight > list.clientHeight, sideBottom: box('#side-panel').bottom,
          sidebarBottom: box('#sidebar').bottom};
}"""


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHATDESK_HOME", str(home))
        database = paths.data_dir() / "chatdesk.db"
        seed_many_chats(database, 30)
        seed_long_chat(database)
    app = RunningApp(home, "--max-tokens", "8")
    yield app
    app.stop()


def check_fits(page, where: str) -> dict:
    sizes = page.evaluate(MEASURE)
    assert sizes["page"] <= sizes["height"], f"{where}: the page scrolls as a whole: {sizes}"
    assert sizes["wide"] <= sizes["width"], f"{where}: the page scrolls sideways: {sizes}"
    assert sizes["message"] <= sizes["height"], f"{where}: the message box is off screen: {sizes}"
    assert max(sizes["sideBottom"], sizes["sidebarBottom"]) <= sizes["height"] + 1, f"{where}: {sizes}"
    return sizes


@pytest.mark.parametrize("width, height, scheme", SIZES)
def test_the_window_never_scrolls_as_a_whole_and_the_message_box_stays_at_the_bottom(
        chromium, seeded_app, width, height, scheme):
    page = open_page(chromium, seeded_app.page_url, viewport={"width": width, "height": height},
                     color_scheme=scheme)
    expect(page.locator("#chat [data-testid='bot']")).to_have_count(20)
    page.wait_for_timeout(500)
    sizes = check_fits(page, f"{width}x{height}")
    assert sizes["message"] >= height - 120, f"the message box is not at the bottom: {sizes}"
    assert sizes["chat"] >= height - 300, f"the chat does not fill the window: {sizes}"
    assert sizes["listScrolls"], "30 chats should make the chat list scroll on its own"
    title = page.locator("#side-panel [data-testid='block-info']").first
    page.screenshot(path=str(artifact(f"layout-{width}x{height}-{scheme}.png")))

    for name in PANELS:
        page.get_by_role("button", name=re.compile(f"^{name}")).first.click()
        page.wait_for_timeout(200)
    page.wait_for_timeout(500)
    check_fits(page, f"{width}x{height}, every panel open")
    expect(title).to_have_css("background-color", "rgba(0, 0, 0, 0)")  # labels are text, not pills
    page.screenshot(path=str(artifact(f"layout-{width}x{height}-{scheme}-open.png")))
