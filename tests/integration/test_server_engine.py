"""Chatting through real inference servers on 127.0.0.1 with the default model: llama.cpp's C++ server
(xllamacpp) and llama-cpp-python's server. vLLM's and Ollama's shapes are in test_server_shapes.py."""

import time

import pytest

from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.core.session import ChatSession
from chatdesk.engine.generation import SamplingParams
from chatdesk.engine.server import ServerEngine
from chatdesk.engine.server_api import ServerError
from chatdesk.errors import ContextOverflow, UserError
from chatdesk.store.database import Store
from tests.apprunner import free_port

pytestmark = pytest.mark.slow

STORY = [{"role": "user", "content": "Tell me a long story about a dragon and a knight."}]
SETTLE = 60  # seconds a server may take to notice a client gone (it is a shared, busy machine)


@pytest.fixture
def engine(inference_server):
    engine = ServerEngine(inference_server.url, context_length=inference_server.n_ctx)
    yield engine
    engine.close()


def session_over(engine, tmp_path):
    host = ModelHost(engine, Settings(max_tokens=40, system_prompt="Be brief."))
    return ChatSession.over(host, Store(tmp_path / "chatdesk.db"))


def wait_until(condition, timeout=SETTLE):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_reply_streams_in_pieces_with_the_client_and_server_figures(engine, inference_server):
    generation = engine.chat(STORY, SamplingParams(max_tokens=40))
    pieces = [piece for piece in generation if piece]  # not the empty one saying the prompt is being read
    stats = generation.stats
    assert len(pieces) >= 2 and "".join(pieces).strip()
    assert stats.finish_reason in ("stop", "length") and 0 < stats.completion_tokens <= 40
    assert stats.time_to_first_token > 0 and stats.tokens_per_second > 0
    assert stats.model == engine.model_name and engine.model_name.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    if inference_server.kind == "llama-server":  # it reports its usage and timings, and a fingerprint
        assert stats.server["usage"]["completion_tokens"] == stats.completion_tokens
        assert stats.server["timings"]["predicted_n"] > 0 and stats.server["system_fingerprint"]


def test_stop_closes_the_stream_within_a_token_and_the_server_stops_computing(engine, inference_server):
    generation = engine.chat(STORY, SamplingParams(max_tokens=1000))
    pieces = iter(generation)
    while not next(pieces):  # past the prompt being read, to the first words
        pass
    generation.cancel()
    at_cancel = generation.tokens_so_far
    list(pieces)
    assert generation.stats.finish_reason == "cancelled"
    assert generation.tokens_so_far - at_cancel <= 1
    if inference_server.kind == "llama-server":
        assert wait_until(lambda: not inference_server.busy()), "the slot kept computing after Stop"
    follow_up = engine.chat(STORY, SamplingParams(max_tokens=3))  # the server is free for the next reply
    list(follow_up)
    assert follow_up.stats.finish_reason == "length"


def test_retry_sends_a_fresh_seed_and_gets_a_different_reply(engine):
    params = SamplingParams(max_tokens=30, temperature=0.9)
    first = engine.chat(STORY, params)
    first_text = "".join(first)  # one at a time: llama-cpp-python's server drops a reply when the next comes
    second = engine.chat(STORY, params)
    second_text = "".join(second)
    assert first.stats.seed != second.stats.seed
    assert first_text != second_text


def test_the_context_length_comes_from_the_server_where_it_tells(inference_server):
    engine = ServerEngine(inference_server.url, context_length=999)  # 999: the setting, used otherwise
    try:
        if inference_server.kind == "llama-server":  # /props
            assert engine.context_length == inference_server.n_ctx == 2048
        else:  # llama-cpp-python's server does not say: the setting stands
            assert engine.context_length == 999
    finally:
        engine.close()


def test_the_readout_counts_the_prompt_as_the_server_does(engine, inference_server):
    counted = engine.count_tokens(STORY)
    generation = engine.chat(STORY, SamplingParams(max_tokens=2))
    list(generation)
    if inference_server.kind == "llama-server":  # /apply-template and /tokenize: exact
        assert counted == generation.stats.server["usage"]["prompt_tokens"] == generation.stats.prompt_tokens
    else:  # /extras/tokenize per message, plus what a template adds around each
        assert 15 <= counted <= 60


def test_a_prompt_the_server_refuses_as_too_long_is_explained(engine, inference_server):
    engine.context_length = 100_000  # as if the setting were wrong: the server is the one to refuse
    long = [{"role": "user", "content": "The committee met and agreed on the plan. " * 400}]
    generation = engine.chat(long, SamplingParams(max_tokens=10))
    if inference_server.kind == "llama-server":  # HTTP 400: the same message a local model gives
        with pytest.raises(ContextOverflow, match="This message is too long for the model"):
            list(generation)
    else:  # llama-cpp-python's server answers 200, then ends the stream without a word
        with pytest.raises(ServerError, match="without writing anything.*context"):
            list(generation)


def test_continue_carries_on_where_the_server_can_and_says_so_where_it_cannot(engine, inference_server):
    partial = STORY + [{"role": "assistant", "content": "Once upon a time, a dragon"}]
    if inference_server.kind == "llama-server":  # raw completion with the server's own template
        generation = engine.chat(partial, SamplingParams(max_tokens=10), continue_reply=True)
        text = "".join(generation)
        assert text.strip() and not text.lstrip().startswith("Once upon a time")
    else:
        with pytest.raises(ServerError, match="cannot continue a reply"):
            engine.chat(partial, SamplingParams(max_tokens=10), continue_reply=True)


@pytest.mark.parametrize("kind", ["llama-server", "llama-cpp-python"])
def test_a_server_killed_mid_reply_leaves_the_partial_reply_interrupted_and_continuable(kind, start_server, tmp_path):
    server = start_server(kind)
    engine = ServerEngine(server.url, context_length=2048)
    session = session_over(engine, tmp_path)
    conversation = session.new_conversation()
    session.host.settings = Settings(max_tokens=1000, system_prompt="Be brief.")
    updates = session.submit(conversation, "Tell me a long story about a dragon and a knight.")
    with pytest.raises(UserError, match="went away in the middle of the reply"):
        for shown in updates:
            if shown.messages[-1].role == "assistant" and len(shown.messages[-1].content) > 10:
                server.kill()
    reply = conversation.messages[-1]
    assert len(reply.content) > 10 and reply.status == "interrupted"
    assert session.find(conversation.id).messages[-1].content == reply.content  # kept in the history
    assert conversation.can_continue(1) and conversation.generation is None
    if kind == "llama-server":  # back on the same address, Continue carries on the same reply
        start_server(kind, port=server.port)
        before = reply.content
        session.host.settings = Settings(max_tokens=10, system_prompt="Be brief.")
        list(session.continue_reply(conversation, 1))
        assert reply.content.startswith(before) and len(reply.content) > len(before)
        assert reply.status == "complete"
    session.close()


@pytest.mark.parametrize("kind", ["llama-server", "llama-cpp-python"])
def test_a_wrong_api_key_is_refused_with_a_clear_message_and_the_right_one_is_never_recorded(
        kind, start_server, tmp_path, private_home):
    server = start_server(kind, api_key="right-key-3f9a")
    for wrong in ("wrong-key", None):
        with pytest.raises(ServerError, match="refused the API key"):
            ServerEngine(server.url, api_key=wrong)
    engine = ServerEngine(server.url, api_key="right-key-3f9a", context_length=2048)
    session = session_over(engine, tmp_path)
    conversation = session.new_conversation()
    list(session.submit(conversation, "Hello!"))
    reply = session.find(conversation.id).messages[-1]
    assert reply.content and reply.meta["origin"] == {"server": server.url, "model_id": engine.model_id}
    exported = session.history.export_all().read_text()
    session.close()
    assert "right-key-3f9a" not in exported and server.url in exported
    for path in [tmp_path / "chatdesk.db", *private_home.rglob("*")]:
        if path.is_file():
            assert b"right-key-3f9a" not in path.read_bytes(), path


def test_a_wrong_address_is_explained(inference_server):
    nobody = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ServerError, match="Could not connect.*refused"):
        ServerEngine(nobody)
    with pytest.raises(ServerError, match="HTTP 404.*right address and path"):
        ServerEngine(inference_server.url + "/chat")
    with pytest.raises(ServerError, match="not a server address"):
        ServerEngine("ftp://example")


def test_the_url_works_with_or_without_v1(inference_server):
    root = inference_server.url.removesuffix("/v1")
    for url in (root, root + "/", inference_server.url, inference_server.url + "/"):
        engine = ServerEngine(url)
        assert engine.origin["server"] == inference_server.url
        engine.close()


def test_closing_lets_the_reply_being_written_finish_then_refuses(inference_server):
    engine = ServerEngine(inference_server.url, context_length=inference_server.n_ctx)
    generation = engine.chat(STORY, SamplingParams(max_tokens=8))
    engine.close()  # a switch to another model: the reply on screen is not cut off
    assert "".join(generation).strip() and generation.stats.finish_reason in ("stop", "length")
    with pytest.raises(ServerError, match="unloaded"):
        engine.chat(STORY, SamplingParams(max_tokens=8))


def test_chatdesk_takes_the_key_from_chatdesk_api_key_or_from_where_the_panel_kept_it(start_server, monkeypatch):
    from chatdesk.catalog import server_keys
    from chatdesk.cli import open_engine

    server = start_server("llama-server", api_key="env-key-51c0")
    settings = Settings(server_url=server.url.removesuffix("/v1"), context_length=2048)
    with pytest.raises(ServerError, match="refused the API key"):
        open_engine(settings)
    monkeypatch.setenv("CHATDESK_API_KEY", "env-key-51c0")
    engine, sha256 = open_engine(settings)
    assert engine.origin["server"] == server.url and sha256 is None
    engine.close()
    monkeypatch.delenv("CHATDESK_API_KEY")
    server_keys.save_key(server.url, "env-key-51c0")
    engine, _ = open_engine(settings)
    engine.close()
