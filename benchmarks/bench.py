"""chatdesk against raw llama-cpp-python on the default model, measured side by side in one run.

Run from the repository root after `make test` or `bash build/setup.sh --test`:

    .venv/bin/python benchmarks/bench.py [--rounds 3] [--max-tokens 160]

It starts the real app (a subprocess, its own temp data dir), drives it with gradio_client and with
Gradio's own queue protocol as a browser speaks it, and runs the same prompts and sampling parameters
through a plain llama_cpp.Llama in this process, one after the other so they never share the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline, like the app

import httpx  # noqa: E402
from gradio_client import Client  # noqa: E402
from gradio_client.utils import apply_diff  # noqa: E402
from llama_cpp import Llama  # noqa: E402

from chatdesk.catalog import models  # noqa: E402
from chatdesk.engine.local import LocalEngine, default_threads  # noqa: E402
from chatdesk.engine.generation import SamplingParams  # noqa: E402
from tests.apprunner import RunningApp  # noqa: E402

PROMPTS = [
    "Write a long story about a lighthouse keeper who finds a message in a bottle.",
    "Explain in detail how bread is made, step by step, from flour to loaf.",
    "Describe a journey through a rainforest, with the animals and plants you meet.",
]
FILLER = "Notes from the meeting: the team reviewed the schedule, the budget and the risks. "
NEW_CHATS = ("Hello! How are you?", "What is the capital of France?", "Name three colours.",
             "Who wrote Hamlet?", "How many legs does a spider have?")
OTHER_NEW_CHATS = ("Hi! What can you do?", "What is the capital of Spain?", "Name three fruits.",
                   "Who painted the Mona Lisa?", "How many days are in a leap year?")  # not cached yet
FOLLOW_UPS = ("And the risks?", "And the budget?", "Who came?", "Any open questions?", "Who takes notes?")
AFTER_SWITCH = ("Anything else?", "What was decided?", "When is the next meeting?", "Who was absent?",
                "What is the deadline?")
SAMPLING = SamplingParams()


def rate(tokens: int, first: float, last: float) -> float:
    """Tokens per second after the first token."""
    return (tokens - 1) / (last - first) if tokens > 1 and last > first else float("nan")


class BrowserProtocol:
    """Gradio's queue protocol as a browser speaks it: join the queue, then read its event stream.

    gradio_client instead hands each message over through a loop that sleeps 50 ms when it finds none,
    and iterates a job by polling every millisecond: about 0.2 s of each first output is gradio_client's.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None):
        self.url = url
        self.http = httpx.Client(timeout=600, headers=headers)  # the page sends its cookie; a program, the secret
        config = self.http.get(url + "config").json()
        self.fn_index = {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}

    def submit(self, *data, api_name: str) -> Iterator[str]:
        """The outputs of one call, as they stream."""
        session = uuid.uuid4().hex
        self.http.post(self.url + "gradio_api/queue/join", json={
            "data": list(data), "fn_index": self.fn_index[api_name.strip("/")], "session_hash": session,
            "event_data": None, "trigger_id": None}).raise_for_status()
        output = None
        with self.http.stream("GET", self.url + "gradio_api/queue/data", params={"session_hash": session}) as events:
            for line in events.iter_lines():
                message = json.loads(line[5:]) if line.startswith("data:") else {}
                if message.get("msg") == "process_generating":
                    data = message["output"]["data"]
                    output = data[0] if output is None else apply_diff(output, data[0])
                    yield output
                elif message.get("msg") == "process_completed":
                    return

    def predict(self, *data, api_name: str):
        """The output of a call that does not go through the queue."""
        response = self.http.post(self.url + "gradio_api/run/predict", json={
            "data": list(data), "fn_index": self.fn_index[api_name.strip("/")], "session_hash": uuid.uuid4().hex})
        response.raise_for_status()
        data = response.json()["data"]
        return data[0] if data else None

    def close(self) -> None:
        self.http.close()


def stream_app(client, message: str, conversation_id: str = "", endpoint: str = "/chat"):
    """(time to first text, text, first time, last time) for one streamed reply through the API."""
    start = time.perf_counter()
    args = (conversation_id,) if endpoint == "/retry" else (message, conversation_id)
    job = client.submit(*args, api_name=endpoint)
    first = last = None
    text = ""
    for update in job:
        now = time.perf_counter()
        if update and update != text:  # the end of the job repeats the last text: not a new token
            first = first or now
            last = now
        text = update
    return (first or last or time.perf_counter()) - start, text, first, last


def stream_raw(llm: Llama, message: str, max_tokens: int):
    """(time to first token, text, tokens, first time, last time) through plain llama-cpp-python."""
    start = time.perf_counter()
    first = last = None
    pieces = []
    for chunk in llm.create_chat_completion(
            [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": message}],
            max_tokens=max_tokens, temperature=SAMPLING.temperature, top_p=SAMPLING.top_p, top_k=SAMPLING.top_k,
            min_p=SAMPLING.min_p, repeat_penalty=SAMPLING.repeat_penalty, stream=True):
        piece = chunk["choices"][0]["delta"].get("content")
        if piece:
            now = time.perf_counter()
            first = first or now
            last = now
            pieces.append(piece)
    return first - start, "".join(pieces), first, last


def count_tokens(llm: Llama, text: str) -> int:
    return len(llm.tokenize(text.encode(), add_bos=False, special=True))


def cold_start(home: Path, max_tokens: int) -> tuple[RunningApp, float, float]:
    """Start the app; seconds to its ready line and to the first page load."""
    start = time.perf_counter()
    app = RunningApp(home, "--max-tokens", str(max_tokens))
    ready = time.perf_counter() - start
    urllib.request.urlopen(urllib.request.Request(app.url, headers=app.headers), timeout=30).read()
    return app, ready, time.perf_counter() - start


def throughput(clients: dict, llm: Llama, rounds: int, max_tokens: int) -> dict:
    """Streamed tokens/s and time to first token: the app through each client and raw, back to back.

    Each ratio is the median of back-to-back pairs' ratios, so that a slow spell of the machine (a shared
    host) weighs on both sides of a pair rather than on one side of the comparison.
    """
    rates = {name: [] for name in [*clients, "raw"]}
    ttfts = {name: [] for name in rates}
    for _ in range(rounds):
        for prompt in PROMPTS:
            for name, client in clients.items():
                ttft, text, first, last = stream_app(client, prompt)
                rates[name].append(rate(count_tokens(llm, text), first, last))
                ttfts[name].append(ttft)
            ttft, text, first, last = stream_raw(llm, prompt, max_tokens)
            rates["raw"].append(rate(count_tokens(llm, text), first, last))
            ttfts["raw"].append(ttft)
    med = statistics.median
    return {name: {"rate": med(rates[name]), "ttft": med(ttfts[name]),
                   "ratio": med(a / r for a, r in zip(rates[name], rates["raw"]))} for name in rates}


def type_and_think(client, message: str, conversation_id: str, think: float, typing: bool) -> None:
    """The `think` seconds before a message is sent; with `typing`, the page reports the message as typed
    (half of it, then all of it), as chatdesk's page does while a person types."""
    if not typing:
        time.sleep(think)
        return
    for typed in (message[: len(message) // 2], message):
        client.predict(typed, conversation_id, api_name="/draft")
        time.sleep(think / 2)


def cache_cases(client, new_chats: tuple[str, ...], think: float, typing: bool) -> tuple[dict, str]:
    """Time to first token (median of 5): new chat, follow-up in a ~3,000-token chat, after switching away
    and back, retry; and the long chat's id. Each message is sent `think` seconds after the previous reply
    ended, as a person would."""
    def ask(message: str, conversation_id: str = "", endpoint: str = "/chat") -> float:
        type_and_think(client, message, conversation_id, think, typing and endpoint == "/chat")
        return stream_app(client, message, conversation_id, endpoint)[0]

    med = statistics.median
    figures = {"new conversation": med(ask(message) for message in new_chats)}
    long_id = client.predict(api_name="/new_conversation")
    stream_app(client, FILLER * 140 + "\nSummarize these notes in one sentence.", long_id)  # ~2,500 tokens
    figures["follow-up in a ~3,000-token conversation"] = med(
        ask(question, long_id) for question in FOLLOW_UPS)
    switched = []
    for question in AFTER_SWITCH:
        ask("Tell me a joke.", client.predict(api_name="/new_conversation"))
        switched.append(ask(question, long_id))
    figures["same, after switching to another conversation and back"] = med(switched)
    figures["retry"] = med(ask("", long_id, endpoint="/retry") for _ in range(len(FOLLOW_UPS)))
    return figures, long_id


def after_restart(home: Path, long_id: str, max_tokens: int, think: float) -> float:
    """Time to first token in the long chat, as a browser gets it, after the app was quit and started again."""
    app = cold_start(home, max_tokens)[0]
    browser = BrowserProtocol(app.url, app.headers)
    try:
        question = "One last question: who takes notes next time?"
        type_and_think(browser, question, long_id, think, typing=True)
        return stream_app(browser, question, long_id)[0]
    finally:
        browser.close()
        app.stop()


def raw_cache_cases(llm: Llama, max_tokens: int, think: float) -> dict:
    """The same first-token cases through plain llama-cpp-python, which keeps only the last prompt's state."""
    def ask(chat: list[dict], text: str) -> float:
        time.sleep(think)
        chat.append({"role": "user", "content": text})
        seconds, reply = _raw_chat(llm, chat, max_tokens)
        chat.append({"role": "assistant", "content": reply})
        return seconds

    system = {"role": "system", "content": "You are a helpful assistant."}
    med = statistics.median
    figures = {"new conversation": med(ask([system], message) for message in NEW_CHATS)}
    long_chat = [system]
    ask(long_chat, FILLER * 140 + "\nSummarize these notes in one sentence.")
    figures["follow-up in a ~3,000-token conversation"] = med(
        ask(long_chat, question) for question in FOLLOW_UPS)
    ask([system], "Tell me a joke.")  # another conversation: its state replaces the long one's
    figures["same, after switching to another conversation and back"] = ask(long_chat, "Anything else?")
    figures["retry"] = med(_raw_chat(llm, long_chat[:-1], max_tokens)[0] for _ in range(len(FOLLOW_UPS)))
    return figures


def _raw_chat(llm: Llama, chat: list[dict], max_tokens: int) -> tuple[float, str]:
    """(time to first text, reply) for one streamed chat completion."""
    start, first, pieces = time.perf_counter(), None, []
    for chunk in llm.create_chat_completion(chat, max_tokens=max_tokens, stream=True):
        piece = chunk["choices"][0]["delta"].get("content")
        if piece:
            first = first or time.perf_counter()
            pieces.append(piece)
    return (first or time.perf_counter()) - start, "".join(pieces)


def gradio_floor() -> dict:
    """Median time to first output of an empty Gradio endpoint that yields at once, through each client."""
    import gradio as gr

    def chat(message: str, conversation_id: str = "") -> Iterator[str]:
        yield message

    with gr.Blocks() as demo:
        gr.api(chat, api_name="chat")
    demo.queue().launch(prevent_thread_lock=True, quiet=True)
    clients = {"gradio_client": Client(demo.local_url, verbose=False), "browser": BrowserProtocol(demo.local_url)}
    try:
        return {name: statistics.median(stream_app(client, "x")[0] for _ in range(5))
                for name, client in clients.items()}
    finally:
        clients["browser"].close()
        demo.close(verbose=False)


def stop_latency(model: Path) -> float:
    """Median seconds from cancel() to the end of the computation, in the app's engine."""
    engine = LocalEngine(model, prompt_cache_bytes=0)
    waits = []
    for prompt in PROMPTS:
        generation = engine.chat([{"role": "user", "content": prompt}], SamplingParams(max_tokens=400))
        pieces = iter(generation)
        next(pieces)
        start = time.perf_counter()
        generation.cancel()
        for _ in pieces:
            pass
        waits.append(time.perf_counter() - start)
    engine.close()
    return statistics.median(waits)


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds between a reply and the next message in the first-token cases")
    args = parser.parse_args()
    model = models.find_default_model()
    if model is None:
        sys.exit("the default model is missing: run `chatdesk fetch-model`")
    with tempfile.TemporaryDirectory() as home:
        app, ready, page = cold_start(Path(home), args.max_tokens)
        try:
            clients = {"gradio_client": app.client(), "browser": BrowserProtocol(app.url, app.headers)}
            threads = default_threads()
            llm = Llama(str(model), n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False)
            speed = throughput(clients, llm, args.rounds, args.max_tokens)
            cases = {"raw": raw_cache_cases(llm, args.max_tokens, args.think)}
            del llm
            cases["gradio_client"] = cache_cases(clients["gradio_client"], OTHER_NEW_CHATS, args.think, False)[0]
            cases["browser"], long_id = cache_cases(clients["browser"], NEW_CHATS, args.think, True)
            memory = resident_mb(app.process.pid) - model.stat().st_size / 2**20
            clients["browser"].close()
        finally:
            app.stop()
        restarted = after_restart(Path(home), long_id, args.max_tokens, args.think)
    stop = stop_latency(model)
    floor = gradio_floor()
    report(speed, cases, floor, stop, ready, page, memory, restarted, args)
    return 0


def report(speed, cases, floor, stop, ready, page, memory, restarted, args) -> None:
    print(f"chatdesk benchmark · {time.strftime('%Y-%m-%d')} · {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores · default model · {args.rounds} rounds × {len(PROMPTS)} prompts, "
          f"max {args.max_tokens} tokens")
    print()
    print("| streamed tokens/s | chatdesk | raw llama-cpp-python | ratio (target ≥ 0.95) |")
    print("|---|---|---|---|")
    raw = speed["raw"]
    for name, label in (("gradio_client", "through gradio_client"), ("browser", "as a browser gets it")):
        print(f"| {label} | {speed[name]['rate']:.1f} | {raw['rate']:.1f} | {speed[name]['ratio']:.2f} |")
    print()
    print(f"Time to first token, in seconds; each message sent {args.think:g} s after the previous reply ended "
          "(in the browser column, typed meanwhile: the page reports the message as it is typed):")
    print()
    print("| case | chatdesk, as a person in a browser gets it | × new (target ≤ 1.5) | through gradio_client "
          "| × new (target ≤ 1.5) | raw llama-cpp-python |")
    print("|---|---|---|---|---|---|")
    new = {name: figures["new conversation"] for name, figures in cases.items()}
    for case in cases["raw"]:
        browser, client = cases["browser"][case], cases["gradio_client"][case]
        print(f"| {case} | {browser:.3f} | {browser / new['browser']:.2f} | {client:.3f} | "
              f"{client / new['gradio_client']:.2f} | {cases['raw'][case]:.3f} |")
    print()
    print(f"- the ~3,000-token conversation after quitting and starting chatdesk again: first token after "
          f"{restarted:.3f} s in a browser (its state comes from the prompt cache on disk)")
    print(f"- an empty Gradio endpoint that streams at once: first output after {floor['browser']:.3f} s as a "
          f"browser gets it, {floor['gradio_client']:.3f} s through gradio_client")
    print(f"- Stop to end of computation: {stop * 1000:.0f} ms (median)")
    print(f"- cold start to the ready line: {ready:.1f} s; to the first page load: {page:.1f} s")
    print(f"- resident memory minus the model file: {memory:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
