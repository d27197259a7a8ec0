"""The Model panel's Servers, in real Chromium against a real llama-server (xllamacpp) on 127.0.0.1."""

import time

import pytest
from playwright.sync_api import expect

from chatdesk.catalog import models
from tests.apprunner import RunningApp, free_port
from tests.e2e.chatpage import (bot_texts, context_tokens, last_reply, message_button, open_page, option, send,
                                wait_idle, wait_words)
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
    page = open_page(chromium, app.page_url, new_chat=True)
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


@pytest.fixture(scope="module")
def server_app(tmp_path_factory):
    """chatdesk started with --server on a llama-server with the default model."""
    server = InferenceServer("llama-server", models.find_default_model(), n_ctx=4096,
                             log=tmp_path_factory.mktemp("server") / "llama-server.log")
    running = RunningApp(tmp_path_factory.mktemp("home"), "--server", server.url, "--max-tokens", "600")
    yield running, server
    running.stop()
    server.stop()


def test_through_a_server_stop_continue_retry_and_the_readout_work_as_with_a_local_model(chromium, server_app):
    app, server = server_app
    page = open_page(chromium, app.page_url, new_chat=True)
    expect(page.locator("#title")).to_contain_text("SmolLM2-135M-Instruct.Q4_1.gguf (4,096-token context)")
    send(page, "Write a very long essay about the history of bread.", wait=False)
    wait_words(page)
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_idle(page)
    stopped = last_reply(page)
    assert not server.busy() or wait_until_idle(server), "the server kept computing after Stop"
    expect(option(page, "Continue")).to_be_visible()
    assert context_tokens(page) > 20

    option(page, "Continue").click()
    page.wait_for_function("(before) => { const b = document.querySelectorAll('#chat [data-testid=\"bot\"]');"
                           " return b.length && b[b.length - 1].innerText.length > before + 20; }", arg=len(stopped),
                           timeout=60_000)
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_idle(page, count=1)
    continued = last_reply(page)
    assert continued.startswith(stopped[:30]) and len(continued) > len(stopped)

    message_button(page, "Retry").click()  # a new reply may begin with the same words: it is new once it differs
    page.wait_for_function("(before) => { const b = document.querySelectorAll('#chat [data-testid=\"bot\"]');"
                           " const t = b.length ? b[b.length - 1].innerText : ''; return t.length > 40 && !t.startsWith(before); }",
                           arg=continued, timeout=60_000)
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_idle(page, count=1)
    expect(option(page, "2/2")).to_be_visible()  # the retry is a new version, as locally


def wait_until_idle(server, timeout=60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.busy():
            return True
        time.sleep(0.2)
    return False
