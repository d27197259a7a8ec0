"""The chat's event handlers: each finds the window's conversation, calls the session and converts at the edge."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import gradio as gr

from chatdesk.core.conversation import CONTINUE, NEXT_VERSION, PREVIOUS_VERSION, REDO, Conversation
from chatdesk.core.replies import WATCH_EVERY
from chatdesk.core.session import ChatSession
from chatdesk.errors import UserError
from chatdesk.ui.attachview import file_marks
from chatdesk.ui.busy import FINISHED, STOPPED, WRITING, busy_look, idle_look, waiting_text
from chatdesk.ui.chatview import format_details, message_marks, to_chatbot, usage_text
from chatdesk.ui.display import from_display
from chatdesk.ui.external import restore_hidden
from chatdesk.ui.kit import refuse
from chatdesk.ui.live import LiveReplies
from chatdesk.ui.screens import Screens
from chatdesk.ui.sidebar import UNTITLED

NO_DETAILS = "Click a message to see its details."
FEEDBACK_OPTIONS = ("Like", "Dislike", "Inaccurate", "Unhelpful", "Off-topic")
GENERATION = {"concurrency_id": "generation", "concurrency_limit": 1}
UNCHANGED = (gr.skip(),) * 6  # (chat, live text, Send, Stop, status, writing) as they are


@dataclass(frozen=True)
class Sent:
    """What a message's send put on the page, for the reply event following it."""

    chat: list
    still: Callable[[], bool]  # the window still shows the chat (Screens.show)
    key: str | None  # the live text's key the page reads already (None: not offered)
    status: str  # what the status line says


def _skipped(value) -> bool:
    """Whether an output's value leaves it as it is."""
    return isinstance(value, dict) and value == gr.skip()


def _user_error(error: UserError) -> gr.Error:
    """For API callers, who get the reason as an error."""
    return gr.Error(str(error), title="chatdesk", print_exception=False)


class Handlers:
    """The event handlers: each finds the window's conversation and calls the session."""

    def __init__(self, session: ChatSession):
        self.session = session
        self.screens = Screens()
        self._marked: weakref.WeakSet = weakref.WeakSet()  # replies being written whose marks were sent
        self._rating = threading.Lock()  # Gradio 6.31 sends a reason click twice at once
        self.live = LiveReplies(session)  # the replies' text as the page reads it (ui/live.py)
        self._sent: dict[str, Sent] = {}  # what a message's send put on the page, for the reply() after it

    def _stream(self, conversation: Conversation, start, sent: Sent | None = None) -> Iterator[tuple]:
        """(chat, live text, Send, Stop, status, writing) as a reply is written, while this window shows its chat;
        `start(still)` starts the reply and yields the conversation as it changes; `sent`: what the message's
        send put on the page (its chat is not sent again, and the page reads the live text it offered)."""
        still = sent.still if sent else self.screens.show(conversation.id, followed=True)
        offered = [sent.key] if sent and sent.key else []  # the key the page reads the reply's text under
        try:
            yield from self._updates(conversation, start, still, sent, offered)
        finally:
            for key in offered:
                self.live.withdraw(key)
            self.screens.unfollow(still)

    def _updates(self, conversation: Conversation, start, still, sent: Sent | None,
                 offered: list[str]) -> Iterator[tuple]:
        """_stream()'s updates; the live key it offers is added to `offered`."""
        on_page = sent.chat if sent else None
        shown, failed = False, None
        marked = sent is not None  # the chat is marked in the list (writing)
        said = sent.status if sent else self._status(conversation)
        try:
            with self.screens.sending(still) as showing:
                if not showing:
                    yield UNCHANGED  # the event's last output: nothing of this chat lands on the one shown
                    return
                if sent is None:  # else the send showed it
                    yield (gr.skip(), gr.skip(), *busy_look(said), gr.skip())
            for update in start(still):
                if not update.busy:
                    continue  # written and saved: the end shows it with Send back, in one update
                streaming = update.generation is not None
                chat = gr.skip()
                if not (streaming and shown):
                    fresh = to_chatbot(update, live=True)
                    if fresh != on_page:  # else the page has it: in a long chat, a second of its work
                        chat = on_page = fresh
                writing = self._writing() if update.busy and not marked else gr.skip()  # marks the chat list
                marked = marked or update.busy
                status = self._status(update)
                # sent when it changes, and again with the first words unless a send showed it: a follow of the
                # new chat's id, sent before this reply had begun, may have put Send back meanwhile
                again = streaming and not shown and sent is None
                look = busy_look(status) if status != said or again else (gr.skip(),) * 3
                said = status
                if offered:
                    live = gr.skip()
                else:
                    live = self.live.offer(conversation, still)
                    offered.append(live)
                if all(_skipped(value) for value in (chat, *look, writing, live)):
                    continue  # a streamed piece: the page reads it itself
                with self.screens.sending(still) as showing:
                    if not showing:  # another chat was put on screen while this update was made
                        yield UNCHANGED
                        return
                    yield (chat, live, *look, writing)
                shown = streaming
        except UserError as error:
            failed = error
            gr.Warning(str(error))  # what was shown stays shown
            if conversation.busy:  # refused because a reply is being written: it goes on, followed here
                yield from self._stream(conversation, lambda again: self.session.follow(conversation, again))
                return
        except Exception:  # the page may show the reply's place and Stop since the message's send
            with self.screens.sending(still) as showing:
                if showing:
                    yield (to_chatbot(conversation), "", *idle_look(), self._writing())
            raise
        ended = to_chatbot(conversation)
        with self.screens.sending(still) as showing:
            yield (gr.skip() if ended == on_page else ended, "", *idle_look(_ended(conversation, failed)),
                   self._writing()) if showing else UNCHANGED

    def _status(self, conversation: Conversation) -> str:
        """What the status line says while the conversation's reply is on its way."""
        other = self.session.waits_for(conversation)
        return waiting_text(other.title or UNTITLED) if other is not None else WRITING

    def _writing(self) -> str:
        """The chats being written, for the chat list's marks (a change refreshes the list)."""
        return " ".join(sorted(self.session.writing_ids()))

    def watch_writing(self):
        """While chats not on screen are being written, say when one ends (their marks in the chat list go),
        until this window shows another chat or follows a reply of its own."""
        unchanged, known, shown = self.screens.unchanged(), self.session.writing_ids(), self.screens.shown()

        def still() -> bool:
            return unchanged() and not (shown and self.screens.follows(shown))  # a reply event says its end

        yield gr.skip()  # at least one update: none at all would blank the output
        while known and still():
            time.sleep(WATCH_EVERY)
            now = self.session.writing_ids()
            if now != known and still():
                known = now
                yield " ".join(sorted(now))

    def follow(self, conversation_id: str | None):
        """Follow the reply of the chat just put on screen, if it is still being written."""
        conversation = self.session.find(conversation_id)
        with self.screens.sending(self.screens.unchanged()) as showing:
            if (conversation is None or not showing or self.screens.shown() not in (None, conversation.id)
                    or self.screens.follows(conversation.id)):  # e.g. a new chat's first reply: its event follows
                yield UNCHANGED
                return
            # Only what must change: Gradio's page may apply this update after a message's send that came with
            # it (updates of two events read in one go), whose Stop and live text it would then take away.
            if not conversation.busy:
                yield (gr.skip(), "", *idle_look(), self._writing()) if self.screens.take_busy_look() else UNCHANGED
                return
            if self.session.reply_unfollowed(conversation):  # a message just sent: its reply event follows it
                yield UNCHANGED
                return
        yield from self._stream(conversation, lambda still: self.session.follow(conversation, still))

    def add_message(self, text: str, conversation_id: str | None):
        """Send the message, its reply starting at once: (chat, Send, Stop, status, writing, live, box, id)."""
        conversation = self.session.conversation(conversation_id)
        try:
            self.session.send(conversation, text)
        except UserError as error:
            return refuse(str(error), outputs=8)  # the text stays in the box
        return *self.sent_to_page(conversation), "", conversation.id

    def sent_to_page(self, conversation: Conversation, key: str = "") -> tuple:
        """(chat, Send, Stop, status, writing, live text) as a message's send shows them: its reply's place, Stop,
        and the chat marked in the list at once; the page may read the reply's text under `key` from now on (it
        asks as it sends: ui/live_page.py)."""
        still = self.screens.show(conversation.id, followed=True)
        chat = to_chatbot(conversation, live=True)
        offered = self.live.offer(conversation, still, key) if key and conversation.busy else None
        if key and offered is None:
            self.live.decline(key)  # the page reads the reply under a key the reply event sends
        status = self._status(conversation)
        self._sent[conversation.id] = Sent(chat, still, offered, status)
        look = busy_look(status) if conversation.busy else (gr.skip(),) * 3  # written already
        # with this chat even if its reply is written already: the change lists a new chat, and the reply
        # event's last update takes the mark off
        writing = " ".join(sorted(self.session.writing_ids() | {conversation.id}))
        # the key the page reads already: its change at the reply's end, or on another chat, stops that reading
        return chat, *look, writing, offered or gr.skip()

    def reply(self, conversation_id: str):
        """Follow the reply the message just sent started."""
        conversation = self.session.conversation(conversation_id)
        sent = self._sent.pop(conversation.id, None)
        if conversation.busy or self.session.reply_unfollowed(conversation):  # else the message was refused
            yield from self._stream(conversation, lambda still: self.session.follow(conversation, still), sent)
            return
        if sent is not None:
            self.screens.unfollow(sent.still)
            self.live.withdraw(sent.key or "")
        if sent is None or not sent.still():
            yield UNCHANGED  # a generator that yields nothing would blank every output (the Send label too)
            return
        ended = idle_look(_ended(conversation, None))  # followed by another event, which has ended
        yield to_chatbot(conversation), "", *ended, self._writing()

    def stop(self, conversation_id: str | None):
        conversation = self.session.find(conversation_id)
        if conversation is not None:
            self.session.stop(conversation)

    def retry(self, conversation_id: str | None, retry: gr.RetryData):
        conversation = self.session.conversation(conversation_id)
        index = _index(retry.index)
        yield from self._stream(conversation, lambda still: self.session.retry(conversation, index, still))

    def undo(self, conversation_id: str | None, undo: gr.UndoData):
        conversation = self.session.conversation(conversation_id)
        try:
            text = self.session.undo(conversation, _index(undo.index))
        except UserError as error:
            return refuse(str(error), outputs=2)
        return to_chatbot(conversation), text

    def edit(self, conversation_id: str | None, edit: gr.EditData):
        conversation = self.session.conversation(conversation_id)
        index = _index(edit.index)
        stored = conversation.messages[index].content if index < len(conversation.messages) else ""
        text = restore_hidden(from_display(_text_of(edit.value)), stored)
        yield from self._stream(conversation, lambda still: self.session.edit(conversation, index, text, still))

    def like(self, conversation_id: str | None, like: gr.LikeData):
        conversation = self.session.find(conversation_id)
        if conversation is None:
            return
        kind = {True: "Like", False: "Dislike"}.get(like.liked, like.liked) if like.liked is not None else None
        with self._rating:
            self.session.rate(conversation, _index(like.index), kind or None)

    def copy(self, conversation_id: str | None, copy: gr.CopyData):
        conversation = self.session.find(conversation_id)
        if conversation is None:
            return
        index = _copied_index(conversation, from_display(_text_of(copy.value)))  # Gradio sends the text only
        if index is not None:
            self.session.record_copy(conversation, index)

    def show(self, conversation: Conversation) -> tuple:
        """Updates that put `conversation` on screen: its id, the chat (with feedback), usage, details.
        An event following another chat's reply in this window stops writing to the chat at once."""
        self.screens.show(conversation.id)
        ratings = [m.rating for m in conversation.messages if m.role == "assistant"]
        chat = gr.Chatbot(value=to_chatbot(conversation), feedback_value=ratings)
        return conversation.id, chat, usage_text(self.session, conversation), NO_DETAILS

    def open_last(self, conversation_id: str | None):
        conversation = self.session.find(conversation_id) or self.session.last_conversation()
        self.session.host.get_ready(conversation)
        return (*self.show(conversation), conversation.title, conversation.system_prompt)

    def select(self, conversation_id: str | None, selected: gr.SelectData):
        conversation = self.session.find(conversation_id)
        if conversation is None:
            return gr.skip(), gr.skip(), gr.skip()
        return self._details(conversation, _index(selected.index))

    def _details(self, conversation: Conversation, index: int):
        """The details panel for one message, and its version buttons when it has versions."""
        try:
            facts = self.session.details(conversation, index)
        except UserError as error:
            return str(error), None, gr.update(visible=False)
        versions = conversation.messages[index].versions
        return format_details(facts), index, gr.update(visible=versions > 1)

    def step_version(self, conversation_id: str | None, index: int | None, step: int):
        conversation = self.session.find(conversation_id)
        if conversation is None or index is None:
            return refuse("Click a message first.", outputs=4)
        try:
            self.session.step_version(conversation, index, step)
        except UserError as error:
            return refuse(str(error), outputs=4)
        return (self.show(conversation)[1], *self._details(conversation, index))

    def example(self, conversation_id: str | None, example: gr.SelectData):
        return self.add_message(_text_of(example.value), conversation_id)

    def option(self, conversation_id: str | None, option: gr.SelectData):
        conversation = self.session.conversation(conversation_id)
        action, _, index = str(option.value).partition(":")
        if action == CONTINUE:
            yield from self._stream(conversation,
                                    lambda still: self.session.continue_reply(conversation, int(index), still))
            return
        try:
            if action == REDO:
                self.session.redo(conversation)
            elif action in (PREVIOUS_VERSION, NEXT_VERSION):
                self.session.step_version(conversation, int(index), -1 if action == PREVIOUS_VERSION else 1)
        except UserError as error:
            gr.Warning(str(error))
        yield (to_chatbot(conversation), "", *(gr.skip(),) * 4)

    def usage(self, conversation_id: str | None, files: list[dict] | None = None, text: str = ""):
        """The context readout (counting the files waiting to be sent, if any), the marks of the messages (speed
        lines) and their files' names (one event for all three: each costs the page a pass over its state)."""
        conversation = self.session.find(conversation_id)
        generation = conversation.generation if conversation is not None else None
        if generation is not None:
            # Not redrawn for every streamed update (on 2 cores that cost the page half its token rate):
            # once, to count the message sent and take the old speed line off a reply being rewritten, then at
            # the reply's end.
            if generation in self._marked:  # the files' names still: this may be another chat's page
                return gr.skip(), gr.skip(), file_marks(conversation)
            self._marked.add(generation)
        return usage_text(self.session, conversation, files, text), message_marks(conversation), \
            file_marks(conversation)

    def api_chat(self, message: str, conversation_id: str = "") -> Iterator[str]:
        """Send a message and stream the growing reply (a new conversation unless an id is given)."""
        conversation = self.session.conversation(conversation_id)
        yield from self._reply_text(self.session.submit(conversation, message))

    def api_retry(self, conversation_id: str) -> Iterator[str]:
        """Write a new version of the conversation's last reply and stream it."""
        conversation = self.session.find(conversation_id)
        if conversation is None or not conversation.messages:
            raise gr.Error("There is no such conversation, or it is empty.", print_exception=False)
        yield from self._reply_text(self.session.retry(conversation, len(conversation.messages) - 1))

    @staticmethod
    def _reply_text(updates: Iterator[Conversation]) -> Iterator[str]:
        try:
            for update in updates:
                last = update.messages[-1]
                if last.role == "assistant":
                    yield last.content
        except UserError as error:
            raise _user_error(error) from error

    def draft(self, text: str, conversation_id: str = "") -> None:
        """The message being typed (in a new conversation unless an id is given): computed ahead meanwhile."""
        self.session.type_draft(self.session.find(conversation_id), text or "")

    def api_new_conversation(self) -> str:
        """Start a conversation and return its id, for /chat."""
        return self.session.new_conversation().id


def _ended(conversation: Conversation, failed: UserError | None) -> str:
    """What the status line says once the reply has ended."""
    last = conversation.messages[-1] if conversation.messages else None
    if failed is not None:
        return ""  # the notice says why
    if last is None or last.role != "assistant":
        return STOPPED
    return STOPPED if last.finish_reason in ("cancelled", "interrupted") else FINISHED


def _copied_index(conversation: Conversation, text: str) -> int | None:
    """The newest message whose text was copied."""
    for index in range(len(conversation.messages) - 1, -1, -1):
        stored = conversation.messages[index].content
        if stored.strip() == restore_hidden(text, stored).strip():
            return index
    return None


def _index(index) -> int:
    return index[0] if isinstance(index, (list, tuple)) else int(index)


def _text_of(value) -> str:
    """Plain text from a Chatbot payload: a string, a text part, or a list of parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("text") or value.get("value") or value.get("content") or "")
    if isinstance(value, (list, tuple)):
        return "".join(_text_of(part) for part in value)
    return "" if value is None else str(value)
