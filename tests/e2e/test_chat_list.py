"""The chat list in real Chromium: date groups, the open chat marked, each row's menu, pins, search, the trash."""

import re

import pytest
from playwright.sync_api import expect

from chatdesk import paths
from chatdesk.store.database import Store
from tests.apprunner import RunningApp
from tests.e2e.chatpage import box, open_page, users, wait_replied
from tests.e2e.conftest import artifact
from tests.e2e.long_chat import seed_many_chats

pytestmark = pytest.mark.slow
FIRST = "Chat number 0 about"


def row(page, title: str):
    return page.locator("#chat-list .row-open", has_text=title)


def titles(page) -> list[str]:
    return page.locator("#chat-list .row-open").all_inner_texts()


def options(page, title: str):
    page.get_by_role("button", name=f"Options for {title}").click()


def choose(page, name: str, exact: bool = False):
    """Click an item of the open row menu (without waiting for the sidebar to stop moving)."""
    item = page.get_by_role("button", name=name, exact=exact)
    expect(item).to_be_visible()
    item.click(force=True)


@pytest.fixture
def seeded(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATDESK_HOME", str(tmp_path))
    database = paths.data_dir() / "chatdesk.db"
    first = seed_many_chats(database, 12)[0]
    store = Store(database)
    store.set_state("last_conversation", first)
    store.close()
    return tmp_path


def test_the_list_groups_chats_by_date_marks_the_open_one_and_names_the_window(chromium, seeded):
    app = RunningApp(seeded, "--max-tokens", "8")
    try:
        page = open_page(chromium, app.page_url, viewport={"width": 1280, "height": 800})
        groups = page.locator("#chat-list h2").all_inner_texts()
        assert [g.lower() for g in groups[:3]] == ["today", "yesterday", "previous 7 days"]
        assert re.fullmatch(r"[A-Z]+ \d{4}", groups[3].upper())
        current = page.locator('#chat-list [aria-current="page"]')
        expect(current).to_have_count(1)
        expect(current).to_have_text(re.compile(f"^{FIRST}"))
        expect(page).to_have_title(re.compile(f"^{FIRST}.*… – chatdesk$"))
        width = page.evaluate("""() => { const b = document.querySelector('#chat-list .row-open');
                                         return [b.scrollWidth, b.clientWidth, getComputedStyle(b).textOverflow]; }""")
        assert width[0] > width[1] and width[2] == "ellipsis", "a long title is not cut to one line"

        row(page, "Chat number 5 about").click()
        expect(users(page).first).to_contain_text("Chat number 5 about")
        expect(current).to_have_text(re.compile("^Chat number 5 about"))
        expect(page).to_have_title(re.compile(r"^Chat number 5 about.* – chatdesk$"))

        row(page, "Chat number 2 about").focus()  # the keyboard opens a chat too
        page.keyboard.press("Enter")
        expect(users(page).first).to_contain_text("Chat number 2 about")
        expect(current).to_have_text(re.compile("^Chat number 2 about"))
        expect(page.get_by_role("textbox", name="Message")).to_be_focused()  # ready to type in the chat opened
        more = page.get_by_role("button", name="Options for Chat number 2 about")
        more.focus()  # the row's ⋯ button: Enter opens its menu, Esc closes it
        page.keyboard.press("Enter")
        expect(page.get_by_role("button", name="Rename")).to_be_focused()
        page.keyboard.press("Escape")
        expect(more).to_be_focused()
        expect(more).to_have_attribute("aria-expanded", "false")
        expect(page.get_by_role("button", name="Rename")).to_have_count(0)
        page.screenshot(path=str(artifact("chat-list.png")))
        page.close()
    finally:
        app.stop()  # its exit status is not what these tests check (under load it can exceed the wait)


def test_the_row_menu_renames_pins_exports_and_trashes_and_pins_survive_a_restart(chromium, seeded):
    app = RunningApp(seeded, "--max-tokens", "8")
    try:
        page = open_page(chromium, app.page_url, viewport={"width": 1280, "height": 800})
        options(page, "Chat number 3 about")
        expect(page.get_by_role("button", name="Options for Chat number 3 about")).to_have_attribute(
            "aria-expanded", "true")
        choose(page, "Pin", exact=True)
        expect(page.locator("#chat-list h2").first).to_have_text("Pinned")
        assert titles(page)[0].startswith("Chat number 3 about")

        options(page, "Chat number 5 about")
        page.locator("#chat").click()  # a click elsewhere closes the menu
        expect(page.get_by_role("button", name="Options for Chat number 5 about")).to_have_attribute(
            "aria-expanded", "false")
        options(page, "Chat number 4 about")
        choose(page, "Rename")
        field = page.get_by_role("textbox", name=re.compile("^New title for Chat number 4"))
        field.fill("Budget <b>plans</b> {{x}}")
        field.press("Enter")
        expect(row(page, "Budget <b>plans</b> {{x}}")).to_have_count(1)  # shown as text, not as markup

        options(page, "Chat number 6 about")
        trash = page.get_by_role("button", name="Move to trash")
        expect(trash).to_have_css("color", "rgb(185, 28, 28)")  # destructive looks destructive
        choose(page, "Move to trash")
        expect(row(page, "Chat number 6 about")).to_have_count(0)

        options(page, FIRST)
        choose(page, "Export Markdown")
        link = page.locator("#download a[download]")
        expect(link).to_be_visible(timeout=15_000)
        with page.expect_download() as arrival:
            link.click()
        assert f"# {FIRST}" in open(arrival.value.path(), encoding="utf-8").read()
        page.close()
    finally:
        app.stop()  # its exit status is not what these tests check (under load it can exceed the wait)

    app = RunningApp(seeded, "--max-tokens", "8")  # the same data dir: a restart
    try:
        page = open_page(chromium, app.page_url, viewport={"width": 1280, "height": 800})
        expect(page.locator("#chat-list h2").first).to_have_text("Pinned")
        assert titles(page)[0].startswith("Chat number 3 about")
        options(page, "Chat number 3 about")
        choose(page, "Unpin")
        expect(page.locator("#chat-list h2").first).not_to_have_text("Pinned")
        page.close()
    finally:
        app.stop()  # its exit status is not what these tests check (under load it can exceed the wait)


def test_delete_forever_asks_first_and_cancel_keeps_the_chat(chromium, seeded):
    app = RunningApp(seeded, "--max-tokens", "8")
    try:
        page = open_page(chromium, app.page_url, viewport={"width": 1280, "height": 800})
        options(page, "Chat number 7 about")
        choose(page, "Move to trash")
        expect(row(page, "Chat number 7 about")).to_have_count(0)
        page.get_by_role("button", name="Trash").click()
        trashed = page.locator("#trash-list li")
        expect(trashed).to_have_count(1)

        page.get_by_role("button", name=re.compile("^Delete Chat number 7 about.* forever$")).click()
        confirm = page.get_by_role("group", name=re.compile("^Confirm deleting Chat number 7"))
        expect(confirm).to_contain_text("cannot be undone")
        confirm.get_by_role("button", name="Cancel").click()
        expect(confirm).to_be_hidden()
        page.wait_for_timeout(500)
        expect(trashed).to_have_count(1)

        page.get_by_role("button", name=re.compile("^Delete Chat number 7 about.* forever$")).click()
        page.screenshot(path=str(artifact("chat-list-confirm.png")))
        confirm.get_by_role("button", name="Delete forever", exact=True).click()
        expect(trashed).to_have_count(0)
        expect(page.locator("#trash-list")).to_contain_text("The trash is empty")
        page.close()
    finally:
        app.stop()  # its exit status is not what these tests check (under load it can exceed the wait)


def test_a_row_menu_stays_open_while_the_list_is_drawn_again(chromium, seeded):
    app = RunningApp(seeded, "--max-tokens", "8")
    try:
        page = open_page(chromium, app.page_url, viewport={"width": 1280, "height": 800})
        options(page, "Chat number 7 about")
        page.evaluate("""() => { window.drawn = 0; new MutationObserver(() => window.drawn++)
            .observe(document.querySelector('#chat-list'), {childList: true, subtree: true}); }""")
        box(page).fill("Hello there")  # no click: a click elsewhere closes the menu, as it should
        box(page).press("Enter")
        wait_replied(page, "Hello there")  # the list marks the chat being written, then draws it again
        page.wait_for_function("() => window.drawn > 0")
        page.wait_for_timeout(500)
        expect(page.get_by_role("button", name="Move to trash")).to_be_visible()
        expect(page.get_by_role("button", name="Options for Chat number 7 about")).to_have_attribute(
            "aria-expanded", "true")
        page.close()
    finally:
        app.stop()


def test_search_hits_show_the_matched_words_and_opening_one_keeps_the_list_in_order(chromium, seeded):
    app = RunningApp(seeded, "--max-tokens", "8")
    try:
        page = open_page(chromium, app.page_url, viewport={"width": 1280, "height": 800})
        before = titles(page)
        search = page.locator("#search textarea, #search input")
        search.fill("answer chat 9")
        search.press("Enter")
        hit = page.locator("#search-hits").get_by_role("button").first
        expect(hit).to_contain_text("Chat number 9")
        expect(hit.locator("mark")).to_have_text(["answer", "chat", "9"])
        hit.click()
        expect(users(page).first).to_contain_text("Chat number 9 about")
        expect(page.locator('#chat-list [aria-current="page"]')).to_have_text(re.compile("^Chat number 9"))
        assert titles(page) == before, "opening a search hit moved its chat in the list"
        page.close()
    finally:
        app.stop()  # its exit status is not what these tests check (under load it can exceed the wait)
