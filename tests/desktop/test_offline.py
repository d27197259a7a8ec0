"""No network at run time: the server process touches only loopback, the page loads only from the app."""

import ipaddress
import json
import signal
import sys
import textwrap

import pytest
from gradio_client import Client

pytestmark = pytest.mark.slow

WATCHED = ("socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo", "socket.gethostbyname",
           "socket.gethostbyaddr", "urllib.Request", "subprocess.Popen")
AUDITED = textwrap.dedent(f"""
    import json, sys, threading
    record = open(sys.argv[1], "a", buffering=1)
    lock = threading.Lock()

    def hook(event, args):
        if event in {WATCHED!r}:
            with lock:
                record.write(json.dumps([event, list(args)], default=repr) + "\\n")

    sys.addaudithook(hook)
    from chatdesk.cli import main
    sys.exit(main(sys.argv[2:]))
""")


def is_local(event: str, args: list) -> bool:
    """Whether one audited call stays on this machine."""
    if event == "subprocess.Popen" or event == "urllib.Request":
        return False
    if event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
        return args[0] in (None, "localhost") or _loopback(args[0])
    address = args[1]
    if isinstance(address, str):  # a Unix socket path, or a repr of one
        return not address.startswith("(")
    return _loopback(address[0])


def _loopback(host) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def chat_then_quit(app) -> str:
    """Chat once through the API, then stop the app as a signal does; the URL it served."""
    url = app.wait_for_url()
    client = Client(url, headers=app.headers, verbose=False)
    conversation = client.predict(api_name="/new_conversation")
    assert client.predict("Hello! Who are you?", conversation, api_name="/chat").strip()
    app.signal(signal.SIGTERM)
    assert app.wait_exit(timeout=15) == 0
    return url


def test_the_server_process_contacts_nothing_but_loopback(launch, tmp_path):
    record = tmp_path / "network.jsonl"
    app = launch(str(record), "--no-window", command=[sys.executable, "-c", AUDITED])
    chat_then_quit(app)

    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert any(event == "socket.bind" for event, _ in calls), "the hook saw nothing: is it installed?"
    outside = [call for call in calls if not is_local(*call)]
    assert outside == [], f"chatdesk reached beyond loopback: {outside}"


def test_the_page_loads_everything_from_the_app_itself(served, browser):
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("websocket", lambda socket: requested.append(socket.url))
    page.goto(served.page_url)
    page.locator("#message textarea").fill("Hello!")
    page.keyboard.press("Enter")
    page.wait_for_selector("#chat .bot", timeout=60_000)
    page.wait_for_timeout(2000)  # the reply streams on; a heartbeat stays open, so no "network idle"
    page.close()

    assert any("/gradio_api/" in url for url in requested)
    foreign = [url for url in requested if not url.startswith((served.url, "data:", "blob:", "about:"))]
    assert foreign == [], f"the page asked for: {foreign}"


def test_with_a_server_chatdesk_connects_to_that_server_and_nothing_else(launch, tmp_path):
    from chatdesk.catalog import models
    from tests.servers import InferenceServer

    server = InferenceServer("llama-server", models.find_default_model(), log=tmp_path / "server.log")
    try:
        record = tmp_path / "network.jsonl"
        app = launch(str(record), "--no-window", "--server", server.url, command=[sys.executable, "-c", AUDITED])
        url = chat_then_quit(app)
    finally:
        server.stop()

    calls = [json.loads(line) for line in record.read_text().splitlines()]
    app_port = int(url.rstrip("/").rsplit(":", 1)[1])
    connects = [args[1] for event, args in calls if event == "socket.connect" and not isinstance(args[1], str)]
    assert [server.port] == sorted({port for _host, port in connects if port != app_port}), connects
    assert all(_loopback(host) for host, _port in connects)
    outside = [call for call in calls if not is_local(*call)]
    assert outside == [], f"chatdesk reached beyond the server: {outside}"
