"""The Model panel and the header's model button: pick, add and load models (or a server's)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr

from chatdesk.core.host import ModelHost
from chatdesk.errors import UserError
from chatdesk.ui.kit import refuse
from chatdesk.ui.panel_look import NAME_CONTROLS, OPEN_PICKER
from chatdesk.ui.settings_form import Form, FormHandlers, build_form, wire_form
from chatdesk.ui.servers_panel import Servers, ServerHandlers, build_servers, wire_servers



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
    servers: Servers
    form: Form


def build_panel(host: ModelHost) -> Panel:
    """Lay out the panel (inside the caller's column)."""
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
    form = build_form(host)
    return Panel(model, load, status, add_path, add, upload, hub_repo, hub_file, hub, servers, form)


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
    """The header's model button: the model in use (a click opens the model picker)."""
    engine = host.engine
    model = f"{engine.model_name} ({engine.context_length:,}-token context)" if engine else "No model loaded"
    return f"{model} ▾"


def build_header(host: ModelHost) -> gr.Button:
    """The app's name and the model in use, as a button that opens the model picker."""
    with gr.Row(elem_id="title", equal_height=True):
        gr.Markdown("**chatdesk**", elem_id="app-name", container=False)
        return gr.Button(header_text(host), size="sm", variant="secondary", scale=0, elem_id="model-button")


class PanelHandlers:
    """What the panel's buttons do."""

    def __init__(self, host: ModelHost):
        self.host = host

    def load(self, path: str | None):
        if not path:
            yield refuse("Pick a model first.", outputs=3)
            return
        yield from self.switch(lambda: self.host.use_local(path))

    def use_server(self, url: str | None, model: str | None, api_key: str):
        if not url or not model:
            yield refuse("Give the server's address, press “Test connection”, then pick one of its models.",
                         outputs=3)
            return
        yield from self.switch(lambda: self.host.use_server(url, model, api_key))

    def switch(self, start, saved: bool = False):
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


def wire_panel(panel: Panel, handlers: PanelHandlers, header: gr.Button, demo: gr.Blocks) -> None:
    """Connect the panel; `header` is the header's button naming the model in use."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    loaded = [panel.status, panel.model, header]
    panel.load.click(handlers.load, [panel.model], loaded, **private)
    wire_servers(panel.servers, ServerHandlers(handlers.host), handlers.use_server, loaded)
    wire_form(panel.form, FormHandlers(handlers.host, handlers.switch), loaded, demo)
    header.click(None, None, None, js=OPEN_PICKER, queue=False, **private)
    demo.load(None, None, None, js=NAME_CONTROLS, queue=False, **private)
    panel.add.click(handlers.add, [panel.add_path], [panel.model, panel.add_path], **private)
    panel.upload.upload(handlers.upload, [panel.upload], [panel.model, panel.add_path], **private)
    panel.hub.click(handlers.download, [panel.hub_repo, panel.hub_file], [panel.model], **private)
