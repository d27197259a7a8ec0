"""An open chatdesk that nobody uses leaves the CPU alone (a laptop's battery, the model's speed)."""

import os
import time
from pathlib import Path

from tests.apprunner import RunningApp


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_an_idle_app_uses_almost_no_cpu(tmp_path):
    app = RunningApp(tmp_path / "home")
    try:
        time.sleep(2)  # start-up work settles
        before, start = cpu_seconds(app.process.pid), time.monotonic()
        time.sleep(6)
        share = (cpu_seconds(app.process.pid) - before) / (time.monotonic() - start)
    finally:
        app.stop()
    # Gradio's queue alone polls 1,000 times a second (about 9% of a core here) unless told otherwise.
    assert share < 0.05, f"idle chatdesk used {share:.0%} of a core"
