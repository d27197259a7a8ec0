"""Every place chatdesk reads or writes: data, models, cache and logs."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import platformdirs

APP_NAME = "chatdesk"
HOME_ENV = "CHATDESK_HOME"
PRIVATE_UMASK = 0o077  # new folders 0700, new files 0600


def home_override() -> Path | None:
    """The folder that holds everything when CHATDESK_HOME is set, else None."""
    value = os.environ.get(HOME_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


def _user_dir(kind: str) -> Path:
    home = home_override()
    if home is not None:
        return home / kind
    finders = {
        "data": platformdirs.user_data_dir,
        "cache": platformdirs.user_cache_dir,
        "logs": platformdirs.user_log_dir,
    }
    return Path(finders[kind](APP_NAME, appauthor=False))


def data_dir() -> Path:
    """Where conversations and settings live."""
    return _user_dir("data")


def cache_dir() -> Path:
    """Where disposable files live (browser profile, prompt cache)."""
    return _user_dir("cache")


def exports_dir() -> Path:
    """Where exports are written for the page to offer as downloads."""
    return cache_dir() / "exports"


def log_dir() -> Path:
    """Where log files live."""
    return _user_dir("logs")


def keep_private() -> None:
    """On POSIX: everything chatdesk writes from now on is its user's only, and so are the folders it has."""
    if os.name != "posix":
        return
    os.umask(PRIVATE_UMASK)
    for folder in (data_dir(), cache_dir(), log_dir()):
        folder.mkdir(parents=True, exist_ok=True)
        tighten(folder)


def tighten(folder: Path) -> None:
    """Take group and other access away from `folder` and all in it (walked only while the folder is open)."""
    if stat.S_IMODE(folder.stat().st_mode) & PRIVATE_UMASK == 0:
        return
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            _owner_only(Path(root) / name)
    _owner_only(folder)  # last: an interrupted walk is done again at the next launch


def _owner_only(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & PRIVATE_UMASK:
            path.chmod(stat.S_IMODE(mode) & ~PRIVATE_UMASK)
    except OSError:
        pass  # not ours to change (another owner, a read-only mount): nothing chatdesk wrote


def user_models_dir() -> Path:
    """The user's own models folder."""
    return data_dir() / "models"


def package_dir() -> Path:
    """The installed `chatdesk` package folder."""
    return Path(__file__).resolve().parent


def icon_file() -> Path:
    """The app icon (PNG)."""
    return package_dir() / "assets" / "icon.png"


def bundle_dir() -> Path | None:
    """The unpacked PyInstaller bundle, when running frozen."""
    meipass = getattr(sys, "_MEIPASS", None)
    return Path(meipass) if meipass else None


def checkout_dir() -> Path | None:
    """The source checkout this package runs from, if any (editable installs); never in a bundle."""
    if bundle_dir() is not None:
        return None
    root = package_dir().parent
    return root if (root / "models" / "manifest.json").is_file() else None


def shipped_models_dir() -> Path | None:
    """The `models/` folder that ships with this copy: the bundle's or the checkout's."""
    for root in (bundle_dir(), checkout_dir()):
        if root is not None and (root / "models").is_dir():
            return root / "models"
    return None


def default_download_dir() -> Path:
    """Where a fetched default model goes: the checkout's `models/`, else the user's."""
    checkout = checkout_dir()
    return checkout / "models" if checkout else user_models_dir()


def model_search_dirs() -> list[Path]:
    """Folders searched for GGUF files, shipped copy first."""
    dirs = [shipped_models_dir(), user_models_dir()]
    return [d for d in dirs if d is not None]


def manifest_file() -> Path:
    """The model manifest: the checkout's or bundle's, else the copy inside the package."""
    shipped = shipped_models_dir()
    if shipped is not None and (shipped / "manifest.json").is_file():
        return shipped / "manifest.json"
    return package_dir() / "models_manifest.json"
