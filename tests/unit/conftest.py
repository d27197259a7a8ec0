"""What most core tests share: the scripted engine, a history file, and a session over both."""

import pytest

from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.core.session import ChatSession
from chatdesk.store.database import Store
from tests.unit.fake_engine import ScriptedEngine


@pytest.fixture
def engine():
    return ScriptedEngine()


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "chatdesk.db")
    yield store
    store.close()


@pytest.fixture
def session(engine, store):
    return ChatSession.over(ModelHost(engine, Settings(max_tokens=20, system_prompt="Be brief.")), store)
