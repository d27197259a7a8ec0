"""Page scripts and styles of the model and settings panels: errors under fields, the theme, the model picker."""

from __future__ import annotations

# Each refused field gets its reason under it and aria-invalid, until it is edited or the next save.
SHOW_FIELD_ERRORS = """(errors) => {
  const fields = JSON.parse(errors || '{}').fields || {};
  const clear = (block) => {
    block.querySelector(':scope > .chatdesk-field-error')?.remove();
    block.querySelectorAll('input, textarea').forEach((input) => {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    });
    block.classList.remove('chatdesk-invalid');
  };
  document.querySelectorAll('.chatdesk-invalid').forEach(clear);
  let first = null;
  for (const [id, reason] of Object.entries(fields)) {
    const block = document.getElementById(id);
    if (!block) continue;
    const note = document.createElement('p');
    note.className = 'chatdesk-field-error';
    note.id = `${id}-error`;
    note.textContent = reason;
    block.appendChild(note);
    block.classList.add('chatdesk-invalid');
    block.querySelectorAll('input, textarea').forEach((input) => {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', note.id);
      input.addEventListener('input', () => clear(block), {once: true});
    });
    first = first || block;
  }
  first?.scrollIntoView({block: 'center'});
  first?.querySelector('input, textarea')?.focus();
}"""
# System follows prefers-color-scheme (and its changes); Light and Dark stay. Gradio marks dark with body.dark.
APPLY_THEME = """(theme) => {
  const query = window.matchMedia('(prefers-color-scheme: dark)');
  window.chatdeskTheme = theme || 'system';
  const apply = () => {
    const mode = window.chatdeskTheme;
    document.body.classList.toggle('dark', mode === 'dark' || (mode === 'system' && query.matches));
    document.body.dataset.theme = mode;
  };
  if (!window.chatdeskThemeWatched) {
    window.chatdeskThemeWatched = true;
    query.addEventListener('change', () => setTimeout(apply, 0));  // after Gradio's own listener
  }
  apply();
  return theme;
}"""
# The header's model button opens the Model panel, shows it and puts focus on the picker.
OPEN_PICKER = """() => {
  const panel = document.querySelector('#model-panel');
  if (!panel) return;
  const toggle = panel.querySelector('button.label-wrap, .label-wrap');
  if (toggle && !toggle.classList.contains('open')) toggle.click();
  const started = performance.now();
  const focus = () => {
    const input = document.querySelector('#model-picker input');
    if (input && input.offsetParent !== null) {
      panel.scrollIntoView({block: 'start'});
      input.focus();
      input.setSelectionRange?.(0, 0);
      input.scrollLeft = 0;  // the model's name, not the end of its details
    } else if (performance.now() - started < 2000) requestAnimationFrame(focus);
  };
  focus();
}"""
# The model button's accessible name says what it is and what it does, kept in step with its text; the theme
# switch's group is named.
NAME_CONTROLS = """() => {
  const name = () => {
    const button = document.querySelector('#model-button');
    if (button) {
      const label = `Model: ${button.textContent.replace('▾', '').trim()} — change`;
      if (button.getAttribute('aria-label') !== label) button.setAttribute('aria-label', label);
      if (!button.hasAttribute('aria-controls')) button.setAttribute('aria-controls', 'model-panel');
    }
    const themes = document.querySelector('#theme-switch');  // drawn when the Settings panel first opens
    if (themes && themes.getAttribute('role') !== 'radiogroup') {
      themes.setAttribute('role', 'radiogroup');
      themes.setAttribute('aria-label', 'Theme');
    }
  };
  name();
  new MutationObserver(name).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""
CSS = """
.gradio-container { overflow: clip !important; }
#settings-panel { overflow: visible !important; }
#settings-panel .settings-section h3 { font-size: 0.95em; margin: 12px 0 0 0; }
#settings-save-bar { position: sticky; bottom: 0; z-index: 50; padding: 8px 0; align-items: center; flex-wrap: nowrap;
                     background: var(--block-background-fill); border-top: 1px solid var(--border-color-primary); }
#settings-note { font-size: 0.85em; }
.chatdesk-field-error { color: #b91c1c; font-size: 0.85em; margin: 4px 0 0 0; }
.dark .chatdesk-field-error { color: #fca5a5; }
.chatdesk-invalid input:not([type=range]), .chatdesk-invalid textarea { box-shadow: 0 0 0 2px #b91c1c !important; }
.dark .chatdesk-invalid input:not([type=range]), .dark .chatdesk-invalid textarea {
  box-shadow: 0 0 0 2px #fca5a5 !important; }
#model-picker input { text-overflow: ellipsis; }
#model-picker ul.options li { white-space: normal; }
#title { flex-wrap: nowrap; align-items: center; gap: 12px; }
#app-name { flex: 0 0 auto !important; width: auto !important; min-width: 0 !important; }
#model-button { flex: 0 1 auto !important; width: auto !important; min-width: 0 !important; max-width: 100%;
                font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; display: block; }
"""
