"""llama_cpp loads libllama and libggml from its own lib/ folder with ctypes, which the analysis cannot see."""

from PyInstaller.utils.hooks import collect_dynamic_libs

binaries = collect_dynamic_libs("llama_cpp")
