"""Shared fixtures: no test touches a real user's data directory."""

import pytest


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Point every chatdesk path at a temp dir."""
    home = tmp_path / "chatdesk-home"
    monkeypatch.setenv("CHATDESK_HOME", str(home))
    return home
