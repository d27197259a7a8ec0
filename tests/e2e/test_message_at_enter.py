"""The message sent and its reply's first words show at once, before Gradio's answer to the send reaches the page."""

from playwright.sync_api import expect

from tests.e2e.chatpage import box, open_page, toast_text, users, wait_idle
from tests.e2e.event_streams import STREAM_HOLD, hold_from_now

# Holds Gradio's event stream, when it opens while `window.__hold` is set: the send's answer (the Chatbot's own
# rows, Stop) comes that late, as it may on a busy laptop, while the reply's words do not wait. `window.__streams`
# counts the streams open: a stream open already (an event of + New chat may still run) would bring the answer at
# once. (Holding what an open stream brings would hold its end too, and Gradio's page then sends the next event
# on a stream the app has closed, whose answer never comes.)
HOLD_EVENTS = STREAM_HOLD + """
window.fetch = async (resource, ...rest) => {
  if (!String(resource.url || resource).includes('/queue/data')) return realFetch(resource, ...rest);
  if (window.__hold) await released();
  const response = await realFetch(resource, ...rest);
  counted(response);
  return response;
};
"""
USER_BOX = """() => { const rows = document.querySelectorAll('#chat [data-testid="user"]');
  const user = rows[rows.length - 1]; const r = user.getBoundingClientRect();
  return [!!user.closest('[data-chatdesk-sent]'), Math.round(r.x), Math.round(r.y), Math.round(r.width)]; }"""
WORDS = "() => (document.querySelector('#chat .chatdesk-live')?.textContent || '').trim().length"


def test_the_message_and_its_replys_words_show_before_the_send_is_answered(chromium, app):
    """Before, the page drew nothing until Gradio's answer to the send came: 70-100 ms after Enter with the
    model on both cores, and the words waited for it too. In a new chat, then under the Chatbot's own rows."""
    page = open_page(chromium, app.page_url, new_chat=True, script=HOLD_EVENTS)
    messages = ["Write a story about a lighthouse keeper.", "Now write one about his dog."]
    for sent, message in enumerate(messages):
        hold_from_now(page)
        box(page).fill(message)
        box(page).press("Enter")
        expect(users(page)).to_have_text(messages[:sent + 1], timeout=1_000)
        page.wait_for_function(f"() => ({WORDS})() > 20", timeout=8_000)
        drawn_at_enter = page.evaluate(USER_BOX)
        assert drawn_at_enter[0], "the message shown is the page's own, before the send's answer"
        expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible()  # the answer has not come
        expect(page.get_by_text("Ask anything.")).to_be_hidden()
        page.evaluate("() => window.__hold = false")
        page.wait_for_function("() => !document.querySelector('#chat [data-chatdesk-sent]')", timeout=15_000)
        wait_idle(page, sent + 1)  # two short exchanges: the chat does not scroll
        assert page.evaluate(USER_BOX) == [False, *drawn_at_enter[1:]], "the Chatbot's row moved the message"
    expect(users(page)).to_have_text(messages)
    page.context.close()


def test_a_message_refused_after_enter_leaves_the_chat_as_it_was(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    crowded = "🦊" * 1_900  # short enough to be drawn at Enter, too many tokens for the context
    box(page).fill(crowded)
    box(page).press("Enter")
    assert "tokens" in toast_text(page)
    expect(users(page)).to_have_count(0)
    expect(page.locator('#chat [data-testid="bot"]')).to_have_count(0)
    expect(page.get_by_text("Ask anything.")).to_be_visible()
    assert box(page).input_value() == crowded
    page.context.close()


def test_a_message_drawn_at_enter_loads_nothing_it_names(chromium, app):
    """A remote image in a message (Markdown or HTML) would tell a server when the message was written."""
    page = open_page(chromium, app.page_url, new_chat=True, script=HOLD_EVENTS)
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    hold_from_now(page)
    box(page).fill("See ![chart](http://203.0.113.9/c.png) and <img src='http://203.0.113.9/i.png'>")
    box(page).press("Enter")
    drawn = page.locator("#chat [data-chatdesk-sent] [data-testid='user']")
    expect(drawn).to_have_text("See ![chart](http://203.0.113.9/c.png) and <img src='http://203.0.113.9/i.png'>")
    expect(drawn.locator("img")).to_have_count(0)
    page.evaluate("() => window.__hold = false")
    wait_idle(page, 1)
    assert not [url for url in asked if "203.0.113.9" in url]
    page.context.close()


def test_a_message_drawn_at_enter_shows_no_mark_of_the_chat_before(chromium, app):
    """The speed lines come with the chat's readouts, after + New chat's answer: a message sent before them was
    drawn with the chat before's first speed line under its reply's place (CI: taken for a finished reply)."""
    page = open_page(chromium, app.page_url, new_chat=True, script=HOLD_EVENTS)
    hold_from_now(page)
    page.evaluate("() => { window.chatdeskMarks = {stats: ['97.0 tok/s'], leftOut: 1}; }")
    box(page).fill("Write a story about a lighthouse keeper.")
    box(page).press("Enter")
    drawn = page.locator("#chat [data-chatdesk-sent]")
    expect(drawn.locator("[data-testid='bot']")).to_have_count(1)
    page.evaluate("() => window.chatdeskApplyMarks()")  # as the page's next change does
    assert drawn.locator("[data-stats]:not([data-stats='']), [data-left-out]").count() == 0
    page.evaluate("() => window.__hold = false")
    wait_idle(page, 1)
    page.context.close()
