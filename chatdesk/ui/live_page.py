"""The page's half of a reply's live text (ui/live.py): the message and its reply's place shown as Enter sends it,
the reply's words read and written in that place."""

from __future__ import annotations

import json

from chatdesk.ui.busy import WRITING, status_html

# The reply's place while it is written: its whole message is chatview.STREAMING_PLACEHOLDER, a zero-width space.
PLACE = """[data-testid="bot"][aria-label="bot's message: \\200b"]"""
_JS_PLACE = PLACE.replace("\\", "\\\\")  # the same, in a JavaScript template literal

# Runs once on load. chatdeskReadLive(key) reads the reply offered under `key` ("": none) and writes it as plain
# text under the reply's place, following it if scrolled down. A message's send reads its reply under a key the
# page makes as Enter is pressed (chatdeskSendKey), so the first words wait for no event's round trip; they may
# then come before the Chatbot shows the reply's place, and are written there once it does. (A message refused
# is answered 404 at once; the send's outputs put the key in the live-text output, whose change then stops it.)
READ_LIVE_JS = """
  const place = () => {
    const bots = document.querySelectorAll('#chat [data-testid="bot"]');
    const bot = bots[bots.length - 1];
    return bot && bot.matches(`#chat PLACE`) ? bot : null;
  };
  const reads = (reading) => reading && !reading.done && !reading.signal.aborted;
  window.chatdeskReadLive = (key) => {
    if (key && reads(window.chatdeskLive) && window.chatdeskLive.key === key) return;  // the send's, read since Enter
    window.chatdeskLive?.abort();
    document.querySelector('#chat .chatdesk-live')?.remove();
    if (!key) return;
    const reading = new AbortController();
    reading.key = key;
    window.chatdeskLive = reading;
    let text = '', live = null, waiting = null;
    const stopWaiting = () => { waiting?.disconnect(); waiting = null; };
    reading.signal.addEventListener('abort', stopWaiting);
    const show = (piece) => {
      const bot = place();
      if (!bot) {  // not on the page yet: written when it comes
        waiting = waiting || new MutationObserver(() => place() && (stopWaiting(), show({})));
        waiting.observe(document.querySelector('#chat') || document.body, {childList: true, subtree: true});
        return;
      }
      const scroller = bot.closest('.bubble-wrap');  // the chat's own scroll box: it follows a growing reply
      const following = scroller && scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
      if (live && live.parentElement === bot && 'add' in piece) live.append(piece.add);
      else {  // the first piece, or the Chatbot dropped the text
        document.querySelector('#chat .chatdesk-live')?.remove();
        live = document.createElement('div');
        live.className = 'chatdesk-live';
        live.textContent = text;
        bot.appendChild(live);
      }
      if (following) scroller.scrollTop = scroller.scrollHeight;
    };
    const take = (piece) => {
      if (piece.more) return;
      text = 'add' in piece ? text + piece.add : piece.text;
      show(piece);
    };
    const read = async () => {  // one response; true when the reply goes on (ui/live.py: LEASE)
      const response = await fetch('/chatdesk/live/' + encodeURIComponent(key), {signal: reading.signal, cache: 'no-store'});
      if (!response.ok || !response.body) return false;  // the reply had ended: the Chatbot shows it
      reading.started = true;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let rest = '', more = false;
      for (;;) {
        const {value, done} = await reader.read();
        if (done || reading.signal.aborted) return more && !reading.signal.aborted;
        const lines = (rest + value).split('\\n');
        rest = lines.pop();
        for (const line of lines) {
          if (!line || reading.signal.aborted) continue;
          const piece = JSON.parse(line);
          more = more || Boolean(piece.more);
          take(piece);
        }
      }
    };
    // stopped, or the app went: the reply event says how the reply ended
    (async () => { while (await read()); })().catch(() => {}).finally(() => { reading.done = true; stopWaiting(); });
  };
  window.chatdeskSendKey = () => {
    if (reads(window.chatdeskLive) && window.chatdeskLive.started) return '';  // a reply shown here goes on
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    const key = 'page-' + Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
    setTimeout(() => window.chatdeskReadLive(key));  // after the send's own request: a window has 6 connections
    return key;
  };
""".replace("PLACE", _JS_PLACE) + """
  // Enter shows the message and its reply's place at once, not when the send answers (a round trip of the app's
  // queue and a render: 60-100 ms while the model takes both cores). A hidden button's click sets the Chatbot a
  // moment after the send and the words' request have left; the send's answer then shows the same. Not for an
  // empty message, nor while a reply is written here: both are refused, and a refusal puts the chat back. The
  // text is shown with nothing that loads (no HTML, no image), as the app's page shows it (ui/external.py).
  let sending = null;  // the message whose send has not answered: its text, its key, the chat before it
  window.chatdeskSending = (text, key) => {
    let land;
    const landed = new Promise((resolve) => { land = resolve; });
    const late = setTimeout(() => land(), ANSWERED_WITHIN_MS);  // a send that failed: what waits goes anyway
    sending = {text, key, landed, land: () => { clearTimeout(late); land(); }};
    setTimeout(() => document.querySelector('#show-sent')?.click());
  };
  window.chatdeskLanded = () => { sending?.land(); sending = null; };
  window.chatdeskSettled = () => (sending ? sending.landed : Promise.resolve());
  window.chatdeskSendingKey = () => sending?.key || '';
  const keep = {__type__: 'update'};
  window.chatdeskShowSent = (chat, status) => {  // (chat, Send, Stop, status) as the send will show them
    const said = (sending?.text || '').trim(), shown = chat || [];
    const last = shown[shown.length - 1];
    const placed = last?.role === 'assistant' && last.content?.[0]?.text === '\\u200b';  // answered already
    if (!said || placed || document.querySelector('#chat')?.getAttribute('aria-busy') === 'true') {
      window.chatdeskLanded();
      return [chat, keep, keep, status];
    }
    sending.before = [chat, status];
    const message = (role, text) => ({role, metadata: null, content: [{type: 'text', text}], options: null});
    const inert = said.replaceAll('<', '&lt;').replaceAll('![', '!\\\\[');
    const idle = shown.map((old) => (old.options ? {...old, options: null} : old));  // no Redo while it writes
    return [[...idle, message('user', inert), message('assistant', '\\u200b')],
            {__type__: 'update', visible: false}, {__type__: 'update', visible: true}, WRITING_STATUS];
  };
  window.chatdeskUnsent = () => {  // the send failed: the chat and the look as they were
    const before = sending?.before;
    window.chatdeskLanded();
    return before ? [before[0], {__type__: 'update', visible: true}, {__type__: 'update', visible: false},
                     before[1]] : [keep, keep, keep, keep];
  };
""".replace("ANSWERED_WITHIN_MS", "5000").replace("WRITING_STATUS", json.dumps(status_html(WRITING, busy=True)))
# The live-text output holds the key of a reply the page should read ("" for none).
LIVE_TEXT = """(key) => window.chatdeskReadLive?.(key)"""
# A message's send: its inputs, with the key the page reads its reply under (ui/attach.py); it shows the message.
SEND_READING = """(text, id, files, key) => {
  const made = window.chatdeskSendKey?.() || '';
  window.chatdeskSending?.(text, made);  // after the key: the words' request leaves first
  return [text, id, files, made];
}"""
# The hidden button's click: the message being sent, and its reply's place, in the Chatbot.
SHOW_SENT = """(chat, status) => window.chatdeskShowSent?.(chat, status) || [chat, {__type__: 'update'},
  {__type__: 'update'}, status]"""
# The send has answered (the reply event follows it): what waited for it goes.
SEND_LANDED = """(id) => { window.chatdeskLanded?.(); return [id]; }"""
# The send failed (an error, not a refusal): the message shown before its answer goes.
SEND_FAILED = """() => window.chatdeskUnsent?.() || [{__type__: 'update'}, {__type__: 'update'}, {__type__: 'update'},
  {__type__: 'update'}]"""
# Stop, with the key of a message whose send has not answered (it shows Stop already): the app stops its reply
# as soon as it begins.
STOP_PRESSED = """(id, key) => [id, window.chatdeskSendingKey?.() || '']"""
# The first of the Chatbot's change listeners: those after it (the readouts) wait for the send of a message shown
# before its answer. Asked at once, they would count the chat without it, with the inputs of that moment, and take
# the app's time just as it starts the reply.
SETTLED = """async () => { await window.chatdeskSettled?.(); }"""
# The Chatbot changed: the live text goes unless it still hangs on the reply's place (the next piece of a reply
# still followed puts it back if the Chatbot dropped it).
DROP_LIVE_TEXT = """() => document.querySelectorAll('#chat .chatdesk-live').forEach(
  (live) => live.parentElement?.matches(`#chat PLACE`) || live.remove())""".replace("PLACE", _JS_PLACE)
