"""A virtual X display for the window tests: start Xvfb, find windows with xdotool, take screenshots."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

SCREEN = "1280x800x24"


def tools_missing() -> list[str]:
    """The X tools these tests need that the machine lacks."""
    return [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]


def free_display() -> int:
    """A display number no X server uses."""
    for number in range(90, 400):
        if not Path(f"/tmp/.X{number}-lock").exists() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            return number
    raise RuntimeError("no free X display number")


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """A running Xvfb and its DISPLAY value."""
    number = free_display()
    process = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", SCREEN, "-nolisten", "tcp"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Xvfb :{number} did not start")
        time.sleep(0.05)
    return process, f":{number}"


def xdotool(display: str, *args: str) -> str:
    """xdotool's output on `display` ('' when it finds nothing)."""
    env = {**os.environ, "DISPLAY": display}
    done = subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=10)
    return done.stdout.strip()


def visible_windows(display: str, name_pattern: str) -> list[str]:
    """Ids of the visible windows whose title matches `name_pattern` (a regex)."""
    return xdotool(display, "search", "--onlyvisible", "--name", name_pattern).split()


def window_name(display: str, window: str) -> str:
    """A window's title."""
    return xdotool(display, "getwindowname", window)


def wait_for(condition, timeout: float, step: float = 0.05):
    """The first truthy value of `condition()` within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return None


def close_window(display: str, window: str) -> None:
    """Close a window as a user would with Ctrl+W (Xvfb has no window manager to ask)."""
    xdotool(display, "windowfocus", "--sync", window)
    xdotool(display, "key", "--clearmodifiers", "ctrl+w")


def screenshot(display: str, path: Path) -> Path:
    """Save the whole screen of `display` as a PNG."""
    from PIL import ImageGrab

    path.parent.mkdir(parents=True, exist_ok=True)
    ImageGrab.grab(xdisplay=display).save(path)
    return path


def window_icon_sizes(display: str, window: str) -> list[str] | None:
    """The sizes of the icons a window sets (_NET_WM_ICON), or None when xprop is not installed."""
    if shutil.which("xprop") is None:
        return None
    env = {**os.environ, "DISPLAY": display}
    done = subprocess.run(["xprop", "-id", window, "_NET_WM_ICON"], env=env, capture_output=True, text=True, timeout=10)
    return [line.strip().removeprefix("Icon (").rstrip("):") for line in done.stdout.splitlines()
            if line.strip().startswith("Icon (")]
