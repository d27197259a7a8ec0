"""Reasoning models' <think> blocks: split from the answer, which is what later turns see."""

from __future__ import annotations

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def split_reasoning(text: str) -> tuple[str | None, str]:
    """(reasoning, answer) of a reply; reasoning is None when there is no <think> block."""
    start = text.find(THINK_OPEN)
    if start == -1 or text[:start].strip():
        return None, text
    body = text[start + len(THINK_OPEN):]
    end = body.find(THINK_CLOSE)
    if end == -1:  # still thinking
        return body.strip(), ""
    return body[:end].strip(), body[end + len(THINK_CLOSE):].lstrip()


def answer_only(text: str) -> str:
    """A reply without its reasoning, as later turns should see it."""
    return split_reasoning(text)[1]
