"""The application logger: ``app.logger``, named after the app.

Without handlers of its own configured, it writes to the WSGI error stream of
the active request (``environ["wsgi.errors"]``), or to ``sys.stderr`` outside a
request, and logs at DEBUG level while the app is in debug mode.
"""

from __future__ import annotations

import logging
import sys
import typing as t

from werkzeug.local import LocalProxy

from .globals import _cv_request

if t.TYPE_CHECKING:
    from .sansio.app import App


def _errors_stream() -> t.TextIO:
    ctx = _cv_request.get(None)
    if ctx is not None:
        return ctx.request.environ["wsgi.errors"]  # type: ignore[no-any-return]
    return sys.stderr


#: The stream log records go to: the active request's ``wsgi.errors``, else stderr.
wsgi_errors_stream: t.TextIO = LocalProxy(_errors_stream)  # type: ignore[assignment]


def has_level_handler(logger: logging.Logger) -> bool:
    """Whether a handler in the logger's hierarchy handles its effective level."""
    level = logger.getEffectiveLevel()
    current: logging.Logger | None = logger
    while current is not None:
        if any(handler.level <= level for handler in current.handlers):
            return True
        if not current.propagate:
            break
        current = current.parent
    return False


#: The handler added to the app logger when nothing else would handle it.
default_handler = logging.StreamHandler(wsgi_errors_stream)
default_handler.setFormatter(
    logging.Formatter("[%(asctime)s] %(levelname)s in %(module)s: %(message)s")
)


def create_logger(app: App) -> logging.Logger:
    """Return the logger named after ``app.name``, configured for the app.

    The level is set to DEBUG when the app is in debug mode and the logger has
    no level of its own; :data:`default_handler` is added unless some handler
    already covers the logger's effective level.
    """
    logger = logging.getLogger(app.name)
    if app.debug and not logger.level:
        logger.setLevel(logging.DEBUG)
    if not has_level_handler(logger):
        logger.addHandler(default_handler)
    return logger
