"""The page's half of a reply's live text (ui/live.py): reading it, and writing it under the reply's place; and
the message sent, drawn by the page as Enter sends it."""

from __future__ import annotations

# The reply's place while it is written: its whole message is chatview.STREAMING_PLACEHOLDER, a zero-width space.
PLACE = """[data-testid="bot"][aria-label="bot's message: \\200b"]"""
_JS_PLACE = PLACE.replace("\\", "\\\\")  # the same, in a JavaScript template literal

# Runs once on load. chatdeskReadLive(key) reads the reply offered under `key` ("": none) and writes it as plain
# text under the reply's place, following it if scrolled down. A message's send reads its reply under a key the
# page makes as Enter is pressed (chatdeskSendKey), so the first words wait for no event's round trip; they are
# written in the place the page drew (SHOW_SENT_JS), or wait for the Chatbot's. (A message refused is answered 410
# at once; the send's outputs put the key in the live-text output, whose change then stops it.)
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
      if (response.status === 410) window.chatdeskDropSent();  // the message was refused
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
  window.chatdeskSendKey = (text, files) => {
    if (reads(window.chatdeskLive) && window.chatdeskLive.started) return '';  // a reply shown here goes on
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    const key = 'page-' + Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
    if (!files?.length) window.chatdeskShowSent(text || '');  // before the send leaves: its answer replaces it
    setTimeout(() => window.chatdeskReadLive(key));  // after the send's own request: a window has 6 connections
    return key;
  };
""".replace("PLACE", _JS_PLACE)
# The Chatbot's rows for a message just sent and its reply's place (Gradio 6's classes, so they look the same),
# a button row's height under each (empty: their buttons come with the Chatbot's own rows), and the room the
# Chatbot keeps under a reply being written.
_BUTTONS_ROW = """<div class="message-buttons-SIDE bubble message-buttons svelte-704d7y">
<div class="icon-button-wrapper hide-top-corner svelte-1pnho82"><div class="icon-button svelte-3jwzs9 padded">
<div class="svelte-3jwzs9 small"></div></div></div></div>"""
_SENT_ROWS = ("""<div class="message-row bubble user-row svelte-1nr59td">
<div class="flex-wrap svelte-1nr59td role"><div class="user svelte-1nr59td message">
<div class="message svelte-1nr59td panel-full-width"><div data-testid="user" dir="ltr" class="svelte-1nr59td">
<div class="message-content"><span class="md svelte-1hf8a14 chatbot prose"><p></p></span></div></div></div></div></div></div>"""
              + _BUTTONS_ROW.replace("SIDE", "right") + """<div class="message-row bubble bot-row svelte-1nr59td">
<div class="flex-wrap svelte-1nr59td role"><div class="bot svelte-1nr59td message">
<div class="message svelte-1nr59td panel-full-width">
<div data-testid="bot" dir="ltr" aria-label="bot's message: \\u200b" class="svelte-1nr59td latest">
<div class="message-content"><span class="md svelte-1hf8a14 chatbot prose"></span></div></div></div></div></div></div>"""
              + _BUTTONS_ROW.replace("SIDE", "left") + """<div class="container svelte-stpvyx"></div>""").replace("\n", "")
SENT_AT_MOST = 4_000  # characters of a message drawn at Enter; a longer one waits for the Chatbot

# Runs once on load. chatdeskShowSent(text) draws the message and its reply's place at the chat's end as Enter
# sends it: the Chatbot draws them when the send's answer comes, 70-100 ms later while the model takes both
# cores, and the reply's first words are often there before it. They are written in the place drawn here and
# move to the Chatbot's own place, in the same frame as it draws its rows (which replace these). A message
# refused takes them away (its reply's request is answered 410). The rows go in a list of their own after the
# Chatbot's: added to its list, they would change which of its rows are the last few (look.OFFSCREEN_CSS), and
# the browser would work out the style of every message again.
SHOW_SENT_JS = """
  const SENT = '[data-chatdesk-sent]';
  const drawnByChatbot = (node) => node.nodeType === 1 && !node.matches(SENT)
    && node.matches('.message-row, .message-wrap, .placeholder-content');
  window.chatdeskDropSent = () => {
    window.chatdeskSent?.disconnect();
    window.chatdeskSent = null;
    const live = document.querySelector(`#chat ${SENT} .chatdesk-live`);
    const place = [...document.querySelectorAll(`#chat PLACE`)].filter((bot) => !bot.closest(SENT)).pop();
    if (live && place) place.appendChild(live);
    document.querySelectorAll(`#chat ${SENT}`).forEach((list) => list.remove());
    document.querySelector('#chat .placeholder-content')?.style.removeProperty('display');
  };
  window.chatdeskShowSent = (text) => {
    window.chatdeskDropSent();
    const scroller = document.querySelector('#chat .bubble-wrap');
    if (!scroller || !text.trim() || text.length > SENT_AT_MOST) return;
    const list = document.createElement('div');
    list.className = 'message-wrap svelte-kpz1';
    list.toggleAttribute('data-chatdesk-sent', true);
    list.setAttribute('aria-hidden', 'true');  // the Chatbot's own rows are read out
    list.innerHTML = `SENT_ROWS`;
    const message = list.querySelector('[data-testid="user"] p');
    message.textContent = text.trim();
    message.style.whiteSpace = 'pre-wrap';
    scroller.querySelector(':scope > .placeholder-content')?.style.setProperty('display', 'none', 'important');
    scroller.appendChild(list);
    requestAnimationFrame(() => list.isConnected && (scroller.scrollTop = scroller.scrollHeight));  // no layout now
    const watch = new MutationObserver((records) => records.some(
      (record) => [...record.addedNodes].some(drawnByChatbot)) && window.chatdeskDropSent());
    watch.observe(scroller, {childList: true, subtree: true});
    window.chatdeskSent = watch;
  };
""".replace("PLACE", _JS_PLACE).replace("SENT_ROWS", _SENT_ROWS).replace("SENT_AT_MOST", str(SENT_AT_MOST))
# The live-text output holds the key of a reply the page should read ("" for none).
LIVE_TEXT = """(key) => window.chatdeskReadLive?.(key)"""
# A message's send: its inputs, with the key the page reads its reply under (ui/attach.py).
SEND_READING = """(text, id, files, key) => [text, id, files, window.chatdeskSendKey?.(text, files) || '']"""
# The Chatbot changed: the live text goes unless it still hangs on the reply's place (the next piece of a reply
# still followed puts it back if the Chatbot dropped it).
DROP_LIVE_TEXT = """() => document.querySelectorAll('#chat .chatdesk-live').forEach(
  (live) => live.parentElement?.matches(`#chat PLACE`) || live.remove())""".replace("PLACE", _JS_PLACE)
