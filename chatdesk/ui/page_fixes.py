"""Gradio's page scripts, mended as they are served: each fix says what it mends, and a test checks it applies."""

from __future__ import annotations

import importlib.resources
import logging
import re
from functools import cache

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

STATUS_TRACKER = re.compile(r"/assets/(statustracker-[\w-]+\.js)")
# Gradio 6.31's status tracker counts the seconds an event has waited at every animation frame, and the tracker of
# the page's own loading never stops counting: an idle page draws 60 frames a second, a twentieth of a core that
# a model on a 2-core laptop writes a tenth slower for. Now each tracker counts only while its event waits.
TIMER_LOOP = "W&&ze()"
TIMER_LOOP_MENDED = "(W=W&&o.status===`pending`)&&ze()"


class PageFixes:
    """ASGI middleware that serves Gradio's status tracker script with its timer mended."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = STATUS_TRACKER.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        script = mended_status_tracker(found.group(1)) if found else None
        if script is None:
            await self.app(scope, receive, send)
            return
        await Response(script, media_type="text/javascript", headers={"Cache-Control": "no-cache"})(
            scope, receive, send)


@cache
def mended_status_tracker(name: str) -> str | None:
    """The script `name` with its timer mended; None when there is no such script or it has changed."""
    try:
        script = importlib.resources.files("gradio").joinpath("templates/frontend/assets", name).read_text("utf-8")
    except OSError:
        return None
    if script.count(TIMER_LOOP) != 1:
        log.warning("Gradio's %s has changed: its idle timer is left as it is", name)
        return None
    return script.replace(TIMER_LOOP, TIMER_LOOP_MENDED)
