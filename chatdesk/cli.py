"""The `chatdesk` command: parse options, build engine, session and UI, run them as a desktop app."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from chatdesk import paths
from chatdesk.desktop import logs

log = logging.getLogger("chatdesk")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Options shared by every way of starting chatdesk."""
    parser = argparse.ArgumentParser(prog="chatdesk", description="Chat with a local GGUF model, offline.")
    parser.add_argument("command", nargs="?", choices=["run", "fetch-model"], default="run",
                        help="run the app (default) or fetch the default model")
    parser.add_argument("--model", type=Path, help="a GGUF model file (default: the built-in model)")
    parser.add_argument("--port", type=int, default=0, help="port to serve on (default: a free one)")
    parser.add_argument("--data-dir", type=Path, help=f"keep every file chatdesk writes here (or set {paths.HOME_ENV})")
    parser.add_argument("--no-window", action="store_true",
                        help="serve only and print the URL (also when there is no display)")
    parser.add_argument("--context", type=int, help="context length in tokens (default: settings, else 4096)")
    parser.add_argument("--max-tokens", type=int, help="longest reply in tokens (default: settings, else 512)")
    parser.add_argument("--threads", type=int, default=None, help="threads for generation (default: by core count)")
    parser.add_argument("--server", metavar="URL",
                        help="chat through an OpenAI-compatible inference server, e.g. http://gpu-box:8080/v1 "
                             "(its API key from CHATDESK_API_KEY or the Model panel)")
    parser.add_argument("--server-model", metavar="NAME", help="the model to use on that server (default: its first)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    logs.ensure_std_streams()
    args = parse_args(argv)
    if args.data_dir:
        os.environ[paths.HOME_ENV] = str(args.data_dir.expanduser().resolve())
    paths.keep_private()
    logs.setup_logging()
    logs.dump_threads_on_sigusr1()
    if args.command == "fetch-model":
        return fetch_model()
    return serve(args)


def fetch_model() -> int:
    """Download and verify the default model."""
    from chatdesk.catalog import models

    try:
        print(models.fetch_default_model())
    except models.ModelFetchError as error:
        print(f"chatdesk: {error}", file=sys.stderr)
        return 1
    return 0


def load_session(args: argparse.Namespace):
    """The session over the saved settings (options override them), the model, and the history."""
    from dataclasses import replace

    from chatdesk import config
    from chatdesk.core.host import ModelHost
    from chatdesk.core.session import ChatSession
    from chatdesk.errors import ModelError
    from chatdesk.store.database import Store

    saved, warning = config.load_settings()
    overrides = options(args)
    store = Store()
    try:
        engine, sha256 = open_engine(replace(saved, **overrides))
    except ModelError as error:
        engine, sha256 = None, None
        warning = " ".join(filter(None, [str(error), warning]))
    host = ModelHost(engine, saved, load_error=warning, model_sha256=sha256, loader=open_engine, overrides=overrides)
    return ChatSession.over(host, store)


def options(args: argparse.Namespace) -> dict:
    """The settings this run's command-line options set (used for this run, not saved)."""
    chosen = {"model": str(args.model) if args.model else None, "context_length": args.context,
              "max_tokens": args.max_tokens, "threads": args.threads, "server_url": args.server,
              "server_model": args.server_model}
    if args.model and not args.server:
        chosen["server_url"] = ""  # a model file given: run it here, whatever server was saved
    return {name: value for name, value in chosen.items() if value is not None}


def open_engine(settings):
    """Load the model the settings name (the default model when they name none), or connect to the server they
    name: (engine, its sha256 if known)."""
    if settings.server_url:
        return open_server(settings), None
    from chatdesk.catalog import models
    from chatdesk.engine.local import LocalEngine
    from chatdesk.errors import ModelError

    path = Path(settings.model).expanduser() if settings.model else models.find_default_model()
    if path is None:
        raise ModelError("The default model is missing: run `chatdesk fetch-model`, or start chatdesk with --model PATH.")
    engine = LocalEngine(path, n_ctx=settings.context_length, n_threads=settings.threads or None,
                    gpu_layers=settings.gpu_layers, disk_cache=paths.cache_dir() / "prompt-cache",
                    disk_cache_bytes=settings.disk_cache_mb << 20)
    return engine, models.known_sha256(engine.model_path)


def open_server(settings):
    """Connect to the inference server the settings name; the only way chatdesk ever goes on the network."""
    from chatdesk.catalog import server_keys
    from chatdesk.engine.server import ServerEngine
    from chatdesk.engine.server_api import Address

    key = server_keys.api_key(Address.parse(settings.server_url).shown)
    return ServerEngine(settings.server_url, model=settings.server_model or None, api_key=key,
                        context_length=settings.context_length)


def build_app(args: argparse.Namespace):
    """The page over a fresh session, how to serve it, and how to release the model and the history."""
    from concurrent.futures import ThreadPoolExecutor

    from chatdesk.desktop.launcher import Built
    from chatdesk.ui import environment

    with ThreadPoolExecutor(1, thread_name_prefix="chatdesk-load") as pool:
        # The model loads in C, without the GIL, while Gradio is imported: on 2 cores a second sooner.
        loading = pool.submit(load_session, args)
        environment.prepare_gradio(paths.cache_dir())
        from chatdesk.ui.app import build_ui, serve_page

        session = loading.result()
    if session.host.load_error:
        print(f"chatdesk: {session.host.load_error}", file=sys.stderr)
    demo = build_ui(session)
    return Built(lambda host, port, middleware: serve_page(demo, host, port, middleware),
                 stop=lambda: demo.close(verbose=False), close=session.close)


def serve(args: argparse.Namespace) -> int:
    """Run the app in its own window (or headless) until the window closes or a signal comes."""
    from chatdesk.desktop import launcher
    from chatdesk.ui import environment

    environment.keep_offline(paths.cache_dir())
    log.info("chatdesk starting (pid %s), logging to %s", os.getpid(), logs.log_file())
    show_window = not args.no_window and has_display()
    return launcher.run(lambda: build_app(args), port=args.port, show_window=show_window)


def has_display() -> bool:
    """Whether a window could be shown at all."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
