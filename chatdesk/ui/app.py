"""The Gradio page: layout and wiring over a ChatSession; handlers convert at the edge."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator

import gradio as gr

from chatdesk import paths
from chatdesk.core.conversation import CONTINUE, NEXT_VERSION, PREVIOUS_VERSION, REDO, Conversation
from chatdesk.core.session import ChatSession
from chatdesk.errors import UserError
from chatdesk.ui.chatview import format_details, live_text, message_marks, to_chatbot, usage_text
from chatdesk.ui.display import from_display
from chatdesk.ui.external import restore_hidden
from chatdesk.ui.kit import refuse
from chatdesk.ui.look import LIVE_TEXT, SHOW_MARKS, SHOWN_CONVERSATION, launch_options
from chatdesk.ui.settings_panel import PanelHandlers, build_panel, header_text, wire_panel
from chatdesk.ui.sidebar import SidebarHandlers, build_sidebar, wire_sidebar

STARTERS = (
    "Explain what a large language model is in two sentences.",
    "Write a haiku about the sea.",
    "Give me three ideas for a rainy afternoon.",
)
NO_DETAILS = "Click a message to see its details."
FEEDBACK_OPTIONS = ("Like", "Dislike", "Inaccurate", "Unhelpful", "Off-topic")
GENERATION = {"concurrency_id": "generation", "concurrency_limit": 1}


def _user_error(error: UserError) -> gr.Error:
    """For API callers, who get the reason as an error."""
    return gr.Error(str(error), title="chatdesk", print_exception=False)


class Handlers:
    """The event handlers: each finds the window's conversation and calls the session."""

    def __init__(self, session: ChatSession):
        self.session = session
        self._marked: weakref.WeakSet = weakref.WeakSet()  # replies being written whose marks were sent
        self._rating = threading.Lock()  # Gradio 6.31 sends a reason click twice at once

    def _stream(self, updates: Iterator[Conversation]) -> Iterator[tuple]:
        """(chat, live text) as a reply is written: the chat when its messages change, the live text meanwhile."""
        conversation, shown = None, False
        try:
            for conversation in updates:
                streaming = conversation.generation is not None
                yield (gr.skip() if streaming and shown else to_chatbot(conversation, live=True)), live_text(conversation)
                shown = streaming
        except UserError as error:
            gr.Warning(str(error))  # what was shown stays shown
            if conversation is not None:  # a reply stopped by a full disk, say: as it is now, with Continue
                yield to_chatbot(conversation), ""
        except Exception:
            if shown:
                yield to_chatbot(conversation), ""
            raise

    def add_message(self, text: str, conversation_id: str | None):
        conversation = self.session.conversation(conversation_id)
        try:
            self.session.add_user_message(conversation, text)
        except UserError as error:
            return refuse(str(error), outputs=3)  # the text stays in the box
        return to_chatbot(conversation), "", conversation.id

    def reply(self, conversation_id: str):
        conversation = self.session.conversation(conversation_id)
        if conversation.messages and conversation.messages[-1].role == "user":  # else the message was refused
            yield from self._stream(self.session.reply(conversation))

    def stop(self, conversation_id: str | None):
        conversation = self.session.find(conversation_id)
        if conversation is not None:
            self.session.stop(conversation)

    def retry(self, conversation_id: str | None, retry: gr.RetryData):
        conversation = self.session.conversation(conversation_id)
        yield from self._stream(self.session.retry(conversation, _index(retry.index)))

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
        yield from self._stream(self.session.edit(conversation, index, text))

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
        """Updates that put `conversation` on screen: its id, the chat (with feedback), usage, details."""
        ratings = [m.rating for m in conversation.messages if m.role == "assistant"]
        chat = gr.Chatbot(value=to_chatbot(conversation), feedback_value=ratings)
        return conversation.id, chat, usage_text(self.session, conversation), NO_DETAILS

    def open_last(self, conversation_id: str | None):
        conversation = self.session.find(conversation_id) or self.session.last_conversation()
        self.session.host.get_ready(conversation)
        return (*self.show(conversation), conversation.title, conversation.system_prompt)

    def clear(self, conversation_id: str | None):
        self.session.leave(self.session.find(conversation_id))
        return self.show(self.session.new_conversation())

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
            yield from self._stream(self.session.continue_reply(conversation, int(index)))
        elif action == REDO:
            yield to_chatbot(self.session.redo(conversation)), ""
        elif action in (PREVIOUS_VERSION, NEXT_VERSION):
            step = -1 if action == PREVIOUS_VERSION else 1
            yield from self._stream(iter([self.session.step_version(conversation, int(index), step)]))
        else:
            yield to_chatbot(conversation), ""

    def usage(self, conversation_id: str | None):
        conversation = self.session.find(conversation_id)
        generation = conversation.generation if conversation is not None else None
        if generation is not None:
            # Not redrawn for every streamed update (on 2 cores that cost the page half its token rate):
            # once, to take the old speed line off a reply being rewritten, then at the reply's end.
            if generation in self._marked:
                return gr.skip(), gr.skip()
            self._marked.add(generation)
            return gr.skip(), message_marks(conversation)
        return usage_text(self.session, conversation), message_marks(conversation)

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


def build_ui(session: ChatSession) -> gr.Blocks:
    """The whole page, wired to `session`."""
    handlers = Handlers(session)
    with gr.Blocks(title="chatdesk", fill_height=True) as demo:
        conversation_id = gr.State(None)
        with gr.Row(equal_height=True):
            header = gr.Markdown(header_text(session.host), elem_id="title")
            usage = gr.Markdown(usage_text(session, None), elem_id="context-usage")
        for notice in _notices(session):
            gr.Markdown(f"⚠️ {notice}", elem_classes=["notice"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=220, elem_id="sidebar"):
                bar = build_sidebar(session)
            with gr.Column(scale=4):
                chatbot = gr.Chatbot(
                    elem_id="chat", show_label=False, editable="all", height="65vh",
                    feedback_options=FEEDBACK_OPTIONS, buttons=["copy", "copy_all"],
                    examples=[{"text": text} for text in STARTERS],
                    placeholder="**Ask anything.** Everything stays on this computer.",
                )
                with gr.Row(equal_height=True):
                    box = gr.Textbox(
                        show_label=False, scale=8, lines=1, max_lines=8, autofocus=True, elem_id="message",
                        placeholder="Message chatdesk (Enter sends, Shift+Enter adds a line, Esc stops)",
                    )
                    send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="send-btn")
                    stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="stop-btn")
            with gr.Column(scale=1, min_width=240):
                details = gr.Markdown(NO_DETAILS, elem_id="details")
                selected = gr.State(None)
                with gr.Row(visible=False) as versions:
                    previous = gr.Button("◀ Previous version", size="sm", elem_id="previous-version")
                    following = gr.Button("Next version ▶", size="sm", elem_id="next-version")
                marks = gr.Textbox(message_marks(None), visible="hidden", elem_id="message-marks")
                live = gr.Textbox("", visible="hidden", elem_id="live-reply")
                panel = build_panel(session.host)
        shown = [conversation_id, chatbot, usage, details]
        refresh = _wire(handlers, conversation_id, chatbot, live, box, send, stop, details, usage, marks, bar)
        _wire_details(handlers, conversation_id, chatbot, details, selected, versions, previous, following,
                      usage, marks)
        wire_sidebar(bar, SidebarHandlers(session, handlers.show), conversation_id, shown)
        wire_panel(panel, PanelHandlers(session.host), header)
        demo.load(handlers.open_last, [conversation_id], [*shown, bar.title, bar.system_prompt],
                  api_visibility="private").then(**refresh)
    return demo


def _notices(session: ChatSession) -> list[str]:
    notices = [session.host.load_error] if session.host.load_error else []
    history = session.history
    if history.moved_aside is not None:
        chats, messages = history.recovered or (0, 0)
        started = (f"a new history was started with the {chats} chats ({messages} messages) that could still be read "
                   "from it" if chats else "a new, empty history was started")
        notices.append(f"The history file was damaged and could not be used. It was kept as {history.moved_aside}, "
                       f"and {started}.")
    return notices


def _wire(handlers, conversation_id, chatbot, live, box, send, stop, details, usage, marks, bar) -> dict:
    """Connect the chat; returns the listener that refreshes the sidebar's lists."""
    refresh = {"fn": SidebarHandlers(handlers.session, handlers.show).lists, "inputs": [conversation_id],
               "outputs": [bar.chats, bar.trash], "queue": False, "api_visibility": "private"}
    stream = {"show_progress": "minimal", **GENERATION}  # its timer is hidden by look.CSS
    # A finished reply can look the same as its last streamed state, so no change event: refresh after it.
    readouts = {"fn": handlers.usage, "inputs": [conversation_id], "outputs": [usage, marks], "queue": False,
                "show_progress": "hidden", "api_visibility": "private"}
    added = {"fn": handlers.add_message, "inputs": [box, conversation_id],
             "outputs": [chatbot, box, conversation_id], "show_progress": "hidden", "api_visibility": "private"}
    reply = {"fn": handlers.reply, "inputs": [conversation_id], "outputs": [chatbot, live],
             "api_visibility": "private", **stream}
    for trigger in (box.submit, send.click):
        sent = trigger(**added)
        sent.success(**reply).then(**readouts)
        sent.success(**refresh)
    stop.click(handlers.stop, [conversation_id], None, queue=False, api_visibility="private")
    box.input(handlers.draft, [box, conversation_id], None, queue=False, trigger_mode="always_last",
              show_progress="hidden", api_name="window_draft", api_visibility="private")
    private = {"api_visibility": "private"}
    chatbot.retry(handlers.retry, [conversation_id], [chatbot, live], api_name="window_retry", **stream,
                  **private).then(**readouts)
    chatbot.undo(handlers.undo, [conversation_id], [chatbot, box], show_progress="hidden", **private)
    chatbot.edit(handlers.edit, [conversation_id], [chatbot, live], **stream, **private).then(**readouts)
    chatbot.option_select(handlers.option, [conversation_id], [chatbot, live], **stream, **private).then(**readouts)
    example = chatbot.example_select(handlers.example, [conversation_id], [chatbot, box, conversation_id],
                                     show_progress="hidden", **private)
    example.success(**reply).then(**readouts)
    example.success(**refresh)
    live.change(None, [live], None, js=LIVE_TEXT, queue=False, show_progress="hidden", **private)
    chatbot.like(handlers.like, [conversation_id], None, queue=False, **private)
    chatbot.copy(handlers.copy, [conversation_id], None, queue=False, **private)

    chatbot.clear(handlers.clear, [conversation_id], [conversation_id, chatbot, usage, details],
                  queue=False, **private).then(**refresh).then(**readouts)
    gr.api(handlers.api_chat, api_name="chat", **GENERATION)
    gr.api(handlers.api_retry, api_name="retry", **GENERATION)
    gr.api(handlers.api_new_conversation, api_name="new_conversation", queue=False)
    gr.api(handlers.draft, api_name="draft", queue=False)
    return refresh


def _wire_details(handlers, conversation_id, chatbot, details, selected, versions, previous, following,
                  usage, marks) -> None:
    """Message details on click, stepping through its versions, and the readouts kept current."""
    private = {"queue": False, "api_visibility": "private"}
    shown = [details, selected, versions]
    chatbot.select(handlers.select, [conversation_id], shown, **private)
    for button, step in ((previous, -1), (following, 1)):
        button.click(handlers.step_version, [conversation_id, selected, gr.State(step)], [chatbot, *shown],
                     show_progress="hidden", api_visibility="private")
    chatbot.change(handlers.usage, [conversation_id], [usage, marks], show_progress="hidden",
                   trigger_mode="always_last", js=SHOWN_CONVERSATION, **private)
    marks.change(None, [marks], None, js=SHOW_MARKS, **private)


def serve_page(demo: gr.Blocks, host: str, port: int, middleware: list) -> None:
    """Serve the page on `host`:`port` behind `middleware`, without blocking; system fonts, no sharing."""
    demo.queue(default_concurrency_limit=None)
    quiet_queue(demo)
    demo.launch(
        server_name=host, server_port=port, prevent_thread_lock=True, quiet=True, show_error=True,
        inbrowser=False, share=False, ssr_mode=False, mcp_server=False, pwa=False, enable_monitoring=False,
        favicon_path=str(paths.icon_file()), app_kwargs={"middleware": middleware}, **launch_options(),
        allowed_paths=[str(paths.exports_dir())],  # else Gradio refuses downloads outside the system temp dir
    )


def quiet_queue(demo: gr.Blocks, poll: float = 0.01) -> None:
    """Make Gradio's queue look for work every `poll` seconds instead of every millisecond.

    Outside Windows its loops wake 1,000 and 100 times a second even when idle: about a tenth of a core,
    which on a small machine is taken from the model while it writes. Events then wait at most `poll`.
    """
    queue = getattr(demo, "_queue", None)
    if queue is not None and hasattr(queue, "sleep_when_free"):
        queue.sleep_when_free = max(queue.sleep_when_free, poll)
        queue.progress_update_sleep_when_free = max(queue.progress_update_sleep_when_free, 5 * poll)
