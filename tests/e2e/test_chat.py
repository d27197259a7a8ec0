"""Every Chatbot event in real Chromium, clicking the real buttons and reading what a person sees."""

import re
import time

from playwright.sync_api import expect

from tests.e2e.chatpage import (box, bot_texts, bots, chat_state, context_tokens, last_reply, message_button,
                                open_page, option, send, settled, toast_text, users, wait_idle, wait_words)
from tests.e2e.conftest import artifact


def test_send_shows_the_message_at_once_and_streams_the_reply(chromium, long_app):
    page = open_page(chromium, long_app.page_url, new_chat=True)
    send(page, "Write a long story about a lighthouse keeper.", wait=False)
    expect(users(page).last).to_contain_text("lighthouse keeper", timeout=5_000)
    expect(box(page)).to_have_value("")
    lengths = []
    for _ in range(30):
        lengths.append(len(last_reply(page)))
        if len(set(lengths)) >= 4:
            break
        time.sleep(0.15)
    assert len(set(lengths)) >= 4 and lengths == sorted(lengths), f"the reply did not grow: {lengths}"
    page.screenshot(path=str(artifact("chat-streaming.png")))
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_idle(page)
    page.screenshot(path=str(artifact("chat-streamed.png")))


FIRST_FRAME = """() => new Promise((resolve) => {
  const chat = document.querySelector('#chat');
  const placed = () => [...chat.querySelectorAll('[data-testid="bot"]')].find(  // the Chatbot's, not the page's own
    (bot) => bot.getAttribute('aria-label') === "bot's message: \\u200b" && !bot.closest('[data-chatdesk-sent]'));
  new MutationObserver((_, observer) => {
    const place = placed();
    if (!place) return;
    observer.disconnect();
    requestAnimationFrame(() => {  // the first frame that shows the reply's place
      const row = place.closest('.message-row');
      const buttons = row.nextElementSibling?.matches('.message-buttons') ? row.nextElementSibling : null;
      const pending = chat.querySelector('.pending');
      const shown = (id) => { const button = document.querySelector(id); return !!button && button.offsetParent !== null; };
      resolve({
        stop: shown('#stop-btn'),
        send: shown('#send-btn'),
        buttons: buttons ? getComputedStyle(buttons).visibility : 'none',
        dots: getComputedStyle(place.querySelector('.message-content'), '::after').content,
        words: !!place.querySelector('.chatdesk-live')?.textContent.trim(),  // written before the Chatbot drew it
        gradioDots: !!pending && pending.offsetParent !== null,
      });
    });
  }).observe(chat, {childList: true, subtree: true, attributes: true});
})"""


def test_enter_puts_the_reply_place_with_waiting_dots_and_stop_in_the_same_frame(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    box(page).fill("Write a short story about a lighthouse keeper.")
    page.evaluate(f"() => {{ window.firstFrame = ({FIRST_FRAME})(); }}")
    box(page).press("Enter")
    seen = page.evaluate("() => window.firstFrame")
    words, dots = seen.pop("words"), seen.pop("dots")
    assert words or dots == '"•••"', "the waiting dots, or the words already written there"
    assert seen == {"stop": True, "send": False, "buttons": "hidden", "gradioDots": False}, seen
    wait_idle(page, count=1)
    expect(message_button(page, "Retry")).to_be_visible()  # a written reply has its buttons


SHOWN_TWICE = """() => {
  window.shownTwice = [];
  const chat = document.querySelector('#chat');
  const seen = (element) => !!element && element.getClientRects().length > 0;
  new MutationObserver(() => {  // after each change, before the page can be painted
    const bots = chat.querySelectorAll('[data-testid="bot"]');
    const bot = bots[bots.length - 1], content = bot?.querySelector('.message-content');
    const live = bot?.querySelector('.chatdesk-live');
    if (seen(live) && seen(content) && content.innerText.replace(/\\u200b/g, '').trim())
      window.shownTwice.push(live.innerText.slice(0, 40));
  }).observe(chat, {childList: true, subtree: true, characterData: true, attributes: true});
}"""


def test_a_finished_reply_never_shows_its_text_twice(chromium, app):
    """The written reply replaces the live text in one step: no state shows both, however briefly."""
    page = open_page(chromium, app.page_url, new_chat=True)
    page.evaluate(SHOWN_TWICE)
    send(page, "Write a short story about a lighthouse keeper.")
    wait_idle(page, count=1)
    expect(page.locator("#chat .chatdesk-live")).to_have_count(0)
    assert page.evaluate("() => window.shownTwice") == []


def test_enter_sends_too(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    box(page).fill("Say hello.")
    box(page).press("Enter")
    wait_idle(page, count=1)
    assert users(page).last.inner_text().strip() == "Say hello." and last_reply(page).strip()


def test_stop_ends_the_reply_keeps_it_and_offers_continue(chromium, long_app):
    page = open_page(chromium, long_app.page_url, new_chat=True)
    send(page, "Write a very long essay about the history of bread.", wait=False)
    wait_words(page)
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_idle(page)
    stopped = last_reply(page)
    time.sleep(1.5)
    assert last_reply(page) == stopped and len(stopped) > 40
    expect(option(page, "Continue")).to_be_visible()
    assert "stopped" in bots(page).last.get_attribute("data-stats")


def test_stop_answers_at_once_while_two_windows_of_one_browser_follow_the_reply(chromium, long_app):
    """A browser opens 6 connections to one address; each window following a reply holds some of them."""
    first = open_page(chromium, long_app.page_url, new_chat=True)
    send(first, "Write a long story about a lighthouse keeper.", wait=False)
    expect(first.locator("#chat .chatdesk-live")).to_be_visible()
    second = first.context.new_page()
    second.goto(long_app.page_url)  # opens on the last chat, and follows its reply
    expect(second.locator("#chat .chatdesk-live")).to_be_visible()
    first.get_by_role("button", name="Stop", exact=True).click()
    expect(first.get_by_role("button", name="Send", exact=True)).to_be_visible()  # not after the whole reply
    expect(second.get_by_role("button", name="Send", exact=True)).to_be_visible()
    expect(first.locator(".chatdesk-live")).to_have_count(0)
    expect(option(first, "Continue")).to_be_visible()


def test_escape_stops_a_reply(chromium, long_app):
    page = open_page(chromium, long_app.page_url, new_chat=True)
    message = "Describe every planet of the solar system in detail."
    send(page, message, wait=False)
    expect(users(page).last).to_have_text(message)  # the words waited for are this message's reply's
    expect(bots(page)).to_have_count(1)
    wait_words(page, 20)
    page.keyboard.press("Escape")
    wait_idle(page)
    # not a reply that ended by itself
    assert "stopped" in bots(page).last.get_attribute("data-stats"), chat_state(page)
    expect(option(page, "Continue")).to_be_visible()


def test_continue_lengthens_a_reply_cut_short(chromium, cut_app):
    page = open_page(chromium, cut_app.page_url, new_chat=True)
    send(page, "Write a long poem about the sea.")
    first = last_reply(page)
    expect(option(page, "Continue")).to_be_visible()
    option(page, "Continue").click()
    page.wait_for_function("(before) => { const b = document.querySelectorAll('#chat [data-testid=\"bot\"]');"
                           " return b[b.length - 1].innerText.length > before; }", arg=len(first), timeout=60_000)
    wait_idle(page, count=1)
    assert last_reply(page).startswith(first[:30]) and len(last_reply(page)) > len(first)


def test_retry_writes_a_different_reply(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send(page, "Invent a name for a cat.")
    replies = {last_reply(page)}
    for _ in range(3):
        settled(message_button(page, "Retry")).click()
        page.wait_for_timeout(300)
        wait_idle(page, count=1)
        replies.add(last_reply(page))
        if len(replies) > 1:
            break
    assert len(replies) > 1, "three retries gave the same reply"
    assert bots(page).count() == 1


def test_undo_removes_the_exchange_and_gives_the_text_back(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send(page, "First question.")
    send(page, "Second question.")
    message_button(page, "Undo").click()
    expect(users(page)).to_have_count(1)
    expect(box(page)).to_have_value("Second question.")
    expect(option(page, "Redo")).to_be_visible()


def test_editing_a_user_message_regenerates_from_there(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send(page, "Name a fruit.")
    send(page, "Name a colour.")
    users(page).first.hover()
    page.locator('#chat button[aria-label="Edit"]').first.click()
    editor = page.locator("#chat textarea").first
    editor.fill("Name a vegetable.")
    page.locator('#chat button[aria-label="Submit"]').first.click()
    wait_idle(page, count=1)
    expect(users(page)).to_have_count(1)
    assert users(page).first.inner_text().strip() == "Name a vegetable."


def test_editing_a_reply_replaces_its_text(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send(page, "What is the capital of France?")
    message_button(page, "Edit").click()
    edited = "Paris (edited by hand)."  # words the model's own reply may hold would pass before the edit lands
    page.locator("#chat textarea").first.fill(edited)
    page.locator('#chat button[aria-label="Submit"]').first.click()
    expect(bots(page).last).to_have_text(edited)
    bots(page).last.click()
    expect(page.locator("#details")).to_contain_text(f"Characters: {len(edited)}")
    send(page, "And of Spain?")
    assert bot_texts(page)[0].strip() == edited and last_reply(page).strip()


def test_like_dislike_and_a_reason_are_recorded(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send(page, "Tell me a fact about owls.")
    message_button(page, "Like").click()
    expect(message_button(page, "Liked")).to_be_visible()  # the button shows it is selected
    message_button(page, "Dislike").click()
    expect(message_button(page, "Disliked")).to_be_visible()
    expect(page.locator('#chat button[aria-label="Liked"]')).to_have_count(0)
    page.locator('#chat button[aria-label="Feedback"]').last.click()
    reason = page.locator("#chat .extra-feedback-option", has_text="Inaccurate").last
    reason.click()
    expect(reason).to_have_css("font-weight", "700")
    page.wait_for_timeout(500)
    bots(page).last.click()
    details = page.locator("#details")
    expect(details).to_contain_text("Feedback: Like, Dislike, Inaccurate")
    feedback = [line for line in details.inner_text().splitlines() if line.startswith("Feedback:")]
    assert feedback == ["Feedback: Like, Dislike, Inaccurate"], "each click is recorded once"


def test_copy_is_recorded_as_a_signal(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True, permissions=["clipboard-read", "clipboard-write"])
    send(page, "Give me a short motto.")
    message_button(page, "Copy message").click()
    page.wait_for_timeout(500)
    bots(page).last.click()
    expect(page.locator("#details")).to_contain_text("copy")


def test_new_chat_starts_a_new_conversation_and_the_chat_has_no_clear_button(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send(page, "My name is Ada. Remember it.")
    old_context = context_tokens(page)
    chats = page.locator("#chat-list .row-open")
    before = chats.count()
    expect(page.locator("#chat").get_by_role("button", name="Clear")).to_be_hidden()  # it deleted nothing
    page.get_by_role("button", name="New chat").click()
    expect(users(page)).to_have_count(0)
    expect(page.locator("#chat button.example")).to_have_count(3)
    expect(page.locator("#context-usage")).to_contain_text("Context: 0 /")
    send(page, "Hi again.")
    expect(users(page)).to_have_count(1)
    expect(chats).to_have_count(before + 1, timeout=10_000)
    bots(page).last.click()
    expect(page.locator("#details")).to_contain_text("Prompt tokens:")
    prompt = int(re.search(r"Prompt tokens: (\d+)", page.locator("#details").inner_text()).group(1))
    assert prompt < old_context, "the new conversation's prompt carries the old one"


def test_a_starter_example_is_sent(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    page.locator("#chat button.example").filter(has_text="haiku").click()
    wait_idle(page, count=1)
    assert users(page).first.inner_text().strip() == "Write a haiku about the sea." and last_reply(page).strip()


def test_clicking_a_reply_shows_how_it_was_made(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send(page, "Count to five.")
    bots(page).last.click()
    details = page.locator("#details")
    for fact in ("Model: SmolLM2-135M-Instruct.Q4_1", "Seed:", "Prompt tokens:", "Reply tokens:",
                 "Time to first token", "Tokens/s:", "Finished by:"):
        expect(details).to_contain_text(fact)
    assert "tok/s" in bots(page).last.get_attribute("data-stats")


def test_the_context_readout_follows_the_conversation(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    readout = page.locator("#context-usage")
    expect(readout).to_contain_text("Context: 0 / 4,096 tokens")
    send(page, "Hello!")
    page.wait_for_function("() => !document.querySelector('#context-usage').innerText.includes('Context: 0 ')")
    used = context_tokens(page)
    assert 10 < used < 4096
    send(page, "Tell me more.")
    page.wait_for_function("""(used) => {
        const match = document.querySelector('#context-usage').innerText.match(/Context: ([\\d,]+) \\//);
        return match && Number(match[1].replaceAll(',', '')) > used; }""", arg=used)
    assert used < context_tokens(page) < 4096
    page.screenshot(path=str(artifact("chat-conversation.png")))


def test_an_empty_message_is_refused_clearly(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    page.get_by_role("button", name="Send", exact=True).click()
    assert "Type a message first" in toast_text(page)
    expect(users(page)).to_have_count(0)


def test_a_huge_message_is_refused_and_kept_in_the_box(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    huge = "word " * 20_000
    box(page).fill(huge)
    page.get_by_role("button", name="Send", exact=True).click()
    assert "too long" in toast_text(page)
    expect(users(page)).to_have_count(0)
    assert box(page).input_value() == huge
    send(page, "Still there?")
    assert last_reply(page).strip()


def test_emoji_and_right_to_left_text_get_a_real_reply(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    send(page, "مرحبا 👋 שלום — how do you say hello?")
    assert "مرحبا 👋 שלום" in users(page).last.inner_text() and last_reply(page).strip()


def test_the_page_loads_nothing_from_outside_the_machine(chromium, app):
    requests = []
    page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.on("request", lambda request: requests.append(request.url))
    page.on("websocket", lambda socket: requests.append(socket.url))
    page.goto(app.page_url)
    page.wait_for_selector("#message textarea")
    expect(page.locator("#context-usage")).to_contain_text("Context")
    page.click("#new-chat")
    expect(users(page)).to_have_count(0)
    send(page, "Hello!")
    page.click("#model-panel")
    page.click("#settings-panel")
    page.wait_for_timeout(500)
    outside = [url for url in requests if not url.startswith((app.url, "data:", "blob:"))]
    assert requests and outside == []
    assert bot_texts(page)
