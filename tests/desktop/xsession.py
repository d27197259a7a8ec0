"""A virtual X display for the window tests: Xvfb with openbox, windows found with xdotool, closed with wmctrl."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

SCREEN = "1280x800x24"


def tools_missing() -> list[str]:
    """The X tools these tests need that the machine lacks."""
    return [tool for tool in ("Xvfb", "xdotool", "openbox", "wmctrl") if shutil.which(tool) is None]


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


def start_window_manager(display: str, attempts: int = 3) -> subprocess.Popen:
    """openbox managing `display`, so windows are closed the way a person closes them."""
    env = {**os.environ, "DISPLAY": display}
    said = ""
    for _ in range(attempts):
        with tempfile.TemporaryFile() as output:
            process = subprocess.Popen(["openbox", "--sm-disable"], env=env, stdout=output, stderr=output)
            try:
                if _manages(process, env):
                    return process
                output.seek(0)
                said = f"{output.read().decode(errors='replace')}; wmctrl -m: {_ask_manager(env).stderr}"
            except BaseException:
                process.kill()
                raise
            process.kill()
            process.wait()
    raise RuntimeError(f"openbox did not start on {display}: {said}")


def _manages(process: subprocess.Popen, env: dict) -> bool:
    """Whether openbox took the display within 15 s."""
    answered = wait_for(lambda: process.poll() is not None or _ask_manager(env).returncode == 0, 15, step=0.2)
    return bool(answered) and process.poll() is None


def _ask_manager(env: dict) -> subprocess.CompletedProcess:
    """`wmctrl -m`: which window manager runs on the display (status 0 when one does)."""
    return subprocess.run(["wmctrl", "-m"], env=env, capture_output=True, text=True, timeout=10)


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
    """Ask the window manager to close a window, as its title bar's close button does."""
    env = {**os.environ, "DISPLAY": display}
    subprocess.run(["wmctrl", "-i", "-c", window], env=env, check=True, timeout=10)


def screenshot(display: str, path: Path) -> Path:
    """Save the whole screen of `display` as a PNG."""
    from PIL import ImageGrab

    path.parent.mkdir(parents=True, exist_ok=True)
    ImageGrab.grab(xdisplay=display).save(path)
    return path


def window_icons(display: str, window: str) -> list:
    """The icons a window sets (_NET_WM_ICON), as RGBA images."""
    from PIL import Image

    assert shutil.which("xprop"), "xprop is missing: build/system_deps.sh installs it (x11-utils)"
    env = {**os.environ, "DISPLAY": display}
    done = subprocess.run(["xprop", "-id", window, "-notype", "-f", "_NET_WM_ICON", "32c", "_NET_WM_ICON"],
                          env=env, capture_output=True, text=True, timeout=10)
    _name, _, values = done.stdout.partition("=")
    numbers = [int(v) for v in values.replace(",", " ").split()] if values.strip() else []
    icons = []
    while len(numbers) >= 2:  # width, height, then width * height ARGB pixels; repeated per size
        width, height = numbers[:2]
        pixels = numbers[2:2 + width * height]
        numbers = numbers[2 + width * height:]
        rgba = b"".join(bytes(((p >> 16) & 255, (p >> 8) & 255, p & 255, p >> 24)) for p in pixels)
        icons.append(Image.frombytes("RGBA", (width, height), rgba))
    return icons


def looks_alike(first, second, size: int = 16) -> float:
    """How far apart two images look, from 0 (the same) to 255, compared small and over white."""
    from PIL import Image, ImageChops, ImageStat

    def flat(image):
        small = image.convert("RGBA").resize((size, size))
        white = Image.new("RGBA", small.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, small).convert("RGB")

    return sum(ImageStat.Stat(ImageChops.difference(flat(first), flat(second))).mean) / 3
