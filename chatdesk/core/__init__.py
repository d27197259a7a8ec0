"""What a user can do: the session, its conversations and the model host. No gradio, llama_cpp or sqlite3."""
