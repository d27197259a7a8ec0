"""Images and media from outside the app, shown as text instead: the page loads nothing from elsewhere.

A message (typed, written by the model, imported) may hold `![alt](http://…)` or `<img src=…>`; loading it
would tell another server that the chat was read, and its address could carry the chat's words. The
page's Content-Security-Policy blocks such loads; this shows a visible placeholder where they were.
Only the display changes: the stored text keeps the original, and edits put it back.
"""

from __future__ import annotations

import re
from functools import lru_cache

SHOWN = "[external {kind} not shown{alt}]"
_ALT = r"((?:[^\[\]\\]|\\.|\[[^\]]*\])*)"
_TITLE = r"""(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?"""
MARKDOWN_IMAGE = re.compile(r"!\[" + _ALT + r"\]\(\s*(<[^>\n]*>|[^\s)]+)" + _TITLE + r"\s*\)")
REFERENCE_IMAGE = re.compile(r"!\[" + _ALT + r"\]\[([^\]]*)\]")
DEFINITION = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*(\S+)", re.M)
TAG = re.compile(r"<(img|image|picture|input|iframe|frame|audio|video|source|track|embed|object|link)\b([^>]*)>", re.I)
ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""")
ADDRESS_ATTRIBUTES = {"src", "srcset", "poster", "data", "href", "xlink:href", "background"}
KINDS = {"img": "image", "image": "image", "picture": "image", "input": "image", "iframe": "page", "frame": "page",
         "audio": "audio", "video": "video", "source": "media", "track": "media", "embed": "object",
         "object": "object", "link": "file"}
CODE = re.compile(r"(```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]+`)", re.S)


def is_local(address: str) -> bool:
    """Whether an address stays inside the app (a path on it) or inside the page (data:, blob:)."""
    address = address.strip().strip("<>\"'").strip().lower()
    if address.startswith(("data:", "blob:")):
        return True
    return not (":" in address or "&" in address or "\\" in address or address.startswith("//"))


@lru_cache(maxsize=512)  # the whole chat is converted at every streamed update; only the last message changes
def hide_external(text: str) -> str:
    """`text` with every image or media element from outside the app replaced by a visible placeholder."""
    return "".join(shown for shown, _ in _pieces(text))


def restore_hidden(edited: str, original: str) -> str:
    """An edit of shown text with the placeholders taken from `original` put back as they were stored."""
    for shown, stored in _pieces(original):
        if shown != stored and shown in edited:
            edited = edited.replace(shown, stored, 1)
    return edited


def _pieces(text: str) -> list[tuple[str, str]]:
    """(shown, stored) pieces of `text`; code is shown as written."""
    pieces, labels = [], _external_labels(text)
    for index, part in enumerate(CODE.split(text)):
        pieces += [(part, part)] if index % 2 else _hide_in_prose(part, labels)
    return pieces


def _external_labels(text: str) -> set[str]:
    return {label.lower() for label, address in DEFINITION.findall(text) if not is_local(address)}


def _hide_in_prose(text: str, external_labels: set[str]) -> list[tuple[str, str]]:
    """Markdown images and HTML media tags whose address leads outside, each as its own piece."""
    found = []
    for match in MARKDOWN_IMAGE.finditer(text):
        if not is_local(match.group(2)):
            found.append((match.start(), match.end(), _placeholder("image", match.group(1))))
    for match in REFERENCE_IMAGE.finditer(text):
        if (match.group(2) or match.group(1)).lower() in external_labels:
            found.append((match.start(), match.end(), _placeholder("image", match.group(1))))
    for match in TAG.finditer(text):
        attributes = {name.lower(): value.strip("\"'") for name, value in ATTRIBUTE.findall(match.group(2))}
        if any(not _addresses_local(value) for name, value in attributes.items() if name in ADDRESS_ATTRIBUTES):
            found.append((match.start(), match.end(), _placeholder(KINDS[match.group(1).lower()], attributes.get("alt", ""))))
    return _split(text, sorted(found))


def _addresses_local(value: str) -> bool:
    """Every address in an attribute (srcset holds several, each followed by its size)."""
    return all(is_local(candidate.split()[0]) for candidate in value.split(",") if candidate.strip())


def _placeholder(kind: str, alt: str) -> str:
    alt = re.sub(r"[\[\]<>]", "", alt).strip()
    return SHOWN.format(kind=kind, alt=f": {alt}" if alt else "")


def _split(text: str, found: list[tuple[int, int, str]]) -> list[tuple[str, str]]:
    pieces, at = [], 0
    for start, end, shown in found:
        if start < at:
            continue  # inside one already hidden
        pieces += [(text[at:start], text[at:start]), (shown, text[start:end])]
        at = end
    return [*pieces, (text[at:], text[at:])]
