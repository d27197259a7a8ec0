"""chatdesk against raw llama-cpp-python on the default model, measured side by side in one run.

Run from the repository root after `make test` or `bash build/setup.sh --test`:

    .venv/bin/python benchmarks/bench.py [--rounds 3] [--max-tokens 160]

It starts the real app (a subprocess, its own temp data dir), drives it with gradio_client, and
runs the same prompts and sampling parameters through a plain llama_cpp.Llama in this process,
one after the other so they never share the CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline, like the app

from gradio_client import Client  # noqa: E402
from llama_cpp import Llama  # noqa: E402

from chatdesk import models  # noqa: E402
from chatdesk.engine import Engine, SamplingParams, default_threads  # noqa: E402
from tests.apprunner import RunningApp  # noqa: E402

PROMPTS = [
    "Write a long story about a lighthouse keeper who finds a message in a bottle.",
    "Explain in detail how bread is made, step by step, from flour to loaf.",
    "Describe a journey through a rainforest, with the animals and plants you meet.",
]
FILLER = "Notes from the meeting: the team reviewed the schedule, the budget and the risks. "
SAMPLING = SamplingParams()


def rate(tokens: int, first: float, last: float) -> float:
    """Tokens per second after the first token."""
    return (tokens - 1) / (last - first) if tokens > 1 and last > first else float("nan")


def stream_app(client: Client, message: str, conversation_id: str = "", endpoint: str = "/chat"):
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
    urllib.request.urlopen(app.url, timeout=30).read()
    return app, ready, time.perf_counter() - start


def throughput(client: Client, llm: Llama, rounds: int, max_tokens: int) -> dict:
    """Streamed tokens/s and time to first token: app and raw back to back on each prompt.

    The ratio is the median of each back-to-back pair's ratio, so that a slow spell of the machine
    (a shared host) weighs on both sides of a pair rather than on one side of the comparison.
    """
    app_rates, raw_rates, app_ttft, raw_ttft = [], [], [], []
    for _ in range(rounds):
        for prompt in PROMPTS:
            ttft, text, first, last = stream_app(client, prompt)
            app_rates.append(rate(count_tokens(llm, text), first, last))
            app_ttft.append(ttft)
            ttft, text, first, last = stream_raw(llm, prompt, max_tokens)
            raw_rates.append(rate(count_tokens(llm, text), first, last))
            raw_ttft.append(ttft)
    med = statistics.median
    return {"app_rate": med(app_rates), "raw_rate": med(raw_rates),
            "ratio": med(a / r for a, r in zip(app_rates, raw_rates)),
            "app_ttft": med(app_ttft), "raw_ttft": med(raw_ttft)}


def cache_cases(client: Client) -> dict:
    """Time to first token (median of 3): new chat, follow-up in a ~3,000-token chat, after switching away and back, retry."""
    med = statistics.median
    figures = {"new conversation": med(stream_app(client, "Hello! How are you?")[0] for _ in range(3))}
    long_id = client.predict(api_name="/new_conversation")
    stream_app(client, FILLER * 140 + "\nSummarize these notes in one sentence.", long_id)  # ~2,500 tokens
    figures["follow-up in a ~3,000-token conversation"] = med(
        stream_app(client, question, long_id)[0] for question in ("And the risks?", "And the budget?", "Who came?"))
    switched = []
    for question in ("Anything else?", "What was decided?", "When is the next meeting?"):
        stream_app(client, "Tell me a joke.", client.predict(api_name="/new_conversation"))
        switched.append(stream_app(client, question, long_id)[0])
    figures["same, after switching to another conversation and back"] = med(switched)
    figures["retry"] = med(stream_app(client, "", long_id, endpoint="/retry")[0] for _ in range(3))
    return figures


def raw_cache_cases(llm: Llama, max_tokens: int) -> dict:
    """The same first-token cases through plain llama-cpp-python, which keeps only the last prompt's state."""
    def ask(chat: list[dict], text: str) -> float:
        chat.append({"role": "user", "content": text})
        seconds, reply = _raw_chat(llm, chat, max_tokens)
        chat.append({"role": "assistant", "content": reply})
        return seconds

    system = {"role": "system", "content": "You are a helpful assistant."}
    med = statistics.median
    figures = {"new conversation": med(ask([system], "Hello! How are you?") for _ in range(3))}
    long_chat = [system]
    ask(long_chat, FILLER * 140 + "\nSummarize these notes in one sentence.")
    figures["follow-up in a ~3,000-token conversation"] = med(
        ask(long_chat, question) for question in ("And the risks?", "And the budget?", "Who came?"))
    ask([system], "Tell me a joke.")  # another conversation: its state replaces the long one's
    figures["same, after switching to another conversation and back"] = ask(long_chat, "Anything else?")
    figures["retry"] = med(_raw_chat(llm, long_chat[:-1], max_tokens)[0] for _ in range(3))
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


def gradio_floor() -> float:
    """Median time to first output of an empty Gradio endpoint that yields at once, through gradio_client."""
    import gradio as gr

    def chat(message: str, conversation_id: str = "") -> Iterator[str]:
        yield message

    with gr.Blocks() as demo:
        gr.api(chat, api_name="chat")
    demo.queue().launch(prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        return statistics.median(stream_app(client, "x")[0] for _ in range(5))
    finally:
        demo.close(verbose=False)


def stop_latency(model: Path) -> float:
    """Median seconds from cancel() to the end of the computation, in the app's engine."""
    engine = Engine(model, prompt_cache_bytes=0)
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
    args = parser.parse_args()
    model = models.find_default_model()
    if model is None:
        sys.exit("the default model is missing: run `chatdesk fetch-model`")
    with tempfile.TemporaryDirectory() as home:
        app, ready, page = cold_start(Path(home), args.max_tokens)
        try:
            client = Client(app.url, verbose=False)
            threads = default_threads()
            llm = Llama(str(model), n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False)
            speed = throughput(client, llm, args.rounds, args.max_tokens)
            raw_cases = raw_cache_cases(llm, args.max_tokens)
            del llm
            cases = cache_cases(client)
            memory = resident_mb(app.process.pid) - model.stat().st_size / 2**20
        finally:
            app.stop()
    stop = stop_latency(model)
    floor = gradio_floor()
    report(speed, cases, raw_cases, floor, stop, ready, page, memory, args)
    return 0


def report(speed, cases, raw_cases, floor, stop, ready, page, memory, args) -> None:
    new = cases["new conversation"]
    print(f"chatdesk benchmark · {time.strftime('%Y-%m-%d')} · {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores · default model · {args.rounds} rounds × {len(PROMPTS)} prompts, "
          f"max {args.max_tokens} tokens")
    print()
    print("| measure | chatdesk (gradio_client) | raw llama-cpp-python | ratio |")
    print("|---|---|---|---|")
    print(f"| streamed tokens/s | {speed['app_rate']:.1f} | {speed['raw_rate']:.1f} | "
          f"{speed['ratio']:.2f} (target ≥ 0.95; median of back-to-back pairs) |")
    print(f"| time to first token, new chat (s) | {speed['app_ttft']:.3f} | {speed['raw_ttft']:.3f} | "
          f"{speed['app_ttft'] / speed['raw_ttft']:.2f} |")
    print()
    print("| time to first token (s) | chatdesk | × new conversation (target ≤ 1.5) | raw llama-cpp-python |")
    print("|---|---|---|---|")
    for name, seconds in cases.items():
        print(f"| {name} | {seconds:.3f} | {seconds / new:.2f} | {raw_cases[name]:.3f} |")
    print()
    print(f"- an empty Gradio endpoint that streams at once takes {floor:.3f} s to its first output through "
          "gradio_client: every chatdesk figure above includes that")
    print(f"- Stop to end of computation: {stop * 1000:.0f} ms (median)")
    print(f"- cold start to the ready line: {ready:.1f} s; to the first page load: {page:.1f} s")
    print(f"- resident memory minus the model file: {memory:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
