"""Taking history out and bringing it back: Markdown, JSON (complete), feedback JSONL."""

from __future__ import annotations

import json
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
    return f"**{SPEAKERS.get(message.role, message.role)}** ({', '.join(about)}):\n\n{message.content}\n"


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
    """Save an export under the cache dir and return its path, for download."""
    folder = paths.cache_dir() / "exports"
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
    ids = set()
    for message in conversation["messages"]:
        _require(isinstance(message, dict) and isinstance(message.get("id"), str), f"{where} has a message without an id.")
        _require(message.get("role") in ROLES, f"{where} has a message with an unknown role.")
        _require(isinstance(message.get("content"), str), f"{where} has a message without text.")
        _require(isinstance(message.get("created"), (int, float)), f"{where} has a message without a time.")
        _require(message.get("parent_id") is None or message["parent_id"] in ids,
                 f"{where} has a message whose parent is missing or comes after it.")
        _require(isinstance(message.get("feedback", []), list), f"{where} has malformed feedback.")
        ids.add(message["id"])
    _require(conversation.get("leaf_id") is None or conversation["leaf_id"] in ids,
             f"{where} shows a message it does not contain.")


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
        "leaf_id": new_ids.get(conversation.get("leaf_id") or conversation["messages"][-1]["id"])
        if conversation["messages"] else None,
        "messages": [{
            "id": new_ids[m["id"]], "parent_id": new_ids.get(m.get("parent_id") or ""), "role": m["role"],
            "content": m["content"], "created": float(m["created"]),
            "status": "interrupted" if m.get("status") == "streaming" else m.get("status", "complete"),
            "meta": m.get("meta") if isinstance(m.get("meta"), dict) else {},
            "feedback": [(str(f.get("kind")), float(f.get("at", now))) for f in m.get("feedback", []) if isinstance(f, dict)],
        } for m in conversation["messages"]],
    }


def _date(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
