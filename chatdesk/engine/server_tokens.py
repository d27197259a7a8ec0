"""Counting a chat's tokens on an inference server: exactly where it offers a template and a tokenizer,
else from its tokenizer per message, else estimated and corrected by the usage it reports."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence

import httpx

from chatdesk.engine import server_api

PER_MESSAGE = 5  # tokens a chat template adds around each message, when it cannot be asked
CHARS_PER_TOKEN = 4.0  # a first guess, for servers that can count nothing; usage corrects it
REMEMBERED = 64  # texts whose counts are kept: a prompt is counted while typed, checked, then sent


class TokenCounter:
    """How many tokens a list of messages takes on one server."""

    def __init__(self, http: httpx.Client, model_id: str):
        self._http = http
        self._model_id = model_id
        self._ways: tuple[bool, str | None] | None = None  # (has /apply-template, tokenize path), once probed
        self._known: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        self._scale = 1.0  # usage reported / estimated, for servers that can count nothing

    @property
    def has_template(self) -> bool:
        """Whether the server formats a chat into its model's prompt text (llama-server's /apply-template)."""
        return self._probe()[0]

    def template(self, messages: Sequence[dict]) -> str | None:
        """The prompt text the server makes of `messages`, ready for a reply; None when it cannot say."""
        body = server_api.try_json(self._http, "POST", "/apply-template", {"messages": list(messages)})
        prompt = body.get("prompt") if isinstance(body, dict) else None
        return prompt if isinstance(prompt, str) else None

    def count(self, messages: Sequence[dict], *, continue_reply: bool = False) -> int:
        """Tokens `messages` take as a prompt (for continuing the last one, when `continue_reply`)."""
        messages = [{"role": m["role"], "content": m["content"]} for m in messages]
        key = json.dumps([messages, continue_reply])
        with self._lock:
            if key in self._known:  # a prompt is counted while typed, checked when sent, then sent
                self._known.move_to_end(key)
                return self._known[key]
        counted = self._count(messages, continue_reply)
        if self._probe()[1]:  # counted by the server (an estimate moves with the usage reported)
            self._remember(key, counted)
        return counted

    def _count(self, messages: list[dict], continue_reply: bool) -> int:
        has_template, tokenize = self._probe()
        if has_template and tokenize:
            tail = messages.pop()["content"] if continue_reply and messages[-1:] and \
                messages[-1]["role"] == "assistant" else ""
            prompt = self.template(messages)
            if prompt is not None:
                counted = self._tokens(prompt + tail, tokenize)
                if counted is not None:
                    return counted
        if tokenize:
            counts = [self._tokens(m["content"], tokenize) for m in messages]
            if None not in counts:
                return sum(counts) + PER_MESSAGE * len(messages) + 3
        return self.estimate(messages)

    def estimate(self, messages: Sequence[dict]) -> int:
        """A guess from the characters, scaled by what the server reported for earlier prompts."""
        chars = sum(len(m["content"]) for m in messages)
        return round((chars / CHARS_PER_TOKEN + PER_MESSAGE * len(messages) + 3) * self._scale)

    def reported(self, messages: Sequence[dict], prompt_tokens: int) -> None:
        """The server said `messages` took `prompt_tokens`: estimate later prompts by it."""
        if self._ways is not None and self._ways[1] is None and prompt_tokens > 0:
            guess = self.estimate(messages) / self._scale
            self._scale = min(4.0, max(0.25, prompt_tokens / max(guess, 1.0)))

    def _probe(self) -> tuple[bool, str | None]:
        """Which of llama-server's /apply-template and /tokenize, or llama-cpp-python's /extras/tokenize, exist."""
        if self._ways is None:
            has_template = self.template([{"role": "user", "content": "hi"}]) is not None
            tokenize = next((path for path in ("/tokenize", "/extras/tokenize")
                             if self._tokenize(path, "hi") is not None), None)
            self._ways = (has_template, tokenize)
        return self._ways

    def _tokens(self, text: str, path: str) -> int | None:
        """How many tokens `text` is, remembered."""
        with self._lock:
            if text in self._known:
                self._known.move_to_end(text)
                return self._known[text]
        tokens = self._tokenize(path, text)
        if tokens is None:
            return None
        self._remember(text, len(tokens))
        return len(tokens)

    def _remember(self, key: str, count: int) -> None:
        with self._lock:
            self._known[key] = count
            if len(self._known) > REMEMBERED:
                self._known.popitem(last=False)

    def _tokenize(self, path: str, text: str) -> list | None:
        payload = {"content": text} if path == "/tokenize" else {"input": text, "model": self._model_id}
        body = server_api.try_json(self._http, "POST", path, payload)
        tokens = body.get("tokens") if isinstance(body, dict) else None
        return tokens if isinstance(tokens, list) else None
