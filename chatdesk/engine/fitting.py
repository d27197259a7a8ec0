"""Fitting a conversation into a model's context: the oldest turns are left out, never the system prompt."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from chatdesk.errors import ContextOverflow, overflow_message

Measured = TypeVar("Measured")


def fit_turns(messages: Sequence[dict], context_length: int, reply_budget: int,
              measure: Callable[[list[dict]], Measured], size: Callable[[Measured], int]):
    """(messages kept, `measure` of them, how many were left out) for a reply of `reply_budget` tokens (at most
    half the context); ContextOverflow when even the last turn alone does not fit."""
    messages = [{"role": m["role"], "content": m["content"]} for m in messages]
    budget = context_length - min(reply_budget, context_length // 2)
    system = messages[:1] if messages and messages[0]["role"] == "system" else []
    turns = messages[len(system):]
    for dropped in range(len(turns)):
        kept = turns[dropped:]
        if dropped and kept and kept[0]["role"] != "user":
            continue  # a conversation resumes at a user message
        measured = measure(system + kept)
        if size(measured) <= budget:
            return system + kept, measured, dropped
    needed = size(measure(system + turns[-1:]))
    raise ContextOverflow(overflow_message(needed, budget, context_length))
