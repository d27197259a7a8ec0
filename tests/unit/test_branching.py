"""Branching from a message, deleting a message and what followed it, and temporary chats (scripted engine)."""

import sqlite3

import pytest

from chatdesk.config import Settings
from chatdesk.core.history import History
from chatdesk.core.host import ModelHost
from chatdesk.core.session import ChatSession
from chatdesk.errors import UserError
from chatdesk.store.database import Store
from tests.unit.chatting import chat, texts
from tests.unit.fake_engine import ScriptedEngine


def three_turns(session, engine):
    conversation = session.new_conversation()
    for text, reply in (("One", ["A"]), ("Two", ["B"]), ("Three", ["C"])):
        chat(session, engine, conversation, text, [reply[0]])
    return conversation


# branch from here

def test_a_branch_holds_the_messages_up_to_the_one_chosen_and_the_original_is_unchanged(session, engine, store):
    original = three_turns(session, engine)
    branch = session.branch_from(original, 3)
    assert texts(branch) == [("user", "One"), ("assistant", "A"), ("user", "Two"), ("assistant", "B")]
    assert branch.id != original.id and branch.title == "One (branch)"
    assert len(texts(original)) == 6
    assert texts(History(store).find(original.id)) == texts(original)  # as the next start shows it
    assert texts(History(store).find(branch.id)) == texts(branch)
    assert [row.id for row in store.conversations()][0] == branch.id  # on top of the list


def test_a_branch_keeps_the_version_shown_and_each_reply_s_metadata(session, engine):
    original = session.new_conversation()
    chat(session, engine, original, "Hi", ["First"])
    engine.enqueue(["Second"])
    list(session.retry(original, 1))
    session.step_version(original, 1, -1)  # back to the first version
    assert texts(original)[-1] == ("assistant", "First")
    branch = session.branch_from(original, 1)
    assert texts(branch) == [("user", "Hi"), ("assistant", "First")]
    reply = branch.messages[1]
    assert reply.stats == original.messages[1].stats and reply.meta["model"] == "scripted"
    assert reply.versions == 1  # the other version stays in the original only
    assert branch.system_prompt == original.system_prompt


def test_a_branch_of_a_branch_is_marked_once_and_goes_on_on_its_own(session, engine):
    original = three_turns(session, engine)
    branch = session.branch_from(session.branch_from(original, 1), 1)
    assert branch.title == "One (branch)"
    chat(session, engine, branch, "Other", ["D"])
    assert texts(branch)[-2:] == [("user", "Other"), ("assistant", "D")]
    assert len(original.messages) == 6


def test_a_branch_of_a_message_that_is_gone_is_refused(session, engine):
    original = three_turns(session, engine)
    with pytest.raises(UserError, match="no longer there"):
        session.branch_from(original, 9)


# delete a message

def test_deleting_a_message_asks_with_what_goes_then_removes_it_and_what_followed(session, engine, store):
    conversation = three_turns(session, engine)
    assert session.deletion_question(conversation, 2) == "Delete this message and the 3 messages after it?"
    assert session.deletion_question(conversation, 4) == "Delete this message and the 1 message after it?"
    assert session.deletion_question(conversation, 5) == "Delete this message?"
    session.delete_message(conversation, 2)
    assert texts(conversation) == [("user", "One"), ("assistant", "A")]
    assert texts(History(store).find(conversation.id)) == [("user", "One"), ("assistant", "A")]
    assert len(store.messages(conversation.id)) == 2


def test_deleting_one_version_keeps_the_others_and_shows_one_of_them(session, engine, store):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["First"])
    engine.enqueue(["Second"])
    list(session.retry(conversation, 1))
    assert conversation.messages[1].versions == 2
    session.delete_message(conversation, 1)
    assert texts(conversation) == [("user", "Hi"), ("assistant", "First")]
    assert conversation.messages[1].versions == 1
    assert texts(History(store).find(conversation.id)) == [("user", "Hi"), ("assistant", "First")]


def test_deleting_says_how_many_other_versions_below_go_too(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["First"])
    engine.enqueue(["Second"])
    list(session.retry(conversation, 1))
    assert session.deletion_question(conversation, 0) == \
        "Delete this message and the 1 message after it (and 1 other version below it)?"
    session.delete_message(conversation, 0)
    assert texts(conversation) == []


def test_a_message_cannot_be_deleted_while_a_reply_is_written(session, engine):
    conversation = three_turns(session, engine)
    gate = engine.hold()
    engine.enqueue(["x", "y"])
    updates = session.submit(conversation, "Four")
    next(updates)
    next(updates)  # the reply has started
    with pytest.raises(UserError, match="still being written"):
        session.delete_message(conversation, 0)
    session.stop(conversation)
    gate.release(5)
    list(updates)


# temporary chats

def rows_about(path, text):
    """Rows of the history file (any table) that mention `text`."""
    with sqlite3.connect(path) as db:
        messages = db.execute("SELECT COUNT(*) FROM messages WHERE content LIKE ?", (f"%{text}%",)).fetchone()[0]
        chats = db.execute("SELECT COUNT(*) FROM conversations WHERE title LIKE ?", (f"%{text}%",)).fetchone()[0]
        state = db.execute("SELECT COUNT(*) FROM app_state WHERE value LIKE ?", (f"%{text}%",)).fetchone()[0]
    return messages + chats + state


def test_a_temporary_chat_works_but_nothing_of_it_reaches_the_history_file(session, engine, store):
    conversation = session.new_temporary()
    assert conversation.temporary
    chat(session, engine, conversation, "Secret plans", ["Noted"])
    engine.enqueue(["Again"])
    list(session.retry(conversation, 1))
    session.rate(conversation, 1, "Like")
    session.history.rename(conversation.id, "Secret title")
    assert texts(conversation) == [("user", "Secret plans"), ("assistant", "Again")]
    assert session.find(conversation.id) is conversation
    assert store.conversations() == []  # not in the chat list
    assert rows_about(store.path, "Secret") == 0 and rows_about(store.path, conversation.id) == 0
    assert engine.prepared  # computed ahead, like any chat


def test_a_temporary_chat_is_gone_when_another_chat_is_opened(session, engine, store):
    conversation = session.new_temporary()
    chat(session, engine, conversation, "Secret plans", ["Noted"])
    session.leave(conversation)
    assert session.find(conversation.id) is None
    assert session.history.is_temporary(conversation.id) is False


def test_a_temporary_chat_is_gone_after_a_restart_and_the_last_saved_chat_opens(engine, tmp_path):
    store = Store(tmp_path / "chatdesk.db")
    session = ChatSession.over(ModelHost(engine, Settings()), store)
    saved = session.new_conversation()
    chat(session, engine, saved, "Kept", ["Yes"])
    temporary = session.new_temporary()
    chat(session, engine, temporary, "Secret", ["No"])
    session.close()
    again = ChatSession.over(ModelHost(ScriptedEngine(), Settings()), Store(tmp_path / "chatdesk.db"))
    assert again.find(temporary.id) is None
    assert again.last_conversation().id == saved.id
    assert [row.id for row in again.history.conversations()] == [saved.id]
    again.close()


def test_a_temporary_chat_exports_and_its_branch_stays_temporary(session, engine, store):
    conversation = session.new_temporary()
    chat(session, engine, conversation, "Secret plans", ["Noted"])
    exported = session.history.export(conversation, "markdown").read_text()
    assert "Secret plans" in exported and "Noted" in exported
    branch = session.branch_from(conversation, 1)
    assert branch.temporary and texts(branch) == texts(conversation)
    session.delete_message(branch, 1)
    assert texts(branch) == [("user", "Secret plans")] and len(conversation.messages) == 2
    assert rows_about(store.path, "Secret") == 0


def test_a_temporary_chat_s_model_state_is_asked_to_stay_off_the_disk(session, engine):
    saved = session.new_conversation()
    chat(session, engine, saved, "Kept", ["Yes"])
    session.focus(saved)
    temporary = session.new_temporary()
    session.focus(temporary)
    session.type_draft(temporary, "Secret")
    chat(session, engine, temporary, "Secret", ["No"])
    assert [call["private"] for call in engine.calls] == [False, True]
    assert engine.private[0] is False and engine.private[-1] is True
    assert engine.private[engine.prepared.index(saved.prompt())] is False
