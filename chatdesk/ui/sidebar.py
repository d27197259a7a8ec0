"""The history sidebar: chats, search, the rows' menus, trash, import and export. Thin wiring over the session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from chatdesk.core.conversation import Conversation
from chatdesk.core.session import ChatSession
from chatdesk.errors import UserError
from chatdesk.ui.chatlist import ACTIONS_JS, UNTITLED, WINDOW_TITLE_JS, chat_list_html, hits_html, trash_html
from chatdesk.ui.kit import CHOOSING, refuse


@dataclass
class Sidebar:
    """The sidebar's components, for wiring."""

    new: gr.Button
    search: gr.Textbox
    hits: gr.HTML
    chats: gr.HTML
    title: gr.Textbox
    system_prompt: gr.Textbox
    set_system_prompt: gr.Button
    export_markdown: gr.Button
    export_json: gr.Button
    trash: gr.HTML
    import_file: gr.UploadButton
    export_all: gr.Button
    export_feedback: gr.Button
    download: gr.File
    beside_new: gr.Button | None = None


def build_sidebar(session: ChatSession, beside_new: Callable[[], gr.Button] | None = None) -> Sidebar:
    """Lay out the sidebar (inside the caller's column): the list scrolls, the rest stays below it;
    `beside_new` makes a button to put next to + New chat."""
    with gr.Row(elem_id="new-chats"):
        new = gr.Button("+ New chat", variant="secondary", elem_id="new-chat", scale=2, min_width=0)
        extra = beside_new() if beside_new else None
    search = gr.Textbox(show_label=False, placeholder="Search all chats", elem_id="search", max_lines=1)
    hits = gr.HTML("", elem_id="search-hits", js_on_load=ACTIONS_JS, padding=False)
    chats = gr.HTML(chat_list_html(session.history.conversations(), None), elem_id="chat-list",
                    js_on_load=ACTIONS_JS + WINDOW_TITLE_JS, padding=False)
    with gr.Accordion("This chat", open=False, elem_id="this-chat"):
        title = gr.Textbox(visible="hidden", elem_id="chat-title")  # the open chat's title, for the page
        system_prompt = gr.Textbox(label="System prompt for this chat", lines=2, elem_id="chat-system-prompt")
        set_system_prompt = gr.Button("Use for this chat", size="sm", elem_id="set-chat-system-prompt")
        with gr.Row():
            export_markdown = gr.Button("Export Markdown", size="sm", elem_id="export-md")
            export_json = gr.Button("Export JSON", size="sm", elem_id="export-json")
    with gr.Accordion("Trash", open=False, elem_id="trash"):
        trash = gr.HTML(trash_html(session.history.conversations(trashed=True)), elem_id="trash-list",
                        js_on_load=ACTIONS_JS, padding=False)
    with gr.Accordion("Import and export", open=False, elem_id="import-export"):
        import_file = gr.UploadButton("Import JSON", file_types=[".json"], size="sm", elem_id="import-json")
        export_all = gr.Button("Export all (JSON)", size="sm", elem_id="export-all")
        export_feedback = gr.Button("Feedback (JSONL)", size="sm", elem_id="export-feedback")
    download = gr.File(label="Download", visible=False, elem_id="download")
    return Sidebar(new, search, hits, chats, title, system_prompt, set_system_prompt, export_markdown, export_json,
                   trash, import_file, export_all, export_feedback, download, extra)


class SidebarHandlers:
    """What the sidebar's buttons do; each returns updates for the components it names."""

    def __init__(self, session: ChatSession, show):
        self.session = session
        self.show = show  # conversation -> updates for (conversation_id, chatbot, usage, details)

    def lists(self, conversation_id: str | None = None):
        """Fresh chat and trash lists, the open chat marked."""
        history = self.session.history
        return (chat_list_html(history.conversations(), conversation_id, writing=self.session.writing_ids()),
                trash_html(history.conversations(trashed=True)))

    def act(self, current_id: str | None, event: gr.EventData):
        """A click in a list: open a chat or a hit, a row's menu (rename, pin, export, trash), or the trash's.

        Updates (conversation_id, chatbot, usage, details, title, system prompt, chats, trash, download).
        """
        action, chosen = getattr(event, "action", ""), getattr(event, "id", "")
        if action in ("open", "hit"):
            opened = self.open(current_id, chosen) if action == "open" else self.open_hit(current_id, chosen)
            shown = opened[0] if isinstance(opened[0], str) else current_id  # an id when a chat was opened
            return (*opened, *self.lists(shown), gr.skip())
        if action == "trash" and chosen == current_id:
            return (*self.delete(current_id), *self.lists(), gr.skip())
        try:
            download = self._row_action(action, chosen, getattr(event, "title", ""))
        except UserError as error:
            return refuse(str(error), outputs=9)
        return (*(gr.skip(),) * 6, *self.lists(current_id), download)

    def _row_action(self, action: str, chosen: str, title: str):
        """Do what a row's menu or the trash asked; a download update, or skip."""
        history = self.session.history
        if action == "rename":
            history.rename(chosen, title)
        elif action in ("pin", "unpin"):
            self.session.pin(chosen, action == "pin")
        elif action in ("export-markdown", "export-json"):
            conversation = self.session.find(chosen) or Conversation("")
            return _download(history.export(conversation, action.removeprefix("export-")))
        elif action == "trash":
            title = getattr(self.session.find(chosen), "title", "") or UNTITLED
            self.session.trash(chosen)
            gr.Info(f"“{title}” is in the trash; it can be restored from there.")
        elif action == "restore":
            history.restore(chosen)
        elif action == "purge":
            history.delete_forever(chosen)
        return gr.skip()

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
        """The hits for `query`, its words highlighted."""
        return hits_html(self.session.history.search(query or ""), query or "")

    def open_hit(self, current_id: str | None, hit: str | None):
        if not hit:
            return (gr.skip(),) * 6
        conversation_id, _, message_id = hit.partition(":")
        self.session.leave(self.session.find(current_id))
        conversation = self.session.open_at(conversation_id, message_id)
        self.session.focus(conversation)
        return self._opened(conversation)

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
    acted = [*opened, *lists, bar.download]
    for html in (bar.chats, bar.hits, bar.trash):
        html.click(handlers.act, [conversation_id], acted, **quick, **CHOOSING)
    bar.new.click(handlers.new, [conversation_id], opened, **quick, **CHOOSING).then(**refresh)
    bar.search.submit(handlers.search, [bar.search], [bar.hits], **quick)
    bar.search.change(handlers.search, [bar.search], [bar.hits], trigger_mode="always_last", **quick)
    bar.set_system_prompt.click(handlers.set_system_prompt, [conversation_id, bar.system_prompt],
                                [conversation_id], **quick)
    for button, kind in ((bar.export_markdown, "markdown"), (bar.export_json, "json"),
                         (bar.export_all, "all"), (bar.export_feedback, "feedback")):
        button.click(handlers.export, [conversation_id, gr.State(kind)], [bar.download], **quick)
    bar.import_file.upload(handlers.import_json, [conversation_id, bar.import_file], lists, **quick)
