"""For tests that hold back what Gradio's event streams bring the page: the streams counted, and a hold."""

# `window.__streams` counts the page's event streams open; released() resolves once `window.__hold` is unset.
# A test's own script then wraps `realFetch` for the streams (`counted(response)` for each).
STREAM_HOLD = """
const realFetch = window.fetch;
window.__streams = 0;
const released = () => new Promise((resolve) => {
  const look = () => (window.__hold ? setTimeout(look, 20) : resolve());
  look();
});
const counted = async (response) => {  // until the stream ends, however it ends
  window.__streams += 1;
  const reader = response.clone().body.getReader();
  try { while (!(await reader.read()).done); } catch (error) { /* stopped by the page */ }
  window.__streams -= 1;
};
"""


def hold_from_now(page) -> None:
    """Once no event stream is open, set the hold."""
    page.wait_for_function("() => window.__streams === 0")
    page.evaluate("() => window.__hold = true")
