"""Per-message actions (Branch from here, Delete) added by the page to each message's own button row, and
the Temporary chat control with its banner. The page sends (action, index) to a hidden textbox."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import gradio as gr

from chatdesk.core.session import ChatSession
from chatdesk.errors import UserError
from chatdesk.ui.kit import CHOOSING, refuse

TEMPORARY_NOTICE = ("**Temporary chat**: nothing of it is saved. It is gone when you open another chat "
                    "or restart chatdesk.")
BRANCH_ICON = ('<svg viewBox="0 0 24 24" width="15" height="15" fill="none" stroke="currentColor" stroke-width="2" '
               'aria-hidden="true"><circle cx="6" cy="5" r="2"/><circle cx="6" cy="19" r="2"/>'
               '<circle cx="18" cy="7" r="2"/><path d="M6 7v10M18 9c0 5-12 3-12 8"/></svg>')
DELETE_ICON = ('<svg viewBox="0 0 24 24" width="15" height="15" fill="none" stroke="currentColor" stroke-width="2" '
               'aria-hidden="true"><path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6"/></svg>')
CSS = """
#chat .chatdesk-action { display: inline-flex; align-items: center; justify-content: center; background: none;
  border: none; cursor: pointer; color: var(--block-label-text-color); padding: var(--spacing-xs); }
#chat .chatdesk-action:hover { color: var(--body-text-color); }
#chat .chatdesk-delete:hover { color: var(--error-text-color, #b91c1c); }
#chatdesk-confirm { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 18px 20px;
  max-width: 420px; background: var(--background-fill-primary); color: var(--body-text-color); }
#chatdesk-confirm::backdrop { background: rgb(0 0 0 / 0.35); }
#chatdesk-confirm .chatdesk-confirm-note { font-size: 0.85em; opacity: 0.8; }
#chatdesk-confirm .chatdesk-confirm-buttons { display: flex; justify-content: flex-end; gap: 8px; margin-top: 12px; }
#chatdesk-confirm button { padding: 6px 16px; border-radius: 6px; border: 1px solid var(--border-color-primary);
  background: var(--button-secondary-background-fill); color: var(--body-text-color); cursor: pointer; }
#chatdesk-confirm .chatdesk-delete { background: #b91c1c; border-color: #b91c1c; color: #fff; }
#temporary-banner { border: 1px dashed var(--color-accent); border-radius: 8px; padding: 4px 12px; }
"""
# Runs once on load: keeps the two buttons in every message's button row (next to Copy and Like), and sends
# a click as {action, index, n} to #message-action (n makes a repeated click a new value).
ACTIONS_JS = """() => {
  const style = document.createElement('style');
  style.textContent = %s;
  document.head.appendChild(style);
  const icons = {branch: %s, delete: %s};
  const names = {branch: "Branch from here", delete: "Delete message"};
  let sent = 0;
  window.chatdeskSendAction = (action, index, message) => {
    const box = document.querySelector('#message-action textarea');
    if (!box) return;
    box.value = JSON.stringify({action, index, message: message || null, n: ++sent});
    box.dispatchEvent(new Event('input', {bubbles: true}));
  };
  const indexOf = (row) => {
    const shown = row.previousElementSibling?.querySelectorAll('[data-testid="user"], [data-testid="bot"]');
    const last = shown && shown[shown.length - 1];
    const all = [...document.querySelectorAll('#chat [data-testid="user"], #chat [data-testid="bot"]')];
    return last ? all.indexOf(last) : -1;
  };
  const button = (action) => {
    const made = document.createElement('button');
    made.className = 'icon-button padded chatdesk-action chatdesk-' + action;
    made.type = 'button';
    made.setAttribute('aria-label', names[action]);
    made.title = names[action];
    made.innerHTML = icons[action];
    made.addEventListener('click', (event) => {
      event.stopPropagation();
      const index = indexOf(made.closest('.message-buttons'));
      if (index >= 0) window.chatdeskSendAction(action === 'delete' ? 'ask-delete' : action, index);
    });
    return made;
  };
  const addButtons = () => {
    document.querySelectorAll('#chat .message-buttons .icon-button-wrapper').forEach((row) => {
      if (!row.querySelector('.chatdesk-branch')) row.append(button('branch'), button('delete'));
    });
  };
  new MutationObserver(addButtons).observe(document.body, {childList: true, subtree: true});
  addButtons();
}"""
# The confirmation asked in the page, with what goes; Delete sends the message's id back, Cancel nothing.
ASK_JS = """(asked) => {
  if (!asked) return;
  const {question, index, message} = JSON.parse(asked);
  document.querySelector('#chatdesk-confirm')?.remove();
  const dialog = document.createElement('dialog');
  dialog.id = 'chatdesk-confirm';
  dialog.setAttribute('aria-labelledby', 'chatdesk-confirm-text');
  dialog.innerHTML = '<p id="chatdesk-confirm-text"></p><p class="chatdesk-confirm-note">' +
    'Other versions of it stay.</p><div class="chatdesk-confirm-buttons">' +
    '<button type="button" class="chatdesk-cancel">Cancel</button>' +
    '<button type="button" class="chatdesk-delete">Delete</button></div>';
  dialog.querySelector('#chatdesk-confirm-text').textContent = question;
  const close = () => { dialog.close(); dialog.remove(); };
  dialog.querySelector('.chatdesk-cancel').addEventListener('click', close);
  dialog.querySelector('.chatdesk-delete').addEventListener('click', () => {
    close();
    window.chatdeskSendAction('delete', index, message);
  });
  dialog.addEventListener('cancel', (event) => { event.stopPropagation(); close(); });
  document.body.appendChild(dialog);
  dialog.showModal();
  dialog.querySelector('.chatdesk-cancel').focus();
}"""


@dataclass
class MessageActions:
    """The hidden boxes the page talks through, and the temporary-chat control and banner."""

    action: gr.Textbox
    question: gr.Textbox
    temporary: gr.Button
    banner: gr.Markdown


def temporary_button() -> gr.Button:
    """The Temporary chat control (placed next to + New chat)."""
    return gr.Button("Temporary chat", variant="secondary", elem_id="temporary-chat", scale=1, min_width=0)


def build_actions(temporary: gr.Button) -> MessageActions:
    """The banner of a temporary chat (placed above the chat) and the hidden boxes."""
    banner = gr.Markdown(TEMPORARY_NOTICE, visible=False, elem_id="temporary-banner")
    action = gr.Textbox("", visible="hidden", elem_id="message-action")
    question = gr.Textbox("", visible="hidden", elem_id="message-question")
    return MessageActions(action, question, temporary, banner)


class ActionHandlers:
    """What the message actions do; `show` puts a conversation on screen (id, chat, usage, details)."""

    def __init__(self, session: ChatSession, show):
        self.session = session
        self.show = show
        self._asked = itertools.count()  # a question asked again is a new value, so the page shows it again

    def act(self, conversation_id: str | None, sent: str):
        """(id, chat, usage, details, title, system prompt, question) after one action from the page."""
        unchanged = (gr.skip(),) * 7
        conversation = self.session.find(conversation_id)
        try:
            request = json.loads(sent or "{}")
            action, index = request.get("action"), int(request.get("index"))
        except (ValueError, TypeError):
            return unchanged
        if conversation is None:
            return refuse("Send a message first.", outputs=7)
        try:
            if action == "branch":
                branch = self.session.branch_from(conversation, index)
                self.session.leave(conversation)  # as for any chat opened: a temporary one is gone
                return self._opened(branch)
            if action == "ask-delete":
                return (*unchanged[:6], self._ask(conversation, index))
            if action == "delete":
                index = _index_of(conversation, request.get("message"))
                self.session.delete_message(conversation, index)
                return (*self.show(conversation), gr.skip(), gr.skip(), "")
        except UserError as error:
            return refuse(str(error), outputs=7)
        return unchanged

    def _ask(self, conversation, index: int) -> str:
        question = self.session.deletion_question(conversation, index)
        return json.dumps({"question": question, "index": index, "message": conversation.messages[index].id,
                           "n": next(self._asked)})

    def _opened(self, conversation) -> tuple:
        self.session.focus(conversation)
        return (*self.show(conversation), conversation.title, conversation.system_prompt, "")

    def new_temporary(self, current_id: str | None):
        """Leave the open chat and start a temporary one."""
        self.session.leave(self.session.find(current_id))
        conversation = self.session.new_temporary()
        return (*self.show(conversation), conversation.title, conversation.system_prompt)

    def banner(self, conversation_id: str | None):
        """The temporary-chat banner, shown while a temporary chat is open."""
        return gr.update(visible=self.session.history.is_temporary(conversation_id))


def _index_of(conversation, message_id: str | None) -> int:
    """Where the message asked about is now (it may have gone meanwhile)."""
    for index, message in enumerate(conversation.messages):
        if message.id == message_id:
            return index
    raise UserError("That message is no longer there.")


def wire_actions(demo: gr.Blocks, parts: MessageActions, handlers: ActionHandlers, conversation_id, opened: list,
                 refresh: dict) -> None:
    """Connect the actions; `opened` are (id, chat, usage, details, title, system prompt), `refresh` the lists."""
    script = ACTIONS_JS % (json.dumps(CSS), json.dumps(BRANCH_ICON), json.dumps(DELETE_ICON))
    demo.load(None, None, None, js=script, api_visibility="private")
    private = {"show_progress": "hidden", "api_visibility": "private"}  # queued: toasts need the queue
    parts.action.change(handlers.act, [conversation_id, parts.action], [*opened, parts.question],
                       **private).then(**refresh)
    parts.question.change(None, [parts.question], None, js=ASK_JS, queue=False, **private)
    parts.temporary.click(handlers.new_temporary, [conversation_id], opened, **private, **CHOOSING).then(**refresh)
    conversation_id.change(handlers.banner, [conversation_id], [parts.banner], queue=False, **private)
