"""The history database: conversations, the message tree, feedback, search. The only SQLite user."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from chatdesk import paths
from chatdesk.errors import StorageError
from chatdesk.store.migrations import MIGRATIONS
from chatdesk.store.salvage import damaged, move_aside, salvage

DB_NAME = "chatdesk.db"
IN_MEMORY = ":memory:"
TITLE_CHARS = 60
BUSY_SECONDS = 10  # how long a write waits for another connection to let go of the file


class HistoryUnavailable(RuntimeError):
    """The history file cannot be used right now (locked, not readable, a failing migration); it was left as it is."""


@dataclass(frozen=True)
class ConversationRow:
    """A conversation as stored."""

    id: str
    title: str
    system_prompt: str
    created: float
    updated: float
    leaf_id: str | None
    deleted_at: float | None
    pinned: bool = False


@dataclass(frozen=True)
class MessageRow:
    """A message as stored; `parent_id` makes the tree, siblings are versions."""

    id: str
    conversation_id: str
    parent_id: str | None
    role: str
    content: str
    created: float
    status: str  # "complete", "streaming" or "interrupted"
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    """A message that matched a search, with a snippet around the match."""

    conversation_id: str
    message_id: str
    title: str
    snippet: str


class Store:
    """One SQLite database, shared by every window of this process."""

    def __init__(self, path: Path | None = None):
        self.path = path or paths.data_dir() / DB_NAME
        if str(self.path) != IN_MEMORY:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.moved_aside: Path | None = None
        self.recovered: tuple[int, int] | None = None  # (chats, messages) brought over from a damaged file
        self._lock = threading.RLock()
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as error:
            if not damaged(error):
                raise HistoryUnavailable(
                    f"The history file {self.path} could not be opened ({error}). It was left as it is. "
                    "If another program is using it, close that program; then start chatdesk again.") from error
            self.moved_aside = move_aside(self.path)
            self._db = self._connect()
            self.recovered = salvage(self.moved_aside, self._db)
        self._tidy()

    @classmethod
    def in_memory(cls) -> "Store":
        """A history kept in RAM only: nothing reaches the disk, and it is gone when closed."""
        return cls(Path(IN_MEMORY))

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=BUSY_SECONDS)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]  # a damaged page fails later, any time
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed: {verdict}")
            self._migrate(db)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                   "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied REAL NOT NULL)")
        done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            try:  # one script, one transaction: a migration applies whole or not at all
                db.executescript(f"BEGIN IMMEDIATE; {sql}; INSERT INTO schema_migrations "
                                 f"VALUES ({version}, '{name}', {time.time()}); COMMIT;")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def schema_version(self) -> int:
        """The newest migration applied."""
        return self._one("SELECT MAX(version) FROM schema_migrations")[0]

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing."""
        with self._lock, self._writing():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite may have rolled back already (a full disk does)
                    self._db.execute("ROLLBACK")
                raise

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Turn a disk that cannot take the write into a StorageError saying so."""
        try:
            yield
        except sqlite3.OperationalError as error:
            code = getattr(error, "sqlite_errorcode", None)
            if code == sqlite3.SQLITE_FULL:
                raise StorageError(f"The disk is full: chatdesk could not save to its history ({self.path}). "
                                   "Free some space; nothing saved before is lost.") from error
            if code is not None and code & 0xFF == sqlite3.SQLITE_IOERR:
                raise StorageError(f"chatdesk could not read or write its history ({self.path}): {error}. "
                                   "Nothing saved before is lost.") from error
            raise

    def _run(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock, self._writing():
            return self._db.execute(sql, args)

    def _one(self, sql: str, args: tuple = ()):
        with self._lock, self._writing():
            return self._db.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple = ()) -> list:
        with self._lock, self._writing():
            return self._db.execute(sql, args).fetchall()

    def _tidy(self) -> None:
        """Keep replies cut off by the last run's end (marked interrupted); drop conversations never used."""
        self._run("UPDATE messages SET status = 'interrupted' WHERE status = 'streaming'")
        self._run("DELETE FROM conversations WHERE leaf_id IS NULL AND id NOT IN (SELECT conversation_id FROM messages)")

    # conversations

    def create_conversation(self, system_prompt: str = "", title: str = "") -> ConversationRow:
        """A new, empty conversation."""
        now = time.time()
        row = ConversationRow(uuid.uuid4().hex, title, system_prompt, now, now, None, None)
        self._run("INSERT INTO conversations (id, title, system_prompt, created, updated) VALUES (?, ?, ?, ?, ?)",
                  (row.id, row.title, row.system_prompt, now, now))
        return row

    def conversation(self, conversation_id: str) -> ConversationRow | None:
        """One conversation, trashed or not."""
        row = self._one(f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,))
        return _conversation(row) if row else None

    def conversations(self, *, trashed: bool = False) -> list[ConversationRow]:
        """Conversations that have messages, most recently used first."""
        where = "deleted_at IS NOT NULL" if trashed else "deleted_at IS NULL"
        rows = self._all(f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE {where} "
                         "AND leaf_id IS NOT NULL ORDER BY pinned DESC, updated DESC")
        return [_conversation(row) for row in rows]

    def rename(self, conversation_id: str, title: str) -> None:
        """Give a conversation a new title."""
        self._run("UPDATE conversations SET title = ? WHERE id = ?", (title.strip()[:200], conversation_id))

    def set_system_prompt(self, conversation_id: str, text: str) -> None:
        """Give a conversation its own system prompt."""
        self._run("UPDATE conversations SET system_prompt = ? WHERE id = ?", (text, conversation_id))

    def set_pinned(self, conversation_id: str, pinned: bool) -> None:
        """Pin a conversation to the top of the list, or unpin it."""
        self._run("UPDATE conversations SET pinned = ? WHERE id = ?", (int(pinned), conversation_id))

    def trash(self, conversation_id: str) -> None:
        """Move a conversation to the trash."""
        self._run("UPDATE conversations SET deleted_at = ? WHERE id = ?", (time.time(), conversation_id))

    def restore(self, conversation_id: str) -> None:
        """Bring a conversation back from the trash."""
        self._run("UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conversation_id,))

    def purge(self, conversation_id: str) -> None:
        """Delete a trashed conversation for good."""
        self._run("DELETE FROM conversations WHERE id = ? AND deleted_at IS NOT NULL", (conversation_id,))

    def set_leaf(self, conversation_id: str, leaf_id: str | None, *, touch: bool = True) -> None:
        """Show the branch that ends at `leaf_id`; with `touch`, the conversation counts as just used."""
        self._run("UPDATE conversations SET leaf_id = ?, updated = CASE WHEN ? THEN ? ELSE updated END WHERE id = ?",
                  (leaf_id, touch, time.time(), conversation_id))

    # messages

    def add_message(self, conversation_id: str, parent_id: str | None, role: str, content: str,
                    *, meta: dict | None = None, status: str = "complete") -> MessageRow:
        """Append a message under `parent_id` and show the branch ending at it."""
        row = MessageRow(uuid.uuid4().hex, conversation_id, parent_id, role, content, time.time(), status, meta or {})
        with self.transaction() as db:
            db.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (row.id, conversation_id, parent_id, role, content, row.created, status, json.dumps(row.meta)))
            db.execute("UPDATE conversations SET leaf_id = ?, updated = ?, "
                       "title = CASE WHEN title = '' AND ? = 'user' THEN ? ELSE title END WHERE id = ?",
                       (row.id, row.created, role, make_title(content), conversation_id))
        return row

    def save_content(self, message_id: str, content: str) -> None:
        """Checkpoint the text of a message being written."""
        self._run("UPDATE messages SET content = ?, status = 'streaming' WHERE id = ?", (content, message_id))

    def finish_message(self, message_id: str, content: str, meta: dict, status: str = "complete") -> None:
        """Store a reply's final text and what produced it."""
        self._run("UPDATE messages SET content = ?, meta = ?, status = ? WHERE id = ?",
                  (content, json.dumps(meta), status, message_id))

    def message(self, message_id: str) -> MessageRow | None:
        """One message."""
        row = self._one(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,))
        return _message(row) if row else None

    def branch(self, leaf_id: str | None) -> list[MessageRow]:
        """The messages from the root down to `leaf_id`."""
        if leaf_id is None:
            return []
        rows = self._all(f"""
            WITH RECURSIVE up(id, depth) AS (
                SELECT ?, 0 UNION ALL
                SELECT m.parent_id, up.depth + 1 FROM messages m JOIN up ON m.id = up.id
                WHERE m.parent_id IS NOT NULL)
            SELECT {_MESSAGE_COLUMNS} FROM messages JOIN up USING (id) ORDER BY up.depth DESC""", (leaf_id,))
        return [_message(row) for row in rows]

    def siblings(self, message: MessageRow) -> list[MessageRow]:
        """The versions of a message: every message with its parent, oldest first."""
        rows = self._all(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? "
                         "AND parent_id IS ? ORDER BY created, rowid", (message.conversation_id, message.parent_id))
        return [_message(row) for row in rows]

    def newest_leaf(self, message_id: str) -> str:
        """The end of the most recent branch below a message."""
        while True:
            row = self._one("SELECT id FROM messages WHERE parent_id = ? ORDER BY created DESC, rowid DESC LIMIT 1",
                            (message_id,))
            if row is None:
                return message_id
            message_id = row[0]

    def children(self, message_id: str) -> list[MessageRow]:
        """The messages right below one message (the versions of its next message), oldest first."""
        rows = self._all(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE parent_id = ? ORDER BY created, rowid",
                         (message_id,))
        return [_message(row) for row in rows]

    def delete_message(self, message_id: str) -> None:
        """Delete a message and everything below it."""
        self._run("DELETE FROM messages WHERE id = ?", (message_id,))

    def messages(self, conversation_id: str) -> list[MessageRow]:
        """Every message of a conversation, every version, oldest first."""
        rows = self._all(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY created, rowid",
                         (conversation_id,))
        return [_message(row) for row in rows]

    def insert_conversations(self, records: list[dict]) -> None:
        """Add whole conversations (messages in parent-first order, with feedback) in one transaction."""
        with self.transaction() as db:
            for c in records:
                db.execute("INSERT INTO conversations (id, title, system_prompt, created, updated, pinned) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (c["id"], c["title"], c["system_prompt"], c["created"],
                                                         c["updated"], int(c.get("pinned", False))))
                for m in c["messages"]:
                    db.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (m["id"], c["id"], m["parent_id"], m["role"], m["content"], m["created"],
                                m["status"], json.dumps(m["meta"])))
                    db.executemany("INSERT INTO feedback (message_id, kind, at) VALUES (?, ?, ?)",
                                   [(m["id"], kind, at) for kind, at in m["feedback"]])
                db.execute("UPDATE conversations SET leaf_id = ? WHERE id = ?", (c["leaf_id"], c["id"]))

    # feedback, search, state

    def add_feedback(self, message_id: str, kind: str) -> None:
        """Record a like, dislike, reason, copy or take-back on a message."""
        self._run("INSERT INTO feedback (message_id, kind, at) VALUES (?, ?, ?)", (message_id, kind, time.time()))

    def feedback(self, message_ids: list[str]) -> dict[str, list[tuple[str, float]]]:
        """Feedback per message, oldest first."""
        marks = ",".join("?" * len(message_ids))
        found: dict[str, list[tuple[str, float]]] = {}
        for message_id, kind, at in self._all(
                f"SELECT message_id, kind, at FROM feedback WHERE message_id IN ({marks}) ORDER BY id", tuple(message_ids)):
            found.setdefault(message_id, []).append((kind, at))
        return found

    def search(self, query: str, limit: int = 30) -> list[SearchHit]:
        """Messages of live conversations matching every word of `query`, best first."""
        words = [w.replace('"', '""') for w in query.split()]
        if not words:
            return []
        match = " ".join(f'"{w}"*' for w in words)
        rows = self._all("""
            SELECT m.conversation_id, m.id, c.title, snippet(messages_fts, 0, '', '', '…', 12)
            FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid
            JOIN conversations c ON c.id = m.conversation_id
            WHERE messages_fts MATCH ? AND c.deleted_at IS NULL ORDER BY rank LIMIT ?""", (match, limit))
        return [SearchHit(*row) for row in rows]

    def get_state(self, key: str) -> str | None:
        """A remembered value, such as the last open conversation."""
        row = self._one("SELECT value FROM app_state WHERE key = ?", (key,))
        return row[0] if row else None

    def set_state(self, key: str, value: str) -> None:
        """Remember a value across restarts."""
        self._run("INSERT INTO app_state VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                  (key, value))

    def integrity(self) -> str:
        """SQLite's own integrity check: "ok" when the file is sound."""
        return self._one("PRAGMA integrity_check")[0]


_CONVERSATION_COLUMNS = "id, title, system_prompt, created, updated, leaf_id, deleted_at, pinned"
_MESSAGE_COLUMNS = "id, conversation_id, parent_id, role, content, created, status, meta"


def _conversation(row: tuple) -> ConversationRow:
    return ConversationRow(*row[:7], pinned=bool(row[7]))


def _message(row: tuple) -> MessageRow:
    return MessageRow(*row[:7], meta=json.loads(row[7] or "{}"))


def make_title(text: str) -> str:
    """A conversation title from its first message."""
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"
