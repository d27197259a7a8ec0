"""The Model panel's Servers, in real Chromium against a real llama-server (xllamacpp) on 127.0.0.1."""

import pytest
from playwright.sync_api import expect

from chatdesk.catalog import models
from tests.apprunner import RunningApp, free_port
from tests.e2e.chatpage import bot_texts, open_page, send
from tests.servers import InferenceServer

KEY = "panel-key-7d21"


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    server = InferenceServer("llama-server", models.find_default_model(), api_key=KEY,
                             log=tmp_path_factory.mktemp("server") / "llama-server.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = RunningApp(tmp_path_factory.mktemp("home"), "--max-tokens", "20")
    yield running
    running.stop()


def open_servers(page):
    page.click("#model-panel")
    page.click("#servers-panel")


def enter_address(page, url: str) -> None:
    field = page.get_by_label("Server address")
    field.fill(url)
    field.press("Enter")


def test_test_connection_says_what_is_wrong_and_a_server_model_is_used_like_a_local_one(chromium, app, keyed_server):
    page = open_page(chromium, app.url, new_chat=True)
    open_servers(page)
    status = page.locator("#server-status")

    enter_address(page, f"http://127.0.0.1:{free_port()}/v1")
    page.get_by_role("button", name="Test connection").click()
    expect(status).to_contain_text("Could not connect", timeout=30_000)

    enter_address(page, keyed_server.url)
    page.get_by_role("button", name="Test connection").click()
    expect(status).to_contain_text("refused the API key", timeout=30_000)

    page.get_by_label("API key (optional)").fill(KEY)
    page.get_by_role("button", name="Add server").click()
    expect(status).to_contain_text("Connected to", timeout=30_000)
    expect(status).to_contain_text("1 model")
    expect(page.get_by_label("API key (optional)")).to_have_value("")  # kept, out of sight

    page.get_by_role("button", name="Use this server model").click()
    expect(page.locator("#model-status")).to_contain_text(f"on {keyed_server.url}", timeout=60_000)
    expect(page.locator("#title")).to_contain_text("SmolLM2-135M-Instruct.Q4_1.gguf")
    send(page, "Hello!")
    assert bot_texts(page)[-1].strip()
    assert KEY not in (app.home / "data" / "settings.json").read_text()
