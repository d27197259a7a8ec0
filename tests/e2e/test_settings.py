"""The Settings panel: sections, Save in view, errors under the field, the preset shown, the theme switch."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.apprunner import RunningApp
from tests.e2e.conftest import artifact


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = RunningApp(tmp_path_factory.mktemp("home"), "--max-tokens", "20")
    yield running
    running.stop()


def open_settings(chromium, app, width=1280, height=800, **context):
    page = chromium.new_context(viewport={"width": width, "height": height}, **context).new_page()
    page.goto(app.page_url)
    expect(page.locator("#context-usage")).to_contain_text("Context")
    shown(page)
    page.get_by_role("button", name=re.compile("^Settings")).click()
    expect(page.get_by_role("heading", name="Sampling")).to_be_visible()
    return page


def shown(page) -> None:
    """Until the page shows the settings in use (filled in as it loads, then the theme is applied)."""
    expect(page.locator("body[data-theme]")).to_have_count(1)


def saved(app) -> dict:
    path = app.home / "data" / "settings.json"
    return json.loads(path.read_text()) if path.exists() else {}


def save(page):
    page.get_by_role("button", name="Save settings").click()


def test_settings_come_in_sections_with_save_in_view(chromium, app):
    page = open_settings(chromium, app)
    for section in ("Sampling", "Reply length and context", "Performance", "System prompt", "Appearance"):
        expect(page.get_by_role("heading", name=section)).to_be_visible()
    page.get_by_label("Preset").scroll_into_view_if_needed()
    expect(page.get_by_role("button", name="Save settings")).to_be_in_viewport(ratio=1)
    page.screenshot(path=str(artifact("settings-1280.png")))
    page.get_by_role("spinbutton", name="Prompt cache on disk, MB (0: none)").scroll_into_view_if_needed()
    expect(page.get_by_role("button", name="Save settings")).to_be_in_viewport(ratio=1)


def test_a_bad_setting_is_marked_under_its_field_and_nothing_is_saved(chromium, app):
    page = open_settings(chromium, app)
    before = saved(app)
    context = page.get_by_role("spinbutton", name="Context length")
    replies = page.get_by_role("spinbutton", name="Max reply tokens")
    context.fill("100")
    save(page)
    expect(context).to_have_attribute("aria-invalid", "true")
    expect(context).to_have_accessible_description("Context length must be a number from 256 to 131072 (got 100).")
    expect(page.locator("#context-length")).to_contain_text("must be a number from 256 to 131072")
    expect(context).to_be_focused()
    expect(replies).not_to_have_attribute("aria-invalid", "true")
    assert saved(app) == before

    context.fill("2048")
    replies.fill("4000")
    save(page)
    expect(replies).to_have_attribute("aria-invalid", "true")
    expect(replies).to_have_accessible_description("Max reply tokens must be smaller than the context length.")
    expect(context).not_to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(artifact("settings-field-error.png")))

    replies.fill("64")
    expect(replies).not_to_have_attribute("aria-invalid", "true")  # editing the field clears its mark
    save(page)
    expect(page.locator("#settings-note")).to_contain_text("Settings saved", timeout=60_000)
    expect(page.locator(".chatdesk-field-error")).to_have_count(0)
    assert saved(app)["context_length"] == 2048 and saved(app)["max_tokens"] == 64


def test_the_preset_shown_is_the_one_the_settings_match(chromium, app):
    page = open_settings(chromium, app)
    preset = page.get_by_role("combobox", name="Preset")
    expect(preset).to_have_value("Balanced")
    preset.click()
    page.get_by_role("option", name="Precise").click()
    expect(page.get_by_role("spinbutton", name="Temperature")).to_have_value("0.2")
    save(page)
    expect(page.locator("#settings-note")).to_contain_text("Settings saved")
    page.reload()
    shown(page)
    page.get_by_role("button", name=re.compile("^Settings")).click()
    expect(preset).to_have_value("Precise")

    page.get_by_role("spinbutton", name="Temperature").fill("0.33")
    save(page)
    expect(page.locator("#settings-note")).to_contain_text("Settings saved")  # not "Not saved", nor nothing
    assert saved(app)["temperature"] == 0.33
    expect(preset).to_have_value("Custom")


def body_is_dark(page) -> bool:
    return page.evaluate("document.body.classList.contains('dark')")


def test_the_theme_follows_the_system_until_picked_and_is_remembered(chromium, app):
    page = open_settings(chromium, app, color_scheme="dark")
    theme = page.get_by_role("radiogroup", name="Theme")
    expect(theme.get_by_role("radio", name="System")).to_be_checked()
    assert body_is_dark(page)
    page.emulate_media(color_scheme="light")
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bdark\b"))

    theme.get_by_role("radio", name="Dark").check()
    expect(page.locator("body")).to_have_class(re.compile(r"\bdark\b"))
    page.screenshot(path=str(artifact("settings-dark.png")))
    page.emulate_media(color_scheme="light")  # the system changing does not undo a manual pick
    expect(page.locator("body")).to_have_class(re.compile(r"\bdark\b"))

    page.reload()  # remembered, also in a light system
    expect(page.locator("#context-usage")).to_contain_text("Context")
    expect(page.locator("body")).to_have_class(re.compile(r"\bdark\b"))
    assert saved(app)["theme"] == "dark"

    page.get_by_role("button", name=re.compile("^Settings")).click()
    page.get_by_role("radiogroup", name="Theme").get_by_role("radio", name="System").check()
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bdark\b"))
