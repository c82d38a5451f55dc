"""Where the inspector keeps its files."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from inspector.core.errors import InspectorError

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
    """Create the data dir (private to the user) and return it; an :class:`InspectorError`
    when it cannot be one (a file is in the way, no permission)."""
    directory = path if path is not None else default_data_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError as exc:
        raise InspectorError(
            f"The data dir {directory} is a file, not a folder: choose another --data-dir "
            f"(or ${ENV_HOME})."
        ) from exc
    except NotADirectoryError as exc:
        raise InspectorError(
            f"The data dir {directory} cannot be created: part of its path is a file. "
            f"Choose another --data-dir (or ${ENV_HOME})."
        ) from exc
    except OSError as exc:
        raise InspectorError(
            f"The data dir {directory} cannot be created: {exc.strerror or exc}. "
            f"Choose another --data-dir (or ${ENV_HOME})."
        ) from exc
    return directory


def store_files(store_path: Path) -> tuple[Path, ...]:
    """The files SQLite keeps for the store at ``store_path``: writing over any of them
    destroys captures (the WAL resurrects the old file over what was written)."""
    return tuple(
        store_path.with_name(store_path.name + suffix)
        for suffix in ("", "-wal", "-shm", "-journal")
    )


def is_store_file(path: Path, store_path: Path) -> bool:
    """True when ``path`` (existing or not, through symbolic links, or a hard link) is one
    of the store's files."""
    try:
        target = path.expanduser().resolve()
    except OSError:
        return False
    files = store_files(store_path)
    if any(target == f.resolve() for f in files):
        return True
    # A hard link is the same file under another name: compare the files themselves.
    try:
        found = target.stat()
    except OSError:
        return False
    for f in files:
        try:
            if os.path.samestat(found, f.stat()):
                return True
        except OSError:
            continue
    return False
