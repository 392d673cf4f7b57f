"""asyncio internals behind demijohn's event loop use (see :mod:`demijohn._shortcuts`)."""

from __future__ import annotations

import asyncio
import typing as t

# Both are asyncio's own C functions, bound here rather than wrapped: they
# run on every coroutine the WSGI path steps, where a wrapper's frame is a
# measurable part of the cost.

#: The event loop running in this thread, or ``None``.
#:
#: **Reproduces** ``asyncio.get_running_loop()`` without the exception it
#: raises when no loop runs, which is the common case on the WSGI path.
#:
#: **Proof**: ``tests/test_async.py::test_event_loop_is_reused_per_thread`` and
#: ``test_async_from_running_loop_falls_back_to_thread`` (the two answers).
#: **Checked**: CPython 3.11 to 3.13 (``asyncio._get_running_loop``).
running_loop: t.Callable[[], asyncio.AbstractEventLoop | None] = asyncio._get_running_loop

#: Make ``loop`` the running loop of this thread (or none), without running it.
#:
#: **Reproduces** what ``loop.run_until_complete`` sets up around a task's
#: step, so that a coroutine stepped directly sees the loop as running
#: (:class:`demijohn._async.EagerLoop`).
#:
#: **Proof**: in ``tests/test_async.py``,
#: ``test_a_coroutine_that_never_waits_runs_without_turning_the_loop`` and the
#: eager loop tests after it.
#: **Checked**: CPython 3.11 to 3.13 (``asyncio.events._set_running_loop``).
set_running_loop: t.Callable[[asyncio.AbstractEventLoop | None], None] = (
    asyncio.events._set_running_loop
)
