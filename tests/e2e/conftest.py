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
def long_app(tmp_path_factory):
    """The app with long replies, for stopping one halfway."""
    running = RunningApp(tmp_path_factory.mktemp("home"), "--max-tokens", "600")
    yield running
    running.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def close_pages(request):
    """Close every page a test opened: an open Gradio page keeps using CPU that the model needs."""
    yield
    show_app_output_if_failed(request)
    if "chromium" in request.fixturenames:
        for context in request.getfixturevalue("chromium").contexts:
            context.close()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def show_app_output_if_failed(request) -> None:
    """After a failed test, print the end of the app's output and log, for the report."""
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    for name in ("app", "long_app"):
        if name in request.fixturenames:
            running = request.getfixturevalue(name)
            logs = sorted(running.home.rglob("chatdesk.log"))
            log = logs[0].read_text(errors="replace").splitlines()[-60:] if logs else []
            output = [line.rstrip() for line in running.output[-60:]]
            print(f"--- {name}: output ---", *output, f"--- {name}: log ---", *log, sep="\n")
