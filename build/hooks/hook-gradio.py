"""Gradio reads its own .py files at import (each component class reads its source), so keep them as files.

'py' ships the sources only; 'pyz+py' (bytecode too) measured no faster to start and is 2 MB larger.
"""

from PyInstaller.utils.hooks import collect_data_files

module_collection_mode = "py"
# templates/node is the server-side-rendering app, which chatdesk turns off (ssr_mode=False).
datas = collect_data_files("gradio", excludes=["templates/node", "templates/node/**"])
