"""Export and import: Markdown to read, JSON that brings everything back, feedback JSONL."""

import json

import pytest

from chatdesk.core.history import History
from chatdesk.errors import UserError
from chatdesk.store import exchange
from chatdesk.store.database import Store


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "a.db")
    yield store
    store.close()


@pytest.fixture
def chat(store):
    """A conversation with two versions of a reply, a liked one and a copied one."""
    conversation = store.create_conversation("Be kind.")
    user = store.add_message(conversation.id, None, "user", "Name a fruit")
    first = store.add_message(conversation.id, user.id, "assistant", "Apple", meta={"model": "tiny"})
    second = store.add_message(conversation.id, user.id, "assistant", "Banana", meta={"model": "tiny"})
    store.add_feedback(first.id, "Inaccurate")
    store.add_feedback(second.id, "Like")
    store.add_feedback(second.id, "copy")
    return conversation.id


def test_json_brings_back_every_version_and_all_feedback(store, chat, tmp_path):
    text = exchange.export_json(store, [chat])
    other = Store(tmp_path / "b.db")
    [new_id] = exchange.import_json(other, text)
    assert new_id != chat
    imported = other.conversation(new_id)
    assert imported.title == "Name a fruit" and imported.system_prompt == "Be kind."
    assert [m.content for m in other.branch(imported.leaf_id)] == ["Name a fruit", "Banana"]
    versions = other.siblings(other.message(imported.leaf_id))
    assert [m.content for m in versions] == ["Apple", "Banana"]
    kinds = other.feedback([m.id for m in versions])
    assert [k for k, _ in kinds[versions[0].id]] == ["Inaccurate"]
    assert [k for k, _ in kinds[versions[1].id]] == ["Like", "copy"]
    assert versions[1].meta == {"model": "tiny"}
    exchange.import_json(other, text)  # twice: a second copy, no collision
    assert len(other.conversations()) == 2
    other.close()


@pytest.mark.parametrize("text, reason", [
    ("{not json", "not JSON"),
    (json.dumps({"format": "something-else"}), "not a chatdesk export"),
    (json.dumps({"format": "chatdesk-export", "version": 99, "conversations": []}), "version"),
    (json.dumps({"format": "chatdesk-export", "version": 1, "conversations": [
        {"id": "c", "title": "t", "system_prompt": "", "messages": [
            {"id": "m2", "parent_id": "m1", "role": "assistant", "content": "x", "created": 1}]}]}), "parent"),
    (json.dumps({"format": "chatdesk-export", "version": 1, "conversations": [
        {"id": "c", "title": "t", "system_prompt": "", "messages": [
            {"id": "m1", "parent_id": None, "role": "wizard", "content": "x", "created": 1}]}]}), "role"),
])
def test_a_bad_file_is_refused_whole_with_a_reason(store, chat, text, reason):
    before = len(store.conversations())
    with pytest.raises(exchange.InvalidExport, match=reason):
        exchange.import_json(store, text)
    assert len(store.conversations()) == before


def test_a_file_with_one_bad_conversation_imports_nothing(store, chat, tmp_path):
    document = json.loads(exchange.export_json(store, [chat]))
    broken = json.loads(json.dumps(document["conversations"][0]))
    broken["messages"][1]["content"] = None
    document["conversations"].append(broken)
    other = Store(tmp_path / "b.db")
    with pytest.raises(exchange.InvalidExport):
        exchange.import_json(other, json.dumps(document))
    assert other.conversations() == []
    other.close()


def test_markdown_shows_the_versions_on_screen(store, chat):
    text = exchange.export_markdown(store, [chat])
    assert text.startswith("# Name a fruit")
    assert "**You**" in text and "Name a fruit" in text and "Banana" in text and "Apple" not in text


def test_feedback_jsonl_has_prompt_reply_rating_and_reason(store, chat):
    lines = [json.loads(line) for line in exchange.export_feedback_jsonl(store).splitlines()]
    by_reply = {line["reply"]: line for line in lines}
    assert by_reply["Apple"]["rating"] == "dislike" and by_reply["Apple"]["reason"] == "Inaccurate"
    assert by_reply["Banana"]["rating"] == "like" and by_reply["Banana"]["copied"] is True
    assert {line["prompt"] for line in lines} == {"Name a fruit"}


def test_exports_are_written_under_the_cache_dir(private_home):
    path = exchange.write_export("hello", "chat.md")
    assert path.read_text() == "hello" and private_home in path.parents


def mutated(store, chat, change):
    """The export of `chat`, with `change` applied to its first conversation."""
    document = json.loads(exchange.export_json(store, [chat]))
    change(document["conversations"][0])
    return json.dumps(document)


def first_reply(conversation):
    return conversation["messages"][1]


@pytest.mark.parametrize("change, reason", [
    (lambda c: first_reply(c)["meta"].update(stats={"model": "tiny"}), "details are malformed"),
    (lambda c: first_reply(c)["meta"].update(stats=dict(STATS, completion_tokens="many")), "bad completion_tokens"),
    (lambda c: first_reply(c)["meta"].update(stats=dict(STATS, total_seconds=float("inf"))), "bad total_seconds"),
    (lambda c: first_reply(c).update(meta=["model", "tiny"]), "details are malformed"),
    (lambda c: first_reply(c)["meta"].update(model=7), "model is not text"),
    (lambda c: c.update(created="yesterday"), "bad time"),
    (lambda c: first_reply(c).update(created=1e300), "valid time"),
    (lambda c: first_reply(c).update(feedback=[{"kind": "Like", "at": "noon"}]), "malformed feedback"),
    (lambda c: first_reply(c).update(status="exploded"), "unknown status"),
    (lambda c: [c.update(leaf_id=c["messages"][1]["id"]), c["messages"][2].update(id=c["messages"][1]["id"])],
     "two messages with the id"),
])
def test_an_export_with_bad_details_numbers_or_ids_is_refused_whole_with_a_reason(store, chat, change, reason):
    text = mutated(store, chat, change)
    before = len(store.conversations())
    with pytest.raises(exchange.InvalidExport, match=reason):
        exchange.import_json(store, text)
    assert len(store.conversations()) == before


STATS = {"model": "tiny", "seed": 1, "prompt_tokens": 10, "completion_tokens": 3, "time_to_first_token": 0.1,
         "tokens_per_second": 20.0, "total_seconds": 0.3, "finish_reason": "stop", "dropped_messages": 0}


def test_the_stats_an_import_accepts_are_the_ones_a_reply_records():
    from dataclasses import fields

    from chatdesk.engine.generation import Stats

    assert set(exchange.STATS_FIELDS) == {f.name for f in fields(Stats)}
    assert Stats(**STATS).completion_tokens == 3  # the sample above is a real reply's stats


def test_a_chat_with_malformed_stats_is_not_imported_so_every_chat_still_opens(store, chat, tmp_path):
    export = tmp_path / "chats.json"
    export.write_text(mutated(store, chat, lambda c: first_reply(c)["meta"].update(stats={"speed": "fast"})))
    history = History(store)
    history.remember(history.find(chat))
    with pytest.raises(UserError, match="Nothing was imported"):
        history.import_file(export)
    assert [c.id for c in history.conversations()] == [chat]
    reopened = History(store)
    for row in reopened.conversations():
        for message in reopened.find(row.id).messages:
            assert message.stats is None or message.stats.model  # each can be shown
