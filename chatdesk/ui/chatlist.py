"""The chat list, the trash and the search hits as HTML: one line per chat, grouped by date, a menu per row.

The page's clicks come back as one "act" event ({action, id, title}); see ACTIONS_JS.
"""

from __future__ import annotations

import html
import re
from datetime import date

from chatdesk.core.chatgroups import group_chats

UNTITLED = "New chat"
# Clicks on the lists' buttons become one event; the row menu, inline rename and the confirm step stay in the page.
ACTIONS_JS = """
const rowOf = (node) => node.closest('li[data-id]');
let opened = null;  // the id of the row whose menu is open: it stays open when the list is drawn again
const closeMenus = (except) => element.querySelectorAll('.row-menu:not([hidden])').forEach((menu) => {
  if (menu === except) return;
  menu.hidden = true;
  menu.parentElement.querySelector('.row-more')?.setAttribute('aria-expanded', 'false');
  if (rowOf(menu)?.dataset.id === opened) opened = null;
});
const reopen = () => {  // a reply ended or the list was refreshed while a menu was open
  const row = opened && [...element.querySelectorAll('li[data-id]')].find((li) => li.dataset.id === opened);
  const menu = row?.querySelector('.row-menu');
  if (!menu) { opened = null; return; }
  if (!menu.hidden) return;
  menu.hidden = false;
  row.querySelector('.row-more')?.setAttribute('aria-expanded', 'true');
  if (document.activeElement === document.body) menu.querySelector('button')?.focus();
};
new MutationObserver(reopen).observe(element, {childList: true, subtree: true, attributeFilter: ['hidden']});
const send = (action, row, extra = {}) => trigger('click', {action, id: row.dataset.id, ...extra});
const startRename = (row) => {
  const open = row.querySelector('.row-open');
  const input = document.createElement('input');
  input.type = 'text'; input.className = 'row-rename'; input.value = open.dataset.title;
  input.setAttribute('aria-label', 'New title for ' + open.dataset.title);
  open.hidden = true; row.insertBefore(input, open);
  input.focus(); input.select();
  const finish = (keep) => {
    if (!input.isConnected) return;
    const title = input.value.trim();
    input.remove(); open.hidden = false;
    if (keep && title && title !== open.dataset.title) send('rename', row, {title});
    open.focus();
  };
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') { event.preventDefault(); finish(true); }
    if (event.key === 'Escape') { event.preventDefault(); event.stopPropagation(); finish(false); }
  });
  input.addEventListener('blur', () => finish(true));
};
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const row = rowOf(button);
  const action = button.dataset.action;
  if (action === 'more') {
    const menu = row.querySelector('.row-menu');
    const opening = menu.hidden;
    closeMenus(menu);
    menu.hidden = !opening;
    opened = opening ? row.dataset.id : null;
    button.setAttribute('aria-expanded', String(opening));
    if (opening) menu.querySelector('button')?.focus();
    return;
  }
  closeMenus(null);
  if (action === 'rename') { startRename(row); return; }
  if (action === 'ask-purge') { row.querySelector('.row-confirm').hidden = false;
                                row.querySelector('.row-confirm .danger').focus(); return; }
  if (action === 'cancel') { row.querySelector('.row-confirm').hidden = true;
                             row.querySelector('[data-action="ask-purge"]').focus(); return; }
  send(action, row);
});
document.addEventListener('click', (event) => element.contains(event.target) || closeMenus(null));
element.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return;
  const menu = event.target.closest?.('.row-menu, .row-confirm');
  if (!menu || menu.hidden) return;
  event.preventDefault(); event.stopPropagation();
  menu.hidden = true;
  const row = rowOf(menu);
  opened = null;
  row.querySelector('.row-more')?.setAttribute('aria-expanded', 'false');
  (row.querySelector('.row-more') || row.querySelector('[data-action="ask-purge"]'))?.focus();
});
"""


def escape(text: str) -> str:
    """Text safe inside the list's HTML and its template (no tags, no template braces)."""
    return (html.escape(text, quote=True).replace("{", "&#123;").replace("}", "&#125;")
            .replace("$", "&#36;").replace("`", "&#96;"))


def chat_list_html(rows, current_id: str | None, today: date | None = None, writing=frozenset()) -> str:
    """The chats in their groups, the open one and those still writing a reply marked, each with its menu."""
    if not rows:
        return '<nav class="chatlist" aria-label="Chats"><p class="chatlist-empty">No chats yet.</p></nav>'
    parts = ['<nav class="chatlist" aria-label="Chats">']
    for number, (label, chats) in enumerate(group_chats(rows, today)):
        parts.append(f'<h2 class="chatlist-group" id="chat-group-{number}">{escape(label)}</h2>'
                     f'<ul aria-labelledby="chat-group-{number}">')
        parts.extend(_chat_row(row, row.id == current_id, row.id in writing) for row in chats)
        parts.append("</ul>")
    parts.append("</nav>")
    return "".join(parts)


def _chat_row(row, current: bool, writing: bool = False) -> str:
    title = escape(row.title or UNTITLED)
    mark = '<span class="row-writing" title="Still writing a reply">● <span class="sr-only">still writing: </span></span>' \
        if writing else ""
    pin = "Unpin" if row.pinned else "Pin"
    marked = ' aria-current="page"' if current else ""
    return (
        f'<li class="chat-row{" current" if current else ""}" data-id="{escape(row.id)}">'
        f'<button type="button" class="row-open" data-action="open" data-title="{title}" title="{title}"{marked}>'
        f'{mark}{title}</button>'
        f'<button type="button" class="row-more" data-action="more" aria-expanded="false" '
        f'aria-label="Options for {title}" title="Options">⋯</button>'
        f'<div class="row-menu" hidden>'
        f'<button type="button" data-action="rename">Rename</button>'
        f'<button type="button" data-action="{pin.lower()}">{pin}</button>'
        f'<button type="button" data-action="export-markdown">Export Markdown</button>'
        f'<button type="button" data-action="export-json">Export JSON</button>'
        f'<button type="button" class="danger" data-action="trash">Move to trash</button>'
        f"</div></li>")


def trash_html(rows) -> str:
    """The chats in the trash, each with Restore and Delete forever (which asks first)."""
    if not rows:
        return '<p class="chatlist-empty">The trash is empty.</p>'
    items = []
    for row in rows:
        title = escape(row.title or UNTITLED)
        items.append(
            f'<li class="trash-row" data-id="{escape(row.id)}"><span class="row-title" title="{title}">{title}</span>'
            f'<span class="row-actions">'
            f'<button type="button" data-action="restore" aria-label="Restore {title}">Restore</button>'
            f'<button type="button" class="danger" data-action="ask-purge" aria-label="Delete {title} forever">'
            f'Delete forever</button></span>'
            f'<div class="row-confirm" role="group" aria-label="Confirm deleting {title}" hidden>'
            f'<span>Delete “{title}” forever? This cannot be undone.</span>'
            f'<button type="button" class="danger" data-action="purge">Delete forever</button>'
            f'<button type="button" data-action="cancel">Cancel</button></div></li>')
    return f'<ul class="trashlist" aria-label="In the trash">{"".join(items)}</ul>'


def hits_html(hits, query: str) -> str:
    """Search hits, the matched words highlighted; empty when there is no query."""
    words = query.split()
    if not words:
        return ""
    if not hits:
        return '<p class="chatlist-empty" role="status">Nothing found</p>'
    chats = len({hit.conversation_id for hit in hits})
    items = "".join(
        f'<li class="hit-row" data-id="{escape(hit.conversation_id)}:{escape(hit.message_id)}">'
        f'<button type="button" class="row-open" data-action="hit">'
        f'<span class="hit-title">{escape(hit.title or UNTITLED)}</span>'
        f'<span class="hit-snippet">{highlight(hit.snippet, words)}</span></button></li>' for hit in hits)
    return (f'<p class="chatlist-group hits-found" role="status">Found in {chats} chat{"s" if chats != 1 else ""}</p>'
            f'<ul class="hitlist" aria-label="Search results">{items}</ul>')


def highlight(text: str, words: list[str]) -> str:
    """`text` escaped, with the words that start with a query word in <mark>."""
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\w*", re.IGNORECASE)
    parts, last = [], 0
    for match in pattern.finditer(text):
        parts.append(escape(text[last:match.start()]))
        parts.append(f"<mark>{escape(match.group())}</mark>")
        last = match.end()
    parts.append(escape(text[last:]))
    return "".join(parts)


# The window's title names the open chat (the row marked current), as the list is drawn and redrawn.
WINDOW_TITLE_JS = """
const nameWindow = () => {
  const open = element.querySelector('[aria-current="page"]');
  document.title = open ? `${open.dataset.title} – chatdesk` : 'chatdesk';
};
nameWindow();
watch('value', nameWindow);
"""

CHATLIST_CSS = """
#sidebar .chatlist button, #sidebar .trashlist button, #sidebar .hitlist button { box-shadow: none !important;
  background: transparent; min-width: 0; }
#chat-list, #search-hits, #trash-list { padding: 0 !important; }
.chatlist ul, .hitlist, .trashlist { list-style: none; margin: 0; padding: 0; }
.chatlist-group { font-size: 0.75rem !important; font-weight: 600; text-transform: uppercase; letter-spacing: 0.04em;
                  margin: 10px 8px 2px !important; color: var(--body-text-color-subdued); }
#sidebar .hits-found { color: var(--body-text-color); }
.chatlist-empty { margin: 8px; color: var(--body-text-color-subdued); font-size: 0.9em; }
.chat-row, .hit-row { position: relative; display: flex; flex-wrap: wrap; align-items: center; border-radius: 8px; }
.chat-row:hover, .hit-row:hover { background: var(--background-fill-secondary); }
.chat-row.current { background: var(--color-accent-soft); }
.chat-row .row-open, .hit-row .row-open { flex: 1 1 0; min-width: 0; text-align: left; padding: 6px 8px;
  background: none; border: 0; color: var(--body-text-color); cursor: pointer; font: inherit; font-size: 0.9em;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; border-radius: 8px; }
.chat-row.current .row-open { font-weight: 600; }
.row-writing { color: var(--color-accent); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.row-more { flex: 0 0 auto; width: 28px; height: 28px; border: 0; border-radius: 6px; background: none;
            color: var(--body-text-color); cursor: pointer; opacity: 0.7; }
#sidebar .row-more:hover, .row-more[aria-expanded="true"], .row-more:focus-visible { opacity: 1;
            background: var(--background-fill-primary); }
.row-rename { flex: 1 1 0; min-width: 0; margin: 2px 4px; padding: 4px 6px; font: inherit; font-size: 0.9em;
              border: 1px solid var(--color-accent); border-radius: 6px; background: var(--background-fill-primary);
              color: var(--body-text-color); }
.row-menu, .row-confirm { flex: 1 0 100%; display: flex; flex-direction: column; gap: 2px; margin: 2px 4px 6px;
  padding: 4px; border: 1px solid var(--border-color-primary); border-radius: 8px;
  background: var(--background-fill-primary); box-shadow: var(--shadow-drop); }
.row-menu[hidden], .row-confirm[hidden] { display: none; }
.row-menu button, .row-confirm button, .trash-row .row-actions button { text-align: left; padding: 4px 8px; border: 0;
  border-radius: 6px; background: none; color: var(--body-text-color); cursor: pointer; font: inherit; font-size: 0.9em; }
#sidebar .row-menu button:hover, #sidebar .row-confirm button:hover, #sidebar .trash-row .row-actions button:hover {
  background: var(--background-fill-secondary); }
#sidebar button.danger { color: #b91c1c; font-weight: 600; }
.dark #sidebar button.danger { color: #f87171; }
#sidebar .row-confirm button.danger, #sidebar .row-confirm button.danger:hover { background: #b91c1c;
  color: #ffffff; text-align: center; }
.trash-row { display: flex; flex-wrap: wrap; align-items: center; gap: 4px; padding: 4px 0; }
.trash-row .row-title { flex: 1 1 100%; min-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
                        font-size: 0.9em; }
.trash-row .row-actions { display: flex; gap: 4px; }
.row-confirm span { padding: 4px 8px; font-size: 0.9em; }
.hit-row .row-open { white-space: normal; display: flex; flex-direction: column; gap: 2px; }
.hit-title { font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.hit-snippet { font-size: 0.9em; color: var(--body-text-color); display: -webkit-box;
               -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
.hit-snippet mark { background: var(--color-accent-soft); color: var(--body-text-color); font-weight: 600;
                    border-radius: 2px; padding: 0 1px; }
"""
