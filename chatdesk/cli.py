"""The `chatdesk` command: parse options, build engine, session and UI, run them as a desktop app."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from chatdesk import logs, paths

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
    parser.add_argument("--context", type=int, default=4096, help="context length in tokens (default 4096)")
    parser.add_argument("--max-tokens", type=int, default=512, help="longest reply in tokens (default 512)")
    parser.add_argument("--threads", type=int, default=None, help="threads for generation (default: by core count)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    logs.ensure_std_streams()
    args = parse_args(argv)
    if args.data_dir:
        os.environ[paths.HOME_ENV] = str(args.data_dir.expanduser().resolve())
    if args.command == "fetch-model":
        return fetch_model()
    return serve(args)


def fetch_model() -> int:
    """Download and verify the default model."""
    from chatdesk import models

    try:
        print(models.fetch_default_model())
    except models.ModelFetchError as error:
        print(f"chatdesk: {error}", file=sys.stderr)
        return 1
    return 0


def load_session(args: argparse.Namespace):
    """The session over the chosen model and the history; a model that fails to load becomes a message."""
    from chatdesk import models
    from chatdesk.engine import Engine, ModelError, SamplingParams
    from chatdesk.session import ChatSession
    from chatdesk.store import Store

    store = Store()
    params = SamplingParams(max_tokens=args.max_tokens)
    model_path = args.model or models.find_default_model()
    if model_path is None:
        return ChatSession(None, store, load_error="The default model is missing: run `chatdesk fetch-model`, "
                                                   "or start chatdesk with --model PATH.")
    try:
        engine = Engine(model_path, n_ctx=args.context, n_threads=args.threads)
    except ModelError as error:
        return ChatSession(None, store, load_error=str(error))
    session = ChatSession(engine, store, params=params, model_sha256=models.known_sha256(engine.model_path))
    if session.model_sha256 is None:  # another model: hash it meanwhile, replies record it once known
        threading.Thread(target=lambda: setattr(session, "model_sha256", models.file_sha256(engine.model_path)),
                         daemon=True).start()
    return session


def build_app(args: argparse.Namespace):
    """The page over a fresh session, its look, and how to release the model and the history."""
    from chatdesk.launcher import Built
    from chatdesk.ui import build_ui, launch_options

    session = load_session(args)
    if session.load_error:
        print(f"chatdesk: {session.load_error}", file=sys.stderr)
    return Built(build_ui(session), launch_options(), lambda: release_session(session))


def release_session(session) -> None:
    """Free the model's memory and close the history."""
    if session.engine is not None:
        session.engine.close()
    session.store.close()


def serve(args: argparse.Namespace) -> int:
    """Run the app in its own window (or headless) until the window closes or a signal comes."""
    from chatdesk import launcher

    log.info("chatdesk starting (pid %s) with log %s", os.getpid(), logs.setup_logging())
    show_window = not args.no_window and has_display()
    return launcher.run(lambda: build_app(args), port=args.port, show_window=show_window)


def has_display() -> bool:
    """Whether a window could be shown at all."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
