"""The model where people look for it: the model's name in the header opens the model picker."""

import json
import os
import re

import pytest
from playwright.sync_api import expect

from chatdesk.catalog import models
from tests.apprunner import RunningApp
from tests.e2e.chatpage import send
from tests.e2e.conftest import artifact

SECOND = "Second-Opinion-Model-135M.Q4_1"


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    """The app with a second model in a model folder (the same weights under another name)."""
    home = tmp_path_factory.mktemp("home")
    folder = home / "more-models"
    folder.mkdir()
    os.link(models.find_default_model(), folder / f"{SECOND}.gguf")
    (home / "data").mkdir()
    (home / "data" / "settings.json").write_text(json.dumps({"model_folders": [str(folder)]}))
    running = RunningApp(home, "--max-tokens", "20")
    yield running
    running.stop()


def open_at(chromium, url, width=1280, height=800, **context):
    """The page in a window of that size, ready."""
    page = chromium.new_context(viewport={"width": width, "height": height}, **context).new_page()
    page.goto(url)
    expect(page.locator("#context-usage")).to_contain_text("Context")
    return page


def model_button(page):
    return page.get_by_role("button", name=re.compile(r"^Model: .* — change$"))


def test_the_header_names_the_model_and_clicking_it_picks_another(chromium, two_models):
    page = open_at(chromium, two_models.page_url)
    expect(model_button(page)).to_have_accessible_name(
        "Model: SmolLM2-135M-Instruct.Q4_1 (4,096-token context) — change")
    picker = page.get_by_role("combobox", name="Model")
    expect(picker).not_to_be_visible()

    model_button(page).click()
    expect(picker).to_be_focused()
    expect(picker).to_be_in_viewport()
    page.screenshot(path=str(artifact("model-picker-1280.png")))
    page.get_by_role("option", name=re.compile(SECOND)).click()
    page.get_by_role("button", name="Load this model").click()
    expect(model_button(page)).to_have_accessible_name(re.compile(f"^Model: {SECOND} "), timeout=60_000)
    expect(page.locator("#model-status")).to_contain_text(f"Loaded: {SECOND}")
    send(page, "Hello!")
    model_button(page).click()  # the panel is open already: it stays open
    expect(picker).to_be_focused()
    expect(picker).to_have_value(re.compile(f"^{SECOND} · "))


def test_the_picker_shows_the_whole_model_name_at_1280_pixels(chromium, two_models):
    page = open_at(chromium, two_models.page_url)
    model_button(page).press("Enter")  # the keyboard opens it too
    picker = page.get_by_role("combobox", name="Model")
    expect(picker).to_be_focused()
    page.keyboard.press("Escape")
    shown = page.evaluate("""() => {
        const input = document.querySelector('#model-picker input');
        const style = getComputedStyle(input);
        const ruler = document.createElement('canvas').getContext('2d');
        ruler.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const name = input.value.split(' · ')[0];
        const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        return {name, width: ruler.measureText(name).width, room};
    }""")
    assert shown["name"] == "SmolLM2-135M-Instruct.Q4_1"
    assert shown["width"] <= shown["room"], shown
