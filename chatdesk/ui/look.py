"""How the page looks and behaves in the browser: system fonts, CSS, and the page's own scripts."""

from __future__ import annotations

import gradio as gr

from chatdesk.ui.access import ACCESS_CSS, ACCESS_JS, readable
from chatdesk.ui.attach import CSS as ATTACH_CSS
from chatdesk.ui.chatlist import CHATLIST_CSS
from chatdesk.ui.keys import KEYS_CSS, keys_js
from chatdesk.ui.live_page import PLACE, READ_LIVE_JS, SHOW_SENT_JS
from chatdesk.ui.page_fixes import STREAM_JS
from chatdesk.ui.panel_look import CSS as PANEL_CSS

SYSTEM_FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "sans-serif")
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")
_MARKS_JS = """
  // Marks kept on message elements, outside their text (so copy and edit skip them):
  // the speed line under each reply, and the oldest messages the model no longer sees. The Chatbot's own
  // messages only: not the message the page drew at Enter (live_page.SHOW_SENT_JS), which has none yet.
  window.chatdeskMarks = {stats: [], leftOut: 0};
  window.chatdeskApplyMarks = () => {
    const marks = window.chatdeskMarks;
    const chatbots = (selector) => document.querySelectorAll(`#chat :is(${selector}):not([data-chatdesk-sent] *)`);
    chatbots('[data-testid="bot"]').forEach((element, index) => {
      const line = marks.stats[index] || "";
      if (element.getAttribute("data-stats") !== line) element.setAttribute("data-stats", line);
    });
    chatbots('[data-testid="user"], [data-testid="bot"]').forEach((element, index) => {
      if (index < marks.leftOut) element.setAttribute("data-left-out", "");
      else if (element.hasAttribute("data-left-out")) element.removeAttribute("data-left-out");
    });
  };
  // The page's own rows (the streamed text, the message drawn at Enter) change no marks.
  const OURS = ".chatdesk-live, [data-chatdesk-sent]";
  const ours = (record) => record.target.closest?.(OURS)
    || [...record.addedNodes, ...record.removedNodes].every((node) => node.matches?.(OURS));
  const redrawn = () => {
    window.chatdeskApplyMarks();
    window.chatdeskDecorateKeys();
    window.chatdeskDecorateAccess();
  };
  // Once a frame at most, before it is drawn: each walks the whole chat, and one update of Gradio's changes
  // the page many times (a long chat's every message, Send and Stop, the status line).
  let asked = false;
  const redrawSoon = () => asked || (asked = true, requestAnimationFrame(() => { asked = false; redrawn(); }));
  new MutationObserver((records) => records.every(ours) || redrawSoon())
    .observe(document.body, {childList: true, subtree: true});
  document.addEventListener("click", () => setTimeout(window.chatdeskDecorateAccess, 0));  // accordions
  redrawn();
"""
# Runs once on load: the mend of Gradio's event streams (page_fixes.py), the keyboard (keys.py), accessibility
# (access.py), the marks on messages, and the reading of a reply's live text (live_page.py).
PAGE_JS = "() => {\n" + STREAM_JS + keys_js() + ACCESS_JS + _MARKS_JS + READ_LIVE_JS + SHOW_SENT_JS + "}"
SHOW_MARKS = """(marks) => {
  window.chatdeskMarks = JSON.parse(marks || '{"stats": [], "leftOut": 0}');
  window.chatdeskApplyMarks && window.chatdeskApplyMarks();
}"""
# The reply's place while it is written: no buttons under it yet, three dots until its first words, and Gradio's
# own dots not as well. The written reply hides the live text at once (live_page.DROP_LIVE_TEXT removes it).
PLACE_CSS = f"""
#chat .message-row:has({PLACE}) + .message-buttons {{ visibility: hidden; }}
#chat .message-row:has({PLACE}) ~ .container .pending {{ display: none; }}
#chat {PLACE}:has(> .chatdesk-live) > .message-content {{ display: none; }}
#chat [data-testid="bot"]:not({PLACE}) > .chatdesk-live {{ display: none; }}
#chat {PLACE}:not(:has(> .chatdesk-live)) > .message-content > .md {{ display: none; }}
#chat {PLACE}:not(:has(> .chatdesk-live)) > .message-content::after {{
  content: "\\2022\\2022\\2022"; letter-spacing: 3px; animation: chatdesk-waiting 1.2s ease-in-out infinite; }}
@keyframes chatdesk-waiting {{ 50% {{ opacity: 0.3; }} }}
#chat [data-chatdesk-sent] > .message-buttons {{ visibility: hidden; }}
#chat .message-wrap:has(+ [data-chatdesk-sent]) {{ margin-bottom: 0; }}
#chat .message-wrap:has(+ [data-chatdesk-sent]) > .options {{ display: none !important; }}
"""
# Chromium repaints the whole chat (up to 4,000 px above the view) each time a streamed reply grows it: the
# scroll box's grown bottom edge moves its cull rect. Earlier messages off screen are skipped instead, so a
# reply's update costs the same in a long chat as in a short one. Never skipped: the last few rows (the chat
# opens at its end, and its end must be drawn at its real height), and a row under the pointer or the keyboard
# (its menus, such as the feedback options, reach far outside it; shadows just a little).
_EARLIER_ROW = ":not(:hover, :focus-within, :nth-last-child(-n+16))"
OFFSCREEN_CSS = f"""
#chat .message-wrap > .message-row{_EARLIER_ROW} {{
  content-visibility: auto; contain-intrinsic-size: auto 120px; overflow-clip-margin: 8px; }}
#chat .message-wrap > .message-buttons{_EARLIER_ROW} {{
  content-visibility: auto; contain-intrinsic-size: auto 25px; overflow-clip-margin: 8px; }}
"""
# Clear empties the chat in the page before the new conversation's id arrives: an empty chat has no id.
SHOWN_CONVERSATION = """(id, files, text) => [document.querySelector('#chat [data-testid="user"]') ? id : null, files, text]"""
CSS = """
#details { font-size: 0.9em; }
#context-usage { text-align: right; opacity: 0.8; }
footer { display: none !important; }
.wrap .progress-text, .wrap .meta-text, .wrap .meta-text-center, .wrap .eta-bar { display: none !important; }
#chat .options { display: flex !important; flex-wrap: wrap !important; justify-content: flex-start !important; gap: 6px !important; margin: 2px 0 8px 0 !important; }
#chat .option { flex: 0 0 auto !important; width: auto !important; min-width: 0 !important;
                max-width: none !important; padding: 2px 12px !important; font-size: 0.85em !important; }
#chat [data-testid="bot"][data-stats]:not([data-stats=""])::after {
  content: attr(data-stats); display: block; margin-top: 6px; font-size: 0.75em; opacity: 0.6; }
#chat [data-left-out] { opacity: 0.45; }
#chat [data-left-out]::before { content: "Left out of context"; display: block; font-size: 0.75em; font-style: italic; }
#chat .chatdesk-live { white-space: pre-wrap; overflow-wrap: anywhere; }
""" + PLACE_CSS + OFFSCREEN_CSS + """#chat details.reasoning { opacity: 0.8; font-size: 0.92em; margin-bottom: 6px; }
""" + KEYS_CSS + ACCESS_CSS

# A full-height window that never scrolls as a whole: the header on top, then the sidebar, the chat (its
# message box at the bottom) and the side panel, each scrolling on its own.
LAYOUT_CSS = """
#chat .top-panel button[aria-label="Clear"] { display: none !important; }  /* + New chat does that; it deleted nothing */
#chat .bubble-wrap { padding-top: 36px; }
.label-wrap .icon { transform: none !important; font-size: 0 !important; }  /* a chevron, not Gradio's ◀ */
.label-wrap .icon::before { content: "›"; display: inline-block; font-size: 20px; line-height: 1;
                            transition: transform 0.15s; }
.label-wrap.open .icon::before { transform: rotate(90deg); }
#new-chats { flex-wrap: wrap !important; gap: 6px !important; }
#new-chats > button { flex: 1 1 auto !important; white-space: nowrap; min-width: max-content !important; }  /* the first message clear of Copy conversation */
html, body { height: 100%; margin: 0; }
gradio-app { height: 100vh; height: 100dvh; display: block; }
.gradio-container { height: 100vh; height: 100dvh; min-height: 0 !important; display: flex; flex-direction: column; }
.gradio-container > .main, .gradio-container > .main > .wrap, .gradio-container main.contain,
.gradio-container main.contain > .column { flex: 1 1 0; min-height: 0 !important; display: flex; flex-direction: column; }
.gradio-container > .main { padding: 8px 16px !important; max-width: none !important; }
#main-row { flex: 1 1 0; min-height: 0; flex-wrap: nowrap; align-items: stretch; }
#sidebar, #side-panel { min-height: 0; max-height: 100%; overflow-y: auto; overscroll-behavior: contain;
                        flex-wrap: nowrap; }
#sidebar { gap: 8px; }
#chat-list { flex: 1 1 120px; min-height: 120px; overflow-y: auto !important; overscroll-behavior: contain; }
#search-hits:not(:has(li, p)) { display: none !important; }
#sidebar > *, #side-panel > * { flex-shrink: 0; }
#sidebar > #chat-list { flex-shrink: 1; }
#composer { flex-wrap: nowrap; }
@media (max-width: 1100px) {
  #sidebar { min-width: 180px !important; }
  #side-panel { min-width: 200px !important; }
  #chat-column { min-width: 280px !important; }
}
#chat-column { min-height: 0; max-height: 100%; display: flex; flex-direction: column; flex-wrap: nowrap; }
#chat { flex: 1 1 0; min-height: 0 !important; height: auto !important; }
#composer { flex: 0 0 auto; }
.block-label, label.block-label { display: none !important; }
/* Field labels as plain text, not Gradio's coloured pills. */
.gradio-container { --block-title-background-fill: transparent !important; --block-title-padding: 0 !important;
  --block-title-text-color: var(--body-text-color) !important; --block-title-radius: 0 !important; }
"""


def launch_options() -> dict:
    """The look and behaviour passed to launch(): system fonts only, readable colours, the keyboard."""
    theme = readable(gr.themes.Soft(font=SYSTEM_FONTS, font_mono=MONO_FONTS))
    return {"theme": theme, "css": CSS + LAYOUT_CSS + CHATLIST_CSS + PANEL_CSS + ATTACH_CSS, "js": PAGE_JS}
