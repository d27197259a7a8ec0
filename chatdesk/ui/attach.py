"""Attaching files to the next message: the Attach files button, dropping files on the message box, the chips
of the files waiting to be sent (each with a remove button), the context readout with them, and sending."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from chatdesk.core.attachments import ACCEPT, Attachment, read_attachment
from chatdesk.core.conversation import Conversation
from chatdesk.core.file_room import check_room, file_tokens
from chatdesk.core.session import ChatSession
from chatdesk.errors import UserError
from chatdesk.ui.attachview import SHOW_FILES, chip
from chatdesk.ui.chatview import usage_text
from chatdesk.ui.kit import CHOOSING, refuse
from chatdesk.ui.live_page import SEND_READING

ATTACH_LABEL = "Attach files"
# Files dropped on the message box go to the Attach files button's file input, as if picked with it; the input
# is named for assistive technology and offers the supported kinds in the file picker.
DROP_JS = """() => {
  const input = () => document.querySelector('#attach-btn input[type="file"], input[data-testid="%(label)s-upload-button"]');
  const named = () => { const i = input(); if (i && !i.getAttribute('aria-label')) {
    i.setAttribute('aria-label', '%(label)s'); i.setAttribute('accept', '%(accept)s'); } };
  named(); new MutationObserver(named).observe(document.body, {childList: true, subtree: true});
  const over = (event) => event.target.closest?.('#message') && event.dataTransfer?.types?.includes('Files');
  document.addEventListener('dragover', (event) => {
    if (!over(event)) return;
    event.preventDefault(); document.querySelector('#message')?.classList.add('dropping');
  });
  document.addEventListener('dragleave', () => document.querySelector('#message')?.classList.remove('dropping'));
  document.addEventListener('drop', (event) => {
    document.querySelector('#message')?.classList.remove('dropping');
    if (!over(event) || !input()) return;
    event.preventDefault();
    const files = new DataTransfer();
    for (const file of event.dataTransfer.files) files.items.add(file);
    input().files = files.files;
    input().dispatchEvent(new Event('change', {bubbles: true}));
  });
}""" % {"label": ATTACH_LABEL, "accept": ",".join(ACCEPT)}
CSS = """
#pending-files, #pending-files > .column { flex: 0 0 auto !important; gap: 0 !important; }
#attachments { gap: 6px !important; flex-wrap: wrap !important; min-height: 0 !important; }
#attachments > * { flex: 0 0 auto !important; min-width: 0 !important; width: auto !important; }
#attachments .block, #attachments .html-container { padding: 0 !important; border: none !important; background: none !important; }
.attachment-chips { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 6px; }
.attachment-chip::before { content: ""; width: 8px; height: 10px; border: 1.5px solid currentColor; border-radius: 2px;
  opacity: 0.6; flex: 0 0 auto; }
.attachment-chip { display: inline-flex; align-items: center; gap: 6px; padding: 2px 10px; border-radius: 999px;
  font-size: 0.85em; border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary);
  max-width: 320px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.attachment-size { opacity: 0.65; }
button.attachment-remove { min-width: 0 !important; width: 28px !important; padding: 0 !important; font-size: 0 !important; }
button.attachment-remove::before { content: "✕"; font-size: 14px; }
#message.dropping { outline: 2px dashed var(--color-accent); outline-offset: 2px; }
"""


@dataclass
class AttachControls:
    """The button that picks files, and the files waiting to be sent with the next message."""

    button: gr.UploadButton
    pending: gr.State


def build_attach_button(render: bool = True) -> AttachControls:
    """The Attach files button (to place next to the message box) and the state of the files waiting."""
    button = gr.UploadButton(ATTACH_LABEL, file_count="multiple", type="filepath", scale=0, min_width=130,
                             elem_id="attach-btn", size="md", render=render)
    return AttachControls(button, gr.State([]))


def build_chips(pending: gr.State) -> None:
    """The chips of the files waiting to be sent, above the message box, each with its remove button."""
    with gr.Column(elem_id="pending-files", min_width=0):  # as tall as its chips: the chat takes the rest
        _render_chips(pending)


def _render_chips(pending: gr.State) -> None:
    @gr.render(inputs=[pending], show_progress="hidden")
    def chips(files):
        if not files:
            return
        with gr.Row(elem_id="attachments"):
            for index, file in enumerate(files):
                gr.HTML(chip(file["name"], file["tokens"]), padding=False)
                remove = gr.Button(f"Remove {file['name']}", size="sm", scale=0, min_width=0,
                                   elem_classes=["attachment-remove"])
                remove.click(_without(index), [pending], [pending], show_progress="hidden",
                             api_visibility="private")


def _without(index: int):
    """A handler taking the file at `index` off the list of files waiting."""
    return lambda files: [f for i, f in enumerate(files or []) if i != index]


class AttachHandlers:
    """Attaching files, the readout with them, and sending a message with them."""

    def __init__(self, session: ChatSession, sent_to_page: Callable[[Conversation, str], tuple],
                 refused: Callable[[str], None]):
        self.session = session
        self.sent_to_page = sent_to_page  # (chat, Send, Stop, status, writing, live text) as a send shows them
        self.refused = refused  # the page's key for a message refused will not be offered (LiveReplies.refuse)

    def attach(self, paths: list[str] | None, files: list[dict], text: str, conversation_id: str | None):
        """Read the files picked or dropped and add those that can be sent; say why about the others."""
        files, conversation = list(files or []), self.session.find(conversation_id)
        for path in paths or []:
            try:
                attachment = read_attachment(path, Path(path).name)
                tokens = file_tokens(self.session.host, attachment)
                check_room(self.session.host, conversation, text or "",
                           [(_attachment(f), f["tokens"]) for f in files] + [(attachment, tokens)])
            except UserError as error:
                gr.Warning(str(error))
                continue
            files.append({"name": attachment.name, "text": attachment.text, "tokens": tokens})
        return files, None

    def readout(self, files: list[dict], text: str, conversation_id: str | None):
        """The context readout: with files waiting, the tokens the chat would take with them and the message."""
        return usage_text(self.session, self.session.find(conversation_id), files, text)

    def send(self, text: str, conversation_id: str | None, files: list[dict], key: str = ""):
        """Send the message with its files: (chat, Send, Stop, status, writing, live text, box, id, files); refused
        or failed, all stay. `key`: the page reads the reply's text under it (live_page.SEND_READING)."""
        conversation = self.session.conversation(conversation_id)
        try:
            self.session.send(conversation, text, [_attachment(f) for f in files or []])
        except UserError as error:
            self.refused(key)
            return refuse(str(error), outputs=9)
        except Exception:
            self.refused(key)  # the page takes away the message it drew at once; Gradio says what failed
            raise
        return *self.sent_to_page(conversation, key), "", conversation.id, []


def _attachment(file: dict) -> Attachment:
    return Attachment(file["name"], file["text"])


def wire_attach(demo: gr.Blocks, controls: AttachControls, handlers: AttachHandlers, sent: list, box,
                conversation_id, usage) -> tuple[dict, gr.Textbox]:
    """Connect attaching, dropping and the readout; returns the listener that sends a message with its files,
    and the output the chat's readouts put each message's file names in (file_marks), for the page's chips."""
    live = sent[-1]  # after the chat, Send, Stop, the status line and the chats written
    private = {"api_visibility": "private", "show_progress": "hidden"}
    controls.button.upload(handlers.attach, [controls.button, controls.pending, box, conversation_id],
                           [controls.pending, controls.button], **private)
    controls.pending.change(handlers.readout, [controls.pending, box, conversation_id], [usage], queue=False,
                            **private)
    demo.load(None, None, None, js=DROP_JS, **private)
    marks = gr.Textbox("[]", visible="hidden", elem_id="attachment-marks")
    marks.change(None, [marks], None, js=SHOW_FILES, queue=False, **private)
    return {"fn": handlers.send, "inputs": [box, conversation_id, controls.pending, live], "js": SEND_READING,
            "outputs": [*sent, box, conversation_id, controls.pending], **private, **CHOOSING}, marks
