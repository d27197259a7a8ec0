"""The loading page every window shows first, and the app icon."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from chatdesk import paths

LOADING_TITLE = "chatdesk (starting)"

LOADING_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="{icon}">
<style>
  html, body {{ height: 100%; margin: 0; }}
  body {{ display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 20px;
         font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #374151; background: #f9fafb; }}
  img {{ width: 96px; height: 96px; }}
  @media (prefers-color-scheme: dark) {{ body {{ color: #e5e7eb; background: #111827; }} }}
</style></head>
<body><img src="{icon}" alt=""><div>Loading chatdesk…</div>
<script>
  const target = {target};
  async function poll() {{
    try {{ await fetch(target, {{mode: "no-cors", cache: "no-store"}}); location.replace(target); }}
    catch (error) {{ setTimeout(poll, 100); }}
  }}
  poll();
</script></body></html>
"""


def loading_html(url: str) -> str:
    """A page that says chatdesk is loading and opens `url` as soon as it answers."""
    icon = "data:image/png;base64," + base64.b64encode(paths.icon_file().read_bytes()).decode("ascii")
    return LOADING_PAGE.format(title=html.escape(LOADING_TITLE), icon=icon, target=json.dumps(url))


def write_loading_page(url: str) -> Path:
    """The loading page for `url`, written under the cache dir."""
    page = paths.cache_dir() / "loading.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(loading_html(url), encoding="utf-8")
    return page
