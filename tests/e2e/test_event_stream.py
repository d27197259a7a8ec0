"""A message sent just as the app closes the page's stream of Gradio's event messages still gets its answer."""

from playwright.sync_api import expect

from chatdesk.ui.page_fixes import LATE_MS
from tests.e2e.chatpage import box, open_page, send, users, wait_idle
from tests.e2e.event_streams import STREAM_HOLD, hold_from_now

# Holds the app's word that it closed one of Gradio's event streams (and all after it on that stream) while
# `window.__hold` is set: the page then takes the stream for open a while, as a busy page does; `window.__streams`
# counts the streams open.
HOLD_CLOSING = STREAM_HOLD + """
const CLOSING = 'data: {"msg":"close_stream"';
const held = (response) => {
  counted(response);
  const [decoder, encoder] = [new TextDecoder(), new TextEncoder()];
  let holding = false;
  const body = response.body.pipeThrough(new TransformStream({
    transform: async (chunk, out) => {
      const text = decoder.decode(chunk, {stream: true});
      const closing = text.indexOf(CLOSING);
      if (!holding && closing > 0) out.enqueue(encoder.encode(text.slice(0, closing)));
      if (holding || closing >= 0) {
        holding = window.__heldClose = true;
        await released();
      }
      out.enqueue(encoder.encode(holding && closing > 0 ? text.slice(closing) : text));
    },
  }));
  const {status, statusText, headers} = response;
  return new Response(body, {status, statusText, headers});
};
window.fetch = async (resource, ...rest) => {
  const response = await realFetch(resource, ...rest);
  return String(resource.url || resource).includes('/queue/data') ? held(response) : response;
};
"""


def test_a_message_sent_as_the_app_closes_the_event_stream_gets_its_answer(chromium, app):
    """The app closes the page's stream when none of its events is left; Gradio's page sent the next event on the
    stream it still took for open, and waited for its answer there: the message sent stayed as the page drew it,
    without Stop or its reply's end, until some later event opened another stream (CI: Settings not saved)."""
    page = open_page(chromium, app.page_url, new_chat=True, script=HOLD_CLOSING)
    send(page, "Say hello.")
    hold_from_now(page)
    page.click("#new-chat")  # its events take a stream, which the app closes once they end
    expect(users(page)).to_have_count(0)
    page.wait_for_function("() => window.__heldClose")
    page.wait_for_timeout(500)
    box(page).fill("Write a story about a lighthouse keeper.")
    box(page).press("Enter")  # sent while the page takes the stream for open
    page.wait_for_timeout(500)
    page.evaluate("() => window.__hold = false")
    expect(page.locator("#chat [data-testid='user']:not([data-chatdesk-sent] *)")).to_have_text(
        ["Write a story about a lighthouse keeper."], timeout=LATE_MS / 2)  # not the mend's last resort
    wait_idle(page, 1)
    expect(users(page)).to_have_count(1)
    page.context.close()
