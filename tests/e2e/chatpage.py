"""What a person does on the chat page, as Playwright steps."""

import re

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import artifact

REPLY_TIMEOUT = 120_000


def open_page(chromium, url: str, *, new_chat: bool = False, script: str | None = None, **context) -> Page:
    """The chat page in a new browser context (`script` runs in it before the page's own)."""
    browser_context = chromium.new_context(**{"viewport": {"width": 1400, "height": 1000}, **context})
    if script:
        browser_context.add_init_script(script)
    page = browser_context.new_page()
    page.goto(url)
    page.wait_for_selector("#message textarea")
    expect(page.locator("#context-usage")).to_contain_text("Context")
    if new_chat:
        page.click("#new-chat")
        # the page may open on the last chat, one message of 3,000 tokens, which a busy machine is slow to leave
        expect(page.locator('#chat [data-testid="user"]')).to_have_count(0, timeout=30_000)
        expect(page.locator("#context-usage")).to_contain_text("Context: 0 /")  # not the last chat's count
    return page


def box(page: Page):
    return page.locator("#message textarea")


def bots(page: Page):
    return page.locator('#chat [data-testid="bot"]')


def users(page: Page):
    return page.locator('#chat [data-testid="user"]')


def bot_texts(page: Page) -> list[str]:
    return bots(page).all_inner_texts()


def last_reply(page: Page) -> str:
    texts = bot_texts(page)
    return texts[-1] if texts else ""


def wait_words(page: Page, least: int = 40) -> None:
    """Until the last reply shows `least` characters of its own words (not how far its message was read)."""
    page.wait_for_function("""(least) => { const b = document.querySelectorAll('#chat [data-testid="bot"]');
        const text = b.length ? b[b.length - 1].innerText.trim() : '';
        return text.length > least && !text.startsWith('Reading your message'); }""", arg=least, timeout=60_000)


def send(page: Page, text: str, *, wait: bool = True) -> None:
    box(page).fill(text)
    page.get_by_role("button", name="Send", exact=True).click()
    if wait:
        wait_replied(page, text)


def wait_replied(page: Page, text: str) -> None:
    """Until the last message sent is `text` and its reply has finished (not just the previous reply)."""
    try:
        _wait_replied(page, text)
    except PlaywrightTimeout:
        page.screenshot(path=str(artifact("timeout.png")))
        raise AssertionError(f"no finished reply to {text[:60]!r}; the chat shows:\n{chat_state(page)}") from None


def chat_state(page: Page) -> str:
    """What the chat shows, with each reply's speed line, for failure messages."""
    return page.evaluate("""() => [...document.querySelectorAll('#chat [data-testid]')]
        .filter((e) => ['user', 'bot'].includes(e.dataset.testid))
        .map((e) => `${e.dataset.testid}: ${e.innerText.slice(0, 80)} [${e.getAttribute('data-stats')}]`)
        .join('\\n')""")


def _wait_replied(page: Page, text: str) -> None:
    shown = page.wait_for_function("""(text) => {
        const plain = (s) => s.replace(/\\s+/g, ' ').trim();
        const users = document.querySelectorAll('#chat [data-testid="user"]');
        const bots = document.querySelectorAll('#chat [data-testid="bot"]');
        return users.length && bots.length === users.length  // the Chatbot's rows, not those drawn at Enter
            && !document.querySelector('#chat [data-chatdesk-sent]')
            && plain(users[users.length - 1].innerText).includes(plain(text).slice(0, 60)) && users.length;
    }""", arg=text, timeout=REPLY_TIMEOUT)
    wait_idle(page, count=shown.json_value())


CHAT_STATE = """() => {
    const bots = document.querySelectorAll('#chat [data-testid="bot"]');
    const last = bots[bots.length - 1];
    return {bots: bots.length, stats: last ? last.getAttribute('data-stats') : null,
            busy: [...document.querySelectorAll('#chat [data-testid="status-tracker"]')]
                .some((tracker) => !tracker.classList.contains('hide')),
            marks: document.querySelector('#message-marks textarea')?.value,
            lastText: last ? last.innerText.slice(-200) : null};
}"""


def wait_idle(page: Page, count: int | None = None) -> None:
    """Until the last reply has finished: the chat's progress marker is gone and the reply has its speed line."""
    try:
        page.wait_for_function(f"""(count) => {{
            const state = ({CHAT_STATE})();
            return state.bots > 0 && (count === null || state.bots === count) && !state.busy && !!state.stats;
        }}""", arg=count, timeout=REPLY_TIMEOUT)
    except PlaywrightTimeout:
        raise AssertionError(f"the reply did not finish; the page shows {page.evaluate(CHAT_STATE)}") from None


def context_tokens(page: Page) -> int:
    """N in the readout "Context: N / 4,096 tokens"."""
    text = page.locator("#context-usage").inner_text()
    return int(re.search(r"Context: ([\d,]+) /", text).group(1).replace(",", ""))


def message_button(page: Page, label: str):
    """A button under the last reply: Retry, Undo, Edit, Like, Dislike, Copy message…"""
    return page.locator(f'#chat button[aria-label="{label}"]').last


def settled(control, *, checks: int = 3, every_ms: int = 100):
    """`control` once it has stayed in one place for `checks` looks in a row, as a person clicks it: a reply's
    final rendering and its options (Continue) can move the buttons under it just after it ends."""
    places = []
    for _ in range(50):
        places.append(control.bounding_box())
        if len(places) >= checks and places[-1] is not None and all(p == places[-1] for p in places[-checks:]):
            return control
        control.page.wait_for_timeout(every_ms)
    raise AssertionError(f"the control kept moving: {places[-checks:]}")


def option(page: Page, text: str | re.Pattern):
    return page.locator("#chat button.option", has_text=text)


def version_label(page: Page) -> str:
    return option(page, re.compile(r"^\d+/\d+$")).inner_text()


def toast_text(page: Page) -> str:
    """The text of the newest notice the page shows."""
    toast = page.locator(".toast-body").last
    toast.wait_for(timeout=15_000)
    return toast.inner_text()
