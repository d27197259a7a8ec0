"""Nobody else drives it: neither a page from another origin nor a program without this launch's secret."""

import http.server
import socket
import threading

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError

from chatdesk.desktop.guard import CONTENT_SECURITY_POLICY
from chatdesk.desktop.loading import write_loading_page
from tests.desktop.conftest import bearer, user_messages
from tests.desktop.xsession import wait_for

pytestmark = pytest.mark.slow

HOSTILE_PAGE = b"<!doctype html><title>elsewhere</title><p>another local web page</p>"
ATTEMPTS = """async (app) => {
  const json = {"Content-Type": "application/json"};
  const tries = {
    call_chat: () => fetch(app + "gradio_api/call/chat", {method: "POST", headers: json,
                              body: JSON.stringify({data: ["Hi from elsewhere", ""]})}),
    queue_join: () => fetch(app + "gradio_api/queue/join", {method: "POST", headers: json,
                              body: JSON.stringify({data: ["Hi", ""], fn_index: 0, session_hash: "x1"})}),
    blind_post: () => fetch(app + "gradio_api/call/chat", {method: "POST", mode: "no-cors",
                              headers: {"Content-Type": "text/plain"},
                              body: JSON.stringify({data: ["Blind hi", ""]})}),
    api_info: () => fetch(app + "gradio_api/info"),
    config: () => fetch(app + "config"),
    page: () => fetch(app),
  };
  const results = {};
  for (const [name, attempt] of Object.entries(tries)) {
    try {
      const response = await attempt();
      const body = response.type === "opaque" ? null : await response.text();
      results[name] = {status: response.status, type: response.type, body: body && body.slice(0, 200)};
    } catch (error) {
      results[name] = {error: String(error)};
    }
  }
  return results;
}"""


@pytest.fixture
def hostile_origin():
    """Another web server on loopback, serving a page of its own."""
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(HOSTILE_PAGE)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_page_from_another_local_origin_can_neither_send_nor_read(served, browser, hostile_origin):
    before = user_messages(served.home)
    page = browser.new_page()
    page.goto(hostile_origin)
    results = page.evaluate(ATTEMPTS, served.url)
    page.close()

    for name, result in results.items():
        readable = "error" not in result and result["type"] != "opaque"
        assert not readable or result["status"] == 403, f"{name} got through: {result}"
    assert user_messages(served.home) == before, "a message from another origin reached the model"
    assert "refused POST /gradio_api/call/chat: cross-origin request" in served.log_text()

    client = served.client()  # no Origin header and the secret: local programs of this user still work
    assert client.predict("Hello!", api_name="/chat").strip()
    assert user_messages(served.home) == before + 1


def test_forged_hosts_origins_and_frames_are_refused(served):
    port = int(served.url.rsplit(":", 1)[1].strip("/"))
    with httpx.Client(base_url=served.url, headers=served.headers, timeout=10) as http:
        assert http.get("/").status_code == 200
        assert http.get("/", headers={"Host": f"attacker.example:{port}"}).status_code == 403  # DNS rebinding
        assert http.get("/", headers={"Origin": "null"}).status_code == 403
        assert http.get("/", headers={"Origin": f"http://localhost:{port + 1}"}).status_code == 403
        own = http.get("/gradio_api/info", headers={"Origin": served.url.rstrip("/")})
        assert own.status_code == 200
        assert own.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'self'" in CONTENT_SECURITY_POLICY


WITHOUT_THE_SECRET = [
    ("GET", "/", {}), ("GET", "/config", {}), ("GET", "/gradio_api/info", {}),
    ("POST", "/gradio_api/call/chat", {"json": {"data": ["Hi without the secret", ""]}}),
    ("POST", "/gradio_api/queue/join", {"json": {"data": ["Hi", ""], "fn_index": 0, "session_hash": "x2"}}),
    ("POST", "/gradio_api/upload", {"files": {"files": ("a.json", b"{}")}}),
    ("GET", "/gradio_api/queue/data?session_hash=x2", {}),
    ("GET", "/gradio_api/heartbeat/x2", {}),
    ("GET", "/gradio_api/file=/etc/hostname", {}),
]


@pytest.mark.parametrize("credentials", [
    {}, {"headers": {"Authorization": "Bearer wrong"}}, {"headers": {"Authorization": "Basic x"}},
    {"cookies": {"chatdesk-0": "x"}}, {"params": {"token": "wrong"}},
], ids=["none", "wrong-bearer", "basic", "wrong-cookie", "wrong-token"])
def test_without_the_secret_every_request_is_refused_and_changes_nothing(served, credentials):
    before = user_messages(served.home)
    with httpx.Client(base_url=served.url, timeout=10, cookies=credentials.pop("cookies", None)) as http:
        for method, path, body in WITHOUT_THE_SECRET:
            answer = http.request(method, path, **body, **credentials)
            assert answer.status_code == 401, f"{method} {path}: {answer.status_code} {answer.text[:200]}"
    with pytest.raises(AuthenticationError):
        Client(served.url, verbose=False)  # gradio_client says why
    assert user_messages(served.home) == before, "a request without the secret reached the history"
    assert Client(served.url, headers=bearer(served.secret), verbose=False).predict(api_name="/new_conversation")


def test_the_window_gets_a_strict_http_only_cookie_and_an_address_without_the_token(served, browser):
    before = user_messages(served.home)
    context = browser.new_context()
    page = context.new_page()
    page.goto(write_loading_page(served.page_url).as_uri())  # as the window opens it: the loading page first
    page.wait_for_selector("#message textarea", timeout=60_000)
    assert page.url == served.url, "the token stays out of the address bar and history"
    [cookie] = context.cookies()
    assert (cookie["value"], cookie["httpOnly"], cookie["sameSite"]) == (served.secret, True, "Strict")
    assert served.secret not in page.evaluate("document.cookie"), "the page's scripts cannot read it"
    page.locator("#message textarea").fill("Hello from the window")
    page.keyboard.press("Enter")
    assert wait_for(lambda: user_messages(served.home) == before + 1, 60), "the page's message did not arrive"
    page.reload()
    page.wait_for_selector("#message textarea", timeout=60_000)  # a reload keeps working
    context.close()

    stranger = browser.new_context().new_page()  # the same address without the secret
    answer = stranger.goto(served.url)
    assert answer.status == 401 and "Unauthorized" in stranger.content()
    stranger.context.close()


def test_gradio_alone_lets_any_local_origin_call_and_read(tmp_path):
    """Why the guard exists: Gradio echoes localhost origins of any port back as allowed."""
    import gradio as gr

    def shout(text: str) -> str:
        return text.upper()

    with gr.Blocks() as demo:
        gr.api(shout, api_name="shout")
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        other = f"http://127.0.0.1:{port + 1}"
        reply = httpx.post(f"http://127.0.0.1:{port}/gradio_api/call/shout", json={"data": ["hi"]},
                           headers={"Origin": other}, timeout=10)
    finally:
        demo.close(verbose=False)
    assert reply.status_code == 200 and "event_id" in reply.json()
    assert reply.headers.get("access-control-allow-origin") == other


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
