"""The history schema: numbered, append-only migrations applied in order."""

MIGRATION_1 = """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', system_prompt TEXT NOT NULL DEFAULT '',
            created REAL NOT NULL, updated REAL NOT NULL, leaf_id TEXT);
        CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id TEXT REFERENCES messages(id) ON DELETE CASCADE,
            role TEXT NOT NULL, content TEXT NOT NULL, created REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'complete', meta TEXT NOT NULL DEFAULT '{}');
        CREATE INDEX messages_by_parent ON messages(conversation_id, parent_id, created);
"""

MIGRATION_2 = """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY, message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            kind TEXT NOT NULL, at REAL NOT NULL);
        CREATE INDEX feedback_by_message ON feedback(message_id);
        CREATE TABLE app_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        ALTER TABLE conversations ADD COLUMN deleted_at REAL;
"""

MIGRATION_3 = """
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            content, content='messages', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
        CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END;
        CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content); END;
        CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
            INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content); END;
        INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
"""

MIGRATION_4 = """
        ALTER TABLE conversations ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
"""

# Numbered and append-only: a database records which ones it has, and an older one gets the rest.
MIGRATIONS = [
    (1, "conversations and the message tree", MIGRATION_1),
    (2, "feedback, app state, trash", MIGRATION_2),
    (3, "full-text search", MIGRATION_3),
    (4, "pinned chats", MIGRATION_4),
]
