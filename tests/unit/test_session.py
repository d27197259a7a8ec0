"""The session's actions, driven with a scripted engine."""

import json
import subprocess
import sys
import threading
import time

from dataclasses import replace

import pytest

from chatdesk import config
from chatdesk.config import Settings
from chatdesk.errors import ModelError
from chatdesk.core.history import History
from chatdesk.core.host import ModelHost
from chatdesk.core.session import MAX_MESSAGE_CHARS, ChatSession
from chatdesk.errors import UserError
from tests.unit.chatting import chat, texts
from tests.unit.fake_engine import ScriptedEngine


def test_submit_shows_the_user_message_first_then_streams_the_reply(session, engine):
    conversation = session.new_conversation()
    engine.enqueue(["Hel", "lo", "!"])
    gate = engine.hold()  # the reply is written on a worker thread: each word waits for a release
    updates = session.submit(conversation, "  Hi there  ")
    first = texts(next(updates))
    assert first[0] == ("user", "Hi there") and not any(text for _role, text in first[1:])  # no words yet
    gate.release()
    assert next(c.messages[-1].content for c in updates if c.messages[-1].content) == "Hel"  # its first word alone
    gate.release(2)
    assert [c.messages[-1].content for c in updates][-1] == "Hello!"
    assert conversation.messages[-1].stats.finish_reason == "stop"
    assert engine.calls[0]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi there"},
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_message_is_refused_and_nothing_is_added(session, text):
    conversation = session.new_conversation()
    with pytest.raises(UserError, match="Type a message"):
        list(session.submit(conversation, text))
    assert conversation.messages == []


def test_a_message_over_the_character_limit_is_refused(session):
    conversation = session.new_conversation()
    with pytest.raises(UserError, match="limit"):
        session.add_user_message(conversation, "x" * (MAX_MESSAGE_CHARS + 1))
    assert conversation.messages == []


def test_a_message_too_long_for_the_context_is_refused_with_the_reason(session):
    conversation = session.new_conversation()
    with pytest.raises(UserError, match="tokens"):
        session.add_user_message(conversation, "word " * 500)
    assert conversation.messages == []


def test_stop_ends_the_reply_and_keeps_the_partial_text(session, engine):
    conversation = session.new_conversation()
    gate = engine.hold()
    engine.enqueue([f"t{i} " for i in range(10)])
    updates = session.submit(conversation, "Tell me a story")
    next(updates)
    gate.release()
    for _ in updates:  # until one token has arrived
        if conversation.messages[-1].role == "assistant" and conversation.messages[-1].content:
            break
    session.stop(conversation)
    gate.release(10)
    rest = list(updates)
    reply = conversation.messages[-1]
    assert reply.finish_reason == "cancelled"
    assert 0 < len(reply.content.split()) <= 3  # at most a token or so after Stop
    assert rest[-1] is conversation and conversation.can_continue(1)


def test_continue_extends_the_same_reply(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Count", [str(i) + " " for i in range(20)])
    assert conversation.messages[-1].finish_reason == "length"
    engine.enqueue(["20 ", "21"])
    list(session.continue_reply(conversation, 1))
    reply = conversation.messages[-1]
    assert len(conversation.messages) == 2
    assert reply.content.startswith("0 1 2") and reply.content.endswith("20 21")
    assert engine.calls[-1]["continue_reply"] is True
    assert engine.calls[-1]["messages"][-1]["role"] == "assistant"
    assert reply.stats.completion_tokens == 22 and reply.finish_reason == "stop"


def test_a_finished_reply_cannot_be_continued(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello."])
    with pytest.raises(UserError):
        list(session.continue_reply(conversation, 1))


def test_retry_regenerates_the_last_reply(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["First."])
    engine.enqueue(["Second."])
    list(session.retry(conversation, 0))
    assert texts(conversation) == [("user", "Hi"), ("assistant", "Second.")]
    assert engine.calls[0]["messages"] == engine.calls[1]["messages"]


def test_undo_removes_the_exchange_and_gives_back_the_text(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "One", ["A"])
    chat(session, engine, conversation, "Two", ["B"])
    assert session.undo(conversation, 2) == "Two"
    assert texts(conversation) == [("user", "One"), ("assistant", "A")]


def test_editing_a_user_message_drops_what_followed_and_regenerates(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "One", ["A"])
    chat(session, engine, conversation, "Two", ["B"])
    engine.enqueue(["C"])
    list(session.edit(conversation, 0, "Uno"))
    assert texts(conversation) == [("user", "Uno"), ("assistant", "C")]
    assert engine.calls[-1]["messages"][-1] == {"role": "user", "content": "Uno"}


def test_an_edited_reply_is_what_later_turns_see(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Capital of France?", ["Lyon"])
    list(session.edit(conversation, 1, "Paris"))
    assert len(engine.calls) == 1  # editing a reply does not regenerate
    chat(session, engine, conversation, "Sure?", ["Yes"])
    assert {"role": "assistant", "content": "Paris"} in engine.calls[-1]["messages"]


def test_an_edit_to_empty_text_is_refused(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello"])
    with pytest.raises(UserError):
        list(session.edit(conversation, 0, "  "))
    assert texts(conversation) == [("user", "Hi"), ("assistant", "Hello")]


def test_likes_dislikes_and_reasons_are_recorded_on_the_message(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello"])
    session.rate(conversation, 1, "Like")
    assert conversation.messages[1].rating == "Like"
    session.rate(conversation, 1, "Inaccurate")
    assert conversation.messages[1].rating == "Inaccurate"
    session.rate(conversation, 1, None)
    assert conversation.messages[1].rating is None
    assert [f.kind for f in conversation.messages[1].feedback] == ["Like", "Inaccurate", "none"]


def test_the_same_rating_twice_is_recorded_once(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello"])
    for kind in ("Unhelpful", "Unhelpful", None, None):
        session.rate(conversation, 1, kind)
    kinds = [kind for kind, _at in session.history.store.feedback([conversation.messages[1].id])[conversation.messages[1].id]]
    assert kinds == ["Unhelpful", "none"]


def test_a_copy_is_recorded_on_the_copied_message(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello"])
    chat(session, engine, conversation, "Again", ["Hello"])
    copied = session.record_copy(conversation, 3)
    assert copied is conversation.messages[3]
    assert [f.kind for f in copied.feedback] == ["copy"]
    assert copied.rating is None


def test_details_show_how_a_reply_was_made(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello"])
    facts = session.details(conversation, 1)
    assert facts["model"] == "scripted" and facts["finish_reason"] == "stop"
    assert {"seed", "prompt_tokens", "completion_tokens", "time_to_first_token", "tokens_per_second"} <= set(facts)
    with pytest.raises(UserError):
        session.details(conversation, 7)


def test_context_usage_follows_the_conversation(session, engine):
    conversation = session.new_conversation()
    assert session.context_usage(conversation) == (0, 200)
    chat(session, engine, conversation, "one two three", ["four", " five"])
    used, total = session.context_usage(conversation)
    assert used == engine.count_tokens(conversation.prompt()) and total == 200
    session.undo(conversation, 0)
    assert session.context_usage(conversation)[0] == engine.count_tokens(conversation.prompt())


def test_the_context_readout_never_drops_below_the_message_sent_while_the_reply_is_saved(session, engine,
                                                                                          monkeypatch):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "one two three", ["four"])
    before = session.context_usage(conversation)[0]
    seen = []
    save = session.history.save
    monkeypatch.setattr(session.history, "save", lambda message: (seen.append(session.context_usage(conversation)[0]),
                                                                  save(message)))
    chat(session, engine, conversation, "six seven eight nine ten", ["eleven"])
    assert seen and min(seen) > before  # the page may ask at any moment: it never shows the chat before the message
    assert session.context_usage(conversation)[0] == engine.count_tokens(conversation.prompt())


def test_the_oldest_messages_the_model_no_longer_sees_are_counted_and_stay_so_after_a_restart(
        session, engine, store):
    conversation = session.new_conversation()
    words = " ".join(["word"] * 30)  # 34 tokens a message; 180 of the 200 are left for the prompt
    for _ in range(3):
        chat(session, engine, conversation, words, [words])
    assert conversation.dropped_messages == 2
    assert engine.calls[-1]["messages"][0]["role"] == "system"
    chat(session, engine, conversation, words, [words])
    assert conversation.dropped_messages == 4
    assert len(conversation.messages) == 8
    reopened = ChatSession.over(ModelHost(engine, Settings(max_tokens=20)), store).last_conversation()
    assert (reopened.dropped_messages, reopened.tokens_used) == (4, conversation.tokens_used)


def test_nothing_else_can_start_while_a_reply_is_written(session, engine):
    conversation = session.new_conversation()
    gate = engine.hold()
    engine.enqueue(["a", "b"])
    updates = session.submit(conversation, "Hi")
    next(updates)
    worker = threading.Thread(target=lambda: list(updates))
    worker.start()
    deadline = time.time() + 2
    while conversation.generation is None and time.time() < deadline:
        time.sleep(0.01)
    with pytest.raises(UserError, match="Stop"):
        session.add_user_message(conversation, "Another")
    gate.release(10)
    worker.join(5)
    assert texts(conversation) == [("user", "Hi"), ("assistant", "ab")]


def test_conversations_are_separate_and_unknown_ids_start_new_ones(session, engine):
    first = session.new_conversation()
    chat(session, engine, first, "Hi", ["Hello"])
    assert session.conversation(first.id) is first
    fresh = session.conversation("no-such-id")
    assert fresh.id != first.id and fresh.messages == []
    assert session.find("no-such-id") is None


def test_without_a_model_every_send_explains_why(store):
    session = ChatSession.over(ModelHost(None, load_error="The model file is missing."), store)
    with pytest.raises(UserError, match="missing"):
        list(session.submit(session.new_conversation(), "Hi"))


def test_the_core_imports_without_gradio_or_llama_cpp():
    code = ("import sys; sys.modules['gradio'] = None; sys.modules['llama_cpp'] = None; "
            "import chatdesk.core.session, chatdesk.core.history, chatdesk.core.host, chatdesk.config, "
            "chatdesk.store.exchange")
    subprocess.run([sys.executable, "-c", code], check=True)


def versions(conversation):
    return [(m.content, m.version, m.versions) for m in conversation.messages]


def test_retry_keeps_the_old_reply_as_a_version_and_the_user_can_step_between(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["One"])
    for reply in (["Two"], ["Three"]):
        engine.enqueue(reply)
        list(session.retry(conversation, 1))
    assert versions(conversation) == [("Hi", 1, 1), ("Three", 3, 3)]
    session.step_version(conversation, 1, -1)
    assert versions(conversation)[1] == ("Two", 2, 3)
    session.step_version(conversation, 1, -1)
    session.step_version(conversation, 1, -1)  # already the first: stays
    assert versions(conversation)[1] == ("One", 1, 3)
    chat(session, engine, conversation, "Go on", ["Continuing from One"])
    assert {"role": "assistant", "content": "One"} in engine.calls[-1]["messages"]


def test_editing_a_user_message_makes_a_new_version_beside_the_old(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello"])
    engine.enqueue(["Bonjour"])
    list(session.edit(conversation, 0, "Salut"))
    assert versions(conversation) == [("Salut", 2, 2), ("Bonjour", 1, 1)]
    session.step_version(conversation, 0, -1)
    assert versions(conversation) == [("Hi", 1, 2), ("Hello", 1, 1)]


def test_undo_can_be_redone_until_the_conversation_is_left(session, engine, store):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "One", ["A"])
    chat(session, engine, conversation, "Two", ["B"])
    undone_id = conversation.messages[2].id
    assert session.undo(conversation, 2) == "Two"
    assert conversation.can_redo()
    session.redo(conversation)
    assert texts(conversation)[-2:] == [("user", "Two"), ("assistant", "B")]
    session.undo(conversation, 2)
    session.leave(conversation)
    assert store.message(undone_id) is None
    assert texts(session.find(conversation.id)) == [("user", "One"), ("assistant", "A")]


def test_a_restart_reopens_the_last_conversation_exactly(session, engine, store):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["First"])
    engine.enqueue(["Second"])
    list(session.retry(conversation, 1))
    session.step_version(conversation, 1, -1)
    session.rate(conversation, 1, "Like")
    restarted = ChatSession.over(ModelHost(engine), store)
    reopened = restarted.last_conversation()
    assert reopened.id == conversation.id
    assert versions(reopened) == [("Hi", 1, 1), ("First", 1, 2)]
    assert reopened.messages[1].rating == "Like"
    assert reopened.messages[1].stats.finish_reason == "stop"
    assert reopened.messages[1].meta["model"] == "scripted"


def test_a_streaming_reply_is_saved_while_it_streams(session, engine, store, monkeypatch):
    monkeypatch.setattr("chatdesk.core.replies.SAVE_EVERY", 0)
    conversation = session.new_conversation()
    gate = engine.hold()
    engine.enqueue(["Hel", "lo", " there"])
    updates = session.submit(conversation, "Hi")
    next(updates)
    gate.release(2)
    while conversation.messages[-1].content != "Hello":
        next(updates)
    saved = store.message(conversation.messages[-1].id)
    assert (saved.content, saved.status) == ("Hello", "streaming")
    gate.release()
    list(updates)
    saved = store.message(conversation.messages[-1].id)
    assert (saved.content, saved.status) == ("Hello there", "complete")


def test_trash_restore_and_delete_forever(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Keep this", ["Kept"])
    with pytest.raises(UserError):
        session.history.delete_forever(conversation.id)
    session.trash(conversation.id)
    assert [c.id for c in session.history.conversations(trashed=True)] == [conversation.id]
    session.history.restore(conversation.id)
    assert [c.title for c in session.history.conversations()] == ["Keep this"]
    session.trash(conversation.id)
    session.history.delete_forever(conversation.id)
    assert session.find(conversation.id) is None


def test_search_opens_the_conversation_at_the_hit(session, engine):
    old = session.new_conversation()
    chat(session, engine, old, "Tell me about narwhals", ["Narwhals have tusks"])
    engine.enqueue(["Something else"])
    list(session.retry(old, 1))
    [hit] = [h for h in session.history.search("tusks")]
    opened = session.open_at(hit.conversation_id, hit.message_id)
    assert opened.id == old.id and opened.messages[-1].content == "Narwhals have tusks"


class Loader:
    """Loads scripted engines; can be held open, or made to fail like a bad model file."""

    def __init__(self):
        self.release = threading.Event()
        self.release.set()
        self.fail_with = None
        self.loaded = []
        self.replies = []  # what the loaded model will answer


    def __call__(self, settings):
        self.release.wait(5)
        if self.fail_with:
            raise ModelError(self.fail_with)
        engine = ScriptedEngine()
        engine.model_name = settings.model
        engine.enqueue(*self.replies)
        self.loaded.append(engine)
        return engine, "sha-of-" + settings.model


def test_sampling_settings_apply_at_once_and_are_saved(engine, store, private_home):
    session = ChatSession.over(ModelHost(engine, loader=Loader()), store)
    reloading = session.host.apply_settings(replace(session.host.settings, temperature=0.2, max_tokens=7))
    assert reloading is False and session.host.params.temperature == 0.2 and session.host.params.max_tokens == 7
    assert config.load_settings()[0].temperature == 0.2


def test_invalid_settings_are_refused_and_nothing_changes(engine, store):
    session = ChatSession.over(ModelHost(engine), store)
    with pytest.raises(UserError, match="Temperature"):
        session.host.apply_settings(replace(session.host.settings, temperature=5))
    assert session.host.settings.temperature == 0.7


def test_switching_model_loads_in_the_background_and_messages_wait_for_it(engine, store):
    loader = Loader()
    loader.replies = [["from the new model"]]
    session = ChatSession.over(ModelHost(engine, loader=loader), store)
    conversation = session.new_conversation()
    loader.release.clear()
    session.host.apply_settings(replace(session.host.settings, model="other.gguf"))
    assert session.host.loading == "other.gguf"
    sent = answer_while_loading(session, conversation, session.submit(conversation, "Hi"))  # sent while it loads
    assert texts(conversation) == [("user", "Hi")]  # no reply yet: it waits for the model
    loader.release.set()
    sent.join(5)
    assert session.host.engine is loader.loaded[0] and engine.closed and engine.calls == []
    assert texts(conversation) == [("user", "Hi"), ("assistant", "from the new model")]
    assert conversation.messages[-1].meta["model"] == "other.gguf"
    assert conversation.messages[-1].meta["model_sha256"] == "sha-of-other.gguf"


def wait_until(condition, seconds=5.0):
    """Wait for another thread to get somewhere (a sync point, not a measure of speed)."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def with_a_loader(engine, store, reply):
    """A session that can switch to a model answering `reply`, and a new conversation."""
    loader = Loader()
    loader.replies = [reply]
    session = ChatSession.over(ModelHost(engine, loader=loader), store)
    return session, session.new_conversation(), loader


def hold_a_model_switch(session, loader):
    """Start switching to other.gguf; it loads once loader.release is set."""
    loader.release.clear()
    session.host.apply_settings(replace(session.host.settings, model="other.gguf"))


def answer_while_loading(session, conversation, updates):
    """Run a reply's updates on a thread until it waits for the model."""
    thread = threading.Thread(target=lambda: list(updates), daemon=True)
    thread.start()
    wait_until(lambda: getattr(conversation, "waiting", None) is not None or len(conversation.messages) > 1)
    return thread


def stored_branch(store, conversation):
    """The conversation's branch as the next start will show it."""
    return texts(History(store).find(conversation.id))


def test_a_second_message_sent_while_the_model_loads_is_refused_and_the_reply_answers_the_first(engine, store):
    session, conversation, loader = with_a_loader(engine, store, ["Hello"])
    hold_a_model_switch(session, loader)
    updates = session.submit(conversation, "Hi")
    next(updates)
    waiting = answer_while_loading(session, conversation, updates)
    with pytest.raises(UserError, match="waiting for the model"):
        session.add_user_message(conversation, "Are you there?")
    loader.release.set()
    waiting.join(5)
    assert texts(conversation) == [("user", "Hi"), ("assistant", "Hello")]
    assert stored_branch(store, conversation) == [("user", "Hi"), ("assistant", "Hello")]


def test_undo_while_the_model_loads_is_refused_and_the_reply_answers_its_message(engine, store):
    session, conversation, loader = with_a_loader(engine, store, ["Two"])
    chat(session, engine, conversation, "One", ["A"])
    hold_a_model_switch(session, loader)
    updates = session.submit(conversation, "Second")
    next(updates)
    waiting = answer_while_loading(session, conversation, updates)
    with pytest.raises(UserError, match="Stop"):
        session.undo(conversation, 2)
    loader.release.set()
    waiting.join(5)
    assert stored_branch(store, conversation) == [("user", "One"), ("assistant", "A"),
                                                  ("user", "Second"), ("assistant", "Two")]


def test_a_version_step_while_the_model_loads_does_not_move_the_reply_to_an_older_message(engine, store):
    session, conversation, loader = with_a_loader(engine, store, ["Retried"])
    chat(session, engine, conversation, "Hi", ["A"])
    engine.enqueue(["B"])
    list(session.edit(conversation, 0, "Salut"))
    hold_a_model_switch(session, loader)
    waiting = answer_while_loading(session, conversation, session.retry(conversation, 1))
    with pytest.raises(UserError, match="Stop"):
        session.step_version(conversation, 0, -1)
    loader.release.set()
    waiting.join(5)
    assert stored_branch(store, conversation) == [("user", "Salut"), ("assistant", "Retried")]
    session.step_version(conversation, 0, -1)
    assert texts(conversation) == [("user", "Hi"), ("assistant", "A")]  # the old answer is untouched


def test_stop_while_the_model_loads_cancels_the_reply_and_keeps_the_message(engine, store):
    session, conversation, loader = with_a_loader(engine, store, ["Unwanted"])
    hold_a_model_switch(session, loader)
    updates = session.submit(conversation, "Hi")
    next(updates)
    waiting = answer_while_loading(session, conversation, updates)
    session.stop(conversation)
    waiting.join(5)
    assert not waiting.is_alive()  # the window is free again before the model is ready
    loader.release.set()
    session.host.wait_for_model()
    assert stored_branch(store, conversation) == [("user", "Hi")]
    assert loader.loaded[0].calls == []


def test_a_reply_that_ends_during_a_model_switch_records_the_model_that_wrote_it(store):
    loader = Loader()
    engine = ScriptedEngine()
    session = ChatSession.over(ModelHost(engine, Settings(temperature=0.7), model_sha256="sha-old", loader=loader),
                               store)
    conversation = session.new_conversation()
    gate = engine.hold()
    engine.enqueue(["Hel", "lo"])
    updates = session.submit(conversation, "Hi")
    next(updates)
    streaming = threading.Thread(target=lambda: list(updates), daemon=True)
    streaming.start()
    wait_until(lambda: conversation.generation is not None)
    session.host.apply_settings(replace(session.host.settings, model="other.gguf", temperature=0.3))
    session.host.wait_for_model()
    gate.release(10)
    streaming.join(5)
    reply = conversation.messages[-1]
    assert reply.content == "Hello" and session.host.engine is loader.loaded[0]
    assert (reply.meta["model"], reply.meta["model_sha256"]) == ("scripted", "sha-old")
    assert reply.meta["params"]["temperature"] == 0.7
    session.rate(conversation, 1, "Like")
    [line] = session.history.export_feedback().read_text().splitlines()
    assert json.loads(line)["model"] == "scripted"


def test_a_model_that_fails_to_load_leaves_the_previous_one_working(engine, store):
    loader = Loader()
    loader.fail_with = "bad.gguf is not a GGUF model file."
    session = ChatSession.over(ModelHost(engine, loader=loader), store)
    session.host.apply_settings(replace(session.host.settings, model="bad.gguf", temperature=0.5))
    session.host.wait_for_model()
    assert session.host.engine is engine and "not a GGUF" in session.host.load_error and "previous model" in session.host.load_error
    assert session.host.settings.model == "" and session.host.settings.temperature == 0.5
    assert config.load_settings()[0].model == ""
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Still there?", ["Yes"])
    assert conversation.messages[-1].content == "Yes"


def test_a_conversation_can_keep_its_own_system_prompt(session, engine, store):
    conversation = session.new_conversation()
    session.history.set_system_prompt(conversation, "Answer in French.")
    chat(session, engine, conversation, "Hi", ["Bonjour"])
    assert engine.calls[-1]["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert store.conversation(conversation.id).system_prompt == "Answer in French."
    other = session.new_conversation()
    chat(session, engine, other, "Hi", ["Hello"])
    assert engine.calls[-1]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_after_a_reply_the_model_is_asked_to_get_the_next_prompt_ready(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello", "!"])
    assert engine.prepared[-1] == conversation.prompt()
    assert engine.prepared[-1][-1] == {"role": "assistant", "content": "Hello!"}


def test_opening_a_conversation_gets_the_model_ready_for_it(session, engine):
    first, second = session.new_conversation(), session.new_conversation()
    chat(session, engine, first, "One", ["A"])
    chat(session, engine, second, "Two", ["B"])
    session.focus(first)
    assert engine.prepared[-1] == first.prompt()
    assert session.last_conversation().id == first.id


def test_a_message_being_typed_is_computed_ahead_with_the_conversation(session, engine):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello"])
    session.type_draft(conversation, "And how are ")
    assert (engine.prepared[-1], engine.drafts[-1]) == (conversation.prompt(), "And how are")
    session.type_draft(None, "A new chat")  # a window whose chat is not started yet
    assert (engine.prepared[-1], engine.drafts[-1]) == ([{"role": "system", "content": "Be brief."}], "A new chat")


def test_a_message_typed_while_the_reply_streams_is_computed_once_the_reply_ends(session, engine):
    conversation = session.new_conversation()
    gate = engine.hold()
    engine.enqueue(["Hel", "lo"])
    stream = session.submit(conversation, "Hi")
    next(stream)
    gate.release()
    next(stream)  # "Hel" is on screen
    asked = len(engine.prepared)
    session.type_draft(conversation, "Next question")
    assert len(engine.prepared) == asked  # the reply is not finished: its prompt would be wrong
    gate.release(2)
    list(stream)
    assert engine.prepared[-1][-1] == {"role": "assistant", "content": "Hello"}
    assert engine.drafts[-1] == "Next question"


def test_sending_a_message_ends_its_draft(session, engine):
    conversation = session.new_conversation()
    session.type_draft(conversation, "Hi")
    chat(session, engine, conversation, "Hi", ["Hello"])
    assert engine.drafts[-1] == ""  # the next message is not typed yet
    session.type_draft(conversation, "Hi")  # the last keystroke of "Hi", arriving after it was sent
    assert engine.drafts[-1] == "" and conversation.draft == ""


def test_two_windows_opening_one_chat_at_once_share_it(engine, store):
    session = ChatSession.over(ModelHost(engine), store)
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello"])
    both_inside = threading.Barrier(2, timeout=1)

    def measure(opened):  # called while a chat is opened: hold the first until the second arrives, if it can
        try:
            both_inside.wait()
        except threading.BrokenBarrierError:
            pass

    history = History(store, measure)
    found = []
    windows = [threading.Thread(target=lambda: found.append(history.find(conversation.id))) for _ in range(2)]
    for window in windows:
        window.start()
    for window in windows:
        window.join(5)
    assert len(found) == 2 and found[0] is found[1]  # a reply streamed in one window shows in the other


class CountingLoader(Loader):
    """Counts how many models load at once; a load waits a moment for another to start beside it."""

    def __init__(self):
        super().__init__()
        self.loading = 0
        self.most_at_once = 0
        self.count = threading.Lock()
        self.side_by_side = threading.Barrier(2, timeout=1)

    def __call__(self, settings):
        with self.count:
            self.loading += 1
            self.most_at_once = max(self.most_at_once, self.loading)
        try:
            if settings.model != "a.gguf":
                try:
                    self.side_by_side.wait()
                except threading.BrokenBarrierError:
                    pass
            return super().__call__(settings)
        finally:
            with self.count:
                self.loading -= 1


def test_two_model_switches_at_once_load_one_model_at_a_time_and_release_every_replaced_one(engine):
    loader = CountingLoader()
    host = ModelHost(engine, loader=loader)
    loader.release.clear()
    host.switch_model(Settings(model="a.gguf"))
    switches = [threading.Thread(target=host.switch_model, args=(Settings(model=name),)) for name in ("b.gguf", "c.gguf")]
    for switch in switches:
        switch.start()
    time.sleep(0.2)  # both wait for a.gguf
    loader.release.set()
    for switch in switches:
        switch.join(10)
    wait_until(lambda: len(loader.loaded) == 3 and host.wait_for_model(0))
    assert loader.most_at_once == 1
    assert engine.closed and all(getattr(e, "closed", False) for e in loader.loaded if e is not host.engine)


def test_a_reply_refused_because_its_model_was_unloaded_says_so_and_can_be_written_again(session, engine):
    conversation = session.new_conversation()
    engine.refuse_with = ModelError("This model was unloaded. Send the message again.")
    engine.enqueue(["never written"])
    with pytest.raises(UserError, match="unloaded"):
        list(session.submit(conversation, "Hi"))
    assert texts(conversation)[0] == ("user", "Hi")
    engine.enqueue(["Hello"])
    list(session.retry(conversation, 0))
    assert texts(conversation) == [("user", "Hi"), ("assistant", "Hello")]


def test_an_engine_failing_mid_reply_keeps_the_partial_reply_marked_interrupted_and_continuable(session, engine):
    conversation = session.new_conversation()
    engine.failure = ModelError("The server went away in the middle of the reply.")
    engine.enqueue(["Once", " upon"])
    with pytest.raises(UserError, match="went away"):
        list(session.submit(conversation, "Tell me a story"))
    reply = conversation.messages[-1]
    assert reply.content == "Once upon" and reply.status == "interrupted"
    assert conversation.generation is None and conversation.can_continue(1)
    assert session.find(conversation.id).messages[-1].content == "Once upon"  # as stored
    engine.enqueue([" a time."])
    list(session.continue_reply(conversation, 1))
    assert reply.content == "Once upon a time." and reply.status == "complete"


def test_an_engine_failing_before_any_text_leaves_no_empty_reply(session, engine):
    conversation = session.new_conversation()
    engine.failure = ModelError("The server refused the API key (HTTP 401).")
    engine.enqueue([])
    with pytest.raises(UserError, match="API key"):
        list(session.submit(conversation, "Hello"))
    assert texts(session.find(conversation.id)) == [("user", "Hello")]


def test_a_reply_records_where_the_engine_ran_it(session, engine):
    engine.origin = {"server": "http://gpu-box:8080/v1", "model_id": "qwen3-32b"}
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello"])
    stored = session.find(conversation.id).messages[-1]
    assert stored.meta["origin"] == {"server": "http://gpu-box:8080/v1", "model_id": "qwen3-32b"}
    assert session.details(conversation, 1)["server"] == "http://gpu-box:8080/v1"


def test_the_details_show_what_the_server_reported(session, engine, store):
    conversation = session.new_conversation()
    chat(session, engine, conversation, "Hi", ["Hello"])
    reply = conversation.messages[-1]
    reply.stats = replace(reply.stats, server={"timings": {"predicted_per_second": 41.5},
                                               "system_fingerprint": "b6000-abc"})
    facts = session.details(conversation, 1)
    assert facts["server_tokens_per_second"] == 41.5 and facts["system_fingerprint"] == "b6000-abc"


def test_a_reply_waiting_its_turn_waits_too_for_a_model_loading_meanwhile(engine, store):
    session, first, loader = with_a_loader(engine, store, ["From the new model"])
    gate = engine.hold()
    engine.enqueue(["Old ", "model."])
    story = session.submit(first, "One")
    next(story), next(story)  # the first chat's reply has started
    second = session.new_conversation()
    waiting = answer_while_loading(session, second, session.submit(second, "Two"))  # its turn comes after
    hold_a_model_switch(session, loader)
    gate.release(10)  # the first reply ends while the new model still loads: the second takes its turn
    list(story)
    loader.release.set()
    waiting.join(5)
    assert texts(second) == [("user", "Two"), ("assistant", "From the new model")]  # before: "Still loading"
