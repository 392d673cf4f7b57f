"""The interpreter's coroutine-function markers (see :mod:`demijohn._shortcuts`)."""

from __future__ import annotations

import sys
import typing as t


def is_marked_coroutine_function(func: t.Callable[..., t.Any]) -> bool:
    """Whether a plain function was marked with ``inspect.markcoroutinefunction``.

    **Reproduces** the part of ``inspect.iscoroutinefunction`` that a plain
    function's code flags cannot answer: callers check the flags first,
    and only a function carrying the marker needs the full check.

    **Proof**: ``tests/test_async.py::test_ensure_sync_answers_as_inspect_does``.
    **Checked**: CPython 3.12 and 3.13 (the ``_is_coroutine_marker`` attribute).
    """
    return "_is_coroutine_marker" in func.__dict__


def mark_coroutine_function(func: t.Callable[..., t.Any]) -> None:
    """Make coroutine-function checks answer yes for ``func``; calling it is unchanged.

    **Reproduces** ``inspect.markcoroutinefunction`` (3.12+), and on 3.11
    asyncio's own marker, which ``asyncio.iscoroutinefunction`` reads. That
    one is set only where asyncio is already loaded (an ASGI server imports
    it before the app), so a WSGI worker never loads asyncio for it.

    **Proof**: ``tests/test_serve_entry.py::test_uvicorn_takes_the_app_object_for_asgi3``
    and ``test_a_wsgi_process_does_not_load_asyncio_for_the_marker``.
    **Checked**: CPython 3.11 (``asyncio.coroutines._is_coroutine``) to 3.13.
    """
    import inspect

    mark = getattr(inspect, "markcoroutinefunction", None)
    if mark is not None:  # Python 3.12+
        mark(func)
    loaded = sys.modules.get("asyncio")
    if loaded is not None:
        func._is_coroutine = loaded.coroutines._is_coroutine  # type: ignore[attr-defined]
