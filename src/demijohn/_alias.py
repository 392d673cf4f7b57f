"""Make ``import flask`` give demijohn: :func:`install_as_flask`."""

from __future__ import annotations

import importlib
import sys

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


def install_as_flask() -> None:
    """Register demijohn under the name ``flask`` in :data:`sys.modules`.

    Afterwards ``import flask``, ``from flask import Flask`` and every
    ``flask.<submodule>`` import give demijohn's modules, so Flask apps and
    extensions run unchanged. All modules are registered at once, so their
    identity is stable. Calling it again does nothing.

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
