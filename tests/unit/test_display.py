"""Reasoning folded away, and the speed line under each reply."""

import pytest

from chatdesk.core.conversation import Conversation, Message
from chatdesk.core.reasoning import answer_only, split_reasoning
from chatdesk.ui.display import from_display, speed_line, to_display
from chatdesk.engine.generation import Stats


@pytest.mark.parametrize("text, reasoning, answer", [
    ("Just an answer.", None, "Just an answer."),
    ("<think>\nThe user wants X.\n</think>\n\nX it is.", "The user wants X.", "X it is."),
    ("<think>Still weighing", "Still weighing", ""),
    ("Quoting <think> mid-text is not reasoning.", None, "Quoting <think> mid-text is not reasoning."),
])
def test_reasoning_is_told_apart_from_the_answer(text, reasoning, answer):
    assert split_reasoning(text) == (reasoning, answer)


def test_reasoning_is_shown_folded_and_edits_come_back_whole():
    stored = "<think>\nCount the letters.\n</think>\n\nThere are three."
    shown = to_display(stored)
    assert shown.startswith('<details class="reasoning"><summary>Reasoning</summary>') and " open" not in shown
    assert shown.endswith("There are three.")
    assert split_reasoning(from_display(shown.replace("three", "3"))) == ("Count the letters.", "There are 3.")
    assert from_display("plain text") == "plain text"


def test_later_turns_see_the_answer_without_the_reasoning():
    conversation = Conversation("c", messages=[
        Message("user", "Hi"), Message("assistant", "<think>greet</think>Hello!"), Message("user", "Bye")])
    assert [t["content"] for t in conversation.prompt()] == ["Hi", "Hello!", "Bye"]
    assert answer_only("<think>x</think>y") == "y"


def test_the_speed_line_reads_well():
    stats = Stats("m", 1, 10, 42, 0.25, 55.31, 1.0, "length", 0)
    assert speed_line(stats) == "55.3 tok/s · 0.25 s to first token · 42 tokens · hit the length limit"
    assert speed_line(None) == ""
    one = Stats("m", 1, 10, 1, 0.25, None, 0.3, "stop", 0)
    assert speed_line(one) == "0.25 s to first token · 1 token"
