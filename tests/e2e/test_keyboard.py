"""The peers' shortcuts in real Chromium: real key presses, checked by what a person sees and where focus is."""

import re

from playwright.sync_api import expect

from tests.e2e.chatpage import (bots, box, last_reply, message_button, open_page, option, send, users,
                                version_label, wait_idle)

MOD = "Control"  # Chromium here runs on Linux; on macOS the page listens to ⌘ instead


def focused(page, locator) -> bool:
    return locator.evaluate("(element) => element === document.activeElement")


def test_shortcut_list_opens_traps_focus_closes_with_escape_and_gives_focus_back(chromium, app):
    page = open_page(chromium, app.page_url)
    box(page).focus()
    page.keyboard.press(f"{MOD}+/")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    for action in ("New chat", "Search chats", "Regenerate the last reply", "Continue the last reply",
                   "Show or hide the sidebar", "Settings"):
        expect(dialog.get_by_role("cell", name=action, exact=True)).to_be_visible()
    expect(dialog).to_contain_text("Ctrl+Shift+O")
    for _ in range(3):
        page.keyboard.press("Tab")
        assert page.evaluate("() => !!document.activeElement.closest('dialog')"), "focus left the dialog"
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused(page, box(page))


def test_controls_show_their_shortcuts_in_tooltips_and_aria(chromium, app):
    page = open_page(chromium, app.page_url)
    new_chat = page.get_by_role("button", name="New chat")
    expect(new_chat).to_have_attribute("aria-keyshortcuts", "Control+Shift+O")
    expect(new_chat).to_have_attribute("title", re.compile(r"\(Ctrl\+Shift\+O\)"))
    search = page.get_by_role("textbox", name="Search chats")
    expect(search).to_have_attribute("aria-keyshortcuts", "Control+K")
    # Stop, shown only while a reply is written, says Escape: tests/e2e/test_switching.py


def test_new_chat_search_sidebar_and_settings_from_the_keyboard(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send(page, "Say hello.")
    page.keyboard.press(f"{MOD}+Shift+O")
    expect(users(page)).to_have_count(0)
    expect(box(page)).to_be_focused()
    page.keyboard.press(f"{MOD}+K")
    expect(page.get_by_role("textbox", name="Search chats")).to_be_focused()
    sidebar = page.locator("#sidebar")
    page.keyboard.press(f"{MOD}+B")
    expect(sidebar).to_be_hidden()
    expect(box(page)).to_be_focused()  # focus was in the sidebar: it goes to the message box
    page.keyboard.press(f"{MOD}+B")
    expect(sidebar).to_be_visible()
    settings = page.get_by_role("button", name=re.compile(r"^Settings"))
    expect(settings).to_have_attribute("aria-expanded", "false")
    page.keyboard.press(f"{MOD}+,")
    expect(settings).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_label("Temperature").first).to_be_visible()


def test_regenerate_versions_and_continue_from_the_keyboard(chromium, cut_app):
    page = open_page(chromium, cut_app.page_url, new_chat=True)
    send(page, "Write a long poem about the sea.")
    first = last_reply(page)
    box(page).focus()
    page.keyboard.press(f"{MOD}+Enter")
    expect(option(page, re.compile(r"^2/2$"))).to_be_visible(timeout=120_000)
    wait_idle(page, count=1)
    expect(box(page)).to_be_focused()
    bots(page).last.focus()
    page.keyboard.press("ArrowLeft")
    expect(option(page, re.compile(r"^1/2$"))).to_be_visible()
    assert last_reply(page) == first
    expect(bots(page).last).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(option(page, re.compile(r"^2/2$"))).to_be_visible()
    shown = last_reply(page)
    expect(option(page, "Continue")).to_be_visible()
    box(page).focus()
    page.keyboard.press("Alt+Enter")
    page.wait_for_function("(before) => { const b = document.querySelectorAll('#chat [data-testid=\"bot\"]');"
                           " return b[b.length - 1].innerText.length > before; }", arg=len(shown), timeout=60_000)
    wait_idle(page, count=1)
    assert last_reply(page).startswith(shown[:30]) and version_label(page) == "2/2"
    assert box(page).input_value() == "", "Alt+Enter must not send the message box"


def test_versions_pressed_quickly_are_each_taken(chromium, cut_app):
    page = open_page(chromium, cut_app.page_url, new_chat=True)
    send(page, "Name a colour.")
    first = last_reply(page)
    for shown in ("2/2", "3/3"):
        box(page).focus()
        page.keyboard.press(f"{MOD}+Enter")
        expect(option(page, re.compile(rf"^{shown}$"))).to_be_visible(timeout=120_000)
        wait_idle(page, count=1)
    bots(page).last.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # before the first press is answered
    expect(option(page, re.compile(r"^1/3$"))).to_be_visible()
    assert last_reply(page) == first


def test_edit_box_enter_submits_shift_enter_adds_a_line_escape_cancels(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send(page, "Name a colour.")
    users(page).first.hover()
    page.locator('#chat button[aria-label="Edit"]').first.click()
    edit = page.locator("#chat textarea")
    expect(edit).to_be_focused()
    page.keyboard.press(f"{MOD}+A")
    page.keyboard.type("Name a fruit.")
    page.keyboard.press("Escape")
    expect(edit).to_have_count(0)
    expect(users(page).last).to_have_text("Name a colour.")
    users(page).first.hover()
    page.locator('#chat button[aria-label="Edit"]').first.click()
    expect(edit).to_be_focused()
    page.keyboard.press(f"{MOD}+A")
    page.keyboard.type("Name a fruit.")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Just one.")
    expect(edit).to_have_value("Name a fruit.\nJust one.")
    page.keyboard.press("Enter")
    expect(edit).to_have_count(0)
    expect(users(page).last).to_contain_text("Just one.", timeout=60_000)
    wait_idle(page, count=1)


def test_focus_returns_to_the_message_box_after_new_chat_retry_and_opening_a_chat(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send(page, "Say yes.")
    message_button(page, "Retry").click()
    expect(box(page)).to_be_focused()
    wait_idle(page, count=1)
    page.get_by_role("button", name="New chat").click()
    expect(box(page)).to_be_focused()
    page.locator("#chat-list .row-open", has_text="Say yes.").click()
    expect(users(page)).to_have_count(1)
    expect(box(page)).to_be_focused()
