"""Files attached to a message: read as text (PDFs through pypdf), kept in the message's metadata, and put
into the prompt as each file's name and its text. No gradio."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from chatdesk.errors import UserError

TEXT_SUFFIXES = frozenset("""
    .txt .text .md .markdown .rst .org .log .csv .tsv .json .jsonl .ndjson .xml .yaml .yml .toml .ini .cfg .conf
    .env .properties .py .pyi .ipynb .js .mjs .cjs .jsx .ts .tsx .c .h .cc .cpp .cxx .hpp .hh .hxx .java .kt .kts
    .scala .go .rs .rb .php .pl .pm .lua .r .jl .swift .m .mm .cs .fs .vb .dart .ex .exs .erl .hs .clj .el .lisp
    .scm .sh .bash .zsh .fish .ps1 .bat .cmd .html .htm .css .scss .sass .less .vue .svelte .sql .graphql .proto
    .tex .bib .gradle .cmake .mk .dockerfile .gitignore .srt .vtt
""".split())
TEXT_NAMES = frozenset({"makefile", "dockerfile", "readme", "license", "changelog", "notice", "authors"})
PDF_SUFFIX = ".pdf"
ACCEPT = sorted(TEXT_SUFFIXES) + [PDF_SUFFIX]  # for the page's file input
MAX_FILE_BYTES = 50_000_000  # a larger file is refused before it is read
MAX_TEXT_CHARS = 2_000_000  # about 500,000 tokens: more than any model's context, and slow to count
META_KEY = "attachments"
SUPPORTED = "text files (.txt, .md, source code, .csv, .json and the like) and PDFs"


@dataclass(frozen=True)
class Attachment:
    """One attached file: its name and the text read from it."""

    name: str
    text: str

    def to_meta(self) -> dict:
        """The form kept in a message's metadata."""
        return asdict(self)


def read_attachment(path: str | Path, name: str | None = None) -> Attachment:
    """The text of the file at `path` (shown as `name`); UserError saying why when it cannot be attached."""
    path = Path(path)
    name = name or path.name
    suffix = Path(name).suffix.lower()
    if suffix != PDF_SUFFIX and suffix not in TEXT_SUFFIXES and Path(name).name.lower() not in TEXT_NAMES:
        kind = f"{suffix} files" if suffix else "files without a known extension"
        raise UserError(f"{name} was not attached: chatdesk attaches {SUPPORTED}, not {kind}.")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UserError(f"{name} was not attached: it has {size / 1e6:,.0f} MB; files up to "
                            f"{MAX_FILE_BYTES / 1e6:,.0f} MB can be attached.")
        text = _pdf_text(path, name) if suffix == PDF_SUFFIX else _plain_text(path.read_bytes(), name)
    except OSError as error:
        raise UserError(f"{name} could not be read: {error.strerror or error}.") from error
    if len(text) > MAX_TEXT_CHARS:
        raise UserError(f"{name} was not attached: it has {len(text):,} characters (about {len(text) // 4:,} "
                        f"tokens); files of up to {MAX_TEXT_CHARS:,} characters can be attached.")
    if not text.strip():
        raise UserError(f"{name} was not attached: it has no text." + (
            " (A scanned PDF holds pictures of pages, not text.)" if suffix == PDF_SUFFIX else ""))
    return Attachment(name, text)


def _plain_text(data: bytes, name: str) -> str:
    """A text file's contents: UTF-8 (or UTF-16 with its mark), else Windows' Western encoding; binary refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192]:
        raise UserError(f"{name} was not attached: it is not a text file (it holds binary data).")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding).replace("\r\n", "\n")
        except UnicodeDecodeError:
            continue
    raise UserError(f"{name} was not attached: its text is in an encoding chatdesk cannot read (save it as UTF-8).")


def _pdf_text(path: Path, name: str) -> str:
    """The text of every page of a PDF, pages separated by a blank line."""
    from pypdf import PdfReader  # only when a PDF is attached

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not _opened_without_password(reader):
            raise UserError(f"{name} was not attached: the PDF is protected by a password.")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except UserError:
        raise
    except Exception as error:  # pypdf raises many kinds of errors on a damaged file
        raise UserError(f"{name} was not attached: it could not be read as a PDF ({error}).") from error
    return "\n\n".join(page for page in pages if page)


def _opened_without_password(reader) -> bool:
    """Whether an encrypted PDF opens with the empty password (restrictions only, as many do)."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # an unsupported cipher, or one that needs the optional cryptography package
        return False


def attachments_of(meta: dict) -> list[Attachment]:
    """The files attached to a message, from its metadata (what is malformed is left out)."""
    found = meta.get(META_KEY) if isinstance(meta, dict) else None
    if not isinstance(found, list):
        return []
    return [Attachment(a["name"], a["text"]) for a in found
            if isinstance(a, dict) and isinstance(a.get("name"), str) and isinstance(a.get("text"), str)]


def file_block(attachment: Attachment) -> str:
    """One file as the model sees it: its name, then its text in a fenced block."""
    fence = "`" * max(3, _longest_backtick_run(attachment.text) + 1)
    language = Path(attachment.name).suffix.lstrip(".").lower()
    return f"File: {attachment.name}\n{fence}{language}\n{attachment.text.strip()}\n{fence}"


def with_files(text: str, attachments: list[Attachment]) -> str:
    """A user message's content as the model sees it: its files first, then what the user typed."""
    if not attachments:
        return text
    return "\n\n".join([file_block(a) for a in attachments] + ([text] if text.strip() else []))


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
