"""Gradio's and Hugging Face's environment, set by the app's factory before either is imported."""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
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
    skip_editor_work()


def skip_editor_work() -> None:
    """Import Gradio without its work for code editors: half of `import gradio` (5.1 s of it to 2.6 s here)."""
    # At every import, for each of its 80 component classes Gradio parses the class's source file and its .pyi
    # stub to rewrite the stub (in site-packages), and it renders each event listener's docstring with Jinja.
    # Once Gradio is imported this does nothing.
    if "gradio" not in sys.modules and not any(isinstance(f, _Mends) for f in sys.meta_path):
        sys.meta_path.insert(0, _Mends({"gradio.component_meta": _no_stub_writing,
                                        "gradio.events": _plain_listener_docs}))


def _no_stub_writing(module) -> None:
    module.create_or_modify_pyi = lambda *args, **kwargs: None


def _plain_listener_docs(module) -> None:
    def set_doc(listener, component: str) -> None:  # the docstrings' only placeholder, without Jinja
        if listener.listener.__doc__:
            listener.listener.__doc__ = listener.listener.__doc__.replace("{{ component }}", component)

    module.EventListener.set_doc = set_doc


class _Mends(importlib.abc.MetaPathFinder):
    """Finds the named modules as usual and mends each as soon as it has run, before anything uses it."""

    def __init__(self, mends: dict[str, Callable]):
        self.mends = mends
        self._finding: set[str] = set()

    def find_spec(self, name, path=None, target=None):
        if name not in self.mends or name in self._finding:
            return None
        self._finding.add(name)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._finding.discard(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _MendingLoader(spec.loader, self.mends[name])
        return spec


class _MendingLoader(importlib.abc.Loader):
    """A module's own loader, which then mends the module."""

    def __init__(self, loader, mend: Callable):
        self.loader, self.mend = loader, mend

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        self.mend(module)

    def __getattr__(self, name):  # get_source, get_data... for inspect and linecache
        return getattr(self.loader, name)


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
