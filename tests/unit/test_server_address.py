"""Server addresses as users type them: with or without /v1 or a scheme; shown and recorded without credentials."""

import pytest

from chatdesk.engine.server_api import Address, ServerError


@pytest.mark.parametrize("typed, root, shown", [
    ("http://gpu-box:8080/v1", "http://gpu-box:8080", "http://gpu-box:8080/v1"),
    ("http://gpu-box:8080/v1/", "http://gpu-box:8080", "http://gpu-box:8080/v1"),
    ("http://gpu-box:8080", "http://gpu-box:8080", "http://gpu-box:8080/v1"),
    ("gpu-box:11434", "http://gpu-box:11434", "http://gpu-box:11434/v1"),
    ("https://me:secret@llm.example.org/api/v1", "https://me:secret@llm.example.org/api",
     "https://llm.example.org/api/v1"),
    ("http://[::1]:8000/v1", "http://[::1]:8000", "http://[::1]:8000/v1"),
])
def test_an_address_works_with_or_without_v1_and_is_shown_without_credentials(typed, root, shown):
    address = Address.parse(typed)
    assert (address.root, address.shown) == (root, shown)


@pytest.mark.parametrize("typed", ["", "ftp://host/v1", "http://"])
def test_what_is_not_a_server_address_is_refused_with_an_example(typed):
    with pytest.raises(ServerError, match="not a server address.*http://gpu-box:8080/v1"):
        Address.parse(typed)
