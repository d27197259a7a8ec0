"""The chat list's HTML: titles are text (never markup), the open chat is marked, hits show the matched words."""

from dataclasses import dataclass
from datetime import date, datetime

from chatdesk.store.database import SearchHit
from chatdesk.ui.chatlist import chat_list_html, highlight, hits_html, trash_html

TODAY = date(2026, 3, 10)
NOON = datetime(2026, 3, 10, 12).timestamp()


@dataclass
class Row:
    id: str
    title: str
    updated: float = NOON
    pinned: bool = False


def test_a_title_with_markup_or_template_braces_is_shown_as_text():
    page = chat_list_html([Row("c1", '<img src=x onerror="alert(1)"> {{value}} ${value} `x`')], None, TODAY)
    assert "<img" not in page and "{{" not in page and "${" not in page and "`" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert trash_html([Row("c1", "<b>x</b>")]).count("&lt;b&gt;x&lt;/b&gt;") >= 2


def test_the_open_chat_is_marked_and_every_row_has_a_named_menu_button():
    page = chat_list_html([Row("a", "Alpha"), Row("b", "Beta", NOON - 60, pinned=True)], "a", TODAY)
    assert page.count('aria-current="page"') == 1
    assert page.index("Pinned") < page.index("Beta") < page.index("Today") < page.index("Alpha")
    assert 'aria-label="Options for Alpha"' in page and 'aria-label="Options for Beta"' in page
    assert 'data-action="unpin">Unpin' in page and 'data-action="pin">Pin' in page


def test_search_hits_highlight_words_that_start_with_a_query_word():
    assert highlight("Owls hunt <at> night; an owlet", ["owl"]) == (
        "<mark>Owls</mark> hunt &lt;at&gt; night; an <mark>owlet</mark>")
    hits = [SearchHit("c1", "m1", "Birds", "Owls hunt at night")]
    assert "Found in 1 chat<" in hits_html(hits, "owl")
    assert "Nothing found" in hits_html([], "zebra")
    assert hits_html([], "  ") == ""
