"""chatdesk's server engine against a plain httpx client, streaming from the same llama-server, in one run.

Run from the repository root after `make test` or `bash build/setup.sh --test`:

    .venv/bin/python benchmarks/bench_server.py [--rounds 5] [--max-tokens 160]

It starts llama.cpp's C++ server (the xllamacpp wheel) on 127.0.0.1 with the default model, then, per round,
sends the same prompt with the same seed twice, one request at a time: once through chatdesk's ServerEngine
(from chat() to the last delta, its context fitting included) and once as a bare streamed POST read line by line.
Each prompt starts with a fresh nonce so neither side finds it in the server's prompt cache. The order
alternates by round. Targets: rate >= 0.95x the plain client's, and <= 30 ms added to the first token.
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
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from chatdesk.catalog import models  # noqa: E402
from chatdesk.engine.generation import SamplingParams  # noqa: E402
from chatdesk.engine.server import ServerEngine  # noqa: E402
from tests.servers import InferenceServer  # noqa: E402

PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle."


def rate(tokens: int, first: float, last: float) -> float:
    """Tokens per second after the first token."""
    return (tokens - 1) / (last - first) if tokens > 1 and last > first else float("nan")


def through_chatdesk(engine: ServerEngine, messages: list[dict], params: SamplingParams) -> dict:
    started = time.perf_counter()
    generation = engine.chat(messages, params)
    first = last = None
    for delta in generation:
        if not delta:  # a report on reading the prompt, not text
            continue
        last = time.perf_counter()
        first = first or last
    tokens = generation.stats.completion_tokens
    return {"first": first - started, "rate": rate(tokens, first, last), "tokens": tokens}


def through_httpx(url: str, model: str, messages: list[dict], params: SamplingParams) -> dict:
    body = {"model": model, "messages": messages, "stream": True, "max_tokens": params.max_tokens,
            "temperature": params.temperature, "seed": params.seed}
    started = time.perf_counter()
    first = last = None
    tokens = 0
    with httpx.stream("POST", url + "/chat/completions", json=body, timeout=None) as response:
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            choices = json.loads(line[6:]).get("choices") or []
            if choices and (choices[0].get("delta") or {}).get("content"):
                last = time.perf_counter()
                first = first or last
                tokens += 1
    return {"first": first - started, "rate": rate(tokens, first, last), "tokens": tokens}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=160)
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp(prefix="chatdesk-bench-server-")) / "llama-server.log"
    server = InferenceServer("llama-server", models.find_default_model(), n_ctx=4096, log=log)
    engine = ServerEngine(server.url)
    results: dict[str, list[dict]] = {"chatdesk": [], "httpx": []}
    try:
        for round_ in range(args.rounds):
            params = SamplingParams(max_tokens=args.max_tokens, temperature=0.0, seed=1234 + round_)
            order = ("chatdesk", "httpx") if round_ % 2 == 0 else ("httpx", "chatdesk")
            for side in order:
                messages = [{"role": "user", "content": f"[{uuid.uuid4().hex[:8]}] {PROMPT}"}]
                result = (through_chatdesk(engine, messages, params) if side == "chatdesk"
                          else through_httpx(server.url, engine.model_id, messages, params))
                results[side].append(result)
                print(f"round {round_ + 1} {side:8}: first token {result['first'] * 1000:7.1f} ms, "
                      f"{result['rate']:6.1f} tokens/s, {result['tokens']} tokens", flush=True)
    finally:
        engine.close()
        server.stop()
    report(results)
    return 0


def report(results: dict[str, list[dict]]) -> None:
    median = {side: {k: statistics.median(r[k] for r in runs) for k in ("first", "rate")}
              for side, runs in results.items()}
    ratio = median["chatdesk"]["rate"] / median["httpx"]["rate"]
    added = (median["chatdesk"]["first"] - median["httpx"]["first"]) * 1000
    print(f"\n{platform.platform()}, {os.cpu_count()} cores; medians of {len(results['httpx'])} rounds")
    print(f"{'':10} {'first token':>12} {'tokens/s':>9}")
    for side, values in median.items():
        print(f"{side:10} {values['first'] * 1000:9.1f} ms {values['rate']:9.1f}")
    print(f"rate: {ratio:.3f}x the plain client (target >= 0.95); first token: {added:+.1f} ms (target <= +30)")


if __name__ == "__main__":
    sys.exit(main())
