"""axe-core in real Chromium: no critical or serious fault on the empty window, on a chat, with every panel open."""

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.chatpage import box, open_page, send
from tests.e2e.conftest import artifact

BLOCKING = ("critical", "serious")


def faults(page) -> list[str]:
    """Every critical or serious axe-core violation on the page, one line each with the elements at fault."""
    violations = Axe().run(page).response["violations"]
    return [f"{v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}; "
            f"{v['nodes'][0].get('failureSummary', '')}" for v in violations if v["impact"] in BLOCKING]


def open_every_panel(page) -> None:
    disclosures = page.locator("button.label-wrap")
    index = 0
    while index < disclosures.count():  # nested panels appear as their parent opens
        disclosure = disclosures.nth(index)
        if disclosure.is_visible() and disclosure.get_attribute("aria-expanded") == "false":
            disclosure.click()
            expect(disclosure).to_have_attribute("aria-expanded", "true")
        index += 1


def test_axe_finds_no_serious_fault_empty_on_a_chat_and_with_every_panel_open(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    assert faults(page) == [], "on the empty window"
    send(page, "Say hello.")
    assert faults(page) == [], "on a chat with messages"
    open_every_panel(page)
    page.screenshot(path=str(artifact("accessibility-panels-open.png")), full_page=True)
    assert faults(page) == [], "with every panel open"


def test_axe_finds_no_serious_fault_in_the_dark_theme(chromium, app):
    page = open_page(chromium, app.page_url + "&__theme=dark", new_chat=True)
    send(page, "Say hello.")
    open_every_panel(page)
    assert faults(page) == [], "in the dark theme, with every panel open"


def test_fields_are_named_the_page_has_a_heading_and_disclosures_say_open_or_closed(chromium, app):
    page = open_page(chromium, app.page_url)
    expect(page.get_by_role("textbox", name="Message", exact=True)).to_be_visible()
    expect(page.get_by_role("textbox", name="Search chats", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    trash = page.get_by_role("button", name="Trash")
    expect(trash).to_have_attribute("aria-expanded", "false")
    trash.click()
    expect(trash).to_have_attribute("aria-expanded", "true")
    trash.click()
    expect(trash).to_have_attribute("aria-expanded", "false")


def test_keyboard_focus_is_visible_as_an_outline_of_at_least_two_pixels(chromium, app):
    page = open_page(chromium, app.page_url)
    box(page).focus()
    for _ in range(2):
        page.keyboard.press("Tab")
        outline = page.evaluate("""() => { const style = getComputedStyle(document.activeElement);
            return {tag: document.activeElement.tagName, style: style.outlineStyle,
                    width: parseFloat(style.outlineWidth)}; }""")
        assert outline["style"] != "none" and outline["width"] >= 2, outline


def test_the_chat_log_is_busy_while_a_reply_is_written_and_its_end_is_announced(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    log = page.get_by_role("log")
    send(page, "Write a short poem about rain.", wait=False)
    expect(log).to_have_attribute("aria-busy", "true", timeout=30_000)
    expect(log).to_have_attribute("aria-busy", "false", timeout=120_000)
    expect(page.get_by_role("status").filter(has_text="Reply finished.")).to_have_count(1)  # said once
