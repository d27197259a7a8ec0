"""Take the README's screenshots: `.venv/bin/python build/screenshots.py [OUT_DIR]` (default docs/screenshots).

It fills a fresh history with a dozen chats over the last months (one pinned) and a long chat with lists and
code, starts chatdesk on the default model, and photographs the window in Chromium at 1280×800 and
1920×1080, light and dark.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from chatdesk.store.database import Store  # noqa: E402
from tests.apprunner import RunningApp  # noqa: E402
from tests.e2e.long_chat import seed_long_chat  # noqa: E402

TITLES = ("Plan a weekend in Lisbon", "Explain Python decorators", "Draft an email to the landlord",
          "Summarize the meeting notes", "A regular expression for dates", "Ideas for a birthday party",
          "Why does my SQL join repeat rows?", "Translate a paragraph into French", "Bread with less salt",
          "Compare two laptops for travel", "Make a packing list for camping")
SIZES = ((1280, 800), (1920, 1080))


def seed(database: Path) -> None:
    """A pinned chat, a dozen chats spread over the last months, and the long chat, opened."""
    store = Store(database)
    try:
        pinned = _chat(store, "Project notes: what is left to do", age_hours=24 * 40)
        store.set_pinned(pinned, True)
        for n, title in enumerate(TITLES):
            _chat(store, title, age_hours=2 + n * n * 9)
    finally:
        store.close()
    seed_long_chat(database, 20)


def _chat(store: Store, text: str, age_hours: float) -> str:
    conversation = store.create_conversation()
    user = store.add_message(conversation.id, None, "user", text)
    reply = store.add_message(conversation.id, user.id, "assistant", "Here is what I would do.")
    store._run("UPDATE conversations SET updated = ? WHERE id = ?", (time.time() - age_hours * 3600, conversation.id))
    store.set_leaf(conversation.id, reply.id, touch=False)
    return conversation.id


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="chatdesk-shots-"))
    seed(home / "data" / "chatdesk.db")
    app = RunningApp(home)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            for width, height in SIZES:
                for scheme in ("light", "dark"):
                    page = browser.new_context(viewport={"width": width, "height": height},
                                               color_scheme=scheme).new_page()
                    page.goto(app.page_url)
                    page.wait_for_selector("#chat [data-testid='bot']")
                    page.wait_for_timeout(1500)
                    page.screenshot(path=str(out / f"chatdesk-{width}x{height}-{scheme}.png"))
                    page.context.close()
            browser.close()
    finally:
        app.stop()
        shutil.rmtree(home, ignore_errors=True)
    print(f"screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
