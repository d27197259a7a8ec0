"""The real app in real Chromium: Debian's chromium driven by the PyPI playwright package."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.apprunner import RunningApp

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (build/system_deps.sh installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app with short replies, so that most replies end by length and tests stay quick."""
    running = RunningApp(tmp_path_factory.mktemp("home"), "--max-tokens", "40")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def long_app(tmp_path_factory):
    """The app with long replies, for stopping one halfway."""
    running = RunningApp(tmp_path_factory.mktemp("home"), "--max-tokens", "600")
    yield running
    running.stop()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
