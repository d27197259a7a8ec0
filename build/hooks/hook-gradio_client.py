"""gradio_client's data files (types.json and friends)."""

from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("gradio_client")
