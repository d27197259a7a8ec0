"""The real app in a real window under Xvfb: it appears, shows the chat, is reused, and closes cleanly."""

import shutil
import signal
import sys
import time

import pytest
from PIL import Image

from chatdesk import paths
from tests.desktop import xsession
from tests.desktop.conftest import ARTIFACTS, port_is_free, processes_using

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium (build/system_deps.sh)"),
]
ANY_TITLE = "^chatdesk"
CHAT_TITLE = "^chatdesk$"


def test_a_window_opens_is_reused_by_a_second_launch_and_closing_it_ends_the_app(launch, display, tmp_path):
    app = launch(display=display)
    window = xsession.wait_for(lambda: xsession.visible_windows(display, ANY_TITLE), 30)
    to_window = time.monotonic() - app.started
    assert window, f"no chatdesk window appeared:\n{app.output}"
    time.sleep(0.3)
    loading_title = xsession.window_name(display, window[0])
    xsession.screenshot(display, ARTIFACTS / "desktop-loading.png")

    url = app.wait_for_url()
    assert xsession.wait_for(lambda: xsession.visible_windows(display, CHAT_TITLE), 60), "the chat never showed"
    to_chat = time.monotonic() - app.started
    time.sleep(2.0)  # let the page paint
    icons = xsession.window_icons(display, xsession.visible_windows(display, CHAT_TITLE)[0])
    assert icons, "the window has no icon: the taskbar and Alt+Tab show a generic one"
    largest = max(icons, key=lambda icon: icon.width)
    largest.save(ARTIFACTS / "desktop-window-icon.png")
    distance = xsession.looks_alike(largest, Image.open(paths.icon_file()))
    assert distance < 40, f"the window's icon is not chatdesk's (they differ by {distance:.0f}/255)"
    xsession.screenshot(display, ARTIFACTS / "desktop-window.png")
    (ARTIFACTS / "desktop-startup.txt").write_text(
        f"window after {to_window:.2f} s (title {loading_title!r}); chat after {to_chat:.2f} s\n")

    second = launch(display=display)
    assert second.wait_exit(timeout=15) == 0, second.output
    assert second.lines == [f"chatdesk is already running at {app.page_url}"]  # read from the instance file
    assert app.instance_info()["pid"] == app.process.pid  # no second server took over
    windows = xsession.wait_for(lambda: len(xsession.visible_windows(display, CHAT_TITLE)) == 2 and
                                xsession.visible_windows(display, CHAT_TITLE), 30)
    assert windows, "the second launch opened no window"

    xsession.close_window(display, windows[-1])
    assert xsession.wait_for(lambda: len(xsession.visible_windows(display, ANY_TITLE)) == 1, 10)
    time.sleep(1.0)
    assert app.process.poll() is None, "closing one of two windows must keep the app"

    port = int(url.rsplit(":", 1)[1].strip("/"))
    closed_at = time.monotonic()
    xsession.close_window(display, xsession.visible_windows(display, ANY_TITLE)[0])
    assert app.wait_exit(timeout=10) == 0, app.output
    assert time.monotonic() - closed_at < 6
    assert port_is_free(port)
    assert processes_using(str(tmp_path / "home")) == [], "a browser process outlived the app"
    assert app.instance_info() is None


def test_a_browser_that_cannot_start_gives_way_to_the_default_browser(launch, display, tmp_path):
    opened = tmp_path / "opened.txt"
    fake_browser = f"{sys.executable} -c \"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])\" %s"
    app = launch(display=display, extra_env={"CHATDESK_BROWSER": "/bin/false", "BROWSER": fake_browser})
    app.wait_for_url()
    assert xsession.wait_for(opened.exists, 20), app.log_text()
    assert opened.read_text().startswith("file://") and opened.read_text().endswith("/cache/loading.html")
    assert "at once: it could not start" in app.log_text()
    time.sleep(0.5)
    assert app.process.poll() is None, "it serves the tab"
    app.signal(signal.SIGTERM)
    assert app.wait_exit(timeout=10) == 0
