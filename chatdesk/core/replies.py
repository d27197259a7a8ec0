"""Replies written in the background: each on its own worker thread, to its end, whoever watches it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

from chatdesk.core.conversation import Conversation, Message
from chatdesk.core.history import History
from chatdesk.core.host import ModelHost
from chatdesk.engine.base import ChatEngine
from chatdesk.engine.generation import Generation, SamplingParams
from chatdesk.errors import ContextOverflow, ModelError, StorageError, UserError

log = logging.getLogger(__name__)

SAVE_EVERY = 0.5  # seconds between checkpoints of a streaming reply
WATCH_EVERY = 0.2  # seconds a watcher waits for news before asking whether it still watches
WAIT_STEP = 0.05  # seconds between looks at Stop while a reply waits for its turn


@dataclass
class Job:
    """One reply being written: watchers wait on `changed` for a new `revision`."""

    conversation: Conversation
    continue_reply: bool
    stop_pressed: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    revision: int = 0
    done: bool = False
    error: BaseException | None = None
    behind: str | None = None  # the id of the conversation whose reply this one waits for
    thread: threading.Thread | None = None
    followed: bool = False  # whether a watcher has followed it yet

    def notify(self) -> None:
        """Wake the watchers: the reply changed."""
        with self.changed:
            self.revision += 1
            self.changed.notify_all()


class Replies:
    """The replies of every conversation, written one at a time (one model) on worker threads."""

    def __init__(self, host: ModelHost, history: History):
        self.host = host
        self.history = history
        self._jobs: dict[str, Job] = {}
        self._turn = threading.Lock()  # held by the reply being generated
        self._writing: str | None = None  # the conversation holding the turn

    def start(self, conversation: Conversation, *, continue_reply: bool) -> Job:
        """Start writing a reply in the background; the conversation is busy from now until it is saved."""
        job = Job(conversation, continue_reply)
        conversation.waiting = job.stop_pressed  # set by Stop; busy until the reply is written and saved
        self._jobs[conversation.id] = job
        job.thread = threading.Thread(target=self._write, args=(job,), name="chatdesk-reply", daemon=True)
        job.thread.start()
        return job

    def follow(self, conversation: Conversation, still: Callable[[], bool] = lambda: True, *,
               claim: bool = True) -> Iterator[Conversation]:
        """Yield the conversation as its reply is written, and once at its end (raising what failed it);
        return early, silently, as soon as `still()` is False: the watcher looks elsewhere. `claim`: this
        watcher is the window's reply event (see unfollowed())."""
        job = self._jobs.get(conversation.id)
        if job is None:
            return
        if claim:
            job.followed = True
        seen = 0  # the first news: the reply has started, or waits for another
        while True:
            with job.changed:
                job.changed.wait_for(lambda: job.revision != seen, timeout=WATCH_EVERY)
                news, seen, done = job.revision != seen, job.revision, job.done
            if not still():
                return
            if done:
                break
            if news:
                yield conversation
        if job.error is not None:
            raise job.error
        yield conversation

    def unfollowed(self, conversation: Conversation) -> bool:
        """Whether the conversation's last reply was started and no watcher has followed it yet."""
        job = self._jobs.get(conversation.id)
        return job is not None and not job.followed

    def writing_ids(self) -> set[str]:
        """The conversations whose reply is being written or waits for its turn."""
        return {cid for cid, job in list(self._jobs.items()) if not job.done}

    def waits_for(self, conversation: Conversation) -> str | None:
        """The id of the conversation whose reply this conversation's reply waits for, if it waits."""
        job = self._jobs.get(conversation.id)
        return job.behind if job is not None and not job.done else None

    def stop_all(self) -> None:
        """Stop every reply (the app quits)."""
        for job in list(self._jobs.values()):
            stop(job.conversation)

    def join(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the workers to save what they wrote."""
        deadline = time.monotonic() + timeout
        for job in list(self._jobs.values()):
            if job.thread is not None:
                job.thread.join(max(0.0, deadline - time.monotonic()))

    # the worker

    def _write(self, job: Job) -> None:
        conversation = job.conversation
        holds_turn = False
        try:
            started = self._start(job)
            if started is None:  # stopped while waiting: the message stays, unanswered
                return
            holds_turn = True
            job.notify()
            self._stream(job, *started)
        except BaseException as error:  # noqa: BLE001 -- handed to the watchers, who raise it
            job.error = error
        finally:
            if conversation.waiting is job.stop_pressed:  # else a later reply's already
                conversation.waiting = None
            if holds_turn:
                self._writing = None
                self._turn.release()
            job.done = True
            job.notify()

    def _start(self, job: Job):
        """Wait for a model being loaded and for the reply before this one, then start: (generation, reply,
        (engine, params)), or None when Stop was pressed meanwhile. Until the reply is written the
        conversation is busy, so nothing can be added, undone or switched under it."""
        conversation, stop_pressed = job.conversation, job.stop_pressed
        if not self.host.wait_for_model(stop=stop_pressed) and stop_pressed.is_set():
            return None
        if not self._take_turn(job, stop_pressed):
            return None
        if not self.host.wait_for_model(stop=stop_pressed) and stop_pressed.is_set():  # one loading since
            self._writing = None
            self._turn.release()
            return None
        try:
            engine, params = self.host.require_engine(), self.host.params
            prompt = conversation.prompt(whole_last=True) if job.continue_reply else conversation.prompt()
            try:
                generation = engine.chat(prompt, params, continue_reply=job.continue_reply,
                                         private=conversation.temporary)
            except (ContextOverflow, ModelError) as error:  # too long, or the model was switched meanwhile
                raise UserError(str(error)) from error
            try:
                reply = conversation.messages[-1] if job.continue_reply else \
                    self.history.append(conversation, "assistant", "", status="streaming")
            except BaseException:
                generation.cancel()
                raise
        except BaseException:
            self._writing = None
            self._turn.release()
            raise
        conversation.generation = generation
        if stop_pressed.is_set():  # Stop came as the reply started
            generation.cancel()
        return generation, reply, (engine, params)

    def _take_turn(self, job: Job, stop_pressed: threading.Event) -> bool:
        """Wait until no other reply is being written (False when Stop was pressed meanwhile)."""
        while not self._turn.acquire(timeout=WAIT_STEP):
            if job.behind != self._writing:
                job.behind = self._writing
                job.notify()
            if stop_pressed.is_set():
                return False
        if stop_pressed.is_set():
            self._turn.release()
            return False
        job.behind = None
        self._writing = job.conversation.id
        return True

    def _stream(self, job: Job, generation: Generation, reply: Message, made_by) -> None:
        conversation = job.conversation
        earlier = reply.stats if job.continue_reply else None
        saved, whole, failure = time.monotonic(), False, None
        try:
            for delta in generation:
                reply.content += delta
                if time.monotonic() - saved >= SAVE_EVERY:
                    self._checkpoint(reply, generation)
                    saved = time.monotonic()
                job.notify()
            whole = True
        except (ContextOverflow, ModelError) as error:  # queued on a model unloaded meanwhile, or a server failed
            failure = error
        finally:
            try:
                self._finish(conversation, reply, generation, earlier, made_by, whole)
            finally:  # only once the chat is measured again: till then the readout counts the reply as written
                conversation.generation = None
        if not reply.content and (failure is not None or generation.cancelled):
            self.history.drop(conversation, reply)  # nothing written: the message stays, unanswered
        if failure is not None:
            raise UserError(str(failure)) from failure

    def _checkpoint(self, reply: Message, generation: Generation) -> None:
        """Save the reply so far; when the disk cannot take it, stop writing a reply that cannot be kept."""
        try:
            self.history.save_content(reply)
        except StorageError as error:
            generation.cancel()
            raise _not_saved(error) from error

    def _finish(self, conversation: Conversation, reply: Message, generation: Generation, earlier,
                made_by: tuple[ChatEngine, SamplingParams], whole: bool = True) -> None:
        stats = generation.stats
        if stats is None or not whole:  # the engine failed, or the disk was full
            reply.status = "interrupted"
        else:
            reply.stats = _merge(earlier, stats) if earlier else stats
            reply.status = "complete"
        engine, params = made_by  # what wrote it, though another model may be in use by now
        reply.meta.update(model=getattr(engine, "model_name", None), model_sha256=self.host.sha256_of(engine),
                          params=asdict(params))
        origin = getattr(engine, "origin", None)  # where a model not on this machine ran
        if origin:
            reply.meta["origin"] = dict(origin)
        try:
            self.history.save(reply)
        except StorageError as error:
            raise _not_saved(error) from error
        self.host.measure(conversation)
        if not conversation.temporary or self.history.is_temporary(conversation.id):  # not a chat discarded
            self.host.get_ready(conversation)


def stop(conversation: Conversation) -> None:
    """Stop the reply being generated, keeping what was written so far (or one waiting for its turn)."""
    waiting = conversation.waiting
    if waiting is not None:
        waiting.set()
    generation = conversation.generation  # read after: a reply starting meanwhile sees the Stop, or is seen here
    if generation is not None:
        generation.cancel()
    log.info("Stop in chat %s: %s", conversation.id, "a reply being written" if generation is not None
             else "a reply on its way" if waiting is not None else "no reply to stop")


def _not_saved(error: StorageError) -> StorageError:
    """What the user is told when a reply could not be saved."""
    return StorageError(f"{error} The reply was stopped; what was written stays on screen and is saved as soon "
                        "as there is room (when you send your next message, or press Continue).")


def _merge(earlier, later):
    """The stats of a reply that was continued: counted as one reply."""
    fields = asdict(later) | {
        "completion_tokens": earlier.completion_tokens + later.completion_tokens,
        "time_to_first_token": earlier.time_to_first_token,
        "total_seconds": earlier.total_seconds + later.total_seconds,
    }
    return type(later)(**fields)
