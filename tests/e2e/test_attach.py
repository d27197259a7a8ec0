"""Attaching files in real Chromium: the real file input, the chips, the readout, the reply, dropping, refusals."""

import re

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.e2e.chatpage import box, context_tokens, open_page, toast_text, users, wait_idle
from tests.e2e.conftest import artifact
from tests.unit.pdfs import text_pdf


def attach_input(page):
    return page.get_by_label("Attach files")


def chips(page):
    return page.locator("#attachments .attachment-chip")


def test_a_text_file_and_a_pdf_show_as_chips_count_in_the_readout_and_reach_the_model(chromium, app, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("The secret word is PELICAN. " * 20)
    report = text_pdf(tmp_path / "report.pdf", ["The meeting is on Thursday at noon in room 12."])
    page = open_page(chromium, app.page_url, new_chat=True)
    expect(page.get_by_role("button", name="Attach files")).to_be_visible()
    before = context_tokens(page)
    attach_input(page).set_input_files([str(notes), str(report)])
    expect(chips(page)).to_have_count(2)
    expect(chips(page).first).to_contain_text("notes.txt")
    expect(chips(page).last).to_contain_text("report.pdf")
    expect(page.locator("#context-usage")).to_contain_text("with this message and 2 files")
    pending = context_tokens(page)
    assert pending > before + 20 * 5, f"the readout did not count the files: {before} -> {pending}"
    page.screenshot(path=str(artifact("attach-pending.png")))

    box(page).fill("What is the secret word?")
    page.get_by_role("button", name="Send").click()
    wait_idle(page, count=1)
    sent = users(page).last
    expect(sent.locator(".attachment-chip")).to_have_text(["notes.txt", "report.pdf"])
    expect(sent).to_contain_text("What is the secret word?")
    expect(sent).not_to_contain_text("PELICAN")  # the file's text goes to the model, not on screen
    expect(chips(page)).to_have_count(0)
    expect(page.locator("#context-usage")).not_to_contain_text("files")
    assert page.locator('#chat [data-testid="bot"]').last.inner_text().strip()
    # the reply was written to a prompt holding the files: the chat now takes at least what the readout said
    try:
        page.wait_for_function("(least) => { const m = document.querySelector('#context-usage').innerText"
                               ".match(/Context: ([\\d,]+)/); return m && +m[1].replace(/,/g, '') >= least; }",
                               arg=pending)
    except PlaywrightTimeout:
        raise AssertionError(f"the readout says {page.locator('#context-usage').inner_text()!r}, not at least "
                             f"{pending} tokens") from None
    page.screenshot(path=str(artifact("attach-sent.png")))


def test_a_file_attached_while_a_reply_is_written_still_counts_in_the_readout_when_it_ends(chromium, app, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("The secret word is PELICAN. " * 20)
    page = open_page(chromium, app.page_url, new_chat=True)
    box(page).fill("Write a long story about a lighthouse keeper.")
    page.get_by_role("button", name="Send").click()
    stop = page.get_by_role("button", name="Stop", exact=True)
    expect(stop).to_be_visible()
    attach_input(page).set_input_files(str(notes))
    expect(chips(page)).to_have_count(1)
    expect(stop).to_be_visible()  # attached before the reply's end
    wait_idle(page, count=1)
    expect(page.locator("#context-usage")).to_contain_text("with this message and 1 file")


def test_a_file_can_be_removed_before_sending(chromium, app, tmp_path):
    (tmp_path / "a.md").write_text("# A\n\nFirst file.")
    (tmp_path / "b.py").write_text("print('second file')\n")
    page = open_page(chromium, app.page_url, new_chat=True)
    before = context_tokens(page)
    attach_input(page).set_input_files([str(tmp_path / "a.md"), str(tmp_path / "b.py")])
    expect(chips(page)).to_have_count(2)
    page.get_by_role("button", name="Remove a.md").click()
    expect(chips(page)).to_have_text([re.compile(r"^b\.py")])
    page.get_by_role("button", name="Remove b.py").click()
    expect(chips(page)).to_have_count(0)
    expect(page.locator("#context-usage")).to_have_text(re.compile(rf"Context: {before:,} / [\d,]+ tokens\s*$"))


def test_a_file_too_big_for_the_context_says_how_much_fits_and_the_typed_text_stays(chromium, app, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("lorem ipsum dolor sit amet " * 2000)
    page = open_page(chromium, app.page_url, new_chat=True)
    box(page).fill("Summarise this")
    attach_input(page).set_input_files(str(big))
    assert re.search(r"big\.txt has [\d,]+ tokens; this chat has room for [\d,]+", toast_text(page))
    expect(chips(page)).to_have_count(0)
    expect(box(page)).to_have_value("Summarise this")


def test_a_file_that_is_not_text_is_refused_with_the_reason(chromium, app, tmp_path):
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    page = open_page(chromium, app.page_url, new_chat=True)
    box(page).fill("Look at this")
    attach_input(page).set_input_files(str(tmp_path / "photo.png"))
    assert "photo.png was not attached" in toast_text(page)
    expect(chips(page)).to_have_count(0)
    expect(box(page)).to_have_value("Look at this")


def test_a_file_dropped_on_the_message_box_is_attached(chromium, app):
    page = open_page(chromium, app.page_url, new_chat=True)
    page.evaluate("""() => {
        const files = new DataTransfer();
        files.items.add(new File(['x = 1\\n'], 'dropped.py', {type: 'text/x-python'}));
        const target = document.querySelector('#message textarea');
        for (const kind of ['dragover', 'drop'])
            target.dispatchEvent(new DragEvent(kind, {dataTransfer: files, bubbles: true, cancelable: true}));
    }""")
    expect(chips(page)).to_have_text([re.compile(r"^dropped\.py")])


def test_editing_a_message_with_files_shows_its_text_only_and_keeps_the_files(chromium, app, tmp_path):
    (tmp_path / "list.csv").write_text("fruit,colour\napple,red\n")
    page = open_page(chromium, app.page_url, new_chat=True)
    attach_input(page).set_input_files(str(tmp_path / "list.csv"))
    expect(chips(page)).to_have_count(1)
    box(page).fill("Name a fruit from the list.")
    page.get_by_role("button", name="Send").click()
    wait_idle(page, count=1)
    users(page).first.hover()
    page.locator('#chat button[aria-label="Edit"]').first.click()
    editor = page.locator("#chat textarea").first
    expect(editor).to_have_value("Name a fruit from the list.")
    editor.fill("Name a colour from the list.")
    page.locator('#chat button[aria-label="Submit"]').first.click()
    wait_idle(page, count=1)
    expect(users(page).first).to_contain_text("Name a colour from the list.")
    expect(users(page).first.locator(".attachment-chip")).to_have_text(["list.csv"])
    page.reload()  # the chat reopens from the history with its files
    page.wait_for_selector("#message textarea")
    expect(users(page).first.locator(".attachment-chip")).to_have_text(["list.csv"])
