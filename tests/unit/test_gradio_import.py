"""Gradio's import without its work for code editors (about half of `import gradio`), in a fresh interpreter."""

import json
import subprocess
import sys

IMPORT = """
import json, sys, tempfile
from pathlib import Path
read = []  # the Python sources and stubs read
read_text = Path.read_text
Path.read_text = lambda path, *args, **kwargs: read.append(path.suffix in (".py", ".pyi")) or read_text(path, *args, **kwargs)
if sys.argv[1] == "prepared":
    from chatdesk.ui import environment
    environment.prepare_gradio(Path(tempfile.mkdtemp()))
import gradio as gr
print(json.dumps({"read": sum(read), "doc": gr.Chatbot.like.__doc__.split(".")[0].strip()}))
"""


def import_gradio(how: str) -> dict:
    done = subprocess.run([sys.executable, "-c", IMPORT, how], capture_output=True, text=True, timeout=120,
                          check=True, env={"GRADIO_ANALYTICS_ENABLED": "False", "PATH": "/usr/bin:/bin"})
    return json.loads(done.stdout)


def test_the_app_imports_gradio_without_reading_its_sources_and_its_event_docs_stay_the_same():
    plain, prepared = import_gradio("plain"), import_gradio("prepared")
    assert plain["read"] > 50  # each component's source and stub, for code editors
    assert prepared["read"] == 0
    assert prepared["doc"] == plain["doc"] == "This listener is triggered when the user likes/dislikes from within the Chatbot"
