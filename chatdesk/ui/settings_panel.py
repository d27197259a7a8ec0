"""The model and settings panel: pick, add and load models (or a server's); tune sampling; presets."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import gradio as gr

from chatdesk.config import Settings
from chatdesk.core.host import ModelHost
from chatdesk.errors import UserError
from chatdesk.ui.kit import refuse
from chatdesk.ui.servers_panel import Servers, ServerHandlers, build_servers, wire_servers

NUMBERS = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens",
           "context_length", "threads", "gpu_layers", "disk_cache_mb")
INTEGERS = {"top_k", "max_tokens", "context_length", "threads", "gpu_layers", "disk_cache_mb"}


@dataclass
class Panel:
    """The panel's components, for wiring."""

    model: gr.Dropdown
    load: gr.Button
    status: gr.Markdown
    add_path: gr.Textbox
    add: gr.Button
    upload: gr.UploadButton
    hub_repo: gr.Textbox
    hub_file: gr.Textbox
    hub: gr.Button
    preset: gr.Dropdown
    preset_name: gr.Textbox
    save_preset: gr.Button
    system_prompt: gr.Textbox
    numbers: dict
    save: gr.Button
    servers: Servers


def build_panel(host: ModelHost) -> Panel:
    """Lay out the panel (inside the caller's column)."""
    s = host.settings
    with gr.Accordion("Model", open=False, elem_id="model-panel"):
        model = gr.Dropdown(choices=model_choices(host), value=host.model_path, label="Model",
                            elem_id="model-picker")
        load = gr.Button("Load this model", size="sm", elem_id="load-model")
        status = gr.Markdown(model_status(host), elem_id="model-status")
        add_path = gr.Textbox(label="Add a model from a path", placeholder="/path/to/model.gguf", max_lines=1,
                              elem_id="add-model-path")
        with gr.Row():
            add = gr.Button("Add", size="sm", elem_id="add-model")
            upload = gr.UploadButton("Upload a GGUF", file_types=[".gguf"], size="sm", elem_id="upload-model")
        with gr.Accordion("Download from Hugging Face", open=False):
            hub_repo = gr.Textbox(label="Repository", placeholder="owner/name", max_lines=1, elem_id="hub-repo")
            hub_file = gr.Textbox(label="File", placeholder="model.Q4_K_M.gguf", max_lines=1, elem_id="hub-file")
            hub = gr.Button("Download", size="sm", elem_id="hub-download")
        servers = build_servers(host)
    with gr.Accordion("Settings", open=False, elem_id="settings-panel"):
        preset = gr.Dropdown(choices=host.presets(), value=None, label="Preset", elem_id="preset")
        system_prompt = gr.Textbox(s.system_prompt, label="System prompt for new chats", lines=2,
                                   elem_id="system-prompt")
        numbers = {
            "temperature": gr.Slider(0, 2, s.temperature, step=0.05, label="Temperature"),
            "top_p": gr.Slider(0, 1, s.top_p, step=0.01, label="Top-p"),
            "top_k": gr.Slider(0, 200, s.top_k, step=1, label="Top-k"),
            "min_p": gr.Slider(0, 1, s.min_p, step=0.01, label="Min-p"),
            "repeat_penalty": gr.Slider(0.5, 2, s.repeat_penalty, step=0.01, label="Repeat penalty"),
            "max_tokens": gr.Number(s.max_tokens, label="Max reply tokens", precision=0, elem_id="max-tokens"),
            "context_length": gr.Number(s.context_length, label="Context length", precision=0,
                                        elem_id="context-length"),
            "threads": gr.Number(s.threads, label="Threads (0: automatic)", precision=0),
            "gpu_layers": gr.Number(s.gpu_layers, label="GPU layers (-1: all)", precision=0),
            "disk_cache_mb": gr.Number(s.disk_cache_mb, label="Prompt cache on disk, MB (0: none)", precision=0,
                                       elem_id="disk-cache"),
        }
        save = gr.Button("Save settings", variant="primary", size="sm", elem_id="save-settings")
        with gr.Row():
            preset_name = gr.Textbox(show_label=False, placeholder="New preset name", max_lines=1, scale=2)
            save_preset = gr.Button("Save as preset", size="sm", scale=1, elem_id="save-preset")
    return Panel(model, load, status, add_path, add, upload, hub_repo, hub_file, hub, preset, preset_name, save_preset,
                 system_prompt, numbers, save, servers)


def model_choices(host: ModelHost) -> list[tuple[str, str]]:
    """Every model in the library, labelled with what its metadata says."""
    return [(entry.label(), str(entry.path)) for entry in host.models()]


def model_status(host: ModelHost) -> str:
    """What is loaded, loading, or wrong."""
    if host.loading:
        return f"⏳ Loading {host.loading}…"
    engine = host.engine
    where = f" on {host.server}" if host.server else ""
    loaded = (f"Loaded: **{engine.model_name}**{where} ({engine.context_length:,}-token context)" if engine
              else "No model loaded.")
    return f"{loaded}\n\n⚠️ {host.load_error}" if host.load_error else loaded


def header_text(host: ModelHost) -> str:
    """The top line: the app and the model in use."""
    engine = host.engine
    model = f"{engine.model_name} ({engine.context_length:,}-token context)" if engine else "no model loaded"
    return f"**chatdesk** · {model}"


class PanelHandlers:
    """What the panel's buttons do."""

    def __init__(self, host: ModelHost):
        self.host = host

    def load(self, path: str | None):
        if not path:
            yield refuse("Pick a model first.", outputs=3)
            return
        yield from self._switch(lambda: self.host.use_local(path))

    def use_server(self, url: str | None, model: str | None, api_key: str):
        if not url or not model:
            yield refuse("Give the server's address, press “Test connection”, then pick one of its models.",
                         outputs=3)
            return
        yield from self._switch(lambda: self.host.use_server(url, model, api_key))

    def save(self, system_prompt: str, *numbers):
        entered = self._entered(system_prompt, numbers)
        yield from self._switch(lambda: self.host.apply_settings(entered), saved=True)

    def _entered(self, system_prompt: str, numbers) -> Settings:
        """The settings as the panel's fields have them."""
        values = {name: int(v) if name in INTEGERS and v is not None else v for name, v in zip(NUMBERS, numbers)}
        return replace(self.host.settings, system_prompt=system_prompt, **values)

    def _switch(self, start, saved: bool = False):
        """Apply settings with `start` (True when a model loads for them); meanwhile show how long it has taken."""
        try:
            reloading = start()
        except UserError as error:
            yield refuse(str(error), outputs=3)
            return
        started = time.monotonic()
        while reloading and not self.host.wait_for_model(0.25):
            yield f"⏳ Loading {self.host.loading}… {time.monotonic() - started:.0f} s", gr.skip(), gr.skip()
        note = "Settings saved. " if saved else ""
        yield note + model_status(self.host), gr.update(value=self.host.model_path), header_text(self.host)

    def add(self, path: str):
        return self._add(path, move=False)

    def upload(self, upload):
        return self._add(getattr(upload, "name", upload), move=True)

    def _add(self, path: str, move: bool):
        if not path or not path.strip():
            return refuse("Give the path of a .gguf file.", outputs=2)
        try:
            entry = self.host.add_model(path, move=move)
        except UserError as error:
            return refuse(str(error), outputs=2)
        gr.Info(f"Added {entry.name}. Pick it and press “Load this model”.")
        return gr.update(choices=model_choices(self.host), value=str(entry.path)), ""

    def download(self, repo_id: str, filename: str, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc=f"Downloading {filename}")
        try:
            entry = self.host.download_model(repo_id, filename)
        except UserError as error:
            return refuse(str(error))
        gr.Info(f"Downloaded {entry.name}. Pick it and press “Load this model”.")
        return gr.update(choices=model_choices(self.host), value=str(entry.path))

    def apply_preset(self, name: str | None):
        if not name:
            return (gr.skip(),) * (len(NUMBERS) + 1)
        try:
            chosen = self.host.preset(name)
        except UserError as error:
            return refuse(str(error), outputs=len(NUMBERS) + 1)
        gr.Info(f"Preset “{name}” filled in; press “Save settings” to use it.")
        return (chosen.system_prompt, *(getattr(chosen, n) for n in NUMBERS))

    def save_preset(self, name: str, system_prompt: str, *numbers):
        try:
            self.host.save_preset(self._entered(system_prompt, numbers), name)
        except UserError as error:
            return refuse(str(error), outputs=2)
        gr.Info(f"Preset “{name.strip()}” saved.")
        return gr.update(choices=self.host.presets(), value=name.strip()), ""


def wire_panel(panel: Panel, handlers: PanelHandlers, header: gr.Markdown) -> None:
    """Connect the panel; `header` shows the model in use."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    numbers = [panel.numbers[name] for name in NUMBERS]
    loaded = [panel.status, panel.model, header]
    panel.load.click(handlers.load, [panel.model], loaded, **private)
    wire_servers(panel.servers, ServerHandlers(handlers.host), handlers.use_server, loaded)
    panel.save.click(handlers.save, [panel.system_prompt, *numbers], loaded, **private)
    panel.add.click(handlers.add, [panel.add_path], [panel.model, panel.add_path], **private)
    panel.upload.upload(handlers.upload, [panel.upload], [panel.model, panel.add_path], **private)
    panel.hub.click(handlers.download, [panel.hub_repo, panel.hub_file], [panel.model], **private)
    panel.preset.input(handlers.apply_preset, [panel.preset], [panel.system_prompt, *numbers], **private)
    panel.save_preset.click(handlers.save_preset, [panel.preset_name, panel.system_prompt, *numbers],
                            [panel.preset, panel.preset_name], **private)
