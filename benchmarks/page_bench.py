"""What a person sees: chatdesk's streamed rate in a real Chromium page, beside raw llama-cpp-python and
llama.cpp's own server on the same model and threads, measured in one run.

Run from the repository root after `make test`:

    .venv/bin/python benchmarks/page_bench.py [--rounds 3] [--max-tokens 256]

For chatdesk it starts the app (a subprocess with its own temp data dir), opens it in Debian's Chromium, types a
message key by key, sends it by pressing Enter half a second later and watches the reply in the page: the rate from
its first text to its last change, chatdesk's own speed line, and the CPU the page's renderer process used per
token. It does this in a new chat and in a long chat (20 exchanges with code blocks and lists) put on screen first,
each reply in a copy of its own (a reply lengthens its chat, and the next one would read a longer prompt than raw
does). Raw llama-cpp-python runs alone with 1 and 2 threads (the best counts) on the same two prompts, the long one
after the same 20 exchanges; llama.cpp's server (the xllamacpp wheel, in its own process) streams to a plain HTTP
client. chatdesk's ratios are paired: each of its replies against raw llama-cpp-python (2 threads) run just before
it, while the app is idle, and the median of those ratios is shown. It also times start-up against `python -c
"import gradio"`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import httpx  # noqa: E402
import psutil  # noqa: E402

from chatdesk.catalog import models  # noqa: E402
from tests.apprunner import RunningApp  # noqa: E402
from tests.conftest import CHROMIUM_ARGS  # noqa: E402

PROMPT = "Write a long story about a lighthouse keeper who finds a message in a bottle."
SYSTEM = "You are a helpful assistant."
EXCHANGES = 20  # in the long chat
# Typed, not filled in one go: the page sends the app the message as it is typed, and the app computes it ahead
TYPING_DELAY_MS = 20
ENTER_AFTER_MS = 500  # from the last key to Enter
SAMPLING = {"temperature": 0.7, "top_p": 0.95, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1}
WATCH = """() => {
  window.__watching?.forEach((observer) => observer.disconnect());  // the last reply's
  window.__seen = [];
  const chat = document.querySelector('#chat');
  const visible = (text) => text.replace(/\\u200b/g, '').trim();  // the Chatbot's placeholder is a zero-width space
  const reading = (text) => visible(text).startsWith('Reading your message');
  const record = () => {
    const bots = chat.querySelectorAll('[data-testid="bot"]');
    const last = bots[bots.length - 1];
    const text = last ? last.textContent : '';
    const length = reading(text) ? 0 : visible(text).length;  // how far the prompt was read is not the reply
    const seen = window.__seen;
    if (bots.length && (!seen.length || seen[seen.length - 1][1] !== length || seen[seen.length - 1][2] !== bots.length))
      seen.push([performance.now(), length, bots.length]);
  };
  const growth = new MutationObserver(record);
  growth.observe(chat, {childList: true, subtree: true, characterData: true});
  window.__sent = window.__firstWords = null;  // Enter pressed; the reply's first words on screen
  document.addEventListener('keydown', (event) => { if (event.key === 'Enter') window.__sent = performance.now(); },
                            {capture: true, once: true});
  const firstWords = new MutationObserver(() => {
    const live = chat.querySelector('.chatdesk-live')?.textContent || '';
    if (window.__firstWords === null && visible(live) && !reading(live))
      window.__firstWords = performance.now();
  });
  firstWords.observe(chat, {childList: true, subtree: true, characterData: true});
  window.__watching = [growth, firstWords];
}"""


def rate(tokens: int, first: float, last: float) -> float:
    """Tokens per second after the first token."""
    return (tokens - 1) / (last - first) if tokens > 1 and last > first else float("nan")


def shown_rate(tokens: int, seen: list) -> float:
    """Tokens per second from the reply's first text on the page to its last change, counting only the tokens
    shown after the first text (estimated by the text's length): a first text that comes late, many tokens at
    once, would otherwise count as fast."""
    first_length, whole_length = seen[0][1], max(length for _time, length, _count in seen)
    after_first = tokens * (whole_length - first_length) / whole_length
    return rate(round(after_first) + 1, seen[0][0] / 1000, seen[-1][0] / 1000)


def raw_rate(model: Path, threads: int, max_tokens: int, *, long: bool = False) -> float:
    """Plain llama-cpp-python streaming a chat reply, alone in this process (after the long chat's turns)."""
    from llama_cpp import Llama

    llm = Llama(str(model), n_ctx=4096, n_threads=threads, n_threads_batch=threads, verbose=False)
    try:
        earlier = long_chat_turns() if long else []
        messages = [{"role": "system", "content": SYSTEM}, *earlier, {"role": "user", "content": PROMPT}]
        times = []
        for chunk in llm.create_chat_completion(messages, max_tokens=max_tokens, stream=True, **SAMPLING):
            if chunk["choices"][0]["delta"].get("content"):
                times.append(time.perf_counter())
        return rate(len(times), times[0], times[-1])
    finally:
        llm.close()


def server_rate(model: Path, max_tokens: int, rounds: int) -> float | None:
    """llama.cpp's own server (xllamacpp, 2 threads, its own process) streaming to a plain HTTP client;
    None when it is not installed."""
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        return None
    from tests.servers import InferenceServer

    log = Path(tempfile.mkdtemp(prefix="chatdesk-page-bench-server-")) / "llama-server.log"
    server = InferenceServer("llama-server", model, n_ctx=4096, log=log)
    try:
        return statistics.median(_stream_server(server.url + "/chat/completions", max_tokens) for _ in range(rounds))
    finally:
        server.stop()


def _stream_server(url: str, max_tokens: int) -> float:
    body = {"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}],
            "max_tokens": max_tokens, "stream": True, **SAMPLING}
    times = []
    with httpx.stream("POST", url, json=body, timeout=600) as response:
        for line in response.iter_lines():
            if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["delta"].get("content"):
                times.append(time.perf_counter())
    return rate(len(times), times[0], times[-1])


def long_chat_turns(exchanges: int = EXCHANGES) -> list[dict]:
    """The turns of a long chat whose replies hold code blocks and lists."""
    turns = []
    for n in range(exchanges):
        reply = (f"Here is step {n}:\n\n1. Read the notes\n2. Check the **budget**\n- one\n- two\n\n"
                 f"```python\ndef step_{n}(x):\n    return [i * {n} for i in range(x)]\n```\n\nDone with step {n}.")
        turns += [{"role": "user", "content": f"Show me step {n} with some code."},
                  {"role": "assistant", "content": reply}]
    return turns


def long_chat_export(copies: int = 1) -> str:
    """A chatdesk JSON export of `copies` copies of the long chat, titled "Long chat 1 with code" and on."""
    messages, parent = [], None
    for turn in long_chat_turns():
        messages.append({"id": f"m{len(messages)}", "parent_id": parent, **turn, "created": time.time(),
                         "status": "complete", "meta": {}, "feedback": []})
        parent = messages[-1]["id"]
    conversations = [{"id": f"long{n}", "title": f"Long chat {n} with code", "system_prompt": SYSTEM,
                      "created": time.time(), "updated": time.time(), "leaf_id": parent, "deleted_at": None,
                      "messages": messages} for n in range(1, copies + 1)]
    return json.dumps({"format": "chatdesk-export", "version": 1, "conversations": conversations})


def renderer_cpu() -> float:
    """CPU seconds used so far by the Chromium renderer processes this benchmark started."""
    total = 0.0
    for process in psutil.Process().children(recursive=True):
        try:
            if "--type=renderer" in " ".join(process.cmdline()):
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def page_reply(page, message: str) -> dict:
    """Type `message` as a person does, send it with Enter and measure its reply as the page shows it."""
    before = page.locator('#chat [data-testid="bot"]').count()
    page.locator("#message textarea").press_sequentially(message, delay=TYPING_DELAY_MS)  # the page gets each key
    page.wait_for_timeout(ENTER_AFTER_MS)
    page.evaluate(WATCH)
    cpu = renderer_cpu()
    page.locator("#message textarea").press("Enter")
    page.wait_for_function(f"""() => document.querySelectorAll('#chat [data-testid="bot"]').length > {before}
        && (document.querySelectorAll('#chat [data-testid="bot"]')[{before}].getAttribute('data-stats') || '')
           .includes('tok/s')""", timeout=600_000, polling=250)  # not at every frame: that is work a person's page has not
    cpu = renderer_cpu() - cpu
    seen = [s for s in page.evaluate("() => window.__seen") if s[2] > before and s[1] > 0]
    line = page.locator('#chat [data-testid="bot"]').nth(before).get_attribute("data-stats")
    tokens = int(re.search(r"(\d+) tokens?", line).group(1))
    own = float(re.search(r"([\d.]+) tok/s", line).group(1))
    own_first = float(re.search(r"([\d.]+) s to first token", line).group(1))
    sent, first_words = page.evaluate("() => [window.__sent, window.__firstWords]")
    return {"page": shown_rate(tokens, seen), "own": own, "tokens": tokens,
            "cpu_per_token_ms": 1000 * cpu / max(tokens, 1), "updates": len(seen),
            "first_ms": first_words - sent, "own_first_ms": 1000 * own_first}


def chatdesk_rates(chromium, model: Path, max_tokens: int, rounds: int, long: bool) -> dict:
    """The app in a real page, each reply paired with raw llama-cpp-python (2 threads) run just before it while
    the app is idle: median figures over `rounds` pairs, and the median of the pairs' ratios (`page_ratio`,
    `own_ratio`). This VM's speed drifts by ±20% within minutes, so only side by side figures compare."""
    home = Path(tempfile.mkdtemp(prefix="chatdesk-page-bench-"))
    if long:
        _seed_history(home, copies=rounds)
    app = RunningApp(home, "--max-tokens", str(max_tokens))
    try:
        page = chromium.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(app.page_url)
        page.wait_for_selector("#message textarea")
        if long:  # the long chat on screen before the first count of its replies
            page.wait_for_function("(n) => document.querySelectorAll('#chat [data-testid=\"bot\"]').length >= n",
                                   arg=EXCHANGES)
        results = []
        for n in range(rounds):
            if not long:
                page.click("#new-chat")
            elif n:  # a copy of its own: the chat a reply reads is the one raw llama-cpp-python reads
                _open_chat(page, f"Long chat {n + 1} with code")
            _wait_idle(app.process.pid)  # the app computes what it can ahead: the long chat's prompt, a draft
            raw = raw_rate(model, 2, max_tokens, long=long)
            result = page_reply(page, PROMPT if n == 0 else f"{PROMPT} Version {n}.")
            results.append({**result, "raw": raw, "page_ratio": result["page"] / raw, "own_ratio": result["own"] / raw})
            page.wait_for_timeout(1000)
        page.context.close()
        return {key: statistics.median(r[key] for r in results) for key in results[0]}
    finally:
        app.stop()
        shutil.rmtree(home, ignore_errors=True)


def _wait_idle(pid: int, below: float = 0.05, longest: float = 120) -> None:
    """Until the process (and its children) used less than `below` of a core over a second."""
    process, deadline = psutil.Process(pid), time.monotonic() + longest
    while time.monotonic() < deadline:
        before = _cpu(process)
        time.sleep(1)
        if _cpu(process) - before < below:
            return


def _cpu(process: psutil.Process) -> float:
    times = [process.cpu_times()] + [child.cpu_times() for child in process.children(recursive=True)]
    return sum(t.user + t.system for t in times)


def _open_chat(page, title: str) -> None:
    page.locator("#chat-list .row-open", has_text=title).click()
    page.wait_for_function("""([title, replies]) => document.querySelector('#chat-list [aria-current="page"]')
        ?.textContent.includes(title) && document.querySelectorAll('#chat [data-testid="bot"]').length === replies""",
                           arg=[title, EXCHANGES])


def _seed_history(home: Path, copies: int = 1) -> None:
    """The long chat, one copy per reply to measure (each reply lengthens its chat), the first one open."""
    from chatdesk.store import exchange
    from chatdesk.store.database import Store

    store = Store(home / "data" / "chatdesk.db")
    first, *_others = exchange.import_json(store, long_chat_export(copies))
    store.set_state("last_conversation", first)
    store.close()


def startup(chromium, runs: int) -> dict:
    """Median seconds of `import gradio` and of a launch until the chat page is ready in Chromium: the first
    launch on a new data dir (the browser has none of the page's files), and the later ones, each opening the
    same address in the same browser profile, as the window does."""
    imports, launches = [], []
    home = Path(tempfile.mkdtemp(prefix="chatdesk-start-"))
    context = chromium.new_context()  # the window's own profile, kept from one launch to the next
    try:
        for _ in range(runs + 1):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import gradio"], check=True)
            imports.append(time.perf_counter() - started)
            launches.append(_launch_until_ready(context, home))
    finally:
        context.close()
        shutil.rmtree(home, ignore_errors=True)
    return {"import": statistics.median(imports), "first": launches[0], "later": statistics.median(launches[1:])}


def _launch_until_ready(context, home: Path) -> float:
    """Seconds from starting chatdesk (its own port choice) to its chat ready in a new page of `context`."""
    started = time.perf_counter()
    app = RunningApp(home, port=None)
    page = context.new_page()
    try:
        page.goto(app.page_url)
        page.wait_for_selector("#message textarea")
        page.wait_for_function("() => document.querySelector('#context-usage')?.textContent.includes('Context')")
        return time.perf_counter() - started
    finally:
        page.close()
        app.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    model = models.find_default_model()
    raw = {(threads, long): statistics.median(raw_rate(model, threads, args.max_tokens, long=long)
                                              for _ in range(args.rounds))
           for long in (False, True) for threads in (1, 2)}
    server = server_rate(model, args.max_tokens, args.rounds)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        new = chatdesk_rates(chromium, model, args.max_tokens, args.rounds, long=False)
        long = chatdesk_rates(chromium, model, args.max_tokens, args.rounds, long=True)
        start = startup(chromium, args.starts)
        chromium.close()
    report(raw, server, new, long, start, args)
    return 0


def report(raw, server, new, long, start, args) -> None:
    best = {chat: max(value for (_threads, on_long), value in raw.items() if on_long == chat) for chat in (False, True)}
    print(f"chatdesk page benchmark · {time.strftime('%Y-%m-%d')} · {platform.machine()}, {os.cpu_count()} cores · "
          f"default model · {args.rounds} replies of up to {args.max_tokens} tokens each\n")
    print("| streamed tokens/s | new chat | × raw (target ≥ 0.9) | long chat | × raw (target ≥ 0.9) |\n"
          "|---|---|---|---|---|")
    for threads in (1, 2):
        short, after_long = raw[threads, False], raw[threads, True]
        print(f"| raw llama-cpp-python, {threads} thread{'s' if threads > 1 else ''}, alone | {short:.1f} | "
              f"{short / best[False]:.2f} | {after_long:.1f} | {after_long / best[True]:.2f} |")
    if server is not None:
        print(f"| llama.cpp's server (xllamacpp), 2 threads, plain client | {server:.1f} | {server / best[False]:.2f} "
              "| | |")
    print(f"| raw llama-cpp-python, 2 threads, just before each chatdesk reply | {new['raw']:.1f} | 1.00 | "
          f"{long['raw']:.1f} | 1.00 |")
    for key, name in (("page", "chatdesk in Chromium: first text to last change"),
                      ("own", "chatdesk in Chromium: its own speed line")):
        print(f"| {name} | {new[key]:.1f} | {new[key + '_ratio']:.2f} | {long[key]:.1f} | {long[key + '_ratio']:.2f} |")
    print("\n| page work | new chat | long chat |\n|---|---|---|")
    print(f"| renderer CPU per token (ms) | {new['cpu_per_token_ms']:.2f} | {long['cpu_per_token_ms']:.2f} |")
    print(f"| screen updates per reply | {new['updates']:.0f} | {long['updates']:.0f} |")
    print(f"| reply tokens | {new['tokens']:.0f} | {long['tokens']:.0f} |")
    print("\n| first words (ms) | new chat | long chat |\n|---|---|---|")
    print(f"| Enter to the first words in the page | {new['first_ms']:.0f} | {long['first_ms']:.0f} |")
    print(f"| chatdesk's own time to first token | {new['own_first_ms']:.0f} | {long['own_first_ms']:.0f} |")
    targets = [f"{1.2 * figures['own_first_ms'] + 50:.0f}" for figures in (new, long)]
    print(f"| target: 1.2 × own + 50 | {' | '.join(targets)} |")
    print(f"\n- the long chat: {EXCHANGES} exchanges with code blocks and lists before the message; "
          "raw llama-cpp-python reads the same turns first")
    print(f"- start-up (target ≤ 1.3 × `import gradio`, {start['import']:.2f} s): launch to the chat ready in "
          f"Chromium {start['later']:.2f} s ({start['later'] / start['import']:.2f}×) for a launch after the first; "
          f"{start['first']:.2f} s ({start['first'] / start['import']:.2f}×) for the first, whose browser has none "
          "of the page's files")

if __name__ == "__main__":
    sys.exit(main())
