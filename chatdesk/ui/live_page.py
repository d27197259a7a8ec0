"""The page's half of a reply's live text (ui/live.py): reading it, and writing it under the reply's place."""

from __future__ import annotations

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
""".replace("PLACE", _JS_PLACE)
# The live-text output holds the key of a reply the page should read ("" for none).
LIVE_TEXT = """(key) => window.chatdeskReadLive?.(key)"""
# A message's send: its inputs, with the key the page reads its reply under (ui/attach.py).
SEND_READING = """(text, id, files, key) => [text, id, files, window.chatdeskSendKey?.() || '']"""
# The Chatbot changed: the live text goes unless it still hangs on the reply's place (the next piece of a reply
# still followed puts it back if the Chatbot dropped it).
DROP_LIVE_TEXT = """() => document.querySelectorAll('#chat .chatdesk-live').forEach(
  (live) => live.parentElement?.matches(`#chat PLACE`) || live.remove())""".replace("PLACE", _JS_PLACE)
