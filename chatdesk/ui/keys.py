"""The keyboard: the peers' shortcuts, the edit box's keys, where focus goes, and the list of shortcuts.

KEYS_JS runs once on load (joined into look.PAGE_JS). Every control it presses is found by the selectors in
TARGETS, the one place to change when a control moves.
"""

from __future__ import annotations

import json

# (keys, what they do, the control that shows them in its tooltip and aria-keyshortcuts, or None).
# "Mod" is Ctrl on Windows and Linux, ⌘ on macOS.
SHORTCUTS = (
    ("Mod+Shift+O", "New chat", "newChat"),
    ("Mod+K", "Search chats", "search"),
    ("Mod+Enter", "Regenerate the last reply", "retry"),
    ("Alt+Enter", "Continue the last reply", "continue"),
    ("Escape", "Stop the reply, or cancel an edit", "stop"),
    ("ArrowLeft ArrowRight", "Previous or next version of the focused reply", "reply"),
    ("Mod+B", "Show or hide the sidebar", None),
    ("Mod+,", "Settings", "settings"),
    ("Mod+/", "This list of shortcuts", None),
)
TARGETS = {
    "message": "#message textarea",
    "newChat": "#new-chat",
    "search": "#search textarea, #search input",
    "retry": '#chat button[aria-label="Retry"]',
    "continue": "#chat button.option",
    "stop": "#stop-btn",
    "reply": '#chat [data-testid="bot"]',
    "settings": "#settings-panel > .label-wrap, #settings-btn",
    "sidebar": "#sidebar",
}
LABELS = {"#message textarea": "Message", "#search textarea, #search input": "Search chats"}

_SCRIPT = r"""
  const mac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
  const all = (selector) => [...document.querySelectorAll(selector)];
  const seen = (element) => !!element && element.getClientRects().length > 0;
  const last = (name) => all(TARGETS[name]).filter(seen).pop();
  const ariaKeys = (keys) => keys.replace(/Mod\+/g, mac ? "Meta+" : "Control+");
  const shownKeys = (keys) => keys.split(" ").map((combo) => mac
      ? combo.replace("Mod+", "⌘").replace("Shift+", "⇧").replace("Alt+", "⌥").replace("Enter", "↩")
      : combo.replace("Mod+", "Ctrl+")).join(" / ")
      .replace("ArrowLeft / ArrowRight", "← / →").replace("Escape", "Esc");
  const focusMessage = () => setTimeout(() => document.querySelector(TARGETS.message)?.focus(), 0);

  const press = (name) => { const control = last(name); control?.click(); return !!control; };
  const actions = {
    "New chat": () => { press("newChat"); focusMessage(); },
    "Search chats": () => { const box = last("search"); box?.focus(); box?.select?.(); },
    "Regenerate the last reply": () => { if (press("retry")) focusMessage(); },
    "Continue the last reply": () => {
      const button = all(TARGETS.continue).filter((b) => seen(b) && b.textContent.trim() === "Continue").pop();
      button?.click();
    },
    "Show or hide the sidebar": () => {
      const hidden = document.body.classList.toggle("chatdesk-sidebar-hidden");
      if (hidden && document.querySelector(TARGETS.sidebar)?.contains(document.activeElement)) focusMessage();
    },
    "Settings": () => {
      const control = last("settings");
      if (!control) return;
      if (control.getAttribute("aria-expanded") !== "true") control.click();
      control.scrollIntoView({block: "nearest"});
      control.focus();
    },
    "This list of shortcuts": () => window.chatdeskShortcuts(),
  };

  const matches = (event, combo) => {
    const parts = combo.split("+");
    const key = parts.pop();
    const want = {mod: parts.includes("Mod"), shift: parts.includes("Shift"), alt: parts.includes("Alt")};
    const mod = mac ? event.metaKey : event.ctrlKey;
    const other = mac ? event.ctrlKey : event.metaKey;
    return event.key.toLowerCase() === key.toLowerCase() && mod === want.mod && !other
        && event.shiftKey === want.shift && event.altKey === want.alt;
  };

  // The Chatbot's edit box: Enter submits the edit, Shift+Enter adds a line, Esc cancels it.
  const editKeys = (event) => {
    const box = event.target.closest?.("#chat textarea");
    if (!box || event.isComposing) return false;
    const label = event.key === "Escape" ? "Cancel"
        : event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey ? "Submit"
        : null;
    if (!label) return false;
    let scope = box.parentElement, button = null;
    while (scope && scope.id !== "chat" && !button) {
      button = [...scope.querySelectorAll("button")].find((b) => b.textContent.trim() === label
          || b.getAttribute("aria-label") === label);
      scope = scope.parentElement;
    }
    if (!button) return false;
    event.preventDefault();
    event.stopPropagation();
    button.click();
    if (label === "Submit") focusMessage();
    return true;
  };

  // ←/→ on a focused reply: the ◀ / ▶ buttons under that reply. A press made while the step before is answered
  // (the Chatbot hides its buttons then) is kept and made when they are back.
  const versionKeys = (event) => {
    const reply = event.target.closest?.(TARGETS.reply);
    if (!reply || event.target !== reply || event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) return false;
    const label = event.key === "ArrowLeft" ? "◀" : event.key === "ArrowRight" ? "▶" : null;
    if (!label) return false;
    const index = all(TARGETS.reply).indexOf(reply);
    if (window.chatdeskRefocusReply === index) (window.chatdeskVersionKeys ??= []).push(label);
    else if (!stepVersion(reply, index, label)) return false;
    event.preventDefault();
    return true;
  };
  const stepVersion = (reply, index, label) => {
    const options = optionsOf(reply);
    const button = options && [...options.querySelectorAll("button")].find((b) => b.textContent.trim() === label);
    if (!button) return false;
    button.click();
    window.chatdeskRefocusReply = index;  // the Chatbot redraws the reply: focus goes back to it then
    return true;
  };
  const optionsOf = (reply) => {
    const replies = all(TARGETS.reply);
    const next = replies[replies.indexOf(reply) + 1];
    return all("#chat .options").find((options) =>
      (reply.compareDocumentPosition(options) & Node.DOCUMENT_POSITION_FOLLOWING)
      && (!next || (options.compareDocumentPosition(next) & Node.DOCUMENT_POSITION_FOLLOWING)));
  };

  document.addEventListener("keydown", (event) => {
    if (document.querySelector("#chatdesk-shortcuts[open]")) return;  // the dialog has the keys (Esc closes it)
    if (event.defaultPrevented || editKeys(event) || versionKeys(event)) return;
    if (event.key === "Escape") {
      // Esc closes what is open where the person is (a menu, a rename, a dialog, a list); elsewhere it stops.
      if (!event.target.closest?.("#sidebar, dialog, [role=dialog], [role=listbox], [role=combobox]")) press("stop");
      return;
    }
    const shortcut = SHORTCUTS.find(([keys, action]) => actions[action] && matches(event, keys));
    if (!shortcut) return;
    event.preventDefault();
    event.stopPropagation();
    actions[shortcut[1]]();
  }, true);

  // Focus goes back to the message box after a new chat, a retry, or opening a chat.
  document.addEventListener("click", (event) => {
    if (event.target.closest?.(`${TARGETS.newChat}, ${TARGETS.retry}, #chat-list .row-open, #search-hits .row-open`)) {
      focusMessage();
    }
  });

  // Names, tooltips and aria-keyshortcuts, set again whenever the page redraws a control.
  window.chatdeskDecorateKeys = () => {
    for (const [selector, name] of Object.entries(LABELS)) {
      all(selector).forEach((field) => field.getAttribute("aria-label") !== name
          && field.setAttribute("aria-label", name));
    }
    for (const [keys, action, target] of SHORTCUTS) {
      if (!target) continue;
      all(TARGETS[target]).forEach((control) => {
        if (target === "continue" && control.textContent.trim() !== "Continue") return;
        if (target === "reply") { if (control.tabIndex !== 0) control.tabIndex = 0; }
        else {
          const base = control.dataset.chatdeskTitle ??= (control.getAttribute("title")
              || control.getAttribute("aria-label") || control.textContent.replace("▼", "").trim() || action);
          const title = `${base} (${shownKeys(keys)})`;
          if (control.getAttribute("title") !== title) control.setAttribute("title", title);
        }
        if (control.getAttribute("aria-keyshortcuts") !== ariaKeys(keys)) {
          control.setAttribute("aria-keyshortcuts", ariaKeys(keys));
        }
      });
    }
    const index = window.chatdeskRefocusReply;
    if (index !== undefined && all("#chat button.option").length) {
      const reply = all(TARGETS.reply)[index];
      if (reply && document.activeElement !== reply) { reply.focus(); }
      if (reply) {
        window.chatdeskRefocusReply = undefined;
        const next = window.chatdeskVersionKeys?.shift();
        if (next && !stepVersion(reply, index, next)) window.chatdeskVersionKeys = [];
      }
    }
  };

  // The list of shortcuts: a modal dialog (focus stays inside, Esc closes it, focus goes back after).
  window.chatdeskShortcuts = () => {
    let dialog = document.querySelector("#chatdesk-shortcuts");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "chatdesk-shortcuts";
      dialog.setAttribute("aria-labelledby", "chatdesk-shortcuts-title");
      const rows = SHORTCUTS.map(([keys, action]) => `<tr><th scope="row"><kbd>${shownKeys(keys)}</kbd></th>`
          + `<td>${action}</td></tr>`).join("");
      dialog.innerHTML = `<h2 id="chatdesk-shortcuts-title">Keyboard shortcuts</h2>`
          + `<table><thead><tr><th scope="col">Keys</th><th scope="col">Action</th></tr></thead>`
          + `<tbody>${rows}</tbody></table>`
          + `<p>While editing a message: Enter saves the edit, Shift+Enter adds a line, Esc cancels it.</p>`
          + `<form method="dialog"><button type="submit">Close</button></form>`;
      dialog.addEventListener("close", () => dialog.returnFocus?.focus());
      dialog.addEventListener("keydown", (event) => {  // Tab cycles inside, never out to the browser
        if (event.key !== "Tab") return;
        const stops = [...dialog.querySelectorAll("button, [href], input, [tabindex]")];
        const at = stops.indexOf(document.activeElement);
        event.preventDefault();
        stops[(at + (event.shiftKey ? -1 : 1) + stops.length) % stops.length].focus();
      });
      document.body.appendChild(dialog);
    }
    if (dialog.open) return;
    dialog.returnFocus = document.activeElement;
    dialog.showModal();
    dialog.querySelector("button").focus();
  };
"""


def keys_js() -> str:
    """The body of the page script that handles the keyboard (inside PAGE_JS's function)."""
    return (f"  const SHORTCUTS = {json.dumps(SHORTCUTS)};\n  const TARGETS = {json.dumps(TARGETS)};\n"
            f"  const LABELS = {json.dumps(LABELS)};\n{_SCRIPT}")


KEYS_CSS = """
body.chatdesk-sidebar-hidden #sidebar { display: none !important; }
#chatdesk-shortcuts { max-width: 34rem; border: 1px solid #6b7280; border-radius: 8px; padding: 16px 20px; }
#chatdesk-shortcuts::backdrop { background: rgb(0 0 0 / 0.4); }
#chatdesk-shortcuts h2 { margin: 0 0 8px 0; font-size: 1.2em; }
#chatdesk-shortcuts table { border-collapse: collapse; width: 100%; }
#chatdesk-shortcuts th, #chatdesk-shortcuts td { text-align: left; padding: 4px 8px; }
#chatdesk-shortcuts kbd { font-family: inherit; border: 1px solid #6b7280; border-radius: 4px; padding: 0 4px; }
#chatdesk-shortcuts form { text-align: right; margin-top: 8px; }
#chatdesk-shortcuts button { padding: 4px 16px; border: 1px solid #6b7280; border-radius: 6px; }
"""
