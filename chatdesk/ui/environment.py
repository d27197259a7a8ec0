"""Gradio's and Hugging Face's environment, set by the app's factory before either is imported."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def keep_offline(cache_dir: Path) -> None:
    """Turn off every network feature of Gradio and Hugging Face; keep uploads and downloads in our cache."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ.setdefault("GRADIO_TEMP_DIR", str(cache_dir / "gradio"))


def prepare_gradio(cache_dir: Path) -> None:
    """Everything Gradio reads once, at its import."""
    keep_offline(cache_dir)
    if importlib.util.find_spec("matplotlib") is None:
        # Gradio tries `import matplotlib` around every streamed update; a missing module is searched for
        # on disk each time (a tenth of the server's work while streaming). None in sys.modules fails at once.
        sys.modules["matplotlib"] = None


@contextmanager
def app_made_at_launch() -> Iterator[None]:
    """Within it, Gradio does not build the web app that only launch() serves.

    Gradio 6.31 builds its FastAPI app (166 routes and the page's config) at the end of every Blocks and at
    every queue() call, and again at launch(): the first three are thrown away, at a quarter of the start-up
    after `import gradio`.
    """
    from gradio import routes

    made = routes.App.__dict__["create_app"]
    routes.App.create_app = staticmethod(lambda *args, **kwargs: None)
    try:
        yield
    finally:
        routes.App.create_app = made
