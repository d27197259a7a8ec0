"""Gradio as bytecode in the archive, with its .py files beside it for anything that reads its own source.

'py' alone made every launch compile the Gradio modules it imports (about half a second on two cores): a
bundle writes no bytecode cache. chatdesk imports Gradio without its per-component source parsing
(chatdesk/ui/environment.py), which is what used to need the sources at every start.
"""

from PyInstaller.utils.hooks import collect_data_files

module_collection_mode = "pyz+py"
# templates/node is the server-side-rendering app, which chatdesk turns off (ssr_mode=False).
datas = collect_data_files("gradio", excludes=["templates/node", "templates/node/**"])
