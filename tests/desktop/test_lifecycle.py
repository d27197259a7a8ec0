"""Serving without a window, stopping on signals, no console at all, and one instance per data dir."""

import ctypes
import errno
import platform
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from gradio_client import Client

from chatdesk.desktop.instance import Instance
from tests.desktop.conftest import bearer, listening_addresses, port_is_free
from chatdesk.desktop.launcher import free_port

pytestmark = pytest.mark.slow
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 in /proc/net/tcp


def test_no_window_prints_the_url_serves_on_loopback_only_and_ctrl_c_stops_it(launch):
    port = free_port()
    app = launch("--no-window", "--port", str(port))
    assert app.wait_for_url() == f"http://127.0.0.1:{port}/"
    assert listening_addresses(port) == {LOOPBACK_HEX}
    second = launch("--no-window")
    assert second.wait_exit(timeout=15) == 0
    assert second.lines == [f"chatdesk is already running at http://127.0.0.1:{port}/?token={app.secret}"]

    app.signal(signal.SIGINT)
    assert app.wait_exit(timeout=10) == 0, app.output
    assert port_is_free(port)
    assert app.instance_info() is None
    assert "Traceback" not in app.output


def test_sigterm_taken_by_one_of_its_other_threads_still_stops_it(launch):
    """The kernel may give a signal sent to the process to any of its threads (CI saw a SIGTERM ignored)."""
    app = launch("--no-window")
    app.wait_for_url()
    for thread in _other_threads(app.process.pid):  # the next one if this one ended before it took the signal
        if not _signal_thread(app.process.pid, thread, signal.SIGTERM):
            continue
        try:
            app.process.wait(timeout=3)
            break
        except subprocess.TimeoutExpired:
            continue
    assert app.wait_exit(timeout=10) == 0, app.output
    assert "asked to stop" in app.log_text()


NO_CONSOLE = textwrap.dedent("""
    import os, sys
    os.close(1); os.close(2)          # what a windowed build starts with: no console at all
    sys.stdout = sys.stderr = None
    from chatdesk.cli import main
    sys.exit(main([]))                # no --no-window: there is no display either
""")


def test_with_no_console_and_no_display_it_serves_logs_and_stops_cleanly(launch):
    app = launch(command=[sys.executable, "-c", NO_CONSOLE])
    info = _wait_for_instance(app)
    client = Client(info["url"], headers=bearer(info["secret"]), verbose=False)
    reply = client.predict("Say hello.", api_name="/chat")
    assert isinstance(reply, str) and reply.strip()

    app.signal(signal.SIGTERM)
    assert app.wait_exit(timeout=10) == 0
    log = app.log_text()
    assert f"chatdesk is running at {info['url']}" in log
    assert "Traceback" not in log


def test_a_lock_left_by_a_crashed_run_is_taken_over(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from chatdesk.desktop.instance import Instance
        instance = Instance(Path({str(tmp_path)!r}))
        assert instance.claim()
        instance.publish("http://127.0.0.1:1/", "s3cret")
        print("holding", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert not Instance(tmp_path).claim(), "a live holder keeps the lock"
        assert Instance(tmp_path).running(timeout=1).pid == holder.pid
        holder.kill()  # a crash: no clean-up runs
        holder.wait()
        successor = Instance(tmp_path)
        assert successor.claim()
        assert successor.leftover.pid == holder.pid
        successor.release()
    finally:
        holder.kill()
        holder.wait()


def _wait_for_instance(app) -> dict:
    from tests.desktop.xsession import wait_for

    def published_and_serving():
        assert app.process.poll() is None, f"exited with {app.process.returncode}:\n{app.log_text()}"
        info = app.instance_info()
        return info if info and "is running at" in app.log_text() else None

    info = wait_for(published_and_serving, 90, step=0.1)
    assert info, app.log_text()
    return info


def test_a_port_in_use_is_reported_at_once(launch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = launch("--no-window", "--port", str(port))
        assert app.wait_exit(timeout=10) == 1
    assert app.lines == [f"chatdesk: port {port} is in use; choose another with --port, or leave it out"]


def _other_threads(pid: int) -> list[int]:
    """The ids of the threads of `pid` other than its main one, the newest first."""
    threads = sorted((int(task.name) for task in Path(f"/proc/{pid}/task").iterdir()), reverse=True)
    return [tid for tid in threads if tid != pid]


def _signal_thread(pid: int, tid: int, number: int) -> bool:
    """Send `number` to one thread of another process (tgkill); False if that thread has ended."""
    calls = {"x86_64": 234, "aarch64": 131}
    if platform.machine() not in calls:
        pytest.skip(f"tgkill's number on {platform.machine()} is not known here")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(calls[platform.machine()], pid, tid, number) == 0:
        return True
    if ctypes.get_errno() == errno.ESRCH:
        return False
    raise OSError(ctypes.get_errno(), f"tgkill {pid} {tid}")
