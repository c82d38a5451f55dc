"""One documented error tree: every error type the core reports is defined in core/errors.py
and drawn in its docstring, and none shadows a graphql-core name."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import graphql

import inspector.core
from inspector.core import errors
from inspector.core.jobs import Cancelled


def _core_modules() -> list[object]:
    names = [
        info.name
        for info in pkgutil.walk_packages(inspector.core.__path__, "inspector.core.")
        if not info.name.endswith("__main__")
    ]
    return [importlib.import_module(name) for name in names]


def test_every_core_exception_is_defined_in_the_tree() -> None:
    stray = []
    for module in _core_modules():
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, Exception)
                and value.__module__ == module.__name__  # defined there, not imported
                and module is not errors
                and value is not Cancelled  # a job's stop signal, not an error for users
            ):
                stray.append(f"{module.__name__}.{name}")
    assert stray == []


def test_the_docstring_draws_every_error_with_its_parent() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.InspectorError)
        assert f" {name} " in doc or f"\n    {name}\n" in doc, f"{name} is not drawn"
        parent = cls.__mro__[1]
        if cls is not errors.InspectorError:
            # Drawn below its parent: the parent's line comes first.
            assert doc.index(parent.__name__) < doc.index(name)


def test_no_name_shadows_graphql_core() -> None:
    assert not set(errors.__all__) & set(dir(graphql))
