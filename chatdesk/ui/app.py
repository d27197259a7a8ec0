"""The Gradio page: its layout, the wiring of its events to the handlers, and serving it on loopback."""

from __future__ import annotations

import gradio as gr
from starlette.middleware import Middleware

from chatdesk import paths
from chatdesk.core.session import ChatSession
from chatdesk.ui.attach import AttachHandlers, build_attach_button, build_chips, wire_attach
from chatdesk.ui.blocks import Blocks
from chatdesk.ui.busy import SHOW_BUSY, build_send_stop
from chatdesk.ui.chatview import message_marks, usage_text
from chatdesk.ui.environment import app_made_at_launch
from chatdesk.ui.handlers import FEEDBACK_OPTIONS, GENERATION, NO_DETAILS, Handlers
from chatdesk.ui.kit import CHOOSING
from chatdesk.ui.live import LiveTextRoute
from chatdesk.ui.live_page import DROP_LIVE_TEXT, LIVE_TEXT
from chatdesk.ui.look import SHOW_MARKS, SHOWN_CONVERSATION, launch_options
from chatdesk.ui.message_actions import ActionHandlers, build_actions, temporary_button, wire_actions
from chatdesk.ui.page_fixes import PageFixes
from chatdesk.ui.quiet import quiet_queue
from chatdesk.ui.settings_panel import PanelHandlers, build_header, build_panel, wire_panel
from chatdesk.ui.sidebar import SidebarHandlers, build_sidebar, wire_sidebar

STARTERS = (
    "Explain what a large language model is in two sentences.",
    "Write a haiku about the sea.",
    "Give me three ideas for a rainy afternoon.",
)
def build_ui(session: ChatSession) -> Blocks:
    """The whole page, wired to `session`."""
    handlers = Handlers(session)
    with app_made_at_launch(), Blocks(title="chatdesk", fill_height=True) as demo:
        conversation_id = gr.State(None)
        with gr.Row(equal_height=True):
            header = build_header(session.host)
            usage = gr.Markdown(usage_text(session, None), elem_id="context-usage")
        for notice in _notices(session):
            gr.Markdown(f"⚠️ {notice}", elem_classes=["notice"])
        with gr.Row(equal_height=False, elem_id="main-row"):
            with gr.Column(scale=1, min_width=220, elem_id="sidebar"):
                bar = build_sidebar(session, beside_new=temporary_button)
                temporary = bar.beside_new
            with gr.Column(scale=4, elem_id="chat-column"):
                actions = build_actions(temporary)
                chatbot = gr.Chatbot(
                    elem_id="chat", show_label=False, editable="all", height="100%",  # the layout CSS sizes it
                    feedback_options=FEEDBACK_OPTIONS, buttons=["copy", "copy_all"],
                    examples=[{"text": text} for text in STARTERS],
                    placeholder="**Ask anything.** Everything stays on this computer.",
                )
                attach = build_attach_button(render=False)
                build_chips(attach.pending)
                with gr.Row(equal_height=True, elem_id="composer"):
                    attach.button.render()
                    box = gr.Textbox(
                        show_label=False, scale=8, lines=1, max_lines=8, autofocus=True, elem_id="message",
                        placeholder="Message chatdesk (Shift+Enter: new line)",
                    )
                    send, stop = build_send_stop()
                status = gr.HTML("", elem_id="reply-status")
            with gr.Column(scale=1, min_width=300, elem_id="side-panel"):  # the model picker shows a whole name
                details = gr.Markdown(NO_DETAILS, elem_id="details")
                selected = gr.State(None)
                with gr.Row(visible=False) as versions:
                    previous = gr.Button("◀ Previous version", size="sm", elem_id="previous-version")
                    following = gr.Button("Next version ▶", size="sm", elem_id="next-version")
                marks = gr.Textbox(message_marks(None), visible="hidden", elem_id="message-marks")
                live = gr.Textbox("", visible="hidden", elem_id="live-reply")
                typed = gr.Textbox("", visible="hidden", elem_id="typed")  # the message box at its last key
                writing = gr.State("")  # the chats being written; a change refreshes the chat list's marks
                panel = build_panel(session.host)
        shown = [conversation_id, chatbot, usage, details]
        streamed = [chatbot, live, send, stop, status, writing]
        sending, files = wire_attach(demo, attach,
                                     AttachHandlers(session, handlers.sent_to_page, handlers.live.refuse),
                                     [chatbot, send, stop, status, writing, live], box, conversation_id, usage)
        all_marks = [marks, files]  # the messages' speed lines and their files' names, both put by the readouts
        readout = [conversation_id, attach.pending, box]  # the readout counts the files waiting to be sent
        refresh = _wire(handlers, conversation_id, streamed, (box, typed), details, readout, usage, all_marks, bar,
                        sending)
        _wire_details(handlers, conversation_id, chatbot, details, selected, versions, previous, following,
                      readout, usage, all_marks)
        wire_sidebar(bar, SidebarHandlers(session, handlers.show), conversation_id, shown)
        wire_actions(demo, actions, ActionHandlers(session, handlers.show), conversation_id,
                     [*shown, bar.title, bar.system_prompt], refresh)
        wire_panel(panel, PanelHandlers(session.host), header, demo)
        demo.load(None, None, None, js=SHOW_BUSY)  # the status line is a live region before it first speaks
        demo.served_with.append(Middleware(LiveTextRoute, replies=handlers.live))
        demo.load(handlers.open_last, [conversation_id], [*shown, bar.title, bar.system_prompt],
                  api_visibility="private", **CHOOSING).then(**refresh)
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


def _wire(handlers, conversation_id, streamed, boxes, details, readout, usage, marks, bar, sending) -> dict:
    """Connect the chat; returns the listener that refreshes the sidebar's lists."""
    chatbot, live, send, stop, status, writing = streamed
    box, typed = boxes
    refresh = {"fn": SidebarHandlers(handlers.session, handlers.show).lists, "inputs": [conversation_id],
               "outputs": [bar.chats, bar.trash], "queue": False, "show_progress": "hidden",
               "api_visibility": "private"}
    # A reply is written in the background (core/replies.py); these events only follow it on screen, so they
    # take no turn: a reply asked for while another is written waits for it in the core, and says so.
    stream = {"show_progress": "minimal"}  # its timer is hidden by look.CSS
    # Asked again after an event that may leave the Chatbot as it was (a reply stopped or refused before its first
    # words), so no change event. A send needs none: its reply's end turns the reply's place into the reply.
    readouts = {"fn": handlers.usage, "inputs": readout, "outputs": [usage, *marks], "queue": False,
                "show_progress": "hidden", "api_visibility": "private"}
    added = sending  # the message with its attached files (ui/attach.py)
    reply = {"fn": handlers.reply, "inputs": [conversation_id], "outputs": streamed,
             "api_visibility": "private", **stream}
    # The send marks the chat as written (writing), which refreshes the chat list; the reply's end changes the
    # Chatbot, which refreshes the readouts (_wire_details).
    for trigger in (box.submit, send.click):
        trigger(**added).success(**reply)
    stop.click(handlers.stop, [conversation_id], None, queue=False, api_visibility="private")
    # Gradio's message box reports an input at every key pressed, Enter that sends included: the text goes to
    # the app (which computes it ahead) only when it changed, so that sending starts no event on the app for it
    # (each costs the page 5-16 ms as the reply starts, more in a long chat)
    box.input(None, [box], [typed], js="(text) => text", queue=False, show_progress="hidden",
              api_visibility="private")
    typed.change(handlers.draft, [typed, conversation_id], None, queue=False, trigger_mode="always_last",
                 show_progress="hidden", api_name="window_draft", api_visibility="private")
    private = {"api_visibility": "private"}
    chatbot.retry(handlers.retry, [conversation_id], streamed, api_name="window_retry", **stream,
                  **private).then(**readouts)
    chatbot.undo(handlers.undo, [conversation_id], [chatbot, box], show_progress="hidden", **private)
    chatbot.edit(handlers.edit, [conversation_id], streamed, **stream, **private).then(**readouts)
    # Every press counts: "once" would drop one made while the step before is still answered (its buttons are
    # back on screen by then, and the page's ←/→ makes a press kept meanwhile at that moment: ui/keys.py).
    chatbot.option_select(handlers.option, [conversation_id], streamed, trigger_mode="multiple", **stream,
                          **private).then(**readouts)
    conversation_id.change(handlers.follow, [conversation_id], streamed, **stream, **private).then(
        **readouts).then(handlers.watch_writing, None, [writing], show_progress="hidden", **private)
    writing.change(**refresh)
    status.change(None, [status], None, js=SHOW_BUSY, queue=False, show_progress="hidden", **private)
    chatbot.change(None, None, None, js=DROP_LIVE_TEXT, queue=False, show_progress="hidden", **private)
    example = chatbot.example_select(handlers.example, [conversation_id],
                                     [chatbot, send, stop, status, writing, live, box, conversation_id],
                                     show_progress="hidden", **private, **CHOOSING)
    example.success(**reply)
    live.change(None, [live], None, js=LIVE_TEXT, queue=False, show_progress="hidden", **private)
    chatbot.like(handlers.like, [conversation_id], None, queue=False, **private)
    chatbot.copy(handlers.copy, [conversation_id], None, queue=False, **private)

    gr.api(handlers.api_chat, api_name="chat", **GENERATION)
    gr.api(handlers.api_retry, api_name="retry", **GENERATION)
    gr.api(handlers.api_new_conversation, api_name="new_conversation", queue=False)
    gr.api(handlers.draft, api_name="draft", queue=False)
    return refresh


def _wire_details(handlers, conversation_id, chatbot, details, selected, versions, previous, following,
                  readout, usage, marks) -> None:
    """Message details on click, stepping through its versions, and the readouts kept current."""
    # Gradio's spinner on these quick readouts would keep animating for seconds after it is gone
    private = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
    shown = [details, selected, versions]
    chatbot.select(handlers.select, [conversation_id], shown, **private)
    for button, step in ((previous, -1), (following, 1)):
        button.click(handlers.step_version, [conversation_id, selected, gr.State(step)], [chatbot, *shown],
                     show_progress="hidden", api_visibility="private")
    chatbot.change(handlers.usage, readout, [usage, *marks], trigger_mode="always_last",
                   js=SHOWN_CONVERSATION, **private)
    speed_lines = marks[0]
    speed_lines.change(None, [speed_lines], None, js=SHOW_MARKS, **private)


def serve_page(demo: Blocks, host: str, port: int, middleware: list) -> None:
    """Serve the page on `host`:`port` behind `middleware`, without blocking; system fonts, no sharing."""
    with app_made_at_launch():
        demo.queue(default_concurrency_limit=None)
    quiet_queue(demo)
    demo.launch(
        server_name=host, server_port=port, prevent_thread_lock=True, quiet=True, show_error=True,
        inbrowser=False, share=False, ssr_mode=False, mcp_server=False, pwa=False, enable_monitoring=False,
        favicon_path=str(paths.icon_file()),
        app_kwargs={"middleware": [*middleware, *demo.served_with, Middleware(PageFixes)]},
        **launch_options(),
        allowed_paths=[str(paths.exports_dir())],  # else Gradio refuses downloads outside the system temp dir
    )
