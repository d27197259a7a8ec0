"""The page's wiring and its conversions, without a browser."""

import pytest

from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.core.session import ChatSession
from chatdesk.store.database import Store
from chatdesk.ui.chatview import format_details, to_chatbot, usage_text
from chatdesk.ui.app import build_ui
from tests.unit.fake_engine import ScriptedEngine

CHATBOT_EVENTS = {"change", "select", "like", "retry", "undo", "example_select",
                  "option_select", "copy", "edit"}


@pytest.fixture
def session(tmp_path):
    return ChatSession.over(ModelHost(ScriptedEngine(), Settings(max_tokens=3)), Store(tmp_path / "chatdesk.db"))


def test_every_chatbot_event_has_a_handler(session):
    demo = build_ui(session)
    chatbot = next(b for b in demo.blocks.values() if b.get_block_name() == "chatbot")
    wired = {event for fn in demo.fns.values() for block_id, event in fn.targets if block_id == chatbot._id}
    assert wired == CHATBOT_EVENTS


def test_api_streams_share_one_concurrency_group_and_window_followers_take_no_turn(session):
    demo = build_ui(session)
    api = [fn for fn in demo.fns.values() if fn.name in {"api_chat", "api_retry"}]
    assert {(fn.concurrency_id, fn.concurrency_limit) for fn in api} == {("generation", 1)}
    # a window's reply is written in the background; its event only follows it, and must not hold up
    # the window that opens another chat (a reply there waits for its turn in the core)
    window = [fn for fn in demo.fns.values() if fn.name in {"reply", "retry", "edit", "option", "follow"}]
    assert len(window) >= 5 and all(fn.concurrency_limit == "default" for fn in window)


def test_the_chat_api_is_public_and_the_ui_handlers_are_not(session):
    config = build_ui(session).get_config_file()
    public = {d["api_name"] for d in config["dependencies"] if d.get("api_visibility") == "public"}
    assert public == {"chat", "retry", "new_conversation", "draft"}


def test_a_reply_cut_short_offers_continue(session):
    conversation = session.new_conversation()
    session.host.engine.enqueue(["a", "b", "c", "d"])
    list(session.submit(conversation, "Hi"))
    shown = to_chatbot(conversation)
    assert shown[0] == {"role": "user", "content": "Hi"}
    assert shown[1]["content"] == "abc" and shown[1]["options"] == [{"value": "continue:1", "label": "Continue"}]


def test_details_and_usage_read_well(session):
    conversation = session.new_conversation()
    session.host.engine.enqueue(["ok"])
    list(session.submit(conversation, "Hi"))
    details = format_details(session.details(conversation, 1))
    assert "- Tokens/s: **100**" in details and "- Finished by: **stop**" in details
    assert usage_text(session, conversation) == f"Context: {conversation.tokens_used:,} / 200 tokens"
