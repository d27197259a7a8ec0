"""The Settings panel: sections of fields, errors shown under the field they concern, presets, the theme."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace

import gradio as gr

from chatdesk.config import CUSTOM, Settings
from chatdesk.core.host import ModelHost
from chatdesk.errors import InvalidSettings, UserError
from chatdesk.ui.kit import refuse
from chatdesk.ui.panel_look import APPLY_THEME, SHOW_FIELD_ERRORS

NUMBERS = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens",
           "context_length", "threads", "gpu_layers", "disk_cache_mb")
INTEGERS = {"top_k", "max_tokens", "context_length", "threads", "gpu_layers", "disk_cache_mb"}
THEMES = (("System", "system"), ("Light", "light"), ("Dark", "dark"))
FIELD_IDS = {name: f"setting-{name.replace('_', '-')}" for name in NUMBERS} | {
    "max_tokens": "max-tokens", "context_length": "context-length", "disk_cache_mb": "disk-cache",
    "system_prompt": "system-prompt", "theme": "theme-switch"}


@dataclass
class Form:
    """The Settings panel's components, for wiring."""

    preset: gr.Dropdown
    preset_name: gr.Textbox
    save_preset: gr.Button
    system_prompt: gr.Textbox
    numbers: dict
    theme: gr.Radio
    save: gr.Button
    note: gr.Markdown
    errors: gr.Textbox


def build_form(host: ModelHost) -> Form:
    """Lay out the Settings panel (inside the caller's column), Save kept in view at its bottom."""
    s = host.settings
    with gr.Accordion("Settings", open=False, elem_id="settings-panel"):
        preset = gr.Dropdown(choices=preset_choices(host), value=host.matching_preset(), label="Preset",
                             info="Fills in the fields; Save uses them.", elem_id="preset")
        gr.Markdown("### Sampling", elem_classes=["settings-section"])
        numbers = {
            "temperature": gr.Slider(0, 2, s.temperature, step=0.05, label="Temperature"),
            "top_p": gr.Slider(0, 1, s.top_p, step=0.01, label="Top-p"),
            "top_k": gr.Slider(0, 200, s.top_k, step=1, label="Top-k"),
            "min_p": gr.Slider(0, 1, s.min_p, step=0.01, label="Min-p"),
            "repeat_penalty": gr.Slider(0.5, 2, s.repeat_penalty, step=0.01, label="Repeat penalty"),
        }
        gr.Markdown("### Reply length and context", elem_classes=["settings-section"])
        numbers["max_tokens"] = gr.Number(s.max_tokens, label="Max reply tokens", precision=0)
        numbers["context_length"] = gr.Number(s.context_length, label="Context length", precision=0)
        gr.Markdown("### Performance", elem_classes=["settings-section"])
        numbers["threads"] = gr.Number(s.threads, label="Threads (0: automatic)", precision=0)
        numbers["gpu_layers"] = gr.Number(s.gpu_layers, label="GPU layers (-1: all)", precision=0)
        numbers["disk_cache_mb"] = gr.Number(s.disk_cache_mb, label="Prompt cache on disk, MB (0: none)",
                                             precision=0)
        for name, component in numbers.items():
            component.elem_id = FIELD_IDS[name]
        gr.Markdown("### System prompt", elem_classes=["settings-section"])
        system_prompt = gr.Textbox(s.system_prompt, label="System prompt for new chats", lines=2,
                                   elem_id="system-prompt")
        gr.Markdown("### Appearance", elem_classes=["settings-section"])
        theme = gr.Radio(THEMES, value=s.theme, label="Theme", elem_id="theme-switch",
                         info="System follows the computer's light or dark mode.")
        with gr.Row():
            preset_name = gr.Textbox(show_label=False, placeholder="New preset name", max_lines=1, scale=2)
            save_preset = gr.Button("Save as preset", size="sm", scale=1, elem_id="save-preset")
        with gr.Row(elem_id="settings-save-bar"):
            save = gr.Button("Save settings", variant="primary", size="sm", scale=0, min_width=120,
                             elem_id="save-settings")
            note = gr.Markdown("", elem_id="settings-note")
        errors = gr.Textbox("", visible="hidden", elem_id="settings-errors")
    return Form(preset, preset_name, save_preset, system_prompt, numbers, theme, save, note, errors)


def preset_choices(host: ModelHost) -> list[str]:
    """Every preset, then "Custom" for settings that match none."""
    return [*host.presets(), CUSTOM]


def field_errors(fields: dict[str, str]) -> str:
    """The reasons keyed by field element, for the page to show under each field (stamped: shown again on every
    save)."""
    return json.dumps({"at": time.time(), "fields": {FIELD_IDS.get(k, k): v for k, v in fields.items()}})


class FormHandlers:
    """What the Settings panel's controls do; `switch` applies settings as the Model panel does."""

    def __init__(self, host: ModelHost, switch):
        self.host = host
        self.switch = switch

    def save(self, system_prompt: str, *numbers):
        """Check and use the fields; a refused field is marked with its reason and nothing changes."""
        try:
            reloading = self.host.apply_settings(self.entered(system_prompt, numbers))
        except InvalidSettings as error:
            count = len(error.fields)
            gr.Warning(f"{count} setting{'s' if count > 1 else ''} could not be saved: {error}")
            note = "Not saved: see the marked fields."
            yield gr.skip(), gr.skip(), gr.skip(), field_errors(error.fields), gr.skip(), note
            return
        except UserError as error:
            yield refuse(str(error), outputs=6)
            return
        yield gr.skip(), gr.skip(), gr.skip(), field_errors({}), self.host.matching_preset(), gr.skip()
        for status, *shown in self.switch(lambda: reloading, saved=True):
            yield status, *shown, gr.skip(), gr.skip(), status

    def entered(self, system_prompt: str, numbers) -> Settings:
        """The settings as the panel's fields have them."""
        values = {name: int(v) if name in INTEGERS and v is not None else v for name, v in zip(NUMBERS, numbers)}
        return replace(self.host.settings, system_prompt=system_prompt, **values)

    def apply_preset(self, name: str | None):
        if not name or name == CUSTOM:
            return (gr.skip(),) * (len(NUMBERS) + 1)
        try:
            chosen = self.host.preset(name)
        except UserError as error:
            return refuse(str(error), outputs=len(NUMBERS) + 1)
        gr.Info(f"Preset “{name}” filled in; press “Save settings” to use it.")
        return (chosen.system_prompt, *(getattr(chosen, n) for n in NUMBERS))

    def save_preset(self, name: str, system_prompt: str, *numbers):
        try:
            self.host.save_preset(self.entered(system_prompt, numbers), name)
        except UserError as error:
            return refuse(str(error), outputs=2)
        gr.Info(f"Preset “{name.strip()}” saved.")
        return gr.update(choices=preset_choices(self.host), value=name.strip()), ""

    def set_theme(self, theme: str):
        """Remember the theme picked (the page has already switched to it)."""
        try:
            self.host.apply_settings(replace(self.host.settings, theme=theme))
        except UserError as error:
            refuse(str(error))

    def shown(self):
        """The fields as the settings in use have them, for a page that loads (the page was built at start)."""
        s = self.host.settings
        preset = gr.update(choices=preset_choices(self.host), value=self.host.matching_preset())
        return (preset, s.system_prompt, *(getattr(s, n) for n in NUMBERS), s.theme)


def wire_form(form: Form, handlers: FormHandlers, loaded: list, demo: gr.Blocks) -> None:
    """Connect the panel; `loaded` shows what a save did to the model (status, picker, header)."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    numbers = [form.numbers[name] for name in NUMBERS]
    form.save.click(handlers.save, [form.system_prompt, *numbers], [*loaded, form.errors, form.preset, form.note],
                    **private)
    form.errors.change(None, [form.errors], None, js=SHOW_FIELD_ERRORS, queue=False, **private)
    form.preset.input(handlers.apply_preset, [form.preset], [form.system_prompt, *numbers], **private)
    form.save_preset.click(handlers.save_preset, [form.preset_name, form.system_prompt, *numbers],
                           [form.preset, form.preset_name], **private)
    form.theme.input(handlers.set_theme, [form.theme], None, js=APPLY_THEME, queue=False, **private)
    fields = [form.preset, form.system_prompt, *numbers, form.theme]
    demo.load(handlers.shown, None, fields, queue=False, **private).then(
        None, [form.theme], None, js=APPLY_THEME, queue=False, **private)
