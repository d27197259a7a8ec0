"""A model whose chat template refuses a conversation (here: any system prompt) says so, and logs it."""

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.core.session import ChatSession
from chatdesk.engine.local import LocalEngine
from chatdesk.errors import UserError
from chatdesk.store.database import Store

NO_SYSTEM_TEMPLATE = (  # as Gemma's does
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@pytest.fixture(scope="module")
def strict_model(model_path, tmp_path_factory):
    """A copy of the default model with a chat template that refuses system messages."""
    path = tmp_path_factory.mktemp("models") / "no-system.gguf"
    tool = Path(sys.executable).with_name("gguf-new-metadata")
    subprocess.run([str(tool), str(model_path), str(path), "--chat-template", NO_SYSTEM_TEMPLATE, "--force"],
                   check=True, capture_output=True)
    return path


@pytest.fixture
def strict_engine(strict_model):
    engine = LocalEngine(strict_model, n_ctx=1024)
    yield engine
    engine.close()


def test_sending_to_a_template_that_refuses_the_system_prompt_says_why(strict_engine, tmp_path):
    store = Store(tmp_path / "chatdesk.db")
    session = ChatSession.over(ModelHost(strict_engine, Settings(system_prompt="Be brief.", max_tokens=8)), store)
    try:
        conversation = session.new_conversation()
        with pytest.raises(UserError, match="System role not supported.*clear it in Settings"):
            list(session.submit(conversation, "Hi"))
        assert conversation.messages == []  # nothing half-sent
        session.history.set_system_prompt(conversation, "")
        list(session.submit(conversation, "Hi"))  # without one, the same model answers
        assert conversation.messages[-1].role == "assistant" and conversation.messages[-1].status == "complete"
    finally:
        store.close()


def test_computing_ahead_with_such_a_template_logs_why_it_gave_up(strict_engine, caplog):
    caplog.set_level(logging.WARNING, logger="chatdesk")
    done = strict_engine.prepare([{"role": "system", "content": "Be brief."}], 8, "Hi")
    assert done.wait(30)
    assert any("System role not supported" in record.getMessage() for record in caplog.records)
    strict_engine.prepare([{"role": "system", "content": "Be brief."}], 8, "Hi, ").wait(30)
    assert len(caplog.records) == 1  # once, not at every keystroke
