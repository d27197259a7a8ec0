"""The page's work for each streamed piece of a reply does not grow with the chat on screen."""

import re
import statistics

from playwright.sync_api import expect

from tests.apprunner import RunningApp
from tests.e2e.chatpage import bots, box, open_page, wait_idle, wait_words
from tests.e2e.long_chat import seed_long_chat

# Counts the copies of state Gradio's page script makes (Svelte's snapshots): about 700 for each update of the
# reply event, sent or skipped, before the page read the streamed text by itself (ui/live.py).
COUNT_COPIES = """
window.__copies = 0;
const copy = window.structuredClone;
window.structuredClone = (value, options) => { window.__copies += 1; return copy(value, options); };
"""
# Every batch of DOM changes in the chat: whether it made the last reply longer, how many of its changes were
# inside earlier messages, whether the chat was scrolled to its end, and the copies made so far.
WATCH_EARLIER = """() => {
  const chat = document.querySelector('#chat');
  const batches = window.__batches = [];
  let length = 0;
  new MutationObserver((records) => {
    const all = [...chat.querySelectorAll('[data-testid="user"], [data-testid="bot"]')];
    const last = all.pop();
    const now = last && last.getAttribute('data-testid') === 'bot' ? last.textContent.length : 0;
    const box = chat.querySelector('.bubble-wrap');
    batches.push([now > length, records.filter((r) => all.some((m) => m.contains(r.target))).length,
                  box.scrollHeight - box.scrollTop - box.clientHeight < 80, window.__copies]);
    length = now;
  }).observe(chat, {childList: true, subtree: true, characterData: true, attributes: true});
}"""


def per_piece(batches: list) -> tuple[float, float, int]:
    """The median count of changes inside earlier messages from one piece of the reply to the next, the median
    count of copies the page made meanwhile, and the number of pieces. The medians leave out the reply's start
    and end, which may touch every message once."""
    growths = [n for n, batch in enumerate(batches) if batch[0]]
    between = list(zip(growths, growths[1:]))
    touched = [sum(batch[1] for batch in batches[a:b]) for a, b in between]
    copies = [batches[b][3] - batches[a][3] for a, b in between]
    return statistics.median(touched), statistics.median(copies), len(growths)


def test_streaming_a_reply_leaves_the_earlier_messages_of_a_long_chat_alone(chromium, tmp_path):
    seed_long_chat(tmp_path / "data" / "chatdesk.db", exchanges=20)
    app = RunningApp(tmp_path, "--max-tokens", "60")
    try:
        page = open_page(chromium, app.page_url, script=COUNT_COPIES + COUNT_TRACKER_FRAMES)
        expect(bots(page)).to_have_count(20)
        page.evaluate(WATCH_EARLIER)
        frames = page.evaluate("() => window.__trackerFrames")
        page.locator("#message textarea").fill("Write a long story about a lighthouse.")
        page.locator("#message textarea").press("Enter")
        wait_idle(page, 21)
        batches = page.evaluate("() => window.__batches")
        frames = page.evaluate("() => window.__trackerFrames") - frames
        touched, copies, pieces = per_piece(batches)
        assert pieces >= 3  # the reply came in several pieces
        # The reply's start and end may touch the 40 earlier messages; the pieces between them must not.
        assert touched <= 1
        assert copies <= 20, f"the page copied its state {copies} times for each piece of the reply"
        # Gradio's status trackers counted the reply's seconds at every frame (ui/page_fixes.py): 77 frames
        # for this reply. Now one frame for each output of each event, as the event starts.
        assert frames <= 30, f"the status trackers asked for {frames} animation frames during one reply"
        # The live text's pieces (not the Chatbot's own updates at the start and end, which it scrolls itself)
        followed = [batch[2] for batch in batches if batch[0]][1:-1]
        assert all(followed), f"the chat did not follow the reply: {followed}"
    finally:
        assert app.stop() == 0



# When the page asked for a reply's text, and when the Chatbot drew the reply's place in the chat (its message a
# zero-width space: chatview.STREAMING_PLACEHOLDER), not the page as Enter sent the message.
WATCH_ASKING = """
window.__asked = [];
const fetched = window.fetch;
window.fetch = (resource, ...rest) => {
  if (String(resource).includes('/chatdesk/live/')) window.__asked.push(performance.now());
  return fetched(resource, ...rest);
};
window.__place = null;
new MutationObserver(() => {
  const place = document.querySelector(
    `#chat [data-testid="bot"][aria-label="bot's message: \\u200b"]:not([data-chatdesk-sent] *)`);
  if (place && window.__place === null) window.__place = performance.now();
}).observe(document, {childList: true, subtree: true});
"""


def test_the_page_asks_for_the_replys_words_as_enter_sends_the_message(chromium, app):
    """The first words wait for no event's round trip: the page asked for them once the reply event had begun
    (223 ms from Enter to the first words, for a reply whose first token took 10 ms)."""
    page = open_page(chromium, app.page_url, new_chat=True, script=WATCH_ASKING)
    page.locator("#message textarea").fill("Write a haiku about the sea.")
    page.locator("#message textarea").press("Enter")
    wait_words(page, 5)
    asked, place = page.evaluate("() => [window.__asked, window.__place]")
    assert asked and place is not None and asked[0] < place, f"asked at {asked}, the reply's place at {place} ms"
    wait_idle(page, 1)
    page.context.close()


# The data of every request for one of Gradio's events the page makes.
WATCH_EVENTS = """
window.__events = [];
const requested = window.fetch;
window.fetch = (resource, init, ...rest) => {
  if (/\\/(run\\/predict|queue\\/join)/.test(String(resource.url || resource))) {
    window.__events.push(JSON.parse(init?.body || '{}').data);
  }
  return requested(resource, init, ...rest);
};
"""


def test_enter_sends_the_message_without_a_draft_of_it_nor_events_it_can_spare(chromium, app):
    """Each of Gradio's events costs the page a pass over the state of every component an event has touched
    (5-16 ms as a reply starts, more in a long chat). Gradio's message box reports each key pressed as an input,
    Enter that sends included, so the page sent the app a draft of the message it was sending; and the files'
    names of the messages came in an event of their own, beside the readouts, at the send and at the reply's end."""
    page = open_page(chromium, app.page_url, new_chat=True, script=WATCH_EVENTS)
    message = "Write a haiku about the sea."
    box(page).press_sequentially(message, delay=20)
    page.wait_for_function("(message) => window.__events.some((data) => data[0] === message)", arg=message)
    before = page.evaluate("() => window.__events.length")
    box(page).press("Enter")
    wait_idle(page, 1)
    events = page.evaluate("(n) => window.__events.slice(n)", before)
    carrying = [data for data in events if message in data]
    assert len(carrying) == 1, f"the page sent the message {len(carrying)} times: {carrying}"  # the send alone
    # the send, its reply, and at the send and at the reply's end the chat list and the readouts
    assert len(events) <= 6, f"{len(events)} events for one message: {events}"
    page.context.close()



def test_a_message_sent_in_a_long_chat_copies_the_chat_only_when_it_changes(chromium, tmp_path):
    """Handing the Chatbot a loading status, Gradio's page copied its value (the whole chat) first, at every step
    of the send and of its reply (ui/page_fixes.STATUS_ALONE): about 7,000 copies of state for a message sent in a
    chat of 20 exchanges, 1,800 without them."""
    seed_long_chat(tmp_path / "data" / "chatdesk.db", exchanges=20)
    app = RunningApp(tmp_path, "--max-tokens", "20")
    try:
        page = open_page(chromium, app.page_url, script=COUNT_COPIES)
        expect(bots(page)).to_have_count(20)
        box(page).fill("Write a long story about a lighthouse.")
        page.wait_for_timeout(500)  # the draft's events are answered
        page.evaluate("() => { window.__copies = 0; }")
        box(page).press("Enter")
        wait_idle(page, 21)
        copies = page.evaluate("() => window.__copies")
        assert copies <= 3500, f"the page copied its state {copies} times for one message"
        page.context.close()
    finally:
        assert app.stop() == 0

# The chat's rows (messages and their button rows) that the browser draws (a row skipped as off screen, by
# content-visibility, has no drawn content inside it), and whether the reply is being written.
DRAWN_ROWS = """() => [[...document.querySelectorAll('#chat .message-wrap > .message-row, ' +
                         '#chat .message-wrap > .message-buttons')]
  .map((row) => row.firstElementChild?.checkVisibility({contentVisibilityAuto: true}) ?? false),
  !!document.querySelector('#chat .chatdesk-live')]"""
LIVE_WORDS = "() => (document.querySelector('#chat .chatdesk-live')?.textContent || '').trim().length > 20"
AT_THE_END = """() => { const box = document.querySelector('#chat .bubble-wrap');
  return box.scrollHeight - box.scrollTop - box.clientHeight < 80; }"""


def test_a_reply_streaming_in_a_long_chat_draws_only_the_messages_near_the_view(chromium, tmp_path):
    """Chromium drew the whole chat again for each piece of a reply (its cull rect grows with the scroll box's
    content): in 20 exchanges, 8 ms of the renderer per piece against 1.5 in a new chat."""
    seed_long_chat(tmp_path / "data" / "chatdesk.db", exchanges=20)
    app = RunningApp(tmp_path, "--max-tokens", "60")
    try:
        page = open_page(chromium, app.page_url)
        expect(bots(page)).to_have_count(20)
        page.locator("#message textarea").fill("Write a long story about a lighthouse.")
        page.locator("#message textarea").press("Enter")
        page.wait_for_function(LIVE_WORDS, timeout=60_000)
        drawn, streaming = page.evaluate(DRAWN_ROWS)
        assert streaming and len(drawn) >= 80 and drawn[-1], "the reply being written is drawn"
        assert sum(drawn) <= len(drawn) // 3, f"{sum(drawn)} of the chat's {len(drawn)} rows are drawn while it streams"
        wait_idle(page, 21)
    finally:
        assert app.stop() == 0


def test_an_earlier_replys_feedback_options_show_whole(chromium, tmp_path):
    """An earlier row is contained (its drawing clipped to it); the row under the pointer is not, so the
    feedback options that open below its buttons are seen and can be clicked."""
    seed_long_chat(tmp_path / "data" / "chatdesk.db", exchanges=20)
    app = RunningApp(tmp_path)
    try:
        page = open_page(chromium, app.page_url)
        expect(bots(page)).to_have_count(20)
        page.wait_for_function(AT_THE_END)
        page.wait_for_timeout(600)  # Gradio scrolls a chat it shows to its end once more, 300 ms later
        page.locator("#chat .extra-feedback").first.hover()
        choice = page.locator("#chat .extra-feedback-option", has_text="Off-topic").first
        expect(choice).to_be_visible()
        hit = choice.evaluate("""(option) => { const r = option.getBoundingClientRect();
            return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === option; }""")
        assert hit, "the feedback option is hidden under the reply's edge"
    finally:
        assert app.stop() == 0


# Counts the animation frames Gradio's status trackers ask for, from before the page's own scripts run.
COUNT_TRACKER_FRAMES = """
window.__trackerFrames = 0;
const requestFrame = window.requestAnimationFrame.bind(window);
window.requestAnimationFrame = (callback) => {
  if ((new Error().stack || '').includes('statustracker')) window.__trackerFrames += 1;
  return requestFrame(callback);
};
"""


def test_an_idle_page_runs_no_timer(chromium, app):
    page = open_page(chromium, app.page_url, script=COUNT_TRACKER_FRAMES)
    page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="status-tracker"]')]
        .every((tracker) => tracker.classList.contains('hide'))""")  # no event of the page's loading is pending
    page.wait_for_timeout(1000)  # the page settles
    before = page.evaluate("() => window.__trackerFrames")
    page.wait_for_timeout(2000)
    frames = page.evaluate("() => window.__trackerFrames") - before
    # Gradio's timer of the page's loading asked for 120 frames in these 2 s: a twentieth of a core, taken from
    # the model (ui/page_fixes.py)
    assert frames == 0, f"an idle page's status trackers asked for {frames} animation frames in 2 s"
    page.context.close()


def test_the_next_launch_opens_the_same_address_and_its_window_fetches_no_page_files(chromium, tmp_path):
    """The window's browser keeps the page's files for the address it opened: a later launch serves on the same
    port (desktop/launcher.usual_port), so its window asks for none of Gradio's scripts and styles again."""
    context = chromium.new_context()
    first = RunningApp(tmp_path, port=None)
    try:
        open_in(context, first.page_url)
    finally:
        assert first.stop() == 0
    second = RunningApp(tmp_path, port=None)
    try:
        assert second.url == first.url
        asked, kept = open_in(context, second.page_url)
    finally:
        assert second.stop() == 0
    fetched = {url.rsplit("/", 1)[-1] for request, url in asked.items() if request not in kept}
    mended = {name for name in fetched if re.fullmatch(r"(statustracker|core)-[\w-]+\.js", name)}  # asked again
    assert len(asked) > 20 and fetched == mended, f"{len(fetched)} of {len(asked)} page files were fetched again"
    context.close()


def open_in(context, url: str) -> tuple[dict, set]:
    """Open the chat page in a new tab of `context`: the requests for page files (their addresses), and those the
    cache answered."""
    page = context.new_page()
    network = context.new_cdp_session(page)
    network.send("Network.enable")
    asked, kept = {}, set()
    network.on("Network.requestWillBeSent", lambda event: "/assets/" in event["request"]["url"]
               and asked.setdefault(event["requestId"], event["request"]["url"]))
    network.on("Network.requestServedFromCache", lambda event: kept.add(event["requestId"]))
    network.on("Network.responseReceived",
               lambda event: event["response"].get("fromDiskCache") and kept.add(event["requestId"]))
    page.goto(url)
    page.wait_for_selector("#message textarea")
    page.close()
    return asked, kept
