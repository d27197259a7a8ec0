"""The real app in real Chromium: Debian's chromium driven by the PyPI playwright package."""

from pathlib import Path

import pytest

from tests.apprunner import RunningApp

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app with short replies, so that most replies end by length and tests stay quick."""
    running = RunningApp(tmp_path_factory.mktemp("home"), "--max-tokens", "40")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def cut_app(tmp_path_factory):
    """The app with replies cut at 12 tokens: every reply ends by length and offers Continue."""
    running = RunningApp(tmp_path_factory.mktemp("home"), "--max-tokens", "12")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def long_app(tmp_path_factory):
    """The app with long replies, for stopping one halfway."""
    running = RunningApp(tmp_path_factory.mktemp("home"), "--max-tokens", "600")
    yield running
    running.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    if report.when == "call" and report.failed:
        for name, value in getattr(item, "funcargs", {}).items():
            if isinstance(value, RunningApp):
                report.sections.append((f"{name}: the app's output and log", app_story(value)))
    return report


@pytest.fixture(autouse=True)
def close_pages(request):
    """Close every page a test opened: an open Gradio page keeps using CPU that the model needs."""
    yield
    if "chromium" in request.fixturenames:
        for context in request.getfixturevalue("chromium").contexts:
            context.close()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def app_story(running: RunningApp) -> str:
    """The end of a running app's output and log, for a failure's report."""
    logs = sorted(running.home.rglob("chatdesk.log"))
    log = logs[0].read_text(errors="replace").splitlines()[-60:] if logs else []
    output = [line.rstrip() for line in running.output[-60:]]
    return "\n".join(["--- output ---", *output, "--- log ---", *log])
