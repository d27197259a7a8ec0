"""Accessibility kept generic: contrast at WCAG AA, a visible focus ring, and the ARIA the page script sets.

ACCESS_JS runs inside look.PAGE_JS: after every redraw it names disclosures' state (aria-expanded), gives the
page its h1, and fixes lists whose items are buttons (the busy chat log and its status line are ui/busy.py's).
CSS rules and theme values, not per-control edits, so that they hold for controls added later.
"""

from __future__ import annotations

import gradio as gr

# The Soft theme's indigo-500 text on indigo-100 (labels, the selected chat) is 3.6:1, and white on
# indigo-500 (Send) 4.46:1; AA wants 4.5:1. Indigo-700 on indigo-100 is 6.9:1, white on indigo-600 6.3:1.
READABLE = {
    "block_label_text_color": "*primary_700",
    "block_title_text_color": "*primary_700",
    "button_primary_background_fill": "*primary_600",
    "button_primary_background_fill_hover": "*primary_700",
    "button_primary_background_fill_dark": "*primary_600",
    "button_primary_background_fill_hover_dark": "*primary_700",
    "checkbox_label_background_fill_selected": "*primary_600",
    "body_text_color_subdued": "*neutral_600",  # the sliders' min and max: neutral-400 on white is 2.5:1
    "body_text_color_subdued_dark": "*neutral_300",  # an empty dropdown: neutral-400 on neutral-700 is 4.0:1
}

ACCESS_JS = r"""
  window.chatdeskDecorateAccess = () => {
    // Disclosures say whether they are open.
    document.querySelectorAll("button.label-wrap").forEach((button) => {
      const open = String(button.classList.contains("open"));
      if (button.getAttribute("aria-expanded") !== open) button.setAttribute("aria-expanded", open);
    });
    // A role=list holds list items only: a row of buttons (the Chatbot's suggestions) is a group.
    document.querySelectorAll('[role="list"]').forEach((list) => {
      if ([...list.children].some((child) => child.getAttribute("role") !== "listitem")) {
        list.setAttribute("role", "group");
        if (list.matches("#chat .examples")) list.setAttribute("aria-label", "Suggestions");
      }
    });
    // The page's heading: the app's name, for those who navigate by headings.
    if (!document.querySelector('h1, [role="heading"][aria-level="1"]')) {
      const heading = document.createElement("h1");
      heading.className = "sr-only chatdesk-heading";
      heading.textContent = "chatdesk";
      (document.querySelector("main") || document.querySelector(".gradio-container") || document.body)
        .prepend(heading);
    }
  };
"""

ACCESS_CSS = """
:is(button, input, textarea, select, summary, a, [tabindex], div, nav, ul):focus-visible {
  outline: 2px solid #1d4ed8 !important; outline-offset: 2px !important; }
.dark :is(button, input, textarea, select, summary, a, [tabindex], div, nav, ul):focus-visible { outline-color: #93c5fd !important; }
.chatdesk-heading.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0; }
"""


def readable(theme: gr.themes.Base) -> gr.themes.Base:
    """`theme` with its low-contrast colours raised to WCAG AA."""
    return theme.set(**READABLE)
