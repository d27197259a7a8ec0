"""Reading attached files (text, source code, CSV, JSON, PDF) and putting them into the prompt."""

import pytest

from chatdesk.core.attachments import Attachment, attachments_of, read_attachment, with_files
from chatdesk.errors import UserError
from tests.unit.pdfs import encrypted_pdf, text_pdf


@pytest.mark.parametrize("name, data, text", [
    ("notes.txt", "Buy milk.\r\nCall Ann.\n".encode(), "Buy milk.\nCall Ann.\n"),
    ("README.md", "# Title\n\nSome *text*.".encode(), "# Title\n\nSome *text*."),
    ("main.py", b"def f():\n    return 1\n", "def f():\n    return 1\n"),
    ("lib.rs", "fn main() { println!(\"hé\"); }".encode(), "fn main() { println!(\"hé\"); }"),
    ("table.csv", b"name,age\nAnn,31\n", "name,age\nAnn,31\n"),
    ("data.json", b'{"a": [1, 2]}', '{"a": [1, 2]}'),
    ("Makefile", b"all:\n\techo hi\n", "all:\n\techo hi\n"),
    ("bom.txt", "\ufeffwith a mark".encode("utf-8"), "with a mark"),
    ("windows.txt", "caf\xe9 na\xefve".encode("cp1252"), "café naïve"),
    ("wide.txt", "UTF-16 text".encode("utf-16"), "UTF-16 text"),
])
def test_text_files_are_read_as_their_text(tmp_path, name, data, text):
    (tmp_path / name).write_bytes(data)
    assert read_attachment(tmp_path / name) == Attachment(name, text)


def test_the_name_shown_can_differ_from_the_file_on_disk(tmp_path):
    (tmp_path / "upload-123").write_bytes(b"hello")
    assert read_attachment(tmp_path / "upload-123", "greeting.txt").name == "greeting.txt"


def test_a_pdf_is_read_page_by_page(tmp_path):
    pdf = text_pdf(tmp_path / "report.pdf", ["Quarterly sales rose.", "Costs fell."])
    assert read_attachment(pdf) == Attachment("report.pdf", "Quarterly sales rose.\n\nCosts fell.")


def test_a_pdf_locked_only_against_changes_opens(tmp_path):
    pdf = encrypted_pdf(tmp_path / "open.pdf", text_pdf(tmp_path / "plain.pdf", ["Readable."]), password="")
    assert read_attachment(pdf).text == "Readable."


@pytest.mark.parametrize("name, make, says", [
    ("photo.png", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00"), "not .png files"),
    ("archive", lambda p: p.write_bytes(b"PK\x03\x04"), "not files without a known extension"),
    ("blob.txt", lambda p: p.write_bytes(b"abc\x00\x01\x02def"), "not a text file"),
    ("empty.md", lambda p: p.write_bytes(b"  \n"), "it has no text"),
    ("broken.pdf", lambda p: p.write_bytes(b"%PDF-1.4\nthis is not really a pdf"), "could not be read as a PDF"),
    ("scan.pdf", lambda p: text_pdf(p, [""]), "A scanned PDF holds pictures"),
    ("locked.pdf", lambda p: encrypted_pdf(p, text_pdf(p.with_name("x.pdf"), ["Secret."])), "protected by a password"),
])
def test_what_cannot_be_attached_is_refused_with_the_reason(tmp_path, name, make, says):
    make(tmp_path / name)
    with pytest.raises(UserError, match=name.replace(".", r"\.")) as refused:
        read_attachment(tmp_path / name)
    assert says in str(refused.value)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(UserError, match="gone.txt could not be read"):
        read_attachment(tmp_path / "gone.txt")


def test_files_go_into_the_prompt_as_name_and_text_before_the_message():
    files = [Attachment("a.py", "print(1)\n"), Attachment("b.md", "Has ``` inside")]
    assert with_files("What do these do?", files) == (
        "File: a.py\n```py\nprint(1)\n```\n\n"
        "File: b.md\n````md\nHas ``` inside\n````\n\n"
        "What do these do?")


def test_a_message_without_files_or_without_text():
    assert with_files("Hi", []) == "Hi"
    assert with_files("", [Attachment("a.txt", "x")]) == "File: a.txt\n```txt\nx\n```"


def test_attachments_are_kept_in_and_read_back_from_metadata():
    files = [Attachment("a.txt", "one"), Attachment("b.txt", "two")]
    assert attachments_of({"attachments": [f.to_meta() for f in files]}) == files
    assert attachments_of({}) == [] and attachments_of({"attachments": [{"name": 1}]}) == []


def test_a_text_too_long_to_count_is_refused_with_its_size(tmp_path, monkeypatch):
    monkeypatch.setattr("chatdesk.core.attachments.MAX_TEXT_CHARS", 100)
    (tmp_path / "long.txt").write_text("x" * 400)
    with pytest.raises(UserError, match=r"^long\.txt was not attached: it has 400 characters \(about 100 tokens\)"):
        read_attachment(tmp_path / "long.txt")
