"""A long prompt being read: the engine's reports, what the pending reply shows, the context readout."""

import pytest

from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.core.session import ChatSession
from chatdesk.engine import generation as generation_module
from chatdesk.engine.generation import Generation, Reading
from chatdesk.store.database import Store
from chatdesk.ui.chatview import live_text, usage_text
from chatdesk.ui.display import reading_line
from chatdesk.ui.handlers import Handlers
from tests.unit.fake_engine import ScriptedEngine


@pytest.mark.parametrize("reading, line", [
    (Reading(1216, 3006, 4.2), "Reading your message: 1,216 / 3,006 tokens · about 4 s left"),
    (Reading(0, 3006), "Reading your message: 0 / 3,006 tokens"),
    (Reading(100, 3006, 0.2), "Reading your message: 100 / 3,006 tokens · about 1 s left"),
    (Reading(100, 9000, 130.0), "Reading your message: 100 / 9,000 tokens · about 2 min left"),
    (Reading(3006, 3006, 0.0), "Reading your message: 3,006 / 3,006 tokens"),
    (Reading(0, 0), "Reading your message…"),  # a server that does not say how far it is
])
def test_the_reading_line_reads_well(reading, line):
    assert reading_line(reading) == line


class Clock:
    now = 100.0

    def monotonic(self):
        return self.now


def test_reading_reports_come_as_empty_deltas_with_the_time_left(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(generation_module, "time", clock)
    generation = Generation()
    pieces = iter(generation)
    generation.report_reading(200, 1200)  # 200 came from the prompt cache
    assert next(pieces) == ""
    assert generation.reading == Reading(200, 1200, None)
    clock.now += 2.0
    generation.report_reading(700, 1200)
    assert next(pieces) == ""
    assert generation.reading == Reading(700, 1200, 2.0)  # 500 tokens took 2 s: 500 more take 2 s
    generation.push("Hi")
    assert next(pieces) == "Hi"


@pytest.fixture
def engine():
    return ScriptedEngine(context_length=4000)


@pytest.fixture
def session(engine, tmp_path):
    store = Store(tmp_path / "chatdesk.db")
    yield ChatSession.over(ModelHost(engine, Settings(max_tokens=20)), store)
    store.close()


def test_the_pending_reply_shows_how_far_its_prompt_is_read_then_the_reply(session, engine):
    conversation = session.new_conversation()
    gate = engine.hold()
    engine.readings = [(0, 1500), (512, 1500), (1024, 1500), (1500, 1500)]
    engine.enqueue(["Sure", "!"])
    updates = session.submit(conversation, "Read this long text")
    next(updates)  # the message, shown
    assert live_text(next(updates)) == ""  # the reply has started; no token of the prompt is read yet
    shown = []
    for _ in range(4):
        gate.release()
        shown.append(live_text(next(updates)))
    assert shown[0] == "Reading your message: 0 / 1,500 tokens"
    assert shown[1].startswith("Reading your message: 512 / 1,500 tokens · about ")
    assert shown[3] == "Reading your message: 1,500 / 1,500 tokens"
    gate.release()
    assert live_text(next(updates)) == "Sure"
    gate.release()
    list(updates)
    assert live_text(conversation) == "" and conversation.messages[-1].content == "Sure!"


def test_the_context_readout_counts_the_message_while_it_is_read(session, engine):
    handlers = Handlers(session)
    conversation = session.new_conversation()
    gate = engine.hold()
    engine.readings = [(0, 1500)]
    engine.enqueue(["Sure"])
    updates = session.submit(conversation, "Read this long text")
    next(updates)
    gate.release()
    next(updates)  # reading, no word written yet
    readout, _marks, _files = handlers.usage(conversation.id)
    assert readout == usage_text(session, conversation) == "Context: 17 / 4,000 tokens"  # the new message and the system prompt
    gate.release()
    list(updates)


def test_llama_server_figures_are_shown_for_a_long_prompt_only():
    from chatdesk.engine.server import _Reply

    generation = Generation()
    reply = _Reply(generation)
    chunk = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]}
    reply.take(chunk | {"prompt_progress": {"total": 40, "cache": 0, "processed": 40, "time_ms": 9}}, None)
    assert generation.reading is None  # read at once: no figures
    reply.take(chunk | {"prompt_progress": {"total": 3006, "cache": 0, "processed": 2048, "time_ms": 900}}, None)
    assert (generation.reading.done, generation.reading.total) == (2048, 3006)
    assert reply.pieces == 0
