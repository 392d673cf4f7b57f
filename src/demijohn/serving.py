"""Serving lifespan hooks and background tasks (Quart's API).

An app's life in one process, whichever door serves it:

* **start**: the ``before_serving`` functions run in registration order,
  then each ``while_serving`` generator runs to its ``yield``; all in one app
  context of their own, popped afterwards (so ``g`` set there is not seen by
  requests). Under ASGI the lifespan protocol starts the app
  (:func:`serve_lifespan`); a WSGI server has no such protocol, so the
  request pipeline calls :func:`ensure_started` before a process's first
  request (an ASGI server run without lifespan falls back to that too).
* **background tasks** (:func:`add_background_task`): queued during a
  request and started once its response has been sent, or started at once
  outside a request. Each runs in an app context of its own: an ``async def``
  function as a task on the ASGI server's loop, anything else in a thread.
* **stop**: the running background tasks are waited for (up to
  ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT`` seconds; those still running then are
  logged and abandoned), the ``while_serving`` generators are resumed past
  their ``yield`` in reverse order, then the ``after_serving`` functions run in
  registration order, and finally the tasks those started are waited for (in
  the same time budget). Under ASGI this is the lifespan shutdown; otherwise
  it runs at interpreter exit (:mod:`atexit`), for what started in this process.

Everything is per process and kept on the app (``app._serving``, a
:class:`ServingState`), never in a registry of apps: :mod:`atexit` and the
fork hook hold weak references only. A forked child (gunicorn's ``--preload``)
starts afresh, without resuming what its parent started.

Nothing here imports :mod:`asyncio` unless an ASGI server or an ``async def``
function needs it: a WSGI worker does not load it.
"""

from __future__ import annotations

import atexit
import collections.abc as cabc
import contextlib
import contextvars
import inspect
import os
import sys
import threading
import time
import typing as t
import weakref

from .globals import _cv_request

if t.TYPE_CHECKING:
    import asyncio

    from .app import Flask
    from .asgi import Receive, Scope, Send

#: A ``before_serving`` or ``after_serving`` function: no arguments, sync or ``async def``.
ServingHook = t.Callable[[], t.Any]
#: A ``while_serving`` function: a generator function, sync or async (any
#: function returning an iterator or async iterator will do).
WhileServingHook = t.Callable[[], t.Iterator[t.Any] | t.AsyncIterator[t.Any]]
#: A background task as queued: the function and its arguments.
QueuedTask = tuple[t.Callable[..., t.Any], tuple[t.Any, ...], dict[str, t.Any]]

#: Where an app is in its life in this process.
Phase = t.Literal["idle", "starting", "serving", "stopped"]

#: ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT`` when the app's config lacks the key.
DEFAULT_SHUTDOWN_TIMEOUT = 5.0


class _Task:
    """A background task that was started and has not finished (or been abandoned)."""

    __slots__ = ("cancel", "done", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        #: Set when the task's function has returned or raised.
        self.done = threading.Event()
        #: Cancels an ``async def`` task on its loop; ``None`` for a thread.
        self.cancel: t.Callable[[], None] | None = None


class ServingState:
    """One app's serving state in this process: ``app._serving``.

    ``phase`` and the fields below it change under ``lock``. The request
    pipeline never reads any of it: it checks ``app._serving_started``, which
    is set once the start is over (see :func:`ensure_started`).
    """

    __slots__ = (
        "done",
        "generators",
        "inherited",
        "lock",
        "owner",
        "phase",
        "pid",
        "registered",
        "tasks",
    )

    def __init__(self, inherited: ServingState | None = None) -> None:
        self.lock = threading.Lock()
        #: The process this state belongs to.
        self.pid = os.getpid()
        self.phase: Phase = "idle"
        #: The greenlet running the start (its own requests must not wait for it).
        self.owner: object | None = None
        #: Set when the start in progress has ended, successfully or not.
        self.done = threading.Event()
        #: The ``while_serving`` iterators paused at their ``yield``, in start order.
        self.generators: list[t.Iterator[t.Any] | t.AsyncIterator[t.Any]] = []
        #: The background tasks running now.
        self.tasks: set[_Task] = set()
        #: Whether the at-exit and at-fork hooks for the app are registered
        #: (registrations survive a fork, so a child inherits the flag).
        self.registered: bool = inherited.registered if inherited is not None else False
        #: The parent process's state, in a forked child. Kept so that what the
        #: parent started is never finished here (a generator collected now
        #: would run the parent's cleanup code in this process).
        self.inherited = inherited


# -- the start ------------------------------------------------------------------


def ensure_started(app: Flask) -> None:
    """Start serving ``app`` in this process, unless that has happened: the WSGI-style start.

    The request pipeline calls it before a request while
    ``app._serving_started`` is false; that flag is set for good once the
    start is over, so the check is all a request costs afterwards. The first
    caller runs the start while concurrent callers wait for it; if it fails,
    the error propagates (the request fails) and the next request tries again.
    A hook's own requests (a warm-up request made from ``before_serving``) do
    not wait for the start they are part of.
    """
    while True:
        state = _this_process_state(app)
        with state.lock:
            if state.phase == "serving" or state.phase == "stopped":
                app._serving_started = True
                return
            if state.phase == "starting":
                if state.owner is _current_greenlet():
                    return
                done = state.done
            elif not _has_hooks(app):
                state.phase = "serving"
                app._serving_started = True
                return
            else:
                _claim_start(state)
                break
        _wait_for_start(done)
    try:
        _run_startup(app, state)
    except BaseException:
        _end_start(app, state, started=False)
        raise
    _end_start(app, state, started=True)


async def startup(app: Flask) -> None:
    """Start serving ``app`` now (:meth:`Flask.startup`; the ASGI lifespan startup).

    Hooks run on the running loop, in a bridge greenlet: ``async def`` ones
    are awaited on this loop, so what they create belongs to it. Raises
    :exc:`RuntimeError` if the app is already starting or serving in this process.
    """
    state = _this_process_state(app)
    with state.lock:
        if state.phase == "starting" or state.phase == "serving":
            raise RuntimeError(f"The app {app.name!r} is already serving in this process.")
        _claim_start(state)
    try:
        if _has_hooks(app):
            await _on_loop(_run_startup, app, state)
    except BaseException:
        _end_start(app, state, started=False)
        raise
    _end_start(app, state, started=True)


def _claim_start(state: ServingState) -> None:
    state.phase = "starting"
    state.done = threading.Event()


def _end_start(app: Flask, state: ServingState, *, started: bool) -> None:
    with state.lock:
        state.owner = None
        state.done.set()
        if started:
            state.phase = "serving"
            app._serving_started = True
        else:
            state.phase = "idle"
    if started and _has_hooks(app):
        # A forked child must start again, and what started here is stopped
        # at exit if no lifespan shutdown came first.
        _register_process_hooks(app, state)


def _wait_for_start(done: threading.Event) -> None:
    if _in_bridge():
        # On the event loop's thread, where the start itself may need the loop
        # (an ``async def`` hook): wait in a helper thread, not here.
        from ._async import run_sync

        run_sync(_wait_in_thread(done))
    else:
        done.wait()


async def _wait_in_thread(done: threading.Event) -> None:
    import asyncio

    await asyncio.to_thread(done.wait)


def _run_startup(app: Flask, state: ServingState) -> None:
    """Run the ``before_serving`` functions, then each ``while_serving`` generator to its yield.

    On failure the generators already paused are finished, as at shutdown.
    """
    state.owner = _current_greenlet()
    try:
        with app.app_context():
            for func in app.before_serving_funcs:
                _call_hook(app, "before_serving", func)
            for gen_func in app.while_serving_funcs:
                generator = _call_hook(app, "while_serving", gen_func)
                if not _advance(app, gen_func, generator):
                    message = f"The while_serving function {_name(gen_func)} did not yield."
                    _log_and_raise(app, RuntimeError(message))
                state.generators.append(generator)
    except BaseException:
        started, state.generators = state.generators, []
        if started:
            # Errors are logged; the start's own error is the one to report.
            with contextlib.suppress(Exception):
                _run_shutdown_hooks(app, started, run_after_serving=False)
        raise


# -- the stop -------------------------------------------------------------------


async def shutdown(app: Flask) -> None:
    """Stop serving ``app`` (:meth:`Flask.shutdown`; the ASGI lifespan shutdown).

    Waits for the background tasks, finishes the ``while_serving`` generators
    (in reverse order) and runs the ``after_serving`` functions, then waits for
    any task those started; see the module's docstring. An error in a hook is
    logged; the first one is raised once every hook has run.
    """
    state = _this_process_state(app)
    deadline = _shutdown_deadline(app)
    await _drain_async(app, state, deadline)
    try:
        generators = _claim_stop(state)
        if generators is not None and (generators or app.after_serving_funcs):
            await _on_loop(_run_shutdown_hooks, app, generators)
    finally:
        await _drain_async(app, state, deadline)


def _shutdown_at_exit(app_ref: weakref.ref[Flask]) -> None:
    """The :mod:`atexit` hook: stop what still serves in this process, blocking."""
    app = app_ref()
    if app is None or app._serving.pid != os.getpid():
        return
    state = app._serving
    deadline = _shutdown_deadline(app)
    _drain(app, state, deadline)
    try:
        generators = _claim_stop(state)
        if generators is not None:
            _run_shutdown_hooks(app, generators)
    except Exception:
        pass  # logged where it happened; nothing is left to report it to
    finally:
        _drain(app, state, deadline)


def _claim_stop(state: ServingState) -> list[t.Any] | None:
    """The generators to finish if the app serves in this process (it then has stopped)."""
    with state.lock:
        if state.phase != "serving":
            return None
        state.phase = "stopped"
        generators, state.generators = state.generators, []
        return generators


def _run_shutdown_hooks(
    app: Flask, generators: list[t.Any], *, run_after_serving: bool = True
) -> None:
    """Resume the generators past their yield (last started first), then run ``after_serving``.

    Every hook runs even if one fails; each failure is logged and the first
    is raised at the end.
    """
    errors: list[Exception] = []
    with app.app_context():
        for generator in reversed(generators):
            try:
                _finish_generator(app, generator)
            except Exception as e:
                errors.append(e)
        if run_after_serving:
            for func in app.after_serving_funcs:
                try:
                    _call_hook(app, "after_serving", func)
                except Exception as e:
                    errors.append(e)
    if errors:
        raise errors[0]


def _finish_generator(app: Flask, generator: t.Any) -> None:
    try:
        yielded_again = _advance(app, generator, generator)
    except Exception:
        _close(app, generator)
        raise
    if yielded_again:
        _close(app, generator)
        _log_and_raise(
            app, RuntimeError(f"The while_serving generator {_name(generator)} yielded twice.")
        )


# -- ASGI lifespan ----------------------------------------------------------------


async def serve_lifespan(app: Flask, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve the ASGI lifespan protocol: :meth:`Flask.startup`, then :meth:`Flask.shutdown`.

    A failure is answered with ``lifespan.startup.failed`` (or
    ``.shutdown.failed``) carrying the error's text, which the server shows
    as it exits; the traceback is in ``app.logger``'s output.
    """
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "lifespan.startup":
            try:
                await app.startup()
            except Exception as e:
                await send({"type": "lifespan.startup.failed", "message": _describe(e)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            try:
                await app.shutdown()
            except Exception as e:
                await send({"type": "lifespan.shutdown.failed", "message": _describe(e)})
                return
            await send({"type": "lifespan.shutdown.complete"})
            return


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


async def _on_loop(func: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
    """Run synchronous ``func(*args)`` on the running loop; what it awaits is awaited here."""
    from ._async import run_in_bridge

    return await run_in_bridge(contextvars.copy_context(), func, *args)


# -- background tasks -------------------------------------------------------------


def add_background_task(
    app: Flask, func: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any
) -> None:
    """Run ``func(*args, **kwargs)`` in the background (:meth:`Flask.add_background_task`).

    During a request of ``app`` it is queued and starts once the response has
    been sent; anywhere else it starts at once.
    """
    ctx = _cv_request.get(None)
    if ctx is not None and ctx.app is app:
        queued = ctx._background_tasks
        if queued is None:
            queued = ctx._background_tasks = []
        queued.append((func, args, kwargs))
    else:
        start_background_tasks(app, [(func, args, kwargs)])


def start_background_tasks(app: Flask, tasks: list[QueuedTask]) -> None:
    """Start queued background tasks: the pipeline calls it when a response has been sent.

    Callable from a WSGI server's thread, from the ASGI door's worker threads
    and from a greenlet on the ASGI server's loop. Each task runs in an app
    context of its own and in a fresh :mod:`contextvars` context (nothing of
    the request it came from): an ``async def`` function as a task on the ASGI
    server's loop when there is one, anything else in a thread of its own
    (where an ``async def`` function runs on the thread's loop).
    """
    loop = _server_loop()
    state = _this_process_state(app)
    for func, args, kwargs in tasks:
        task = _track(app, state, func)
        if (
            loop is None
            or not inspect.iscoroutinefunction(func)
            or not _start_on_loop(loop, app, state, task, func, args, kwargs)
        ):
            _start_thread(app, state, task, func, args, kwargs)


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The ASGI server's event loop, if called from its thread or one of the door's workers."""
    if "asyncio" not in sys.modules:
        return None  # nothing asynchronous ever ran in this process: WSGI
    from . import _async
    from ._shortcuts.asyncio import running_loop

    loop = running_loop()
    if loop is None:
        return _async._local.server_loop
    own = _async._local.loop
    if own is not None and own.loop is loop:
        # This thread's own loop (an ``async def`` hook under WSGI): it turns
        # only while that coroutine runs, so a task left on it would stall.
        return None
    return loop


def _track(app: Flask, state: ServingState, func: t.Callable[..., t.Any]) -> _Task:
    task = _Task(_name(func))
    with state.lock:
        state.tasks.add(task)
    # Tasks are waited for at exit unless a lifespan shutdown did it first.
    _register_process_hooks(app, state)
    return task


def _finish(state: ServingState, task: _Task) -> None:
    with state.lock:
        state.tasks.discard(task)
    task.done.set()


def _start_thread(
    app: Flask,
    state: ServingState,
    task: _Task,
    func: t.Callable[..., t.Any],
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
) -> None:
    # A daemon thread: the interpreter joins other threads before the
    # ``atexit`` hooks run, which would wait for a task without the timeout.
    thread = threading.Thread(
        target=contextvars.Context().run,
        args=(_run_in_thread, app, state, task, func, args, kwargs),
        name=f"demijohn-task {task.name}",
        daemon=True,
    )
    try:
        thread.start()
    except RuntimeError:
        # No new threads once the interpreter is shutting down.
        app.logger.error("Could not start the background task %s.", task.name, exc_info=True)
        _finish(state, task)


def _run_in_thread(
    app: Flask,
    state: ServingState,
    task: _Task,
    func: t.Callable[..., t.Any],
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
) -> None:
    try:
        with app.app_context():
            result = app.ensure_sync(func)(*args, **kwargs)
            if inspect.isawaitable(result):
                # An object with an ``async def __call__``, which ``ensure_sync`` cannot tell.
                from ._async import run_sync

                run_sync(result)
    except Exception:
        _log_task_error(app, task)
    finally:
        _finish(state, task)


def _start_on_loop(
    loop: asyncio.AbstractEventLoop,
    app: Flask,
    state: ServingState,
    task: _Task,
    func: t.Callable[..., t.Any],
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
) -> bool:
    """Start an ``async def`` task on ``loop``; ``False`` if the loop is closed."""
    from ._shortcuts.asyncio import running_loop

    coro = _run_on_loop(app, state, task, func, args, kwargs)

    def create() -> None:
        created = loop.create_task(coro, context=contextvars.Context())

        def cancel() -> None:
            # A closed loop raises RuntimeError: the task is gone with it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(created.cancel)

        task.cancel = cancel

    try:
        if running_loop() is loop:
            create()
        else:
            loop.call_soon_threadsafe(create)
    except RuntimeError:
        coro.close()
        return False
    return True


async def _run_on_loop(
    app: Flask,
    state: ServingState,
    task: _Task,
    func: t.Callable[..., t.Awaitable[t.Any]],
    args: tuple[t.Any, ...],
    kwargs: dict[str, t.Any],
) -> None:
    try:
        with app.app_context():
            await func(*args, **kwargs)
    except Exception:
        _log_task_error(app, task)
    finally:
        _finish(state, task)


def _log_task_error(app: Flask, task: _Task) -> None:
    app.logger.error("Exception in background task %s", task.name, exc_info=True)


def _shutdown_deadline(app: Flask) -> float | None:
    timeout = app.config.get("BACKGROUND_TASK_SHUTDOWN_TIMEOUT", DEFAULT_SHUTDOWN_TIMEOUT)
    if timeout is None:
        return None  # wait as long as they take
    return time.monotonic() + float(timeout)


def _running(state: ServingState) -> list[_Task]:
    with state.lock:
        return list(state.tasks)


def _wait_all(tasks: list[_Task], deadline: float | None) -> None:
    for task in tasks:
        if deadline is None:
            task.done.wait()
        else:
            task.done.wait(max(0.0, deadline - time.monotonic()))


def _drain(app: Flask, state: ServingState, deadline: float | None) -> None:
    """Wait for the running tasks until ``deadline``, then abandon the rest."""
    tasks = _running(state)
    if tasks:
        _wait_all(tasks, deadline)
        _abandon_unfinished(app, state, tasks)


async def _drain_async(app: Flask, state: ServingState, deadline: float | None) -> None:
    """:func:`_drain`, leaving the loop free to run the tasks being waited for."""
    tasks = _running(state)
    if tasks:
        import asyncio

        await asyncio.to_thread(_wait_all, tasks, deadline)
        _abandon_unfinished(app, state, tasks)


def _abandon_unfinished(app: Flask, state: ServingState, tasks: list[_Task]) -> None:
    for task in tasks:
        if task.done.is_set():
            continue
        with state.lock:
            state.tasks.discard(task)
        app.logger.error(
            "Background task %s was still running at shutdown after the"
            " BACKGROUND_TASK_SHUTDOWN_TIMEOUT; abandoned%s.",
            task.name,
            " (cancelled)" if task.cancel is not None else " (its thread keeps running)",
        )
        if task.cancel is not None:
            task.cancel()


# -- per-process state --------------------------------------------------------------


def _this_process_state(app: Flask) -> ServingState:
    state = app._serving
    if state.pid != os.getpid():
        # Forked without the fork hook having run (it runs for every
        # ``os.fork``; this is a safety net).
        _start_afresh(app)
        state = app._serving
    return state


def _start_afresh(app: Flask) -> None:
    """Give a forked child its own state: it starts anew, the parent's hooks are not resumed."""
    app._serving = ServingState(inherited=app._serving)
    app._serving_started = False


def _register_process_hooks(app: Flask, state: ServingState) -> None:
    """Register the app's at-exit and at-fork hooks, once; both hold a weak reference only."""
    with state.lock:
        if state.registered:
            return
        state.registered = True
    app_ref = weakref.ref(app)
    atexit.register(_shutdown_at_exit, app_ref)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=lambda: _start_afresh_in_child(app_ref))


def _start_afresh_in_child(app_ref: weakref.ref[Flask]) -> None:
    app = app_ref()
    if app is not None:
        _start_afresh(app)


# -- helpers ----------------------------------------------------------------------


def _call_hook(app: Flask, kind: str, func: t.Callable[[], t.Any]) -> t.Any:
    """Call a serving hook through ``app.ensure_sync``, logging its error with the traceback."""
    try:
        return app.ensure_sync(func)()
    except Exception:
        app.logger.error("Exception in %s function %s", kind, _name(func), exc_info=True)
        raise


def _advance(app: Flask, owner: object, iterator: object) -> bool:
    """Run a ``while_serving`` iterator to its next yield; ``False`` if it ended instead."""
    try:
        if isinstance(iterator, cabc.AsyncIterator):
            return bool(app.ensure_sync(_anext)(iterator))
        if isinstance(iterator, cabc.Iterator):
            next(iterator)
            return True
        raise TypeError(
            f"The while_serving function {_name(owner)} must be a generator function"
            f" (sync or async); it returned {type(iterator).__name__!r}."
        )
    except StopIteration:
        return False
    except Exception:
        app.logger.error("Exception in while_serving %s", _name(owner), exc_info=True)
        raise


async def _anext(iterator: t.AsyncIterator[t.Any]) -> bool:
    try:
        await iterator.__anext__()
    except StopAsyncIteration:
        return False
    return True


async def _aclose(iterator: t.Any) -> None:
    await iterator.aclose()


def _close(app: Flask, iterator: t.Any) -> None:
    """Close a generator (its ``finally`` blocks run); errors doing so are logged."""
    try:
        if isinstance(iterator, cabc.AsyncGenerator):
            app.ensure_sync(_aclose)(iterator)
        elif isinstance(iterator, cabc.Generator):
            iterator.close()
    except Exception:
        app.logger.error("Exception closing while_serving %s", _name(iterator), exc_info=True)


def _has_hooks(app: Flask) -> bool:
    return bool(app.before_serving_funcs or app.while_serving_funcs or app.after_serving_funcs)


def _log_and_raise(app: Flask, error: Exception) -> t.NoReturn:
    app.logger.error("%s", error)
    raise error


def _name(obj: object) -> str:
    name = getattr(obj, "__qualname__", None)
    return repr(name) if name is not None else repr(obj)


def _current_greenlet() -> object:
    import greenlet

    return greenlet.getcurrent()


def _in_bridge() -> bool:
    """Whether this runs in a bridge greenlet of the ASGI door (on the event loop's thread)."""
    if "greenlet" not in sys.modules:
        return False
    import greenlet

    from ._async import _Bridge

    return type(greenlet.getcurrent()) is _Bridge
