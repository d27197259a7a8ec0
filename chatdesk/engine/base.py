"""The ChatEngine protocol: what a session needs from a model, whichever engine runs it."""

from __future__ import annotations

import threading
from typing import Protocol

from chatdesk.engine.generation import Generation, SamplingParams


class ChatEngine(Protocol):
    """A loaded model (engine.local.LocalEngine, or a scripted fake in tests)."""

    model_name: str
    context_length: int

    def chat(self, messages: list[dict], params: SamplingParams, *, continue_reply: bool = False,
             private: bool = False) -> Generation:
        """Start a reply to `messages` (or continue their last, assistant, message); `private`: a chat whose
        model state may be kept in RAM but never written to disk."""

    def fit(self, messages: list[dict], reply_budget: int, *, continue_reply: bool = False) -> tuple[list[int], int]:
        """The prompt tokens that fit with `reply_budget` to spare, and how many messages were left out."""

    def count_tokens(self, messages: list[dict]) -> int:
        """How many context tokens `messages` take."""

    def prepare(self, messages: list[dict], reply_budget: int, draft: str = "", *,
                private: bool = False) -> threading.Event:
        """Compute ahead the prompt a next message to `messages` (typed so far as `draft`) would be sent in."""

    def close(self, *, wait_for_reply: bool = False) -> None:
        """Release the model, stopping the reply being written (or, with `wait_for_reply`, finishing it first);
        later calls, and replies still queued, are refused with ModelError."""
