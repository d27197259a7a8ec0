"""chatdesk: chat with a local GGUF model, offline."""

__version__ = "0.1.0"
