"""keyring finds its OS backends through entry points in its metadata and imports them by name: ship both."""

from PyInstaller.utils.hooks import collect_submodules, copy_metadata

hiddenimports = collect_submodules("keyring.backends")
datas = copy_metadata("keyring")
