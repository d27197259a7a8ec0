"""Export and import: Markdown to read, JSON that brings everything back, feedback JSONL."""

import json

import pytest

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
