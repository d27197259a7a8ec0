"""What the page shows of a conversation: the Chatbot's messages and options, marks, details, readouts."""

from __future__ import annotations

import json

from chatdesk.core.conversation import CONTINUE, NEXT_VERSION, PREVIOUS_VERSION, REDO, Conversation
from chatdesk.core.file_room import tokens_with
from chatdesk.core.reasoning import split_reasoning
from chatdesk.core.session import ChatSession
from chatdesk.ui.display import reading_line, speed_line, to_display
from chatdesk.ui.external import hide_external

# While a reply streams the Chatbot holds this in its place, and the page writes the reply's text beside it as
# plain text (LIVE_TEXT in look.py): the Chatbot, whose every update touches every message on the page, is
# updated when the reply starts and when it ends, not for each streamed piece.
STREAMING_PLACEHOLDER = "\u200b"


def to_chatbot(conversation: Conversation, *, live: bool = False) -> list[dict]:
    """The conversation in the Chatbot's message format, with its options (versions, Continue, Redo);
    `live`: the reply being written is left to the page's live text."""
    idle = not conversation.busy
    shown = []
    for index, message in enumerate(conversation.messages):
        text = hide_external(to_display(message.content) if message.role == "assistant" else message.content)
        if live and not idle and index == len(conversation.messages) - 1 and message.role == "assistant":
            text = STREAMING_PLACEHOLDER
        item = {"role": message.role, "content": text}
        options = message_options(conversation, index) if idle else []
        if options:
            item["options"] = options
        shown.append(item)
    if live and not idle and shown and shown[-1]["role"] == "user":  # the reply's place, from the message's send
        shown.append({"role": "assistant", "content": STREAMING_PLACEHOLDER})
    return shown


def live_text(conversation: Conversation) -> str:
    """The reply being written, as plain text for the page ("" when none is being written); before its first
    words, how far its long prompt has been read."""
    generation = conversation.generation
    if generation is None or not conversation.messages:
        return ""
    content = conversation.messages[-1].content
    if not content and generation.reading is not None:
        return reading_line(generation.reading)
    reasoning, answer = split_reasoning(content)
    if reasoning is not None and not answer:
        return f"Reasoning…\n\n{reasoning}"
    return answer


def message_options(conversation: Conversation, index: int) -> list[dict]:
    """The buttons under one message: a version stepper, Continue, Redo."""
    message = conversation.messages[index]
    options = []
    if message.versions > 1:
        options += [{"value": f"{PREVIOUS_VERSION}:{index}", "label": "◀"},
                    {"value": f"version:{index}", "label": f"{message.version}/{message.versions}"},
                    {"value": f"{NEXT_VERSION}:{index}", "label": "▶"}]
    if conversation.can_continue(index):
        options.append({"value": f"{CONTINUE}:{index}", "label": "Continue"})
    if index == len(conversation.messages) - 1 and conversation.can_redo():
        options.append({"value": REDO, "label": "Redo"})
    return options


def message_marks(conversation: Conversation | None) -> str:
    """For the page, as JSON: every reply's speed line, in order, and how many oldest messages were left out."""
    replies = [m for m in conversation.messages if m.role == "assistant"] if conversation else []
    left_out = conversation.dropped_messages if conversation else 0
    return json.dumps({"stats": [speed_line(m.stats) for m in replies], "leftOut": left_out})


def format_details(facts: dict) -> str:
    """A message's details as a small Markdown table."""
    labels = {
        "role": "Role", "sent": "Sent", "characters": "Characters", "model": "Model", "seed": "Seed",
        "prompt_tokens": "Prompt tokens", "completion_tokens": "Reply tokens",
        "time_to_first_token": "Time to first token (s)", "tokens_per_second": "Tokens/s",
        "total_seconds": "Total time (s)", "finish_reason": "Finished by",
        "dropped_messages": "Messages left out of context", "feedback": "Feedback", "version": "Version",
        "prompt_evaluated": "Prompt tokens computed (rest cached)",
        "server": "Server", "server_tokens_per_second": "Tokens/s (the server's timing)",
        "system_fingerprint": "Server fingerprint",
    }
    rows = [f"- {labels[k]}: **{_fmt(v)}**" for k, v in facts.items() if k in labels]
    return "**Message details**\n\n" + "\n".join(rows)


def usage_text(session: ChatSession, conversation: Conversation | None, files: list[dict] | None = None,
               text: str = "") -> str:
    """The context readout: tokens used of the context (with `files` waiting, with them and `text` too)."""
    engine = session.host.engine
    if engine is None:
        return "No model loaded"
    if files:
        used = tokens_with(session.host, conversation, text or "", sum(f["tokens"] for f in files))
        count = f"{len(files)} file{'s' if len(files) != 1 else ''}"
        return f"Context: {used:,} / {engine.context_length:,} tokens with this message and {count}"
    used, total = session.context_usage(conversation) if conversation else (0, engine.context_length)
    text = f"Context: {used:,} / {total:,} tokens"
    if conversation is not None and conversation.dropped_messages:
        text += f" · oldest {conversation.dropped_messages} messages left out"
    return text


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if value < 100 else f"{value:,.0f}"
    return "—" if value is None else str(value)
