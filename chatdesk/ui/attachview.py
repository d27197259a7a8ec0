"""How attached files look on the page: chips on a sent message and above the message box. No gradio."""

from __future__ import annotations

import html
import re

from chatdesk.core.attachments import attachments_of
from chatdesk.core.conversation import Message

CHIPS_OPEN = '<div class="attachment-chips">'
_CHIPS = re.compile(r'^\s*<div class="attachment-chips">.*?</div>\s*', re.S)


def chip(name: str, tokens: int | None = None) -> str:
    """One file as a small labelled chip (its tokens too, before sending)."""
    size = f' <span class="attachment-size">{tokens:,} tokens</span>' if tokens is not None else ""
    return f'<span class="attachment-chip" title="{html.escape(name)}">{html.escape(name)}{size}</span>'


def with_chips(message: Message, text: str) -> str:
    """A user message's shown text with a chip for each of its files above it."""
    files = attachments_of(message.meta)
    if not files:
        return text
    return CHIPS_OPEN + "".join(chip(a.name) for a in files) + "</div>\n\n" + text


def without_chips(text: str) -> str:
    """Shown text with its file chips taken off (for edits and copies: the files stay with the message)."""
    return _CHIPS.sub("", text, count=1)
