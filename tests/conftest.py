"""Shared fixtures: no test touches a real user's data directory; one browser for every test."""

import shutil

import pytest

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Point every chatdesk path at a temp dir; keep API keys out of the user's keyring."""
    home = tmp_path / "chatdesk-home"
    monkeypatch.setenv("CHATDESK_HOME", str(home))
    monkeypatch.setenv("CHATDESK_KEYRING", "none")  # never the user's own keyring
    monkeypatch.delenv("CHATDESK_API_KEY", raising=False)
    return home


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium, headless, driven by the PyPI playwright package (one per test run: Playwright's
    sync API allows one running instance per thread)."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("needs Debian's chromium (build/system_deps.sh installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
