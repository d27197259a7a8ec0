"""Gradio reads its own source at import (component classes), so its modules ship as .py files too."""

from PyInstaller.utils.hooks import collect_data_files

module_collection_mode = "pyz+py"
# templates/node is the server-side-rendering app, which chatdesk turns off (ssr_mode=False).
datas = collect_data_files("gradio", excludes=["templates/node", "templates/node/**"])
