"""The server engine: chat through an OpenAI-compatible inference server (llama-server, vLLM, Ollama,
LM Studio, llama-cpp-python's server), streamed over server-sent events, with the local engine's semantics."""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from collections.abc import Sequence

import httpx

from chatdesk.engine import server_api
from chatdesk.engine.fitting import fit_turns
from chatdesk.engine.generation import Generation, SamplingParams, Stats
from chatdesk.engine.server_api import Address, ServerError
from chatdesk.engine.server_tokens import TokenCounter
from chatdesk.errors import ContextOverflow, overflow_message

_OVERFLOW = re.compile(r"context|too long|maximum.*length|exceeds", re.IGNORECASE)
LONG_PROMPT = 512  # tokens to read from which llama-server's figures are shown: a shorter prompt is soon read


class ServerEngine:
    """One model on one server; each reply is one streamed request, never retried by itself."""

    def __init__(self, url: str, *, model: str | None = None, api_key: str | None = None,
                 context_length: int = 4096):
        self.address = Address.parse(url)
        self._http = server_api.client(self.address, api_key)
        try:
            entry = _pick(server_api.list_models(self._http, self.address), model, self.address)
            self.model_id = entry["id"]
            self.flavour = _flavour(self._http, entry)
            self.context_length = server_api.context_length(self._http, entry) or context_length
        except BaseException:
            self._http.close()
            raise
        self.model_name = self.model_id
        self.origin = {"server": self.address.shown, "model_id": self.model_id}  # what each reply records
        self._tokens = TokenCounter(self._http, self.model_id)
        self._closed = False
        self._replies = threading.Condition()  # close() waits for the replies being written
        self._writing = 0

    def chat(self, messages: Sequence[dict], params: SamplingParams = SamplingParams(), *,
             continue_reply: bool = False, private: bool = False) -> Generation:
        """Start a reply to `messages` (or continue their last, assistant, message)."""
        self._refuse_if_closed()
        kept, count, dropped = self._fit(messages, params.max_tokens, continue_reply)
        seed = params.seed if params.seed is not None else random.randrange(2**31)
        path, payload = self._request(kept, params, seed, continue_reply)
        generation = Generation()
        generation.prompt_tokens = count
        job = (generation, path, payload, kept, seed, dropped, time.perf_counter())
        with self._replies:
            self._refuse_if_closed()
            self._writing += 1
        threading.Thread(target=self._write, args=job, name="chatdesk-server-reply", daemon=True).start()
        return generation

    def fit(self, messages: Sequence[dict], reply_budget: int, *,
            continue_reply: bool = False) -> tuple[list[int], int]:
        """The prompt that fits with `reply_budget` to spare (its length is what counts), and how many
        messages were left out."""
        _kept, count, dropped = self._fit(messages, reply_budget, continue_reply)
        return [0] * count, dropped

    def count_tokens(self, messages: Sequence[dict]) -> int:
        """How many context tokens `messages` take."""
        return self._tokens.count(messages) if messages else 0

    def prepare(self, messages: Sequence[dict], reply_budget: int, draft: str = "", *,
                private: bool = False) -> threading.Event:
        """Nothing to compute ahead: the server keeps its own prompt cache."""
        done = threading.Event()
        done.set()
        return done

    def close(self) -> None:
        """Let go of the server once the replies being written are done; later calls are refused."""
        with self._replies:
            self._closed = True
            self._replies.wait_for(lambda: self._writing == 0)
        self._http.close()

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise ServerError("This model was unloaded. Send the message again.")

    def _fit(self, messages: Sequence[dict], reply_budget: int, continue_reply: bool):
        """(messages kept, their prompt tokens, how many were left out), as the local engine fits them."""
        count = lambda kept: self._tokens.count(kept, continue_reply=continue_reply)  # noqa: E731
        return fit_turns(messages, self.context_length, reply_budget, count, int)

    def _request(self, messages: list[dict], params: SamplingParams, seed: int, continue_reply: bool):
        """(path, body) of the streamed request for a reply."""
        body = {"model": self.model_id, "stream": True, "stream_options": {"include_usage": True},
                "max_tokens": params.max_tokens, "temperature": params.temperature, "top_p": params.top_p,
                "top_k": params.top_k, "min_p": params.min_p, "repeat_penalty": params.repeat_penalty,
                "seed": seed}
        if self.flavour == "llamacpp":  # it then reports how far it has read the prompt
            body["return_progress"] = True
        if not (continue_reply and messages and messages[-1]["role"] == "assistant"):
            return "/v1/chat/completions", body | {"messages": messages}
        if self._tokens.has_template:  # raw completion: the server's own template, then the partial reply
            prompt = self._tokens.template(messages[:-1])
            if prompt is not None:
                return "/v1/completions", body | {"prompt": prompt + messages[-1]["content"]}
        if self.flavour == "vllm":
            return "/v1/chat/completions", body | {"messages": messages, "continue_final_message": True,
                                                   "add_generation_prompt": False}
        if self.flavour == "ollama":  # Ollama carries on a final assistant message by itself
            return "/v1/chat/completions", body | {"messages": messages}
        raise ServerError(f"The server at {self.address.shown} cannot continue a reply (it offers neither raw "
                          "completion with the model's template nor prefill). Press Retry for a new one.")

    def _write(self, *job) -> None:
        """One reply on its own thread, counted while it is written."""
        try:
            self._run(*job)
        finally:
            with self._replies:
                self._writing -= 1
                self._replies.notify_all()

    def _run(self, generation: Generation, path, payload, kept, seed, dropped, started) -> None:
        """Stream one reply into `generation`; never raises."""
        reply = _Reply(generation)
        try:
            with self._http.stream("POST", path, json=payload, timeout=server_api.stream_timeout()) as response:
                generation.on_cancel(lambda: _hang_up(response))
                if response.status_code != 200:
                    raise self._refusal(response, generation.prompt_tokens, payload["max_tokens"])
                generation.report_reading(0, 0)  # how far, only llama-server tells
                for event in server_api.sse_events(response):
                    reply.take(event, self._refusal_in_stream)
                    if generation.cancelled:
                        break
                if not (reply.ended or generation.cancelled):
                    raise self._cut_short(reply)
        except (httpx.HTTPError, OSError) as error:
            if not generation.cancelled:  # a hang-up by Stop surfaces as a read error: that is no failure
                generation.fail(self._lost(error, reply))
                return
        except Exception as error:  # a refusal, or an error event, handed to the reader
            generation.fail(error)
            return
        if reply.usage.get("prompt_tokens"):
            self._tokens.reported(kept, reply.usage["prompt_tokens"])
        generation.finish(reply.stats(self.model_name, seed, dropped, started))

    def _lost(self, error: Exception, reply: "_Reply") -> ServerError:
        """The connection failed: before the reply, the reason; during it, that what came is kept."""
        if not reply.pieces:
            return server_api.explain(error, self.address)
        return ServerError(f"The server at {self.address.shown} went away in the middle of the reply. What it "
                           "wrote is kept; press Continue once the server is back.")

    def _cut_short(self, reply: "_Reply") -> ServerError:
        """The stream ended without saying the reply was done (llama-cpp-python's server does so on an error)."""
        if reply.pieces:
            return ServerError(f"The server at {self.address.shown} ended the reply before finishing it. What it "
                               "wrote is kept; press Continue to carry on.")
        return ServerError(f"The server at {self.address.shown} ended the reply without writing anything. The "
                           "conversation may be too long for the context it runs with (its log says why): "
                           "set the context length in the Model panel to the server's.")

    def _refusal(self, response: httpx.Response, prompt_tokens: int, reply_budget: int) -> Exception:
        """An error answer to a reply request: an over-long prompt is a ContextOverflow like a local one."""
        message = server_api.error_message(response)
        if response.status_code == 400 and _OVERFLOW.search(message):
            budget = self.context_length - min(reply_budget, self.context_length // 2)
            return ContextOverflow(overflow_message(prompt_tokens, budget, self.context_length))
        return server_api.explain(httpx.HTTPStatusError(message, request=response.request, response=response),
                                  self.address)

    def _refusal_in_stream(self, error) -> Exception:
        """An error event in the stream (llama-server sends one when the prompt cannot be used)."""
        message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
        return ServerError(f"The server at {self.address.shown} stopped the reply: {message}")


class _Reply:
    """What a stream has brought so far: text (with reasoning as a <think> block), and the server's figures."""

    def __init__(self, generation: Generation):
        self.generation = generation
        self.pieces = 0
        self.first: float | None = None
        self.thinking = False
        self.finish = "length"
        self.ended = False  # the server said why the reply ended
        self.usage: dict = {}
        self.server: dict = {}

    def take(self, event: dict, refusal) -> None:
        """One event of the stream."""
        if "error" in event:
            raise refusal(event["error"])
        for name in ("usage", "timings", "system_fingerprint"):
            if event.get(name):
                self.server[name] = event[name]
        self.usage = event.get("usage") or self.usage
        progress = event.get("prompt_progress")
        if isinstance(progress, dict) and int(progress.get("total") or 0) > LONG_PROMPT:
            total = int(progress["total"])
            self.generation.report_reading(min(int(progress.get("processed") or 0), total), total)
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            text = delta.get("content") or choice.get("text")
            self._push(reasoning, text)
            if choice.get("finish_reason"):
                self.ended = True
                self.finish = "length" if choice["finish_reason"] == "length" else "stop"

    def _push(self, reasoning: str | None, text: str | None) -> None:
        piece = ""
        if reasoning:
            piece += ("" if self.thinking else "<think>\n") + reasoning
            self.thinking = True
        if text:
            piece += ("\n</think>\n\n" if self.thinking else "") + text
            self.thinking = False
        if piece:
            self.first = self.first or time.perf_counter()
            self.pieces += 1
            self.generation.push(piece)

    def stats(self, model: str, seed: int, dropped: int, started: float) -> Stats:
        """The reply's stats: timing measured here, counts as the server reported them when it did."""
        if self.thinking:
            self.generation.push("\n</think>\n")
        ended = time.perf_counter()
        tokens = self.usage.get("completion_tokens") or self.pieces
        decoding = ended - self.first if self.first else 0.0
        timings = self.server.get("timings") or {}
        return Stats(
            model=model, seed=seed, prompt_tokens=self.usage.get("prompt_tokens") or self.generation.prompt_tokens,
            completion_tokens=tokens, time_to_first_token=self.first - started if self.first else None,
            tokens_per_second=(tokens - 1) / decoding if tokens > 1 and decoding > 0 else None,
            total_seconds=ended - started, finish_reason="cancelled" if self.generation.cancelled else self.finish,
            dropped_messages=dropped, prompt_evaluated=timings.get("prompt_n"), server=self.server or None,
        )


def _hang_up(response: httpx.Response) -> None:
    """Stop: cut the connection under the reading thread, at once, even while the server reads the prompt.
    The server sees the client gone and stops computing."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed: the reply had ended
            pass


def _pick(models: list[dict], wanted: str | None, address: Address) -> dict:
    """The model asked for, or the server's only (or first) one."""
    if not models:
        raise ServerError(f"The server at {address.shown} offers no models.")
    if not wanted:
        return models[0]
    for entry in models:
        if wanted in (entry["id"], *entry.get("aliases", ())):
            return entry
    offered = ", ".join(m["id"] for m in models[:10])
    raise ServerError(f"The server at {address.shown} has no model “{wanted}”; it offers: {offered}.")


def _flavour(http: httpx.Client, entry: dict) -> str:
    """Which server this is, as far as its continue and context ways go: vllm, ollama, llamacpp or openai."""
    owner = str(entry.get("owned_by", "")).lower()
    if owner == "vllm" or "max_model_len" in entry:
        return "vllm"
    if owner == "llamacpp":
        return "llamacpp"
    if server_api.try_json(http, "GET", "/api/version") is not None:
        return "ollama"
    return "openai"
