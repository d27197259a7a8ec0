"""Servers that do not run here (vLLM, Ollama), and servers misbehaving, as recorded responses served over real
HTTP on 127.0.0.1: the shapes their documentation gives, read by the real server engine."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.core.reasoning import split_reasoning
from chatdesk.core.session import ChatSession
from chatdesk.engine import server_api
from chatdesk.engine.generation import SamplingParams
from chatdesk.engine.server import ServerEngine
from chatdesk.engine.server_api import ServerError
from chatdesk.errors import ContextOverflow
from chatdesk.store.database import Store

HELLO = [{"role": "user", "content": "Hello"}]
VLLM_MODELS = {"object": "list", "data": [{
    "id": "Qwen/Qwen3-8B", "object": "model", "created": 1760000000, "owned_by": "vllm", "root": "Qwen/Qwen3-8B",
    "parent": None, "max_model_len": 32768, "permission": [{"id": "modelperm-1", "object": "model_permission"}]}]}
OLLAMA_MODELS = {"object": "list", "data": [{"id": "qwen3:8b", "object": "model", "created": 1760000000,
                                             "owned_by": "library"}]}
OLLAMA_SHOW = {"modelfile": "FROM qwen3:8b", "parameters": "num_ctx 8192\nstop \"<|im_end|>\"",
               "template": "{{ .Prompt }}", "details": {"format": "gguf", "family": "qwen3"},
               "model_info": {"general.architecture": "qwen3", "qwen3.context_length": 40960}}
VLLM_OVERFLOW = {"object": "error", "type": "BadRequestError", "param": None, "code": 400, "message":
                 "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens "
                 "(39000 in the messages, 1000 in the completion). Please reduce the length of the messages."}


def chunk(model, delta=None, finish=None, **extra):
    choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1760000000, "model": model,
            "choices": choices, **extra}


def thinking_stream(model, field, fingerprint):
    """A reasoning model's stream: reasoning deltas in `field`, then the answer, then usage."""
    return [chunk(model, {"role": "assistant", "content": ""}, system_fingerprint=fingerprint),
            chunk(model, {field: "The user greets me."}, system_fingerprint=fingerprint),
            chunk(model, {field: " I should greet back."}, system_fingerprint=fingerprint),
            chunk(model, {"content": "Hello"}, system_fingerprint=fingerprint),
            chunk(model, {"content": "!"}, "stop", system_fingerprint=fingerprint),
            chunk(model, usage={"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
                  system_fingerprint=fingerprint)]


class Recorded:
    """An HTTP server on 127.0.0.1 answering from a table: path -> (status, JSON, or a list of SSE events)."""

    def __init__(self, routes: dict, *, delay: float = 0.0):
        self.routes, self.delay, self.requests = routes, delay, []
        recorded = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                recorded.answer(self, None)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorded.answer(self, json.loads(body or b"{}"))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, handler, body) -> None:
        self.requests.append((handler.path, body))
        status, answer = self.routes.get(handler.path, (404, {"error": {"message": "Not Found"}}))
        if isinstance(answer, list):
            time.sleep(self.delay)  # reading the prompt
            handler.send_response(status)
            handler.send_header("Content-Type", "text/event-stream")
            handler.end_headers()
            for event in answer:
                handler.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                handler.wfile.flush()
            handler.wfile.write(b"data: [DONE]\n\n")
            return
        payload = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/html" if isinstance(answer, str) else "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def sent(self, path):
        return [body for seen, body in self.requests if seen == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorded():
    servers = []

    def serve(routes, **options):
        servers.append(Recorded(routes, **options))
        return servers[-1]

    yield serve
    for server in servers:
        server.close()


def vllm_routes(stream=None, status=200):
    model = "Qwen/Qwen3-8B"
    return {"/v1/models": (200, VLLM_MODELS),
            "/v1/chat/completions": (status, stream or thinking_stream(model, "reasoning_content", "fp_vllm_1"))}


def test_vllm_context_length_comes_from_max_model_len(recorded):
    engine = ServerEngine(recorded(vllm_routes()).url, context_length=4096)
    assert engine.context_length == 32768 and engine.model_name == "Qwen/Qwen3-8B"


def test_vllm_reasoning_content_becomes_a_folded_think_block_and_its_fingerprint_is_recorded(recorded, tmp_path):
    engine = ServerEngine(recorded(vllm_routes()).url)
    session = ChatSession.over(ModelHost(engine, Settings()), Store(tmp_path / "chatdesk.db"))
    conversation = session.new_conversation()
    list(session.submit(conversation, "Hello"))
    reply = session.find(conversation.id).messages[-1]
    assert split_reasoning(reply.content) == ("The user greets me. I should greet back.", "Hello!")
    assert reply.meta["origin"] == {"server": engine.origin["server"], "model_id": "Qwen/Qwen3-8B"}
    assert reply.stats.server["system_fingerprint"] == "fp_vllm_1"
    assert reply.stats.completion_tokens == 12 and reply.stats.prompt_tokens == 9
    assert conversation.prompt()[-1] == {"role": "assistant", "content": "Hello!"}  # later turns: the answer only
    session.close()


def test_vllm_continues_a_reply_by_prefill(recorded):
    server = recorded(vllm_routes())
    engine = ServerEngine(server.url)
    list(engine.chat(HELLO + [{"role": "assistant", "content": "Hel"}], SamplingParams(), continue_reply=True))
    sent = server.sent("/v1/chat/completions")[-1]
    assert sent["continue_final_message"] is True and sent["add_generation_prompt"] is False
    assert sent["messages"][-1] == {"role": "assistant", "content": "Hel"}


def test_vllm_refusing_an_over_long_prompt_gets_the_local_message(recorded):
    engine = ServerEngine(recorded(vllm_routes(VLLM_OVERFLOW, status=400)).url)
    with pytest.raises(ContextOverflow, match="This message is too long for the model.*32768-token context"):
        list(engine.chat(HELLO, SamplingParams()))


def test_each_request_sends_a_fresh_seed_and_the_sampling_settings(recorded):
    server = recorded(vllm_routes())
    engine = ServerEngine(server.url)
    for _ in range(2):
        list(engine.chat(HELLO, SamplingParams(temperature=0.3, max_tokens=99)))
    first, second = server.sent("/v1/chat/completions")
    assert first["seed"] != second["seed"]
    assert first["temperature"] == 0.3 and first["max_tokens"] == 99 and first["stream"] is True
    assert first["stream_options"] == {"include_usage": True}


def ollama_routes(show=OLLAMA_SHOW):
    return {"/v1/models": (200, OLLAMA_MODELS), "/api/version": (200, {"version": "0.12.3"}),
            "/api/show": (200, show),
            "/v1/chat/completions": (200, thinking_stream("qwen3:8b", "reasoning", "fp_ollama"))}


def test_ollama_context_length_comes_from_api_show(recorded):
    server = recorded(ollama_routes())
    assert ServerEngine(server.url).context_length == 8192  # num_ctx, what Ollama runs the model with
    assert server.sent("/api/show")[-1] == {"model": "qwen3:8b"}
    bare = recorded(ollama_routes(dict(OLLAMA_SHOW, parameters="")))
    assert ServerEngine(bare.url).context_length == 40960  # else the model's own


def test_ollama_reasoning_deltas_become_a_think_block_and_a_reply_is_continued_by_prefill(recorded):
    server = recorded(ollama_routes())
    engine = ServerEngine(server.url)
    assert split_reasoning("".join(engine.chat(HELLO, SamplingParams()))) == (
        "The user greets me. I should greet back.", "Hello!")
    list(engine.chat(HELLO + [{"role": "assistant", "content": "Hel"}], SamplingParams(), continue_reply=True))
    assert server.sent("/v1/chat/completions")[-1]["messages"][-1] == {"role": "assistant", "content": "Hel"}


def test_a_server_that_gives_no_context_length_leaves_the_setting(recorded):
    routes = {"/v1/models": (200, {"object": "list", "data": [{"id": "local-model", "object": "model"}]})}
    assert ServerEngine(recorded(routes).url, context_length=3000).context_length == 3000


def test_a_web_page_where_the_api_should_be_is_not_openai_compatible(recorded):
    server = recorded({"/v1/models": (200, "<html><body>Welcome to nginx!</body></html>")})
    with pytest.raises(ServerError, match="does not look like an OpenAI-compatible server"):
        ServerEngine(server.url)
    odd = recorded({"/v1/models": (200, {"models": ["a", "b"]})})
    with pytest.raises(ServerError, match="does not look like an OpenAI-compatible server"):
        ServerEngine(odd.url)


def test_a_server_that_never_answers_is_a_timeout(monkeypatch):
    monkeypatch.setattr(server_api, "PROBE_SECONDS", 1)
    with socket.socket() as silent:  # accepts connections, says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(ServerError, match="did not answer in time"):
            ServerEngine(f"http://127.0.0.1:{silent.getsockname()[1]}/v1")


def test_a_slow_prompt_does_not_time_the_stream_out(recorded, monkeypatch):
    monkeypatch.setattr(server_api, "PROBE_SECONDS", 1)  # a reply waits far longer than a model list
    engine = ServerEngine(recorded(vllm_routes(), delay=3).url)
    generation = engine.chat(HELLO, SamplingParams())
    assert split_reasoning("".join(generation))[1] == "Hello!"
    assert generation.stats.time_to_first_token >= 3


def test_an_error_event_in_the_stream_is_reported(recorded):
    stream = [chunk("m", {"content": "Hi"}), {"error": {"code": 500, "message": "out of memory", "type": "server"}}]
    engine = ServerEngine(recorded(vllm_routes(stream)).url)
    with pytest.raises(ServerError, match="stopped the reply: out of memory"):
        list(engine.chat(HELLO, SamplingParams()))


def test_a_server_with_several_models_serves_the_one_asked_for_and_names_the_others(recorded):
    models = {"object": "list", "data": [{"id": "small"}, {"id": "big"}]}
    server = recorded({"/v1/models": (200, models)})
    assert ServerEngine(server.url).model_name == "small"
    assert ServerEngine(server.url, model="big").model_name == "big"
    with pytest.raises(ServerError, match="no model “huge”; it offers: small, big"):
        ServerEngine(server.url, model="huge")
