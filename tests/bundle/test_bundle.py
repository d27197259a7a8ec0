"""The double-clickable bundle: built from chatdesk.spec, it chats offline with no Python around it."""

from __future__ import annotations

import configparser
import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest
from gradio_client import Client

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"^chatdesk is running at (http://127\.0\.0\.1:\d+/)\?token=(\S+)$")
BUILD_TIMEOUT = 1200
START_TIMEOUT = 120


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """dist/chatdesk/ built by `make bundle`'s script from chatdesk.spec, into a fresh folder."""
    out = tmp_path_factory.mktemp("bundle")
    env = {k: v for k, v in os.environ.items() if k != "CHATDESK_HOME"}
    built = subprocess.run(["bash", str(ROOT / "build" / "bundle.sh"), str(out / "dist"), str(out / "work")],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert built.returncode == 0, built.stderr[-5000:]
    folder = Path(built.stdout.split()[-1])
    assert (folder / "chatdesk").is_file() and os.access(folder / "chatdesk", os.X_OK)
    yield folder
    shutil.rmtree(out, ignore_errors=True)  # 330 MB; `make bundle` rebuilds it for a closer look


def clean_env(home: Path) -> dict:
    """A desktop session's environment: no virtualenv, no PYTHONPATH, no XDG_* or CHATDESK_HOME."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.rglob("*")}


class Launched:
    """The bundle's executable started as a double-click would, its output collected."""

    def __init__(self, executable: Path, home: Path, *args: str):
        self.started = time.monotonic()
        self.process = subprocess.Popen([str(executable), *args], env=clean_env(home), cwd=home,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        self.lines: list[str] = []
        self.url: str | None = None
        self.secret: str | None = None
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            match = READY.match(self.lines[-1])
            if match and self.url is None:
                self.url, self.secret = match.groups()
                self.ready.set()
        self.ready.set()

    def wait_ready(self) -> str:
        self.ready.wait(START_TIMEOUT)
        assert self.url, f"no ready line after {time.monotonic() - self.started:.0f} s:\n" + "\n".join(self.lines)
        return self.url

    def mapped_files(self) -> set[str]:
        """Files the process has mapped: its executable and every shared library it loaded."""
        maps = Path(f"/proc/{self.process.pid}/maps").read_text().splitlines()
        return {row.split(None, 5)[5] for row in maps if len(row.split(None, 5)) == 6 and "/" in row}

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


STORY = "Write a long story about a lighthouse keeper."  # long enough to arrive in several pieces


def test_the_bundle_chats_offline_keeps_history_in_the_user_data_dir_and_stops_cleanly(bundle, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    before = snapshot(bundle)
    app = Launched(bundle / "chatdesk", home, "--no-window")
    try:
        url = app.wait_ready()
        client = Client(url, headers={"Authorization": f"Bearer {app.secret}"}, verbose=False)
        job = client.submit(STORY, api_name="/chat")
        partials = list(job)
        mapped = app.mapped_files()
        app.process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        status = app.process.wait(timeout=15)
        stopped_in = time.monotonic() - stopping
    finally:
        app.kill()
    output = "\n".join(app.lines)

    assert len(partials) >= 3 and len(set(partials)) >= 3, partials  # streamed, not sent whole
    assert all(len(a) <= len(b) for a, b in zip(partials, partials[1:])), partials
    assert partials[-1].strip(), output
    foreign = {f for f in mapped if not f.startswith((f"{bundle}/", f"{home}/", "/usr/", "/lib"))}
    assert not foreign, f"the bundle loaded files from outside itself and the system: {foreign}"
    own = {Path(f).name for f in mapped if f.startswith(f"{bundle}/")}
    assert "libllama.so" in own and any(name.startswith("libpython3") for name in own), own
    assert status == 0, output
    assert stopped_in < 5, f"took {stopped_in:.1f} s to stop"

    database = home / ".local" / "share" / "chatdesk" / "chatdesk.db"
    assert database.is_file(), sorted(str(p) for p in home.rglob("*"))
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT role, content FROM messages ORDER BY created").fetchall()
    assert rows == [("user", STORY), ("assistant", partials[-1])]
    assert (home / ".local" / "state" / "chatdesk" / "log" / "chatdesk.log").is_file()
    assert snapshot(bundle) == before, "chatdesk wrote next to its executable"


def test_with_a_display_the_bundle_opens_its_window_and_programs_it_starts_get_the_system_libraries(bundle, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    seen = tmp_path / "browser-env.txt"
    browser = tmp_path / "browser.sh"  # stands in for Chromium: records how it was started, stays open
    browser.write_text(f'#!/bin/sh\nenv > "{seen}.tmp"; printf "%s\\n" "$@" >> "{seen}.tmp"; '
                       f'mv "{seen}.tmp" "{seen}"\nexec sleep 300\n')
    browser.chmod(0o755)
    env = {**clean_env(home), "DISPLAY": ":404", "CHATDESK_BROWSER": str(browser)}
    process = subprocess.Popen([str(bundle / "chatdesk")], env=env, cwd=home, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not seen.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert seen.exists(), f"no window was opened (status {process.poll()})"
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    started_with = seen.read_text()
    assert status == 0, process.stdout.read()
    assert any(line.startswith(f"--app=file://{home}/.cache/chatdesk/") for line in started_with.splitlines())
    assert str(bundle) not in "".join(line for line in started_with.splitlines() if line.startswith("LD_"))


def test_the_bundle_ships_the_model_and_finds_it_without_being_told(bundle):
    internal = bundle / "_internal"
    manifest = internal / "models" / "manifest.json"
    assert manifest.read_bytes() == (ROOT / "models" / "manifest.json").read_bytes()
    assert (internal / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf").is_file()
    assert (internal / "chatdesk" / "assets" / "icon.png").is_file()
    assert (internal / "gradio" / "blocks.py").is_file()  # beside its bytecode, for what reads its own source


def test_the_bundle_carries_the_portable_llama_cpp_build_from_the_wheelhouse(bundle):
    """The GGML_NATIVE=OFF wheel of build/llama_wheel.sh, not a build tuned to this machine's CPU."""
    found = subprocess.run(["bash", str(ROOT / "build" / "llama_wheel.sh")], capture_output=True, text=True,
                           env={**os.environ, "PYTHON": str(ROOT / ".venv" / "bin" / "python")}, check=True)
    with zipfile.ZipFile(found.stdout.strip()) as wheel:
        for name in ("libllama.so", "libggml-cpu.so"):
            shipped = (bundle / "_internal" / "llama_cpp" / "lib" / name).read_bytes()
            assert hashlib.sha256(shipped).digest() == hashlib.sha256(wheel.read(f"llama_cpp/lib/{name}")).digest()


def test_the_desktop_entry_installs_into_the_user_menu_and_comes_out_again(bundle, tmp_path):
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(bundle / "chatdesk.desktop")
    assert {"Type", "Name", "Exec", "Icon", "Categories"} <= set(entry["Desktop Entry"])

    home = tmp_path / "home"
    home.mkdir()
    script = bundle / "install-desktop-entry.sh"
    subprocess.run([str(script)], env=clean_env(home), check=True, capture_output=True)
    installed_file = home / ".local" / "share" / "applications" / "chatdesk.desktop"
    installed = configparser.ConfigParser(interpolation=None)
    installed.optionxform = str
    installed.read(installed_file)
    assert installed["Desktop Entry"]["Exec"] == f'"{bundle / "chatdesk"}"'
    assert installed["Desktop Entry"]["Icon"] == "chatdesk"
    assert (home / ".local" / "share" / "icons" / "hicolor" / "256x256" / "apps" / "chatdesk.png").is_file()
    if shutil.which("desktop-file-validate"):
        checked = subprocess.run(["desktop-file-validate", str(installed_file)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr

    subprocess.run([str(script), "--remove"], env=clean_env(home), check=True, capture_output=True)
    assert not installed_file.exists()


def test_the_bundle_chats_through_an_inference_server(bundle, tmp_path):
    from chatdesk.catalog import models
    from tests.servers import InferenceServer

    home = tmp_path / "home"
    home.mkdir()
    server = InferenceServer("llama-server", models.find_default_model(), n_ctx=2048, log=tmp_path / "server.log")
    app = Launched(bundle / "chatdesk", home, "--no-window", "--server", server.url)
    try:
        client = Client(app.wait_ready(), headers={"Authorization": f"Bearer {app.secret}"}, verbose=False)
        reply = client.predict(STORY, api_name="/chat")
    finally:
        app.kill()
        server.stop()
    output = "\n".join(app.lines)
    assert reply.strip(), output
    database = home / ".local" / "share" / "chatdesk" / "chatdesk.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        [meta] = db.execute("SELECT meta FROM messages WHERE role = 'assistant'").fetchone()
    assert f"127.0.0.1:{server.port}" in meta, meta  # written by the server engine, which records where
