"""An open chatdesk that nobody uses leaves the CPU alone (a laptop's battery, the model's speed)."""

import os
import re
import time
from pathlib import Path

import pytest

from tests.apprunner import RunningApp


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wake_ups(pid: int) -> int:
    """How many times the process's threads have slept and been woken so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", (task / "status").read_text(), re.M).group(1))
        except OSError:  # a thread that ended meanwhile
            continue
    return total


@pytest.fixture(scope="module")
def idle(tmp_path_factory) -> dict:
    """Per second of an app nobody uses, once its start-up work has settled: CPU seconds and wake-ups."""
    app = RunningApp(tmp_path_factory.mktemp("idle") / "home")
    try:
        time.sleep(2)
        pid = app.process.pid
        cpu, woken, start = cpu_seconds(pid), wake_ups(pid), time.monotonic()
        time.sleep(6)
        lasted = time.monotonic() - start
        return {"cpu": (cpu_seconds(pid) - cpu) / lasted, "wake_ups": (wake_ups(pid) - woken) / lasted}
    finally:
        app.stop()


def test_an_idle_app_uses_almost_no_cpu(idle):
    # Gradio's queue alone polls 1,000 times a second (about 9% of a core here) unless told otherwise.
    assert idle["cpu"] < 0.05, f"idle chatdesk used {idle['cpu']:.0%} of a core"


def test_an_idle_app_is_seldom_woken(idle):
    # each wake-up stalls both of llama.cpp's threads on 2 cores; Gradio's queue polled 100 times a second
    assert idle["wake_ups"] < 40, f"idle chatdesk woke {idle['wake_ups']:.0f} times a second"
