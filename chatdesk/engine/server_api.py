"""Talking to an OpenAI-compatible inference server: its address, a client, what it offers, errors in plain words.

llama-server, vLLM, Ollama, LM Studio and llama-cpp-python's server all speak /v1/chat/completions; each adds
its own ways to tell the context length and to tokenize, which are probed here and used when present.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from chatdesk.errors import ModelError

CONNECT_SECONDS = 10
PROBE_SECONDS = 15  # a model list or a token count
# A stream may wait this long for its next byte: a big prompt on a busy server can take minutes to read.
STREAM_READ_SECONDS = 900


class ServerError(ModelError):
    """The server could not be used; the message says why, in the user's terms."""


@dataclass(frozen=True)
class Address:
    """Where a server is: its root (without /v1), as typed and as shown (never with credentials)."""

    root: str

    @classmethod
    def parse(cls, url: str) -> "Address":
        """`http://host:8080`, `host:8080/v1/` and the like; ServerError for what is not an http(s) URL."""
        url = (url or "").strip()
        if url and "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServerError(f"“{url}” is not a server address; give one like http://gpu-box:8080/v1.")
        path = parts.path.rstrip("/")
        if path.endswith("/v1"):
            path = path[:-3]
        return cls(urlunsplit((parts.scheme, parts.netloc, path, "", "")))

    @property
    def shown(self) -> str:
        """The address without any user name or password in it: safe to show, log and record."""
        parts = urlsplit(self.root)
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        if ":" in parts.hostname:
            netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", "")) + "/v1"

    @property
    def host(self) -> str:
        """The host name or address alone."""
        return urlsplit(self.root).hostname


def client(address: Address, api_key: str | None) -> httpx.Client:
    """A client for one server: its key as a bearer token, no automatic retries, no proxies from the env."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    timeout = httpx.Timeout(PROBE_SECONDS, connect=CONNECT_SECONDS)
    return httpx.Client(base_url=address.root, headers=headers, timeout=timeout, trust_env=False,
                        follow_redirects=False)


def stream_timeout() -> httpx.Timeout:
    """For a reply: quick to connect, patient while the server reads the prompt."""
    return httpx.Timeout(STREAM_READ_SECONDS, connect=CONNECT_SECONDS)


def explain(error: Exception, address: Address) -> ServerError:
    """A network or HTTP failure, in words a user can act on."""
    where = address.shown
    if isinstance(error, httpx.TimeoutException):
        return ServerError(f"The server at {where} did not answer in time (timed out). "
                           "Is the address right, and is the server up and not overloaded?")
    if isinstance(error, httpx.ConnectError):
        return ServerError(f"Could not connect to {where}: the connection was refused or the host is unknown. "
                           "Is the server running, and is the address right?")
    if isinstance(error, httpx.HTTPStatusError):
        return _status_error(error.response, where)
    if isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError)):
        return ServerError(f"The server at {where} closed the connection.")
    return ServerError(f"The server at {where} could not be used: {error}")


def _status_error(response: httpx.Response, where: str) -> ServerError:
    status = response.status_code
    if status in (401, 403):
        return ServerError(f"The server at {where} refused the API key (HTTP {status}). Check the key.")
    if status == 404:
        return ServerError(f"The server at {where} has no {response.request.url.path} (HTTP 404): "
                           "is this the right address and path? It usually ends in /v1.")
    return ServerError(f"The server at {where} answered HTTP {status}: {error_message(response)}")


def error_message(response: httpx.Response) -> str:
    """The message in an error response (OpenAI's {"error": {"message"}} and its variants)."""
    try:
        response.read()
        body = response.json()
    except (ValueError, httpx.HTTPError):
        return (getattr(response, "text", "") or "")[:300] or response.reason_phrase
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)[:300]
    return str(error)[:300]


def get_json(http: httpx.Client, address: Address, method: str, path: str, payload: dict | None = None):
    """One request's JSON answer; ServerError saying why when there is none."""
    try:
        response = http.request(method, path, json=payload)
        response.raise_for_status()
    except httpx.HTTPError as error:
        raise explain(error, address) from error
    try:
        return response.json()
    except ValueError:
        raise ServerError(f"{address.shown} answered {path} with something other than JSON: "
                          "it does not look like an OpenAI-compatible server.") from None


def try_json(http: httpx.Client, method: str, path: str, payload: dict | None = None):
    """An optional endpoint's JSON answer, or None when the server does not offer it."""
    try:
        response = http.request(method, path, json=payload)
        return response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def list_models(http: httpx.Client, address: Address) -> list[dict]:
    """The server's models (/v1/models); ServerError, worded for the user, when that fails."""
    body = get_json(http, address, "GET", "/v1/models")
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or not all(isinstance(m, dict) and "id" in m for m in data):
        raise ServerError(f"{address.shown}/models did not list models the OpenAI way: "
                          "it does not look like an OpenAI-compatible server.")
    return data


def context_length(http: httpx.Client, model: dict) -> int | None:
    """The context the server runs `model` with: vLLM's max_model_len, llama-server's /props, Ollama's /api/show."""
    if isinstance(model.get("max_model_len"), int):
        return model["max_model_len"]
    props = try_json(http, "GET", "/props")
    if isinstance(props, dict):
        n_ctx = (props.get("default_generation_settings") or {}).get("n_ctx")
        if isinstance(n_ctx, int) and n_ctx > 0:
            return n_ctx
    return _ollama_context(try_json(http, "POST", "/api/show", {"model": model["id"]}))


def _ollama_context(show) -> int | None:
    """num_ctx from the model's parameters, else its architecture's context_length."""
    if not isinstance(show, dict):
        return None
    for line in str(show.get("parameters") or "").splitlines():
        name, _, value = line.partition(" ")
        if name == "num_ctx" and value.strip().isdigit():
            return int(value.strip())
    for key, value in (show.get("model_info") or {}).items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None


def sse_events(response: httpx.Response) -> Iterator[dict]:
    """The JSON events of a server-sent-event stream, until [DONE] or its end."""
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue  # blank separators, comments (keep-alives), event names
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


def model_ids(url: str, api_key: str | None) -> list[str]:
    """Check a server the way "Test connection" does: the ids of its models, or ServerError saying why not."""
    address = Address.parse(url)
    with client(address, api_key) as http:
        return [m["id"] for m in list_models(http, address)]
