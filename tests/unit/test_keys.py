"""The shortcut table the page script is built from: every control it names has a selector, none clash."""

import json

from chatdesk.ui.keys import LABELS, SHORTCUTS, TARGETS, keys_js
from chatdesk.ui.look import PAGE_JS


def test_every_shortcut_names_a_known_control_and_keys_are_not_shared():
    assert all(target is None or target in TARGETS for _keys, _action, target in SHORTCUTS)
    keys = [combo for combo, _action, _target in SHORTCUTS]
    assert len(keys) == len(set(keys))


def test_the_page_script_carries_the_table_the_names_and_the_selectors():
    script = keys_js()
    for table in (SHORTCUTS, TARGETS, LABELS):
        assert json.dumps(table) in script
    assert script in PAGE_JS
