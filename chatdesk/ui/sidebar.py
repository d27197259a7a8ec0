"""The history sidebar: chats, search, rename, trash, import and export. Thin wiring over the session."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from chatdesk.core.conversation import Conversation
from chatdesk.core.session import ChatSession
from chatdesk.errors import UserError
from chatdesk.ui.kit import refuse

UNTITLED = "New chat"


@dataclass
class Sidebar:
    """The sidebar's components, for wiring."""

    new: gr.Button
    search: gr.Textbox
    hits: gr.Radio
    chats: gr.Radio
    title: gr.Textbox
    rename: gr.Button
    system_prompt: gr.Textbox
    set_system_prompt: gr.Button
    delete: gr.Button
    export_markdown: gr.Button
    export_json: gr.Button
    trash: gr.Radio
    restore: gr.Button
    purge: gr.Button
    import_file: gr.UploadButton
    export_all: gr.Button
    export_feedback: gr.Button
    download: gr.File


def build_sidebar(session: ChatSession) -> Sidebar:
    """Lay out the sidebar (inside the caller's column)."""
    new = gr.Button("+ New chat", variant="secondary", elem_id="new-chat")
    search = gr.Textbox(show_label=False, placeholder="Search all chats", elem_id="search", max_lines=1)
    hits = gr.Radio(choices=[], label="Found", visible=False, elem_id="search-hits")
    chats = gr.Radio(choices=chat_choices(session), label="Chats", elem_id="chat-list")
    with gr.Accordion("This chat", open=False, elem_id="this-chat"):
        title = gr.Textbox(label="Title", max_lines=1, elem_id="chat-title")
        rename = gr.Button("Rename", size="sm", elem_id="rename-chat")
        system_prompt = gr.Textbox(label="System prompt for this chat", lines=2, elem_id="chat-system-prompt")
        set_system_prompt = gr.Button("Use for this chat", size="sm", elem_id="set-chat-system-prompt")
        with gr.Row():
            export_markdown = gr.Button("Export Markdown", size="sm", elem_id="export-md")
            export_json = gr.Button("Export JSON", size="sm", elem_id="export-json")
        delete = gr.Button("Move to trash", size="sm", variant="stop", elem_id="delete-chat")
    with gr.Accordion("Trash", open=False, elem_id="trash"):
        trash = gr.Radio(choices=chat_choices(session, trashed=True), label="In the trash", elem_id="trash-list")
        with gr.Row():
            restore = gr.Button("Restore", size="sm", elem_id="restore-chat")
            purge = gr.Button("Delete forever", size="sm", variant="stop", elem_id="purge-chat")
    with gr.Accordion("Import and export", open=False, elem_id="import-export"):
        import_file = gr.UploadButton("Import JSON", file_types=[".json"], size="sm", elem_id="import-json")
        export_all = gr.Button("Export all (JSON)", size="sm", elem_id="export-all")
        export_feedback = gr.Button("Feedback (JSONL)", size="sm", elem_id="export-feedback")
    download = gr.File(label="Download", visible=False, elem_id="download")
    return Sidebar(new, search, hits, chats, title, rename, system_prompt, set_system_prompt,
                   delete, export_markdown, export_json,
                   trash, restore, purge, import_file, export_all, export_feedback, download)


def chat_choices(session: ChatSession, *, trashed: bool = False) -> list[tuple[str, str]]:
    """(title, id) of every chat, most recent first."""
    writing = session.writing_ids()
    return [(writing_mark(row.title or UNTITLED, row.id in writing), row.id)
            for row in session.history.conversations(trashed=trashed)]


def writing_mark(title: str, writing: bool) -> str:
    """A chat's title in the list, marked while its reply is still being written (it may be in the background)."""
    return f"● {title}" if writing else title


class SidebarHandlers:
    """What the sidebar's buttons do; each returns updates for the components it names."""

    def __init__(self, session: ChatSession, show):
        self.session = session
        self.show = show  # conversation -> updates for (conversation_id, chatbot, usage, details)

    def lists(self, conversation_id: str | None = None):
        """Fresh chat and trash lists, the open chat selected."""
        return (gr.update(choices=chat_choices(self.session), value=conversation_id),
                gr.update(choices=chat_choices(self.session, trashed=True), value=None))

    def open(self, current_id: str | None, chosen_id: str | None):
        if not chosen_id or chosen_id == current_id:
            return (gr.skip(),) * 6
        self.session.leave(self.session.find(current_id))
        conversation = self.session.find(chosen_id)
        if conversation is None:
            return refuse("That chat is no longer there.", outputs=6)
        self.session.focus(conversation)
        return self._opened(conversation)

    def _opened(self, conversation):
        """Updates for the chat, its title and its system prompt."""
        return (*self.show(conversation), conversation.title, conversation.system_prompt)

    def new(self, current_id: str | None):
        self.session.leave(self.session.find(current_id))
        return self._opened(self.session.new_conversation())

    def search(self, query: str):
        hits = self.session.history.search(query or "")
        choices = [(f"{hit.title or UNTITLED}: {hit.snippet}", f"{hit.conversation_id}:{hit.message_id}")
                   for hit in hits]
        label = f"Found in {len({h.conversation_id for h in hits})} chats" if hits else "Nothing found"
        return gr.update(choices=choices, value=None, label=label, visible=bool((query or "").strip()))

    def open_hit(self, current_id: str | None, hit: str | None):
        if not hit:
            return (gr.skip(),) * 6
        conversation_id, _, message_id = hit.partition(":")
        self.session.leave(self.session.find(current_id))
        conversation = self.session.open_at(conversation_id, message_id)
        self.session.focus(conversation)
        return self._opened(conversation)

    def rename(self, conversation_id: str | None, title: str):
        conversation = self.session.find(conversation_id)
        if conversation is None or not conversation.messages:
            return refuse("Send a message first; an empty chat has nothing to name.", outputs=2)
        try:
            self.session.history.rename(conversation.id, title)
        except UserError as error:
            return refuse(str(error), outputs=2)
        return self.lists(conversation.id)

    def set_system_prompt(self, conversation_id: str | None, text: str):
        conversation = self.session.conversation(conversation_id)
        self.session.history.set_system_prompt(conversation, text)
        gr.Info("This chat now uses its own system prompt.")
        return conversation.id

    def delete(self, conversation_id: str | None):
        conversation = self.session.find(conversation_id)
        if conversation is not None and conversation.messages:
            self.session.trash(conversation.id)
            gr.Info(f"“{conversation.title or UNTITLED}” is in the trash; it can be restored from there.")
        return self.new(None)

    def restore(self, chosen_id: str | None):
        if not chosen_id:
            return refuse("Pick a chat in the trash first.", outputs=2)
        self.session.history.restore(chosen_id)
        return self.lists()

    def purge(self, chosen_id: str | None):
        if not chosen_id:
            return refuse("Pick a chat in the trash first.", outputs=2)
        self.session.history.delete_forever(chosen_id)
        return self.lists()

    def export(self, conversation_id: str | None, kind: str):
        history = self.session.history
        try:
            if kind == "feedback":
                return _download(history.export_feedback())
            if kind == "all":
                return _download(history.export_all())
            return _download(history.export(self.session.find(conversation_id) or Conversation(""), kind))
        except UserError as error:
            return refuse(str(error))

    def import_json(self, conversation_id: str | None, upload):
        try:
            added = self.session.history.import_file(getattr(upload, "name", upload))
        except UserError as error:
            return refuse(str(error), outputs=2)
        gr.Info(f"Imported {len(added)} chat{'s' if len(added) != 1 else ''}.")
        return self.lists(conversation_id)


def _download(path) -> dict:
    return gr.update(value=str(path), visible=True)


def wire_sidebar(bar: Sidebar, handlers: SidebarHandlers, conversation_id, shown: list) -> None:
    """Connect the sidebar; `shown` are the components a conversation change updates."""
    quick = {"show_progress": "hidden", "api_visibility": "private"}  # queued: toasts need the queue
    opened = [*shown, bar.title, bar.system_prompt]
    lists = [bar.chats, bar.trash]
    refresh = {"fn": handlers.lists, "inputs": [conversation_id], "outputs": lists, **quick}
    bar.chats.input(handlers.open, [conversation_id, bar.chats], opened, **quick)
    bar.new.click(handlers.new, [conversation_id], opened, **quick).then(**refresh)
    bar.search.submit(handlers.search, [bar.search], [bar.hits], **quick)
    bar.search.change(handlers.search, [bar.search], [bar.hits], trigger_mode="always_last", **quick)
    bar.hits.input(handlers.open_hit, [conversation_id, bar.hits], opened, **quick).then(**refresh)
    bar.rename.click(handlers.rename, [conversation_id, bar.title], lists, **quick)
    bar.set_system_prompt.click(handlers.set_system_prompt, [conversation_id, bar.system_prompt],
                                [conversation_id], **quick)
    bar.delete.click(handlers.delete, [conversation_id], opened, **quick).then(**refresh)
    bar.restore.click(handlers.restore, [bar.trash], lists, **quick)
    bar.purge.click(handlers.purge, [bar.trash], lists, **quick)
    for button, kind in ((bar.export_markdown, "markdown"), (bar.export_json, "json"),
                         (bar.export_all, "all"), (bar.export_feedback, "feedback")):
        button.click(handlers.export, [conversation_id, gr.State(kind)], [bar.download], **quick)
    bar.import_file.upload(handlers.import_json, [conversation_id, bar.import_file], lists, **quick)

