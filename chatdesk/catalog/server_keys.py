"""API keys of inference servers: from CHATDESK_API_KEY, the OS keyring where one works, else a file only its
user can read. Never in the settings, the history, exports or logs."""

from __future__ import annotations

import json
import os
from pathlib import Path

from chatdesk import paths

KEY_ENV = "CHATDESK_API_KEY"
KEYRING_ENV = "CHATDESK_KEYRING"  # "none": keep keys in the file (tests, or a keyring that misbehaves)
SERVICE = "chatdesk"
KEY_FILE = "server-keys.json"


def api_key(server: str) -> str | None:
    """The key for `server` (its address as shown): CHATDESK_API_KEY first, then the stored one."""
    from_env = os.environ.get(KEY_ENV, "").strip()
    if from_env:
        return from_env
    ring = _keyring()
    if ring is not None:
        try:
            stored = ring.get_password(SERVICE, server)
            if stored:
                return stored
        except Exception:  # a keyring that stopped working (locked, D-Bus gone): try the file
            pass
    return _read_file().get(server)


def save_key(server: str, key: str) -> str:
    """Keep `key` for `server` (an empty key forgets it); returns where it went, in words."""
    key = key.strip()
    ring = _keyring()
    if ring is not None:
        try:
            if key:
                ring.set_password(SERVICE, server, key)
            else:
                _forget_in(ring, server)
            _write_file({k: v for k, v in _read_file().items() if k != server})
            return "the system keyring"
        except Exception:  # no usable keyring after all: the file will do
            pass
    keys = {k: v for k, v in _read_file().items() if k != server}
    if key:
        keys[server] = key
    _write_file(keys)
    return "a file only you can read"


def key_file() -> Path:
    """Where keys go when no keyring works."""
    return paths.data_dir() / KEY_FILE


def _keyring():
    """The keyring module when a real backend works here, else None."""
    if os.environ.get(KEYRING_ENV, "").strip().lower() == "none":
        return None
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # not installed, or no backend can even be chosen
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    return keyring


def _forget_in(ring, server: str) -> None:
    try:
        ring.delete_password(SERVICE, server)
    except Exception:  # there was none
        pass


def _read_file() -> dict:
    try:
        keys = json.loads(key_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in keys.items() if isinstance(v, str)} if isinstance(keys, dict) else {}


def _write_file(keys: dict) -> None:
    """Write the keys, readable and writable by this user alone (0600), replacing the file whole."""
    path = key_file()
    if not keys and not path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(keys, out)
    os.chmod(temporary, 0o600)  # in case the file was there with looser rights
    os.replace(temporary, path)
