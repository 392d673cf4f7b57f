"""The ``demijohn`` command line (placeholder until the CLI lands)."""

from __future__ import annotations

import typing as t
from functools import update_wrapper

import click

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def with_appcontext(f: F) -> F:
    """Run the decorated command inside the app context of the current app."""

    @click.pass_context
    def decorator(ctx: click.Context, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        from .globals import _cv_app

        if _cv_app.get(None) is None:
            app = ctx.ensure_object(dict)["app"]
            ctx.with_resource(app.app_context())
        return ctx.invoke(f, *args, **kwargs)

    return update_wrapper(decorator, f)  # type: ignore[return-value]


class AppGroup(click.Group):
    """A click group whose commands run inside the app context by default."""


def main() -> None:
    """Entry point of the ``demijohn`` command."""
    raise SystemExit("the demijohn command is not available yet")
