"""Helpers for the fault tests: how many runs, what the history holds, and the page's own controls.

CHATDESK_FAULT_RUNS sets how many kills each fault test makes (default 2, to keep `make test` quick; the
README's figures come from CHATDESK_FAULT_RUNS=20). CHATDESK_FAULT_SEED replays a run's random kill points.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

DEFAULT_RUNS = 2


def fault_runs() -> int:
    """How many times each fault is injected."""
    return max(1, int(os.environ.get("CHATDESK_FAULT_RUNS", DEFAULT_RUNS)))


def fault_random() -> tuple[random.Random, int]:
    """A random source for kill points, and its seed (printed, so a failing run can be replayed)."""
    seed = int(os.environ.get("CHATDESK_FAULT_SEED") or random.randrange(1 << 30))
    return random.Random(seed), seed


@dataclass(frozen=True)
class Saved:
    """A message as it is in the history file."""

    conversation_id: str
    role: str
    content: str
    status: str


def read_history(database: Path) -> tuple[str, dict[str, Saved]]:
    """SQLite's integrity check and every message, read as the next start would (WAL recovered)."""
    db = sqlite3.connect(database, timeout=10)
    try:
        verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
        rows = db.execute("SELECT id, conversation_id, role, content, status FROM messages").fetchall()
    finally:
        db.close()
    return verdict, {row[0]: Saved(*row[1:]) for row in rows}


def streaming_checkpoint(database: Path) -> str | None:
    """The text of the reply being written, as far as it is saved; None when no reply is being written."""
    try:
        with sqlite3.connect(database, timeout=1) as db:
            row = db.execute("SELECT content FROM messages WHERE status = 'streaming'").fetchone()
    except sqlite3.OperationalError:  # busy for a moment: no checkpoint read this time
        return None
    return row[0] if row else None


def lost_since(before: dict[str, Saved], after: dict[str, Saved]) -> list[str]:
    """What of `before` is missing or changed in `after` (a reply cut off may only change its status)."""
    problems = []
    for message_id, old in before.items():
        new = after.get(message_id)
        if new is None:
            problems.append(f"message {message_id} ({old.role}: {old.content[:40]!r}) is gone")
        elif (new.conversation_id, new.role, new.content) != (old.conversation_id, old.role, old.content):
            problems.append(f"message {message_id} changed: {old.content[:40]!r} -> {new.content[:40]!r}")
    return problems


class Page:
    """The page's own controls, driven as the browser drives them (Gradio's queue protocol).

    The settings panel and the import button are not API endpoints: this finds their handlers by the
    element and event a person clicks.
    """

    def __init__(self, url: str, headers: dict[str, str]):
        self.url = url
        self.http = httpx.Client(timeout=120, headers=headers)  # the launch's secret
        self.config = self.http.get(url + "config").json()

    def handler(self, elem_id: str, event: str) -> int:
        """The id of the handler that `event` on the element `elem_id` runs."""
        [component] = [c["id"] for c in self.config["components"] if c.get("props", {}).get("elem_id") == elem_id]
        for dependency in self.config["dependencies"]:
            if [component, event] in [list(t) for t in dependency["targets"]]:
                return dependency["id"]
        raise LookupError(f"nothing handles {event} on #{elem_id}")

    def default(self, elem_id: str):
        """The value the element was built with."""
        [value] = [c["props"].get("value") for c in self.config["components"]
                   if c.get("props", {}).get("elem_id") == elem_id]
        return value

    def inputs(self, elem_id: str, event: str) -> list[int]:
        """The component ids the handler takes, in order."""
        fn = self.handler(elem_id, event)
        return next(d["inputs"] for d in self.config["dependencies"] if d["id"] == fn)

    def value_of(self, component_id: int):
        """A component's value as the page was built."""
        return next(c["props"].get("value") for c in self.config["components"] if c["id"] == component_id)

    def start(self, elem_id: str, event: str, data: list) -> "Call":
        """Click: join the queue with `data` and read the answers on a thread."""
        return Call(self, self.handler(elem_id, event), data)

    def upload(self, path: Path) -> dict:
        """Upload a file as the page does; the value an upload button hands to its handler."""
        with open(path, "rb") as source:
            response = self.http.post(self.url + "gradio_api/upload", files={"files": (path.name, source)})
        response.raise_for_status()
        [server_path] = response.json()
        return {"path": server_path, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def close(self) -> None:
        self.http.close()


class Call:
    """One handler run through the queue; `done` is set with its messages when it completes."""

    def __init__(self, page: Page, fn_index: int, data: list):
        self.messages: list[dict] = []
        self.done = threading.Event()
        session = uuid.uuid4().hex
        page.http.post(page.url + "gradio_api/queue/join", json={
            "data": data, "fn_index": fn_index, "session_hash": session, "event_data": None,
            "trigger_id": None}).raise_for_status()
        threading.Thread(target=self._read, args=(page, session), daemon=True).start()

    def _read(self, page: Page, session: str) -> None:
        try:
            with page.http.stream("GET", page.url + "gradio_api/queue/data", params={"session_hash": session},
                                  timeout=120) as events:
                for line in events.iter_lines():
                    if line.startswith("data:"):
                        self.messages.append(json.loads(line[5:]))
                        if self.messages[-1].get("msg") == "process_completed":
                            return
        except httpx.HTTPError:  # the app was killed
            pass
        finally:
            self.done.set()

    def result(self, timeout: float = 120) -> dict:
        """The completed message (its `output`, `success`), waiting for it."""
        assert self.done.wait(timeout), "the handler did not complete"
        return self.messages[-1]


def seed_history(home: Path, turns: int = 6) -> str:
    """A conversation of a few hundred tokens in the history of `home`, open at the next start; its id."""
    from chatdesk.store.database import Store

    store = Store(home / "data" / "chatdesk.db")
    try:
        conversation = store.create_conversation("You are a helpful assistant.")
        parent = None
        for turn in range(turns):
            role = "user" if turn % 2 == 0 else "assistant"
            text = f"Turn {turn}: the keeper lit the lamp at dusk and counted the ships going by. " * 4
            parent = store.add_message(conversation.id, parent, role, text).id
        store.set_state("last_conversation", conversation.id)
        return conversation.id
    finally:
        store.close()
