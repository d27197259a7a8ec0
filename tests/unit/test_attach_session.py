"""Sending files with a message: the prompt, the history, the room in the context, export and import."""

import json

import pytest

from chatdesk.core.attachments import Attachment
from chatdesk.core.file_room import check_room, file_tokens, tokens_with
from chatdesk.core.history import History
from chatdesk.errors import UserError
from chatdesk.store import exchange
from chatdesk.store.database import Store
from tests.unit.fake_engine import ScriptedEngine

NOTES = Attachment("notes.txt", "alpha beta gamma")


@pytest.fixture
def engine():
    return ScriptedEngine(context_length=200)


def send(session, engine, conversation, text, files, reply=("Ok",)):
    engine.enqueue(list(reply))
    session.add_user_message(conversation, text, files)
    return list(session.reply(conversation))


def test_the_files_go_into_the_prompt_with_their_names_and_the_typed_text_stays_the_message(session, engine):
    conversation = session.new_conversation()
    send(session, engine, conversation, "Summarise", [NOTES])
    sent = engine.calls[0]["messages"][-1]
    assert sent == {"role": "user", "content": "File: notes.txt\n```txt\nalpha beta gamma\n```\n\nSummarise"}
    assert conversation.messages[0].content == "Summarise"
    assert conversation.messages[0].meta["attachments"] == [{"name": "notes.txt", "text": "alpha beta gamma"}]


def test_the_history_keeps_the_files_after_a_restart(session, engine, store):
    conversation = session.new_conversation()
    send(session, engine, conversation, "Summarise", [NOTES])
    engine.enqueue(["Sure"])
    list(session.submit(conversation, "And again"))
    reopened = History(store).find(conversation.id)
    assert reopened.messages[0].meta["attachments"][0]["name"] == "notes.txt"
    assert "alpha beta gamma" in reopened.prompt()[1]["content"]  # later replies still see the file
    assert "alpha beta gamma" in engine.calls[1]["messages"][1]["content"]


def test_a_message_of_files_only_is_sent_and_the_chat_titled_after_them(session, engine):
    conversation = session.new_conversation()
    send(session, engine, conversation, "  ", [NOTES, Attachment("b.md", "x")])
    assert conversation.title == "notes.txt, b.md"
    assert engine.calls[0]["messages"][-1]["content"].endswith("x\n```")
    with pytest.raises(UserError, match="Type a message first"):
        session.add_user_message(conversation, "", [])


def test_a_file_too_big_for_the_context_says_how_much_fits_and_nothing_is_added(session, engine):
    conversation = session.new_conversation()
    big = Attachment("report.pdf", " ".join(["word"] * 200))
    with pytest.raises(UserError, match=r"^report.pdf has 204 tokens; this chat has room for 168\. Attach a shorter"):
        session.add_user_message(conversation, "Read this", [big])
    assert conversation.messages == []


def test_how_much_fits_is_counted_from_the_context_the_reply_and_the_message(session, engine):
    room_left = 200 - 20 - engine.count_tokens([{"role": "system", "content": "Be brief."},
                                                {"role": "user", "content": "Read this"}])
    big = Attachment("report.pdf", " ".join(["word"] * room_left))
    tokens = file_tokens(session.host, big)
    assert tokens == room_left + 4  # "File: report.pdf", the fences
    with pytest.raises(UserError, match=f"^report.pdf has {tokens:,} tokens; this chat has room for {room_left:,}\\."):
        check_room(session.host, None, "Read this", [(big, tokens)])
    check_room(session.host, None, "Read this", [(NOTES, file_tokens(session.host, NOTES))])


def test_several_files_that_fit_alone_but_not_together_are_named_together(session):
    half = Attachment("half.txt", " ".join(["w"] * 100))
    files = [(half, file_tokens(session.host, half)), (Attachment("other.txt", half.text), 103)]
    with pytest.raises(UserError, match="^These 2 files have 207 tokens together; this chat has room for"):
        check_room(session.host, None, "Hi", files)


def test_the_readout_before_sending_counts_the_message_and_its_files(session, engine):
    conversation = session.new_conversation()
    without = tokens_with(session.host, conversation, "Read this", 0)
    assert without == engine.count_tokens(conversation.prompt() + [{"role": "user", "content": "Read this"}])
    assert tokens_with(session.host, conversation, "Read this", 40) == without + 40
    assert tokens_with(session.host, None, "Read this", 40) == without + 40


def test_an_edited_message_keeps_its_files(session, engine):
    conversation = session.new_conversation()
    send(session, engine, conversation, "Summarise", [NOTES])
    engine.enqueue(["Again"])
    list(session.edit(conversation, 0, "Summarise in French"))
    assert conversation.messages[0].meta["attachments"] == [NOTES.to_meta()]
    assert engine.calls[1]["messages"][-1]["content"].startswith("File: notes.txt\n")


def test_export_has_the_files_and_import_keeps_them(session, engine, store, tmp_path):
    conversation = session.new_conversation()
    send(session, engine, conversation, "Summarise", [Attachment("code.py", "x = '```'")])
    markdown = exchange.export_markdown(store, [conversation.id])
    assert "📎 *code.py*\n\n````\nx = '```'\n````\n\nSummarise" in markdown
    other = Store(tmp_path / "other.db")
    [new_id] = exchange.import_json(other, exchange.export_json(store, [conversation.id]))
    first = other.branch(other.conversation(new_id).leaf_id)[0]
    assert first.meta["attachments"] == [{"name": "code.py", "text": "x = '```'"}]
    other.close()


def test_an_import_with_malformed_files_is_refused(store):
    document = {"format": "chatdesk-export", "version": 1, "conversations": [
        {"id": "c", "title": "t", "system_prompt": "", "messages": [
            {"id": "m", "parent_id": None, "role": "user", "content": "x", "created": 1,
             "meta": {"attachments": [{"name": "a.txt"}]}}]}]}
    with pytest.raises(exchange.InvalidExport, match="attachments"):
        exchange.import_json(store, json.dumps(document))
