"""Images and media from outside the app are shown as placeholders; the stored text stays as it was."""

import pytest

from chatdesk.core.conversation import Conversation, Message
from chatdesk.ui.chatview import to_chatbot
from chatdesk.ui.external import hide_external, restore_hidden


@pytest.mark.parametrize("text, shown", [
    ("a ![a cat](http://127.0.0.1:9/cat.png) b", "a [external image not shown: a cat] b"),
    ('![t](https://x.example/y.png "title")', "[external image not shown: t]"),
    ("![](<//x.example/y.png>)", "[external image not shown]"),
    ('<img src="http://x.example/p.png" alt="pic">', "[external image not shown: pic]"),
    ("<IMG SRC=https://x.example/p.png>", "[external image not shown]"),
    ('<img srcset="/a.png 1x, http://x.example/b.png 2x">', "[external image not shown]"),
    ('<img src="&#104;ttp://x.example/p.png">', "[external image not shown]"),  # entities count as outside
    ("<iframe src='http://x.example/'></iframe>", "[external page not shown]</iframe>"),
    ("<audio src=http://x.example/a.mp3></audio>", "[external audio not shown]</audio>"),
    ('<video poster="http://x.example/p.png"></video>', "[external video not shown]</video>"),
    ('<video><source src="http://x.example/v.mp4"></video>', "<video>[external media not shown]</video>"),
    ('<object data="http://x.example/o.swf"></object>', "[external object not shown]</object>"),
    ("![r][logo]\n\n[logo]: http://x.example/l.png", "[external image not shown: r]\n\n[logo]: http://x.example/l.png"),
])
def test_images_and_media_from_elsewhere_become_placeholders(text, shown):
    assert hide_external(text) == shown
    assert restore_hidden(shown, text) == text


@pytest.mark.parametrize("text", [
    "![uploaded](/gradio_api/file=/tmp/a.png)",
    "![inline](data:image/png;base64,iVBORw0KGgo=)",
    "<img src='images/a.png'>",
    "A [link](http://x.example/) is only followed when clicked.",
    "```markdown\n![an example](http://x.example/y.png)\n```",
    "Write `![alt](http://x.example/y.png)` for an image.",
    "plain text with no images",
])
def test_what_stays_inside_the_app_or_is_code_is_shown_as_written(text):
    assert hide_external(text) == text


def test_user_messages_and_replies_show_placeholders_and_keep_their_stored_text():
    stored_user = "What is this? ![cat](http://x.example/cat.png)"
    stored_reply = '<think>look</think>It is <img src="http://x.example/dog.png" alt="a dog">.'
    conversation = Conversation("c", messages=[Message("user", stored_user), Message("assistant", stored_reply)])
    user, reply = (item["content"] for item in to_chatbot(conversation))
    assert user == "What is this? [external image not shown: cat]"
    assert "[external image not shown: a dog]" in reply and "http://" not in reply
    assert [m.content for m in conversation.messages] == [stored_user, stored_reply]


def test_an_edit_keeps_the_images_it_did_not_touch():
    stored = "See ![one](http://x.example/1.png) and ![two](http://x.example/2.png)."
    edited = hide_external(stored).replace("See", "Look at")
    assert restore_hidden(edited, stored) == "Look at ![one](http://x.example/1.png) and ![two](http://x.example/2.png)."
