"""Measure how fast chatdesk's window appears and the chat shows: `python -m tests.desktop.startup_times`.

Each run starts `python -m chatdesk` on a virtual display (Xvfb), notes when a window titled
"chatdesk (starting)" (the loading page) appears and when its title becomes "chatdesk" (the chat
page has loaded), then closes the window and notes how long the process takes to exit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.desktop import xsession

ROOT = Path(__file__).resolve().parents[2]


def measure_once(display: str, home: Path) -> dict[str, float]:
    """Seconds from process start to the window, to the chat, and from closing it to exit."""
    env = {**os.environ, "DISPLAY": display, "CHATDESK_HOME": str(home)}
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "chatdesk"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert xsession.wait_for(lambda: xsession.visible_windows(display, "^chatdesk"), 60, step=0.02)
        window = time.monotonic() - started
        shown = xsession.wait_for(lambda: xsession.visible_windows(display, "^chatdesk$"), 120, step=0.02)
        chat = time.monotonic() - started
        time.sleep(1.0)
        closed = time.monotonic()
        xsession.close_window(display, shown[0])
        process.wait(timeout=30)
        return {"window": window, "chat": chat, "exit": time.monotonic() - closed}
    finally:
        process.kill()
        process.wait()


def main() -> int:
    """Run the measurement several times and print each run and the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    xvfb, display = xsession.start_xvfb()
    try:
        manager = xsession.start_window_manager(display)
        try:
            with tempfile.TemporaryDirectory() as home:
                results = [measure_once(display, Path(home)) for _ in range(runs)]
        finally:
            manager.terminate()
    finally:
        xvfb.terminate()
    for index, result in enumerate(results, 1):
        print(f"run {index}: window {result['window']:.2f} s, chat {result['chat']:.2f} s, "
              f"exit after close {result['exit']:.2f} s" + ("  (new browser profile)" if index == 1 else ""))
    later = results[1:] or results
    print("median of runs 2+: " + ", ".join(f"{key} {statistics.median(r[key] for r in later):.2f} s"
                                            for key in ("window", "chat", "exit")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
