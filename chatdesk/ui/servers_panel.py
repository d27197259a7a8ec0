"""The Model panel's "Servers": add an inference server (address, optional API key), test it, pick its model."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from chatdesk.core.host import ModelHost
from chatdesk.errors import UserError

SHOWN_MODELS = 8  # models named in a connection report


@dataclass
class Servers:
    """The section's components, for wiring."""

    url: gr.Dropdown
    key: gr.Textbox
    test: gr.Button
    add: gr.Button
    model: gr.Dropdown
    use: gr.Button
    status: gr.Markdown


def build_servers(host: ModelHost) -> Servers:
    """Lay out the section (inside the Model panel)."""
    settings = host.settings
    with gr.Accordion("Servers", open=False, elem_id="servers-panel"):
        gr.Markdown("Chat through an inference server (llama-server, vLLM, Ollama, LM Studio) on another "
                    "machine. Only that server is contacted, and only once you use it.")
        url = gr.Dropdown(choices=list(settings.servers), value=settings.server_url or None, allow_custom_value=True,
                          label="Server address", info="e.g. http://gpu-box:8080/v1", elem_id="server-url")
        key = gr.Textbox(label="API key (optional)", type="password", max_lines=1, elem_id="server-key",
                         info="Kept in the system keyring (or a file only you can read); never in chats or exports.")
        with gr.Row():
            test = gr.Button("Test connection", size="sm", elem_id="server-test")
            add = gr.Button("Add server", size="sm", elem_id="server-add")
        model = gr.Dropdown(choices=[settings.server_model] if settings.server_model else [],
                            value=settings.server_model or None, label="Model on the server",
                            elem_id="server-model")
        use = gr.Button("Use this server model", size="sm", elem_id="server-use")
        status = gr.Markdown(elem_id="server-status")
    return Servers(url, key, test, add, model, use, status)


class ServerHandlers:
    """What the section's buttons do (using a model goes through the panel's loading)."""

    def __init__(self, host: ModelHost):
        self.host = host

    def test(self, url: str | None, key: str):
        """Connect, list the models, say what was found or what is wrong."""
        try:
            found = self.host.server_models(url or "", key or "")
        except UserError as error:
            return f"❌ {error}", gr.skip()
        return _found(url, found), _model_choices(found)

    def add(self, url: str | None, key: str):
        """Test, then keep the server (and its key) for next time."""
        try:
            found = self.host.add_server(url or "", key or "")
        except UserError as error:
            return f"❌ {error}", gr.skip(), gr.skip(), gr.skip()
        servers = gr.update(choices=list(self.host.settings.servers))
        return "Added. " + _found(url, found), _model_choices(found), servers, ""


def _found(url: str | None, models: list[str]) -> str:
    named = ", ".join(models[:SHOWN_MODELS]) + (" …" if len(models) > SHOWN_MODELS else "")
    return f"✅ Connected to {url.strip()}: {len(models)} model{'s' if len(models) != 1 else ''} ({named})."


def _model_choices(models: list[str]):
    return gr.update(choices=models, value=models[0] if models else None)


def wire_servers(servers: Servers, handlers: ServerHandlers, use, loaded: list) -> None:
    """Connect the section; `use` loads the chosen server model into the `loaded` outputs."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    servers.test.click(handlers.test, [servers.url, servers.key], [servers.status, servers.model], **private)
    servers.add.click(handlers.add, [servers.url, servers.key],
                      [servers.status, servers.model, servers.url, servers.key], **private)
    servers.use.click(use, [servers.url, servers.model, servers.key], loaded, **private)
