"""A damaged history file: kept aside under a dated name, and what can still be read brought into a new one."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

TABLES = ("conversations", "messages", "feedback", "app_state")  # parents before children
BATCH = 500
GIVE_UP = 10_000  # unreadable rows skipped one by one before a table is left as it is


def damaged(error: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the file is not a database or is corrupt (not locked, unreadable, or a failed migration)."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:  # raised by the Store's quick check at start
        return "malformed" in str(error)
    return code & 0xFF in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


def move_aside(path: Path) -> Path:
    """Rename a database that cannot be opened (and its WAL files) to a dated name; never delete it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.unreadable-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.unreadable-{stamp}-{n}")
        n += 1
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            shutil.move(source, Path(f"{target}{suffix}"))
    return target


def salvage(kept: Path, into: sqlite3.Connection) -> tuple[int, int]:
    """Copy every row that can still be read from the damaged file `kept` into `into`; (chats, messages) recovered."""
    try:
        source = sqlite3.connect(f"file:{kept}?mode=ro", uri=True)
    except sqlite3.Error:
        return 0, 0
    try:
        into.execute("PRAGMA foreign_keys=OFF")  # a message whose parent was lost is still worth keeping
        into.execute("BEGIN IMMEDIATE")
        for table in TABLES:
            _copy(source, into, table)
        _mend(into)
        into.execute("COMMIT")
    except sqlite3.Error:
        if into.in_transaction:
            into.execute("ROLLBACK")
        return 0, 0
    finally:
        into.execute("PRAGMA foreign_keys=ON")
        source.close()
    return tuple(into.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("conversations", "messages"))


def _copy(source: sqlite3.Connection, into: sqlite3.Connection, table: str) -> None:
    """Every readable row of `table`, in rowid order; where a batch cannot be read, row by row."""
    try:
        theirs = {row[1] for row in source.execute(f"PRAGMA table_info({table})")}
        # Those both have: a file from before a migration lacks its new columns, which take their defaults.
        columns = [row[1] for row in into.execute(f"PRAGMA table_info({table})") if row[1] in theirs]
        source.execute(f"SELECT {', '.join(columns)} FROM {table} LIMIT 0")
    except sqlite3.Error:
        return
    select = f"SELECT rowid, {', '.join(columns)} FROM {table}"
    insert = f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    last, missed = 0, 0  # automatic rowids start at 1
    while missed < GIVE_UP:
        try:
            rows = source.execute(f"{select} WHERE rowid > ? ORDER BY rowid LIMIT {BATCH}", (last,)).fetchall()
            if not rows:
                return
            last, missed = rows[-1][0], 0
        except sqlite3.DatabaseError:  # a damaged page among them: read the next rowids one at a time
            rows = _one_by_one(source, select, range(last + 1, last + 1 + BATCH))
            last, missed = last + BATCH, 0 if rows else missed + BATCH
        into.executemany(insert, [row[1:] for row in rows])


def _one_by_one(source: sqlite3.Connection, select: str, rowids: range) -> list[tuple]:
    found = []
    for rowid in rowids:
        try:
            found += source.execute(f"{select} WHERE rowid = ?", (rowid,)).fetchall()
        except sqlite3.DatabaseError:
            continue
    return found


def _mend(db: sqlite3.Connection) -> None:
    """Make what was recovered hang together: messages of lost chats go, lost parents and leaves are replaced."""
    db.execute("DELETE FROM messages WHERE conversation_id NOT IN (SELECT id FROM conversations)")
    db.execute("UPDATE messages SET parent_id = NULL WHERE parent_id NOT IN (SELECT id FROM messages)")
    db.execute("DELETE FROM feedback WHERE message_id NOT IN (SELECT id FROM messages)")
    db.execute("""UPDATE conversations SET leaf_id = (
                      SELECT id FROM messages m WHERE m.conversation_id = conversations.id
                      ORDER BY created DESC, rowid DESC LIMIT 1)
                  WHERE leaf_id IS NULL OR leaf_id NOT IN (SELECT id FROM messages)""")
