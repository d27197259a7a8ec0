"""The errors every layer shares, each with a message meant for the user."""

from __future__ import annotations


class UserError(ValueError):
    """Something the user asked for that cannot be done, with a message saying why."""


class InvalidSettings(UserError):
    """Settings refused; `fields` maps each bad field to the reason shown under it."""

    def __init__(self, message: str, fields: dict[str, str]):
        super().__init__(message)
        self.fields = dict(fields)


class ModelError(RuntimeError):
    """A model that cannot be used, with a message meant for the user."""


class ContextOverflow(ValueError):
    """The newest message alone does not fit in the context window."""


def overflow_message(needed: int, budget: int, context_length: int) -> str:
    """What a user is told when one message does not fit, whichever engine measured it."""
    return (f"This message is too long for the model: it needs about {needed} tokens, "
            f"but only {budget} of the {context_length}-token context are left for it. Shorten it or split it up.")


class StorageError(UserError):
    """The history could not be written (a full disk, say); what was saved before is intact."""
