"""Gradio's page scripts as chatdesk serves them: the status tracker's timer stops once nothing waits."""

import importlib.resources

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from chatdesk.ui.page_fixes import TIMER_LOOP, TIMER_LOOP_MENDED, PageFixes

ASSETS = importlib.resources.files("gradio").joinpath("templates/frontend/assets")


def installed_status_tracker() -> str:
    [name] = [entry.name for entry in ASSETS.iterdir() if entry.name.startswith("statustracker-")
              and entry.name.endswith(".js")]
    return name


@pytest.fixture
def http():
    """A stand-in for Gradio's routes behind the fixes."""
    def answer(request):
        return PlainTextResponse(f"Gradio's {request.url.path}")

    with TestClient(PageFixes(Starlette(routes=[Route("/{path:path}", answer)]))) as client:
        yield client


def test_the_status_tracker_is_served_with_its_timer_mended(http):
    name = installed_status_tracker()
    original = ASSETS.joinpath(name).read_text("utf-8")
    served = http.get(f"/assets/{name}")
    assert served.headers["content-type"].startswith("text/javascript")
    assert TIMER_LOOP_MENDED in served.text and TIMER_LOOP not in served.text.replace(TIMER_LOOP_MENDED, "")
    assert served.text.replace(TIMER_LOOP_MENDED, TIMER_LOOP) == original  # nothing else changed


def test_other_scripts_and_unknown_names_reach_gradio(http):
    assert http.get("/assets/index.js").text == "Gradio's /assets/index.js"
    assert http.get("/assets/statustracker-nosuch.js").text == "Gradio's /assets/statustracker-nosuch.js"
