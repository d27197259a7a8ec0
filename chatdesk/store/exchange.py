"""Taking history out and bringing it back: Markdown, JSON (complete), feedback JSONL."""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from chatdesk import paths
from chatdesk.store.database import ConversationRow, MessageRow, Store

FORMAT = "chatdesk-export"
FORMAT_VERSION = 1
ROLES = {"user", "assistant", "system"}
POSITIVE = {"Like"}
SPEAKERS = {"user": "You", "assistant": "Assistant", "system": "System"}
STATUSES = {"complete", "interrupted", "streaming"}
LATEST_TIME = 1e11  # seconds since 1970: past the year 5000, beyond any clock
# What a reply's stats hold (engine.generation.Stats, which the store may not import): field -> (kinds, required)
STATS_FIELDS = {
    "model": ((str,), True), "seed": ((int,), True), "prompt_tokens": ((int,), True),
    "completion_tokens": ((int,), True), "time_to_first_token": ((int, float, type(None)), True),
    "tokens_per_second": ((int, float, type(None)), True), "total_seconds": ((int, float), True),
    "finish_reason": ((str,), True), "dropped_messages": ((int,), True),
    "prompt_evaluated": ((int, type(None)), False), "server": ((dict, type(None)), False),
}
META_TEXT = ("model", "model_sha256")


class InvalidExport(ValueError):
    """A file that is not a valid chatdesk export; nothing was imported."""


# export


def conversation_record(store: Store, row: ConversationRow) -> dict:
    """One conversation with every version of every message and their feedback."""
    messages = store.messages(row.id)
    feedback = store.feedback([m.id for m in messages])
    return asdict(row) | {"messages": [
        asdict(m) | {"feedback": [{"kind": k, "at": at} for k, at in feedback.get(m.id, [])]} for m in messages]}


def export_json(store: Store, conversation_ids: list[str]) -> str:
    """The complete export of some conversations, as JSON text."""
    rows = [store.conversation(cid) for cid in conversation_ids]
    document = {"format": FORMAT, "version": FORMAT_VERSION, "exported": time.time(),
                "conversations": [conversation_record(store, row) for row in rows if row is not None]}
    return json.dumps(document, ensure_ascii=False, indent=1)


def export_markdown(store: Store, conversation_ids: list[str]) -> str:
    """The conversations as shown (the versions on screen), for reading."""
    parts = []
    for cid in conversation_ids:
        row = store.conversation(cid)
        if row is None:
            continue
        parts.append(f"# {row.title or 'Untitled conversation'}\n\n_{_date(row.created)}_\n")
        for message in store.branch(row.leaf_id):
            parts.append(_markdown_message(message))
    return "\n".join(parts)


def _markdown_message(message: MessageRow) -> str:
    about = [_date(message.created)]
    if message.meta.get("model"):
        about.insert(0, message.meta["model"])
    if message.status == "interrupted":
        about.append("interrupted")
    files = "".join(_markdown_file(a) for a in _attachments(message.meta))
    return f"**{SPEAKERS.get(message.role, message.role)}** ({', '.join(about)}):\n\n{files}{message.content}\n"


def _attachments(meta: dict) -> list[dict]:
    """The files attached to a message (core.attachments keeps them; the store may not import it)."""
    found = meta.get("attachments")
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


def _markdown_file(attachment: dict) -> str:
    """An attached file as its name and its text, in a fence longer than any backtick run in it."""
    text = str(attachment.get("text", "")).strip()
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"📎 *{attachment.get('name', 'file')}*\n\n{fence}\n{text}\n{fence}\n\n"


def export_feedback_jsonl(store: Store) -> str:
    """One line per rated or copied reply: prompt, reply, rating, reason."""
    lines = []
    for row in store.conversations() + store.conversations(trashed=True):
        messages = {m.id: m for m in store.messages(row.id)}
        feedback = store.feedback(list(messages))
        for message_id, marks in feedback.items():
            record = _feedback_record(messages, messages[message_id], marks)
            if record is not None:
                lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines) + ("\n" if lines else "")


def _feedback_record(messages: dict[str, MessageRow], reply: MessageRow, marks) -> dict | None:
    rated = [kind for kind, _ in marks if kind != "copy"]
    rating = rated[-1] if rated and rated[-1] != "none" else None
    copied = any(kind == "copy" for kind, _ in marks)
    if rating is None and not copied:
        return None
    parent = messages.get(reply.parent_id or "")
    return {
        "conversation_id": reply.conversation_id, "message_id": reply.id,
        "prompt": parent.content if parent else "", "reply": reply.content,
        "rating": None if rating is None else ("like" if rating in POSITIVE else "dislike"),
        "reason": rating if rating not in (None, "Like", "Dislike") else None,
        "copied": copied, "model": reply.meta.get("model"), "at": max(at for _, at in marks),
    }


def write_export(text: str, name: str) -> Path:
    """Save an export in the exports folder (which the page may serve) and return its path, for download."""
    folder = paths.exports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    target.write_text(text, encoding="utf-8")
    return target


# import


def import_json(store: Store, text: str) -> list[str]:
    """Add the conversations of a chatdesk JSON export, all or none; returns their new ids."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidExport(f"This file is not JSON: {error}.") from error
    conversations = _validated(document)
    records = [_renumbered(c) for c in conversations]
    store.insert_conversations(records)
    return [r["id"] for r in records]


def _validated(document) -> list[dict]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidExport("This is not a chatdesk export (its \"format\" is not chatdesk-export).")
    if document.get("version") != FORMAT_VERSION:
        raise InvalidExport(f"This export has version {document.get('version')!r}; this chatdesk reads version 1.")
    conversations = document.get("conversations")
    if not isinstance(conversations, list):
        raise InvalidExport("This export has no list of conversations.")
    for number, conversation in enumerate(conversations, 1):
        _check_conversation(conversation, number)
    return conversations


def _check_conversation(conversation, number: int) -> None:
    where = f"Conversation {number}"
    _require(isinstance(conversation, dict), f"{where} is not an object.")
    for key, kind in (("id", str), ("title", str), ("system_prompt", str), ("messages", list)):
        _require(isinstance(conversation.get(key), kind), f"{where} has no valid {key!r}.")
    _require(conversation.get("created") is None or _is_time(conversation["created"]), f"{where} has a bad time.")
    ids: set[str] = set()
    for message in conversation["messages"]:
        _check_message(message, where, ids)
        ids.add(message["id"])
    _require(conversation.get("leaf_id") is None or conversation["leaf_id"] in ids,
             f"{where} shows a message it does not contain.")


def _check_message(message, where: str, earlier: set[str]) -> None:
    _require(isinstance(message, dict) and isinstance(message.get("id"), str), f"{where} has a message without an id.")
    _require(message["id"] not in earlier, f"{where} has two messages with the id {message['id']!r}.")
    _require(message.get("role") in ROLES, f"{where} has a message with an unknown role.")
    _require(isinstance(message.get("content"), str), f"{where} has a message without text.")
    _require(_is_time(message.get("created")), f"{where} has a message without a valid time.")
    _require(message.get("parent_id") is None or message["parent_id"] in earlier,
             f"{where} has a message whose parent is missing or comes after it.")
    _require(message.get("status", "complete") in STATUSES, f"{where} has a message with an unknown status.")
    feedback = message.get("feedback", [])
    _require(isinstance(feedback, list) and all(
        isinstance(f, dict) and isinstance(f.get("kind"), str) and _is_time(f.get("at")) for f in feedback),
        f"{where} has malformed feedback.")
    problem = _meta_problem(message.get("meta", {}))
    _require(problem is None, f"{where} has a message whose details are malformed ({problem}).")


def _meta_problem(meta) -> str | None:
    """What is wrong with a message's stored details (model, stats, sampling parameters), or None."""
    if not isinstance(meta, dict):
        return "not an object"
    for key in META_TEXT:
        if meta.get(key) is not None and not isinstance(meta[key], str):
            return f"{key} is not text"
    if meta.get("params") is not None and not isinstance(meta["params"], dict):
        return "params is not an object"
    if meta.get("attachments") is not None and not _valid_attachments(meta["attachments"]):
        return "attachments are not a list of files with a name and text"
    stats = meta.get("stats")
    if stats is None:
        return None
    if not isinstance(stats, dict) or not set(stats) <= set(STATS_FIELDS):
        return "stats has unknown fields"
    for name, (kinds, required) in STATS_FIELDS.items():
        if name not in stats:
            if required:
                return f"stats lack {name}"
        elif not _is_kind(stats[name], kinds):
            return f"stats have a bad {name}"
    return None


def _valid_attachments(attachments) -> bool:
    return isinstance(attachments, list) and all(
        isinstance(a, dict) and isinstance(a.get("name"), str) and isinstance(a.get("text"), str) for a in attachments)


def _is_kind(value, kinds: tuple) -> bool:
    """Whether `value` is one of `kinds`: true/false is not a number, nor is an infinite or NaN float."""
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, kinds)


def _is_time(value) -> bool:
    return _is_kind(value, (int, float)) and 0 <= value <= LATEST_TIME


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidExport(message + " Nothing was imported.")


def _renumbered(conversation: dict) -> dict:
    """A copy with fresh ids, so importing never overwrites or collides."""
    new_ids = {m["id"]: uuid.uuid4().hex for m in conversation["messages"]}
    now = time.time()
    return {
        "id": uuid.uuid4().hex, "title": conversation["title"], "system_prompt": conversation["system_prompt"],
        "created": float(conversation.get("created") or now), "updated": now,
        "pinned": conversation.get("pinned") is True,
        "leaf_id": new_ids.get(conversation.get("leaf_id") or conversation["messages"][-1]["id"])
        if conversation["messages"] else None,
        "messages": [{
            "id": new_ids[m["id"]], "parent_id": new_ids.get(m.get("parent_id") or ""), "role": m["role"],
            "content": m["content"], "created": float(m["created"]),
            "status": "interrupted" if m.get("status") == "streaming" else m.get("status", "complete"),
            "meta": m.get("meta") or {},
            "feedback": [(f["kind"], float(f["at"])) for f in m.get("feedback", [])],
        } for m in conversation["messages"]],
    }


def _date(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
