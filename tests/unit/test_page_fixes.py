"""Gradio's page files as chatdesk serves them: kept by the browser, and the status tracker's timer stops once
nothing waits."""

import importlib.resources

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from chatdesk.ui import page_fixes
from chatdesk.ui.page_fixes import STATUS_ALONE, TIMER_LOOP, TIMER_LOOP_MENDED, PageFixes

ASSETS = importlib.resources.files("gradio").joinpath("templates/frontend/assets")


def installed(prefix: str, suffix: str) -> str:
    """The name of the installed Gradio's first page file named `prefix`…`suffix`."""
    return min(entry.name for entry in ASSETS.iterdir()
               if entry.name.startswith(prefix) and entry.name.endswith(suffix))


def installed_status_tracker() -> str:
    return installed("statustracker-", ".js")


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


def test_gradios_core_script_is_served_handing_a_status_alone_without_copies(http):
    name = installed("core-", ".js")
    original = ASSETS.joinpath(name).read_text("utf-8")
    served = http.get(f"/assets/{name}")
    assert served.headers["content-type"].startswith("text/javascript")
    assert served.headers["cache-control"] == "no-cache"
    assert served.text == original.replace(*STATUS_ALONE) != original  # nothing else changed


def test_a_core_script_changed_by_gradio_is_served_as_it_is(http, monkeypatch, tmp_path, caplog):
    name = installed("core-", ".js")
    changed = ASSETS.joinpath(name).read_text("utf-8").replace(STATUS_ALONE[0], "r&&(await this.#m(e,r))")
    (tmp_path / name).write_text(changed, "utf-8")
    monkeypatch.setattr(page_fixes, "gradio_assets", lambda: tmp_path)
    for cached in (page_fixes.mended_script, page_fixes.asset):
        cached.cache_clear()
    try:
        served = http.get(f"/assets/{name}")
    finally:
        for cached in (page_fixes.mended_script, page_fixes.asset):
            cached.cache_clear()
    assert served.text == changed and "immutable" in served.headers["cache-control"]
    assert "a loading status copies its component's value" in caplog.text


def test_page_files_are_served_to_be_kept_and_the_mended_one_to_be_asked_again(http):
    script = installed("index-", ".js")
    served = http.get(f"/assets/{script}")
    assert served.content == ASSETS.joinpath(script).read_bytes()
    assert served.headers["content-type"].startswith("text/javascript")
    assert "immutable" in served.headers["cache-control"]  # the next window with this address asks for none
    assert http.get(f"/assets/{installed('index-', '.css')}").headers["content-type"].startswith("text/css")
    assert http.get(f"/assets/{installed_status_tracker()}").headers["cache-control"] == "no-cache"


def test_unknown_names_and_other_paths_reach_gradio(http):
    assert http.get("/assets/index-nosuch.js").text == "Gradio's /assets/index-nosuch.js"
    assert http.get("/assets/statustracker-nosuch.js").text == "Gradio's /assets/statustracker-nosuch.js"
    assert http.get("/assets/sub/index.js").text == "Gradio's /assets/sub/index.js"
    assert http.get("/config").text == "Gradio's /config"
