"""Inference servers' API keys: the environment first, the OS keyring where one works, else a private file."""

import stat

import keyring
import pytest
from keyring.backend import KeyringBackend

from chatdesk.catalog import server_keys

SERVER = "http://gpu-box:8080/v1"


class MemoryKeyring(KeyringBackend):
    """A working keyring backend kept in memory (this machine has no Secret Service to test with)."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.saved = {}

    def get_password(self, service, username):
        return self.saved.get((service, username))

    def set_password(self, service, username, password):
        self.saved[(service, username)] = password

    def delete_password(self, service, username):
        self.saved.pop((service, username))


@pytest.fixture
def ring(monkeypatch):
    monkeypatch.delenv("CHATDESK_KEYRING")
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_without_a_keyring_the_key_goes_to_a_file_only_its_user_can_read():
    assert server_keys.save_key(SERVER, "sk-123") == "a file only you can read"
    assert server_keys.api_key(SERVER) == "sk-123"
    assert stat.S_IMODE(server_keys.key_file().stat().st_mode) == 0o600
    assert server_keys.api_key("http://other:8080/v1") is None


def test_an_empty_key_forgets_the_stored_one():
    server_keys.save_key(SERVER, "sk-123")
    server_keys.save_key(SERVER, "")
    assert server_keys.api_key(SERVER) is None


def test_with_a_working_keyring_the_key_goes_there_and_not_to_the_file(ring):
    assert server_keys.save_key(SERVER, "sk-456") == "the system keyring"
    assert ring.saved == {("chatdesk", SERVER): "sk-456"}
    assert server_keys.api_key(SERVER) == "sk-456"
    assert not server_keys.key_file().exists()


def test_the_environment_key_comes_first(monkeypatch):
    server_keys.save_key(SERVER, "sk-stored")
    monkeypatch.setenv("CHATDESK_API_KEY", "sk-env")
    assert server_keys.api_key(SERVER) == "sk-env"
