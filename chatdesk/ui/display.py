"""How message text is shown: reasoning blocks folded away, a speed line per reply, the prompt being read.
No gradio."""

from __future__ import annotations

import re

from chatdesk.core.reasoning import THINK_CLOSE, THINK_OPEN, split_reasoning
from chatdesk.engine.generation import Reading, Stats

FOLD_OPEN = '<details class="reasoning"><summary>Reasoning</summary>\n\n'
FOLD_OPEN_LIVE = '<details class="reasoning"><summary>Reasoning…</summary>\n\n'
FOLD_CLOSE = "\n\n</details>\n\n"
_FOLDED = re.compile(r'<details class="reasoning"><summary>Reasoning…?</summary>\n\n(.*?)(?:\n\n</details>\n\n|$)', re.S)


def to_display(text: str) -> str:
    """A reply with its reasoning folded into a collapsed block above the answer."""
    reasoning, answer = split_reasoning(text)
    if reasoning is None:
        return text
    still_thinking = THINK_CLOSE not in text
    opening = FOLD_OPEN_LIVE if still_thinking else FOLD_OPEN
    return f"{opening}{reasoning}{FOLD_CLOSE}{answer}"


def from_display(text: str) -> str:
    """The stored form of text shown with to_display (for edits and copies)."""
    match = _FOLDED.match(text)
    if match is None:
        return text
    return f"{THINK_OPEN}\n{match.group(1).strip()}\n{THINK_CLOSE}\n\n{text[match.end():]}"


def speed_line(stats: Stats | None) -> str:
    """The short speed note shown under a reply."""
    if stats is None:
        return ""
    parts = [f"{stats.tokens_per_second:.1f} tok/s"] if stats.tokens_per_second is not None else []
    if stats.time_to_first_token is not None:
        parts.append(f"{stats.time_to_first_token:.2f} s to first token")
    parts.append(f"{stats.completion_tokens} token{'s' if stats.completion_tokens != 1 else ''}")
    if stats.finish_reason in ("length", "cancelled"):
        parts.append("stopped" if stats.finish_reason == "cancelled" else "hit the length limit")
    return " · ".join(parts)


def reading_line(reading: Reading) -> str:
    """What a reply shows while its prompt is read: how far, and about how long it will still take."""
    if not reading.total:
        return "Reading your message…"
    line = f"Reading your message: {reading.done:,} / {reading.total:,} tokens"
    left = reading.seconds_left
    if left is None or reading.done >= reading.total:
        return line
    if left < 60:
        return f"{line} · about {max(1, round(left))} s left"
    return f"{line} · about {round(left / 60)} min left"
