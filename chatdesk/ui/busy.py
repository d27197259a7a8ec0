"""How the window shows that a reply is being written: one Send/Stop button, a busy chat log, a status line."""

from __future__ import annotations

import html

import gradio as gr

WRITING = "Writing a reply…"
FINISHED = "Reply finished."
STOPPED = "Reply stopped."

# The status line is a polite live region (a screen reader says "Reply finished."); while it says a reply is
# being written, the chat log is marked aria-busy.
SHOW_BUSY = """(status) => {
  const region = document.querySelector('#reply-status');
  if (region && !region.hasAttribute('role')) { region.setAttribute('role', 'status'); region.setAttribute('aria-live', 'polite'); }
  const busy = String((status || '').includes('data-busy="true"'));  // the value: the region may not show it yet
  document.querySelectorAll('#chat, #chat [role="log"]').forEach((log) => log.setAttribute('aria-busy', busy));
}"""

def build_send_stop() -> tuple[gr.Button, gr.Button]:
    """One button in one place: Send, or Stop (in the stop look) while a reply is being written."""
    send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="send-btn")
    stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="stop-btn", visible=False)
    return send, stop


def status_html(text: str, *, busy: bool) -> str:
    """The status line's content; `busy` marks a reply still being written (or waiting for its turn)."""
    return f'<span data-busy="{str(busy).lower()}">{html.escape(text)}</span>' if text else ""


def busy_look(text: str = WRITING) -> tuple:
    """Updates for (Send, Stop, status) while a reply is being written."""
    return gr.update(visible=False), gr.update(visible=True), status_html(text, busy=True)


def idle_look(text: str = "") -> tuple:
    """Updates for (Send, Stop, status) once no reply is being written."""
    return gr.update(visible=True), gr.update(visible=False), status_html(text, busy=False)


def waiting_text(title: str) -> str:
    """What the window says while its reply waits for another chat's reply."""
    return (f"Waiting for the reply in “{title}” to finish: one model writes one reply at a time. "
            "Stop cancels this one.")
