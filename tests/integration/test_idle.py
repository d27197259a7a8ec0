"""An open chatdesk that nobody uses leaves the CPU alone (a laptop's battery, the model's speed)."""

import os
import re
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


def wake_ups(pid: int) -> int:
    """How many times the process's threads have slept and been woken so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", (task / "status").read_text(), re.M).group(1))
        except OSError:  # a thread that ended meanwhile
            continue
    return total


def test_an_idle_app_is_seldom_woken(tmp_path):
    app = RunningApp(tmp_path / "home")
    try:
        time.sleep(2)
        before, start = wake_ups(app.process.pid), time.monotonic()
        time.sleep(5)
        rate = (wake_ups(app.process.pid) - before) / (time.monotonic() - start)
    finally:
        app.stop()
    # each wake-up stalls both of llama.cpp's threads on 2 cores; Gradio's queue polled 100 times a second
    assert rate < 40, f"idle chatdesk woke {rate:.0f} times a second"
