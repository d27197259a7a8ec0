"""The programmatic API through gradio_client, against the launched app; the page shows what it did."""

from playwright.sync_api import expect

from tests.e2e.chatpage import open_page, users


def test_chat_streams_a_growing_reply(app):
    job = app.client().submit("Write a long story about a lighthouse keeper.", api_name="/chat")
    partials = list(job)
    assert partials and partials[-1].strip(), partials
    assert len(set(partials)) >= 3, f"the reply came whole, not streamed: {partials}"
    assert all(later.startswith(earlier) for earlier, later in zip(partials, partials[1:])), partials
    assert job.outputs()[-1] == partials[-1]


def test_a_new_conversation_takes_a_follow_up(app, chromium):
    client = app.client()
    conversation = client.predict(api_name="/new_conversation")
    assert isinstance(conversation, str) and conversation
    assert client.predict("My name is Ada, I keep bees.", conversation, api_name="/chat").strip()
    assert client.predict("What do I keep?", conversation, api_name="/chat").strip()

    page = open_page(chromium, app.page_url)  # both messages went into one conversation, shown in the history
    page.locator("#chat-list .row-open", has_text="Ada").first.click()
    expect(users(page)).to_have_count(2)
    expect(users(page).last).to_contain_text("What do I keep?")
    page.context.close()
