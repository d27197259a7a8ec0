"""What a window shows of a conversation: the branch of messages on screen, with their versions."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field

from chatdesk.core.attachments import attachments_of, with_files
from chatdesk.core.reasoning import answer_only
from chatdesk.engine.generation import Generation, Stats

CONTINUE = "continue"
REDO = "redo"
PREVIOUS_VERSION = "previous-version"
NEXT_VERSION = "next-version"


@dataclass
class Feedback:
    """One signal a user gave on a message: like, dislike, a reason, a copy, or "none" to take back."""

    kind: str
    at: float = field(default_factory=time.time)


@dataclass
class Message:
    """One message on screen, with what produced it and which version it is."""

    role: str
    content: str
    id: str = ""
    parent_id: str | None = None
    created: float = field(default_factory=time.time)
    status: str = "complete"
    meta: dict = field(default_factory=dict)
    feedback: list[Feedback] = field(default_factory=list)
    version: int = 1
    versions: int = 1

    @property
    def stats(self) -> Stats | None:
        """How the reply was produced, once it has finished."""
        stats = self.meta.get("stats")
        return Stats(**stats) if stats else None

    @stats.setter
    def stats(self, stats: Stats) -> None:
        self.meta["stats"] = asdict(stats)

    @property
    def finish_reason(self) -> str | None:
        """Why the reply ended: stop, length, cancelled, or interrupted (the app stopped)."""
        if self.status == "interrupted":
            return "interrupted"
        return self.stats.finish_reason if self.stats else None

    @property
    def rating(self) -> str | None:
        """The latest like/dislike/reason, or None (copies do not count)."""
        rated = [f.kind for f in self.feedback if f.kind != "copy"]
        return rated[-1] if rated and rated[-1] != "none" else None


@dataclass
class Conversation:
    """One chat as a window sees it: the branch on screen and what the last reply left out."""

    id: str
    title: str = ""
    system_prompt: str = ""
    messages: list[Message] = field(default_factory=list)
    dropped_messages: int = 0
    tokens_used: int = 0
    undone: list[tuple[str, str | None]] = field(default_factory=list)  # (message, its parent), until left
    generation: Generation | None = field(default=None, repr=False, compare=False)
    # a reply's Stop, from the reply's start until it is saved
    waiting: threading.Event | None = field(default=None, repr=False, compare=False)
    draft: str = ""  # the next message as the user is typing it
    temporary: bool = False  # kept in RAM only, never written to disk

    @property
    def busy(self) -> bool:
        """Whether a reply is on its way, being written or being saved: nothing may change the branch."""
        return self.generation is not None or self.waiting is not None

    def prompt(self, upto: int | None = None, *, whole_last: bool = False) -> list[dict]:
        """The messages (before index `upto`) as the model sees them: system prompt first, earlier
        replies without their reasoning (the last one whole when it is being continued)."""
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        shown = self.messages[:upto]
        turns = [{"role": m.role, "content": answer_only(m.content) if m.role == "assistant" else
                  with_files(m.content, attachments_of(m.meta))} for m in shown]
        if whole_last and shown:
            turns[-1]["content"] = shown[-1].content
        return system + turns

    @property
    def leaf_id(self) -> str | None:
        """The last message on screen."""
        return self.messages[-1].id if self.messages else None

    def can_continue(self, index: int) -> bool:
        """Whether the message at `index` is a last reply cut short by length, Stop or a crash."""
        last = index == len(self.messages) - 1
        return last and self.messages[index].finish_reason in ("length", "cancelled", "interrupted")

    def can_redo(self) -> bool:
        """Whether the last undone exchange hangs right below what is on screen."""
        return bool(self.undone) and self.undone[-1][1] == self.leaf_id
