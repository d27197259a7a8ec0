"""The disk fills up while a reply streams: the app, its data on a small filesystem of its own (tmpfs)."""

import os
import subprocess

import pytest

from tests.apprunner import RunningApp, wait_for
from tests.faultkit import lost_since, read_history, seed_history

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MB filesystem of its own (needs root, as CI and this project's machines run)."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"this machine does not let a test mount a filesystem: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


def fill(folder) -> int:
    """Write a file until the filesystem is full; its size."""
    written = 0
    with open(folder / "filler", "wb", buffering=0) as out:
        for chunk in (1 << 20, 1 << 12):
            try:
                while True:
                    written += out.write(bytes(chunk))
            except OSError:
                continue
    return written


def test_a_full_disk_while_a_reply_streams_is_explained_and_loses_nothing(small_disk):
    home = small_disk
    conversation_id = seed_history(home)
    app = RunningApp(home, "--max-tokens", "300")
    try:
        client = app.client()
        _verdict, before = read_history(app.database)
        job = client.submit("Write a very long story about a lighthouse keeper.", conversation_id, api_name="/chat")
        wait_for(lambda: job.outputs() and len(job.outputs()[-1]) > 200, timeout=120)
        assert fill(home) > 0
        with pytest.raises(Exception) as raised:
            job.result(timeout=120)
        assert "The disk is full" in str(raised.value) and "The reply was stopped" in str(raised.value)
        shown = job.outputs()[-1]
        with pytest.raises(Exception, match="The disk is full"):  # while it is full, a message is refused
            client.predict("Are you still there?", conversation_id, api_name="/chat")

        verdict, during = read_history(app.database)
        assert verdict == "ok" and not lost_since(before, during)
        [reply] = [m for i, m in during.items() if i not in before and m.role == "assistant"]
        assert reply.content and shown.startswith(reply.content)  # saved up to its last checkpoint

        (home / "filler").unlink()  # room again: the chat goes on, and the stopped reply is saved whole
        assert client.predict("Thank you.", conversation_id, api_name="/chat")
        verdict, after = read_history(app.database)
        assert verdict == "ok" and not lost_since(before, after)
        assert after[next(i for i in after if i not in before and after[i].role == "assistant")].content.startswith(shown)
        assert app.stop() == 0
    finally:
        app.stop()
    assert "Traceback" not in "".join(app.output)
