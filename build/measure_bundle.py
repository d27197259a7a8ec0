"""Measure the bundle: its size, and how long a first launch takes to serve and to show the chat window.

    python3 build/measure_bundle.py [dist/chatdesk] [--runs N] [--warm] [--beside .venv/bin/chatdesk]

Each launch gets a fresh HOME and a clean environment, as after a double-click on a new machine. When
/proc/sys/vm/drop_caches is writable (root), the page cache is dropped first so every launch is cold
(unless --warm: then the files are already in memory, as on a second launch). --beside times the installed app
too, each of its launches right after one of the bundle's: this VM's speed drifts, so only pairs compare.
The window timing needs Xvfb, xdotool and chromium (build/system_deps.sh); it is skipped without them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

READY = re.compile(r"chatdesk is running at (http://127\.0\.0\.1:\d+/)\?token=(\S+)")


def folder_size(folder: Path) -> int:
    """Bytes of the regular files under `folder` (symlinks not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def drop_caches() -> bool:
    """Empty the page cache so the next launch reads everything from disk; False if not allowed."""
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def clean_env(home: Path, display: str | None = None) -> dict:
    """What a desktop session gives a double-clicked app, minus anything from this checkout."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    if display:
        env["DISPLAY"] = display
    return env


def start(executable: Path, home: Path, *args: str, display: str | None = None) -> subprocess.Popen:
    return subprocess.Popen([str(executable), *args], env=clean_env(home, display), cwd=home,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def headless_launch(executable: Path) -> tuple[float, float]:
    """Seconds from exec to the ready line, and to the first page served."""
    with tempfile.TemporaryDirectory() as home:
        began = time.perf_counter()
        process = start(executable, Path(home), "--no-window")
        try:
            for line in process.stdout:
                match = READY.search(line)
                if match:
                    ready = time.perf_counter() - began
                    url, secret = match.groups()
                    page = urllib.request.Request(url, headers={"Authorization": f"Bearer {secret}"})
                    urllib.request.urlopen(page, timeout=30).read()
                    return ready, time.perf_counter() - began
            raise RuntimeError(f"chatdesk exited with {process.wait()} before it was ready")
        finally:
            stop(process)


def window_launch(executable: Path, display: str) -> tuple[float, float]:
    """Seconds from exec to the first window on screen (the loading page), and to the chat in it."""

    def seen(pattern: str) -> bool:
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", pattern],
                               env={"DISPLAY": display, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
        return bool(found.stdout.strip())

    with tempfile.TemporaryDirectory() as home:
        began = time.perf_counter()
        process = start(executable, Path(home), display=display)
        try:
            first = chat = None
            while chat is None and time.perf_counter() - began < 120:
                if process.poll() is not None:
                    raise RuntimeError(f"chatdesk exited with {process.returncode}:\n{process.stdout.read()}")
                if first is None and seen("^chatdesk"):
                    first = time.perf_counter() - began
                if seen("^chatdesk$"):  # the loading page is titled "chatdesk (starting)"
                    chat = time.perf_counter() - began
                time.sleep(0.02)
            if chat is not None:
                return first, chat
            titles = subprocess.run(["xdotool", "search", "--name", ".", "getwindowname", "%@"], capture_output=True,
                                    env={"DISPLAY": display, "PATH": "/usr/bin:/bin"}, text=True).stdout
        finally:
            stop(process)
        logs = "".join(log.read_text(errors="replace")[-3000:] for log in Path(home).rglob("chatdesk.log"))
        raise RuntimeError(f"{executable}: the chat window never showed (windows: {titles!r}); it printed:\n"
                           f"{process.stdout.read()}\nits log:\n{logs}")


def xvfb() -> tuple[subprocess.Popen, str] | None:
    """A virtual display when the tools for the window timing are here."""
    if not all(shutil.which(tool) for tool in ("Xvfb", "xdotool", "chromium")):
        return None
    number = next(n for n in range(150, 400) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        time.sleep(0.05)
    return server, f":{number}"


def summary(label: str, values: list[float]) -> str:
    return f"{label}: median {statistics.median(values):.2f} s (runs: {', '.join(f'{v:.2f}' for v in values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", type=Path, default=Path("dist/chatdesk"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warm", action="store_true", help="keep the page cache between launches")
    parser.add_argument("--beside", type=Path, help="the installed app's chatdesk, timed in pairs with the bundle")
    args = parser.parse_args()
    apps = {"bundle": args.bundle.resolve() / "chatdesk"}
    if args.beside:
        apps["installed"] = args.beside.absolute()  # a venv's script: resolving it would leave the venv
    total = folder_size(args.bundle)
    models = folder_size(args.bundle / "_internal" / "models")
    print(f"bundle {args.bundle}: {total / 2**20:.0f} MiB ({(total - models) / 2**20:.0f} MiB without the model)")

    cold = not args.warm and drop_caches()
    print("launches are", "cold (page cache dropped before each)" if cold else "warm (page cache kept)")
    headless = paired(apps, args.runs, cold, headless_launch)
    report(headless, "--no-window, exec to ready line", 0)
    report(headless, "--no-window, exec to first page served", 1)

    screen = xvfb()
    if screen is None:
        print("window: skipped (needs Xvfb, xdotool and chromium)")
        return
    server, display = screen
    try:
        windows = paired(apps, args.runs, cold, lambda executable: window_launch(executable, display))
    finally:
        stop(server)
    report(windows, "window, exec to first window (loading page)", 0)
    report(windows, "window, exec to chat ready in the window", 1)


def paired(apps: dict[str, Path], runs: int, cold: bool, launch) -> dict[str, list[tuple[float, float]]]:
    """`runs` launches of each app, one of each in turn, the page cache dropped before each when `cold`."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in apps}
    for _ in range(runs):
        for name, executable in apps.items():
            if cold:
                drop_caches()
            times[name].append(launch(executable))
    return times


def report(times: dict[str, list[tuple[float, float]]], label: str, which: int) -> None:
    """One line per app, and the bundle's time over the installed app's (the median of the pairs' ratios)."""
    for name, values in times.items():
        print(summary(f"{name}, {label}", [value[which] for value in values]))
    if "installed" in times:
        ratios = [b[which] / i[which] for b, i in zip(times["bundle"], times["installed"])]
        print(f"bundle / installed, {label}: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
