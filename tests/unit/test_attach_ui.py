"""The attach handlers and the files' marks, without a browser."""

import json

import pytest

from chatdesk.config import Settings
from chatdesk.core.attachments import Attachment
from chatdesk.core.host import ModelHost
from chatdesk.core.session import ChatSession
from chatdesk.engine.generation import Generation
from chatdesk.store.database import Store
from chatdesk.ui.attach import AttachHandlers
from chatdesk.ui.attachview import file_marks
from chatdesk.ui.handlers import Handlers
from tests.unit.fake_engine import ScriptedEngine


@pytest.fixture
def session(tmp_path):
    session = ChatSession.over(ModelHost(ScriptedEngine(), Settings(max_tokens=20, system_prompt="Be brief.")), Store(tmp_path / "chatdesk.db"))
    yield session
    session.history.store.close()


@pytest.fixture
def handlers(session):
    handlers = Handlers(session)
    return AttachHandlers(session, handlers.sent_to_page, handlers.live.refuse)


def test_files_picked_are_read_and_those_that_cannot_be_are_left_out(handlers, tmp_path, monkeypatch):
    warned = []
    monkeypatch.setattr("chatdesk.ui.attach.gr.Warning", warned.append)
    (tmp_path / "a.txt").write_text("one two three")
    (tmp_path / "b.png").write_bytes(b"\x89PNG")
    (tmp_path / "big.md").write_text("word " * 500)
    files, cleared = handlers.attach([str(tmp_path / n) for n in ("a.txt", "b.png", "big.md")], [], "Hi", None)
    assert cleared is None
    assert files == [{"name": "a.txt", "text": "one two three", "tokens": 7}]
    assert [w.split(":")[0].split(" has ")[0] for w in warned] == ["b.png was not attached", "big.md"]
    assert "big.md has 504 tokens; this chat has room for" in warned[1]


def test_the_readout_counts_the_files_waiting(handlers, session):
    files = [{"name": "a.txt", "text": "one two three", "tokens": 6}]
    assert handlers.readout([], "Hi", None) == "Context: 0 / 200 tokens"
    assert handlers.readout(files, "Hi", None) == "Context: 17 / 200 tokens with this message and 1 file"


def test_send_adds_the_message_with_its_files_and_empties_the_box_and_the_files(handlers, session):
    files = [{"name": "a.txt", "text": "one two three", "tokens": 6}]
    chat, _send, _stop, _status, _writing, _live, box, conversation_id, waiting = handlers.send("Read it", None,
                                                                                               files)
    assert chat == [{"role": "user", "content": "Read it"}] and box == "" and waiting == []
    conversation = session.find(conversation_id)
    assert conversation.messages[0].meta["attachments"] == [{"name": "a.txt", "text": "one two three"}]
    assert json.loads(file_marks(conversation)) == [["a.txt"]]
    assert file_marks(None) == "[]"


def test_the_readout_after_a_reply_still_counts_the_files_waiting(session):
    handlers = Handlers(session)
    conversation = session.conversation(None)
    session.host.engine.enqueue(["Hi", "!"])
    session.send(conversation, "Hello")
    list(session.replies.follow(conversation))
    files = [{"name": "a.txt", "text": "one two three", "tokens": 6}]
    readout, _marks, sent_files = handlers.usage(conversation.id, files, "Next")
    assert readout.endswith("tokens with this message and 1 file")
    assert json.loads(sent_files) == [[]]  # the files of each message sent: none
    assert handlers.usage(conversation.id)[0] == f"Context: {conversation.tokens_used:,} / 200 tokens"


def test_the_readouts_give_the_files_names_while_a_reply_is_written(session):
    """A chat shown again while its reply is written (another chat shown meanwhile, or a page opened anew) gets
    its own messages' file chips, not those of the chat shown before."""
    readouts = Handlers(session)
    conversation = session.conversation(None)
    session.add_user_message(conversation, "Read it", [Attachment("a.txt", "one two three")])
    conversation.generation = Generation()  # its reply being written
    first, again = readouts.usage(conversation.id), readouts.usage(conversation.id)
    assert json.loads(first[2]) == json.loads(again[2]) == [["a.txt"]]
