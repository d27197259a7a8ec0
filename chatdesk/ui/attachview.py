"""How attached files look on the page: chips above the message box, and on sent messages. No gradio."""

from __future__ import annotations

import html
import json

from chatdesk.core.attachments import attachments_of
from chatdesk.core.conversation import Conversation

# A sent message's files are drawn by the page beside its text, not in it (as the speed lines are): the
# Chatbot's edit box and its copy button then hold what the user typed, and the files stay with the message.
SHOW_FILES = """(marks) => {
  window.chatdeskFiles = JSON.parse(marks || '[]');
  const apply = () => {
    document.querySelectorAll('#chat [data-testid="user"]:not([data-chatdesk-sent] *)').forEach((element, index) => {
      const names = window.chatdeskFiles[index] || [];
      let chips = element.querySelector(':scope > .attachment-chips');
      if (chips && chips.dataset.names === JSON.stringify(names)) return;
      chips?.remove();
      if (!names.length) return;
      chips = document.createElement('div');
      chips.className = 'attachment-chips';
      chips.dataset.names = JSON.stringify(names);
      chips.setAttribute('role', 'list');
      chips.setAttribute('aria-label', 'Attached files');
      for (const name of names) {
        const chip = document.createElement('span');
        chip.className = 'attachment-chip';
        chip.setAttribute('role', 'listitem');
        chip.title = name;
        chip.textContent = name;
        chips.appendChild(chip);
      }
      element.prepend(chips);
    });
  };
  apply();
  if (!window.chatdeskFilesObserver) {
    window.chatdeskFilesObserver = new MutationObserver((records) => {
      if (records.some((r) => !r.target.closest?.('.attachment-chips, .chatdesk-live'))) apply();
    });
    window.chatdeskFilesObserver.observe(document.querySelector('#chat') || document.body, {childList: true, subtree: true});
  }
}"""


def chip(name: str, tokens: int | None = None) -> str:
    """One file waiting to be sent, as a small labelled chip with its tokens."""
    size = f' <span class="attachment-size">{tokens:,} tokens</span>' if tokens is not None else ""
    return f'<span class="attachment-chip" title="{html.escape(name)}">{html.escape(name)}{size}</span>'


def file_marks(conversation: Conversation | None) -> str:
    """For the page, as JSON: the names of the files of each user message on screen, in order."""
    users = [m for m in conversation.messages if m.role == "user"] if conversation else []
    return json.dumps([[a.name for a in attachments_of(m.meta)] for m in users])
