"""Exports download in real Chromium from an app whose folders are not in the system temp folder (as installed)."""

import json

import pytest
from playwright.sync_api import expect

from tests.apprunner import RunningApp
from tests.e2e.chatpage import open_page

pytestmark = pytest.mark.slow


def test_export_all_downloads_from_an_app_whose_home_is_outside_the_temp_folder(chromium, tmp_path):
    # As `make run` or an installed app: the cache is under the user's home, not the system temp folder,
    # and the app runs from another folder. Gradio serves files from neither unless told.
    system_temp, elsewhere = tmp_path / "system-temp", tmp_path / "elsewhere"
    system_temp.mkdir()
    elsewhere.mkdir()
    app = RunningApp(tmp_path / "home", "--max-tokens", "8", env={"TMPDIR": str(system_temp)}, cwd=elsewhere)
    try:
        page = open_page(chromium, app.page_url)
        page.get_by_role("button", name="Import and export").click()
        page.get_by_role("button", name="Export all (JSON)").click()
        link = page.locator("#download a[download]")
        expect(link).to_be_visible(timeout=15_000)
        with page.expect_download() as arrival:
            link.click()
        downloaded = json.loads(open(arrival.value.path(), encoding="utf-8").read())
        assert downloaded["format"] == "chatdesk-export"
    finally:
        app.stop()
