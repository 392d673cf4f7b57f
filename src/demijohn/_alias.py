"""Make ``import flask`` give demijohn: :func:`install_as_flask`.

Besides the modules, the alias answers the two version questions extensions
ask. ``flask.__version__`` is :data:`FLASK_API_VERSION`. And
``importlib.metadata.version("flask")`` gets the same answer from a metadata
finder that :func:`install_as_flask` appends to :data:`sys.meta_path`: it
lives only in the running process (nothing is written to site-packages, so pip
and other processes never see a fake Flask), it answers only lookups by the
name ``flask``, not listings of every distribution, and, being last in the
path, it never shadows a real Flask distribution that is installed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import sys
import typing as t
from pathlib import Path

#: The Flask release whose API demijohn implements.
FLASK_API_VERSION = "3.1.3"

# Every ``flask.<name>`` module Flask 3.1 has, mapped to the demijohn module
# that provides the same public names.
_SUBMODULES = (
    "app",
    "blueprints",
    "cli",
    "config",
    "ctx",
    "debughelpers",
    "globals",
    "helpers",
    "json",
    "json.provider",
    "json.tag",
    "logging",
    "sansio",
    "sansio.app",
    "sansio.blueprints",
    "sansio.scaffold",
    "sessions",
    "signals",
    "templating",
    "testing",
    "typing",
    "views",
    "wrappers",
)

_METADATA = f"""\
Metadata-Version: 2.1
Name: Flask
Version: {FLASK_API_VERSION}
Summary: The Flask API, provided by demijohn (demijohn.install_as_flask()).
"""


class _FlaskAPIDistribution(importlib.metadata.Distribution):
    """The ``flask`` distribution as seen through the alias: a version, no files."""

    def read_text(self, filename: str) -> str | None:
        # Only the metadata exists; no RECORD, entry points or requirements,
        # so nothing is listed as installed by it and nothing is required.
        if filename in ("METADATA", "PKG-INFO"):
            return _METADATA
        return None

    def locate_file(self, path: str | os.PathLike[str]) -> Path:
        return Path(__file__).parent / path


def _is_flask(name: str) -> bool:
    return re.sub(r"[-_.]+", "_", name).lower() == "flask"


class _FlaskAPIFinder(importlib.metadata.DistributionFinder):
    """Answer ``importlib.metadata`` lookups of ``flask`` when no real Flask is installed."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        # A metadata finder only: it never provides modules.
        return None

    def find_distributions(
        self, context: importlib.metadata.DistributionFinder.Context | None = None
    ) -> t.Iterator[importlib.metadata.Distribution]:
        name = None if context is None else context.name
        # Listings (name None) skip it: it owns no files and must not appear
        # as an installed package to tools that enumerate distributions.
        if name is not None and _is_flask(name):
            yield _FlaskAPIDistribution()


def install_as_flask() -> None:
    """Register demijohn under the name ``flask`` in :data:`sys.modules`.

    Afterwards ``import flask``, ``from flask import Flask`` and every
    ``flask.<submodule>`` import give demijohn's modules, so Flask apps and
    extensions run unchanged. All modules are registered at once, so their
    identity is stable. ``flask.__version__`` and
    ``importlib.metadata.version("flask")`` report :data:`FLASK_API_VERSION`
    (the latter only when no real Flask distribution is installed; a real one
    is never shadowed). Calling it again does nothing.

    :raises RuntimeError: if the real Flask was imported already; mixing the
        two would give two sets of context variables.
    """
    import demijohn

    existing = sys.modules.get("flask")
    if existing is demijohn:
        return
    if existing is not None:
        raise RuntimeError(
            "The real 'flask' package was imported before"
            " demijohn.install_as_flask() was called. Call it first (before"
            " any 'import flask', including inside extensions), or uninstall"
            " Flask from this environment."
        )
    modules = {name: importlib.import_module(f"demijohn.{name}") for name in _SUBMODULES}
    sys.modules["flask"] = demijohn
    for name, module in modules.items():
        sys.modules[f"flask.{name}"] = module
    if not any(isinstance(finder, _FlaskAPIFinder) for finder in sys.meta_path):
        # Last, so that a real Flask distribution (if installed) answers first.
        sys.meta_path.append(_FlaskAPIFinder())
