"""Where the inspector keeps its files."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "fluent-inspector"
ENV_HOME = "FLUENT_INSPECTOR_HOME"

STORE_FILENAME = "captures.sqlite3"
KEYRING_FILENAME = "keys.json"


def default_data_dir() -> Path:
    """The data dir: ``$FLUENT_INSPECTOR_HOME`` if set, else the platform user data dir."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def ensure_data_dir(path: Path | None = None) -> Path:
    """Create the data dir (private to the user) and return it."""
    directory = path if path is not None else default_data_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory
