"""A kill -9 in the middle of a reply loses nothing that was on screen a second before."""

import sqlite3

from chatdesk.store.database import Store
from tests.apprunner import RunningApp, wait_for


def test_sigkill_while_streaming_keeps_the_history_and_the_partial_reply(tmp_path):
    app = RunningApp(tmp_path, "--max-tokens", "2000")
    try:
        client = app.client()
        conversation_id = client.predict(api_name="/new_conversation")
        client.predict("Remember the word pineapple.", conversation_id, api_name="/chat")
        job = client.submit("Write a very long story about a lighthouse keeper.", conversation_id, api_name="/chat")
        wait_for(lambda: job.outputs() and len(job.outputs()[-1]) > 300, timeout=60)  # well into the reply
        seen = job.outputs()[-1]
        wait_for(lambda: _saved_reply_length(app.database) >= len(seen) - 1, timeout=3)
        app.kill()
    finally:
        app.stop()

    restarted = RunningApp(tmp_path)
    try:
        store = Store(restarted.database)
        assert store.integrity() == "ok"
        [conversation] = store.conversations()
        messages = store.branch(conversation.leaf_id)
        assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
        assert messages[0].content == "Remember the word pineapple." and messages[1].status == "complete"
        partial = messages[-1]
        assert partial.status == "interrupted"
        assert partial.content.startswith(seen[:200]) and len(partial.content) >= len(seen) - 1
        store.close()
    finally:
        restarted.stop()


def _saved_reply_length(database) -> int:
    """How much of the streaming reply is on disk, read as another process would."""
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT content FROM messages WHERE status = 'streaming'").fetchone()
    return len(row[0]) if row else 0
