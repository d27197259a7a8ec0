"""Which chat each window shows, so that an event follows a reply only while its chat is on screen."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from gradio.context import LocalContext


HOLD_AT_MOST = 2.0  # seconds a window waits for a follower's update on its way to the page


class Screens:
    """The conversation each window (one page load) shows, and the one event following its reply there."""

    def __init__(self) -> None:
        self._shown: dict[str | None, tuple[str | None, object]] = {}
        self._followed: dict[str | None, object] = {}  # the token an event follows the shown chat's reply under
        self._looks_busy: set[str | None] = set()  # windows whose page may show Stop and a reply's live text
        self._sending: dict[str | None, threading.Lock] = {}
        self._lock = threading.Lock()

    def show(self, conversation_id: str | None, *, followed: bool = False) -> Callable[[], bool]:
        """This window now shows `conversation_id`: any event following a reply here stops; returns the
        check a new follower asks before each update (whether the window still shows it, followed by it).
        `followed`: an event follows its reply from now on (see follows())."""
        window, token = _window(), object()
        sending = self._sending_in(window)
        waited = sending.acquire(timeout=HOLD_AT_MOST)  # an update of the old chat reaches the page first
        try:
            with self._lock:
                self._shown[window] = (conversation_id, token)
                self._followed[window] = token if followed else None
                if followed:
                    self._looks_busy.add(window)
        finally:
            if waited:
                sending.release()
        return lambda: self._shown.get(window, (None, None))[1] is token

    @contextmanager
    def sending(self, still: Callable[[], bool]) -> Iterator[bool]:
        """Held while a follower yields an update and Gradio sends it (until the generator resumes), so that
        another chat put on screen meanwhile arrives after it; gives whether the window still shows the chat."""
        lock = self._sending_in(_window())
        held = lock.acquire(timeout=HOLD_AT_MOST)
        try:
            yield still()
        finally:
            if held:
                lock.release()

    def _sending_in(self, window: str | None) -> threading.Lock:
        with self._lock:
            return self._sending.setdefault(window, threading.Lock())

    def unchanged(self) -> Callable[[], bool]:
        """The check that nothing was put on screen, nor started following, in this window since now."""
        window = _window()
        token = self._shown.get(window, (None, None))[1]
        return lambda: self._shown.get(window, (None, None))[1] is token

    def follows(self, conversation_id: str) -> bool:
        """Whether this window shows the conversation and an event follows its reply there."""
        window = _window()
        shown, token = self._shown.get(window, (None, None))
        return shown == conversation_id and token is not None and self._followed.get(window) is token

    def unfollow(self, still: Callable[[], bool]) -> None:
        """The event following the shown chat's reply under `still` has ended."""
        window = _window()
        with self._lock:
            if still():
                self._followed[window] = None
                self._looks_busy.discard(window)  # its last update put Send back

    def take_busy_look(self) -> bool:
        """Whether this window's page may still show Stop and the live text of a reply no event follows (its
        chat was left while the reply was written); the caller sends it Send back."""
        window = _window()
        with self._lock:
            busy = window in self._looks_busy
            self._looks_busy.discard(window)
        return busy

    def shown(self) -> str | None:
        """The conversation this window shows (None when unknown)."""
        return self._shown.get(_window(), (None, None))[0]


def _window() -> str | None:
    """The page load the current event comes from (None outside an event, e.g. in a unit test)."""
    request = LocalContext.request.get(None)
    return getattr(request, "session_hash", None)
