"""Locates shipped resources (icons, demo key pair, sample events, query templates).

In a source checkout they live in ``<repo>/resources``; in an installed wheel hatchling
puts them in ``inspector/_resources``. Everything that needs a resource asks here.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    installed = _PACKAGE_DIR / "_resources"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a shipped resource, e.g. ``resource_path("demo", "demo-public.pem")``."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"resource missing from this installation: {path}")
    return path
