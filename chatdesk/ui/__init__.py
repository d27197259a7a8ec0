"""The Gradio page: layout, handlers, the chat view, sidebar, settings panel and look. The only gradio user."""
