"""The model manifest, fetching the default model, GGUF metadata and the model library."""
