"""Gradio's page files as chatdesk serves them: from memory, kept by the browser, and mended where they need it;
and a mend of Gradio's page that runs in it (STREAM_JS). Each fix says what it mends, and a test checks it."""

from __future__ import annotations

import importlib.resources
import logging
import re
from functools import cache, lru_cache

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

ASSET = re.compile(r"/assets/([\w-]+\.(js|css|svg|woff2?|ttf))")
MEDIA_TYPES = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml", "woff2": "font/woff2",
               "woff": "font/woff", "ttf": "font/ttf"}
# Vite names each file after its content, so a browser may keep it for good; a window that opens the same address
# again (desktop/instance.py keeps the port) then loads the page without asking for any of them.
KEPT = {"Cache-Control": "public, max-age=31536000, immutable"}
STATUS_TRACKER = re.compile(r"statustracker-[\w-]+\.js")
# Gradio 6.31's status tracker counts the seconds an event has waited at every animation frame: while a reply
# is written, and forever for the page's own loading. That is a Svelte update 60 times a second, a twentieth of a
# core or more that a model on a 2-core laptop writes slower for, and chatdesk hides the count (look.CSS). Now
# each tracker counts once, when its event starts.
TIMER_LOOP = "W&&ze()"
TIMER_LOOP_MENDED = "void`counted once: chatdesk`"
CORE = re.compile(r"core-[\w-]+\.js")
# Handing a component its loading status, Gradio 6.31's page first copies the component's value (and each of its
# children's) into its layout, as for an update of its other properties, which a status leaves alone: for the
# Chatbot a copy of the whole chat, at each step of each event that updates it, as the page sends a message and
# its reply starts. Now a status alone is handed over without the copies.
STATUS_ALONE = ("r&&!(`value`in t)&&(await this.#m(e,r),await this.#h(r))",
                "r&&!(`value`in t)&&!(`loading_status`in t&&Object.keys(t).length===1)&&(await this.#m(e,r),"
                "await this.#h(r))")
# (the files, the text, the mended text, what is left as it was when Gradio's file no longer has the text once)
MENDS = ((STATUS_TRACKER, TIMER_LOOP, TIMER_LOOP_MENDED, "its timer is left as it is"),
         (CORE, *STATUS_ALONE, "a loading status copies its component's value"))
LATE_MS = 10_000  # the longest an event's answer waits for the event stream open when it was sent (STREAM_JS)
# Runs once on load (look.PAGE_JS). Gradio's page sends an event on the stream of event messages it has open, and
# the app closes that stream once none of the page's events is left: an event sent just before the page read that
# the stream had closed waited for its answer on a stream that had ended, until some later event opened another
# (a message sent stayed as the page drew it, without its reply's end). The answer to an event sent while a stream
# is open now reaches Gradio's page once that stream has brought the event, or has ended (closed by the app, the
# page then opens another for it); after LATE_MS at most, in case neither comes.
STREAM_JS = """{
  const fetched = window.fetch;
  let reading = null;  // the stream the page reads now: the events it brought, and its end
  const watched = (response, signal) => {
    const stream = {ids: new Set(), waiting: new Map()};
    stream.ended = new Promise((resolve) => { stream.end = () => setTimeout(resolve, 10); });  // read by the page
    signal?.addEventListener('abort', stream.end);
    const decoder = new TextDecoder();
    let rest = '';
    const look = (chunk) => {
      const lines = (rest + decoder.decode(chunk, {stream: true})).split('\\n');
      rest = lines.pop().slice(0, 200);  // the message's kind and event come first: the rest may be long
      for (const line of lines.map((whole) => whole.slice(0, 200))) {
        if (line.includes('"msg":"close_stream"')) stream.end();
        const id = /"event_id":"([\\w-]+)"/.exec(line)?.[1];
        if (id) { stream.ids.add(id); stream.waiting.get(id)?.(); }
      }
    };
    const passed = new TransformStream({transform: (chunk, out) => {
      out.enqueue(chunk);
      try { look(chunk); } catch (error) { stream.end(); }  // never in the way of Gradio's own reading
    }});
    response.body.pipeTo(passed.writable).then(stream.end, stream.end);  // ended, failed or stopped
    reading = stream;
    stream.ended.then(() => reading === stream && (reading = null));
    const {status, statusText, headers} = response;
    return new Response(passed.readable, {status, statusText, headers});
  };
  const brought = (stream, id) => (stream.ids.has(id) ? null
    : new Promise((resolve) => stream.waiting.set(id, resolve)));
  window.fetch = async (resource, init) => {
    const url = String(resource.url || resource);
    const response = await fetched(resource, init);
    if (url.includes('/queue/data')) {
      return response.ok && response.body ? watched(response, resource.signal || init?.signal) : response;
    }
    const stream = reading;
    if (!stream || !url.includes('/queue/join') || !response.ok) return response;
    const {event_id: id} = await response.clone().json();
    const late = new Promise((resolve) => setTimeout(resolve, LATE_MS));
    await Promise.race([stream.ended, brought(stream, id), late]);
    return response;
  };
}""".replace("LATE_MS", str(LATE_MS))


class PageFixes:
    """ASGI middleware that serves Gradio's page files from memory, with the status tracker and core mended."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = ASSET.fullmatch(scope.get("path", "")) if scope["type"] == "http" else None
        served = asset(found.group(1)) if found and scope.get("method") == "GET" else None
        if served is None:
            await self.app(scope, receive, send)
            return
        body, headers = served
        await Response(body, media_type=MEDIA_TYPES[found.group(2)], headers=headers)(scope, receive, send)


@lru_cache(maxsize=1024)  # the page asks for about 80; Gradio has about 900
def asset(name: str) -> tuple[bytes, dict] | None:
    """Gradio's page file `name` and the headers to serve it with; None when Gradio has no such file."""
    try:
        body = gradio_assets().joinpath(name).read_bytes()
    except OSError:
        return None
    mended = mended_script(name)
    if mended is not None:  # chatdesk may mend it otherwise next time: the browser asks again
        return mended.encode(), {"Cache-Control": "no-cache"}
    return body, KEPT


def gradio_assets():
    """Where the installed Gradio keeps its page files."""
    return importlib.resources.files("gradio").joinpath("templates/frontend/assets")


@cache
def mended_script(name: str) -> str | None:
    """The page file `name` as chatdesk mends it; None when it is served as Gradio has it."""
    for files, old, new, left in MENDS:
        if files.fullmatch(name):
            return _mended(name, old, new, left)
    return None


def _mended(name: str, old: str, new: str, left: str) -> str | None:
    """Gradio's script `name` with `old` replaced by `new`; None when it is missing or no longer has `old` once."""
    try:
        script = gradio_assets().joinpath(name).read_text("utf-8")
    except OSError:
        return None
    if script.count(old) != 1:
        log.warning("Gradio's %s has changed: %s", name, left)
        return None
    return script.replace(old, new)
