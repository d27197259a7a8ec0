"""A scripted stand-in for engine.local.LocalEngine: replies are queued, calls recorded, streams can be held open."""

from __future__ import annotations

import threading

from chatdesk.errors import ContextOverflow
from chatdesk.engine.generation import Generation, SamplingParams, Stats


class ScriptedEngine:
    """Replies with queued token lists; counts one token per word (+4 per message)."""

    model_name = "scripted"

    def __init__(self, context_length: int = 200):
        self.context_length = context_length
        self.replies: list[list[str]] = []
        self.calls: list[dict] = []
        self.gate: threading.Semaphore | None = None  # when set, each token waits for a release
        self.prepared: list[list[dict]] = []  # the conversations prepare() was asked to compute ahead
        self.drafts: list[str] = []  # and the drafts of their next message
        self.private: list[bool] = []  # and whether each was a temporary chat's (never on disk)
        self.refuse_with: Exception | None = None  # when set, the next reply fails with it (a model unloaded)
        self.failure: Exception | None = None  # when set, the next reply fails with it after its tokens
        self.readings: list[tuple[int, int]] = []  # reading reports (done, total) before the next reply's tokens
        self.prepare_gate: threading.Event | None = None  # when set, prepare() waits for it (a slow prompt)
        self.preparing = threading.Event()  # set while a held prepare() waits

    def enqueue(self, *replies: list[str]) -> None:
        """Queue the token lists of the next replies."""
        self.replies.extend(replies)

    def hold(self) -> threading.Semaphore:
        """Make each streamed token wait for one release() of the returned semaphore."""
        self.gate = threading.Semaphore(0)
        return self.gate

    def close(self, *, wait_for_reply: bool = False) -> None:
        self.closed = True
        self.closed_waiting = wait_for_reply

    def prepare(self, messages, reply_budget, draft="", *, private=False) -> threading.Event:
        self.prepared.append(list(messages))
        self.private.append(private)
        self.drafts.append(draft)
        if self.prepare_gate is not None:
            self.preparing.set()
            self.prepare_gate.wait(timeout=5)
        done = threading.Event()
        done.set()
        return done

    def count_tokens(self, messages) -> int:
        return sum(len(m["content"].split()) + 4 for m in messages)

    def fit(self, messages, reply_budget, *, continue_reply=False):
        """Like LocalEngine.fit: leave out the oldest turns (never the system prompt) until the rest fits."""
        budget = self.context_length - min(reply_budget, self.context_length // 2)
        system = messages[:1] if messages and messages[0]["role"] == "system" else []
        turns = messages[len(system):]
        for dropped in range(len(turns)):
            if dropped and turns[dropped]["role"] != "user":
                continue
            needed = self.count_tokens(system + turns[dropped:])
            if needed <= budget:
                return [0] * needed, dropped
        raise ContextOverflow(f"needs {self.count_tokens(messages)} tokens")

    def chat(self, messages, params: SamplingParams, *, continue_reply=False, private=False) -> Generation:
        prompt, dropped = self.fit(messages, params.max_tokens, continue_reply=continue_reply)
        self.calls.append({"messages": [dict(m) for m in messages], "continue_reply": continue_reply,
                           "private": private})
        tokens = self.replies.pop(0)
        generation = Generation()
        generation.prompt_tokens = len(prompt)
        threading.Thread(target=self._produce, args=(generation, tokens, params, dropped), daemon=True).start()
        return generation

    def _produce(self, generation: Generation, tokens: list[str], params: SamplingParams, dropped: int) -> None:
        if self.refuse_with is not None:
            error, self.refuse_with = self.refuse_with, None
            generation.fail(error)
            return
        finish = "stop"
        sent = 0
        readings, self.readings = self.readings, []
        for done, total in readings:
            if self.gate is not None:
                self.gate.acquire(timeout=5)
            generation.report_reading(done, total)
        for token in tokens:
            if sent >= params.max_tokens:
                break
            if self.gate is not None:
                self.gate.acquire(timeout=5)
            if generation.cancelled:
                finish = "cancelled"
                break
            generation.push(token)
            sent += 1
        if self.failure is not None:
            failure, self.failure = self.failure, None
            generation.fail(failure)
            return
        if finish != "cancelled" and sent >= params.max_tokens:
            finish = "length"
        generation.finish(Stats(
            model=self.model_name, seed=len(self.calls), prompt_tokens=generation.prompt_tokens,
            completion_tokens=sent, time_to_first_token=0.01, tokens_per_second=100.0,
            total_seconds=0.1, finish_reason=finish, dropped_messages=dropped,
        ))
