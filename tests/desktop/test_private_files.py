"""Other accounts on the computer can read none of chatdesk's files: folders 0700, files 0600 (POSIX)."""

import os
import signal
import stat
from pathlib import Path

import pytest

from tests.desktop.conftest import user_messages
from tests.desktop.xsession import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")]


def modes(home: Path) -> dict[str, str]:
    """Every folder and file under `home` (not `home` itself) with its permission bits, as `ls -l` shows them."""
    return {str(path.relative_to(home)): stat.filemode(path.lstat().st_mode)
            for path in sorted(home.rglob("*")) if not path.is_symlink()}


def open_to_others(found: dict[str, str]) -> dict[str, str]:
    return {path: mode for path, mode in found.items() if mode not in ("drwx------", "-rw-------")}


def test_history_settings_logs_exports_caches_and_the_instance_file_are_the_users_only(launch, browser, tmp_path):
    home = tmp_path / "home"
    app = launch("--no-window", "--max-tokens", "16", home=home)
    app.wait_for_url()
    client = app.client()
    long_enough = "Remember the word pineapple. " + "The sky is blue and the grass is green. " * 20  # a state worth a file
    assert client.predict(long_enough, api_name="/chat").strip()
    assert client.predict("Now something else.", api_name="/chat").strip()  # the first chat's state goes to disk

    page = browser.new_context(accept_downloads=True).new_page()
    page.goto(app.page_url)
    page.wait_for_selector("#message textarea", timeout=60_000)
    page.click("#settings-panel")
    page.click("#save-settings")
    page.click("#import-export")
    page.click("#export-all")
    with page.expect_download() as download:
        page.locator("#download a").first.click()
    assert b"pineapple" in Path(download.value.path()).read_bytes()  # served to the page, which has the cookie
    page.context.close()

    running = modes(home)
    for expected in ("data/chatdesk.db", "data/chatdesk.db-wal", "data/chatdesk.db-shm", "data/instance.json",
                     "data/settings.json",
                     "data/instance.lock", "logs/chatdesk.log", "cache/exports", "cache/gradio"):
        assert expected in running, sorted(running)
    assert open_to_others(running) == {}

    app.signal(signal.SIGTERM)
    assert app.wait_exit(timeout=30) == 0, app.output
    stopped = modes(home)
    assert any(path.startswith("cache/prompt-cache/") and mode.startswith("-") for path, mode in stopped.items()), \
        "the prompt cache was written at exit"
    assert open_to_others(stopped) == {}
    assert wait_for(lambda: user_messages(home) == 2, 5)
