"""Running coroutines from the synchronous request pipeline.

The pipeline is synchronous code (hooks, views and handlers are called
through ``app.ensure_sync``); this module decides where an ``async def``
function it calls actually runs:

* in a *bridge greenlet* (the ASGI door runs the pipeline of an ``async def``
  endpoint in one, on the server's event loop): the coroutine is stepped right
  there, and most finish in that one step. One that has to wait is handed to
  the greenlet's parent, which awaits the rest of it in the request's task
  and switches back with the result; other requests run on the loop meanwhile.
* in a worker thread of the ASGI door: the coroutine is scheduled on the
  server's event loop and the thread waits for it.
* anywhere else (WSGI): in a task on this thread's own event loop, created
  once and reused. The task's first step runs at once, in the caller; the
  loop turns only when the coroutine is left waiting (see :class:`EagerLoop`).

In every case the coroutine runs in the caller's :mod:`contextvars` context,
so it sees the active app and request contexts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import queue
import sys
import threading
import typing as t
from types import CoroutineType

import greenlet

from ._shortcuts.asyncio import running_loop, set_running_loop

T = t.TypeVar("T")
_Ts = t.TypeVarTuple("_Ts")


class _Local(threading.local):
    """Per-thread state; class-level defaults, so a lookup never raises."""

    #: The ASGI server's loop, in the door's worker threads.
    server_loop: asyncio.AbstractEventLoop | None = None
    #: This thread's own loop, created on first use.
    loop: _ThreadLoop | None = None
    #: Idle bridge greenlets of this thread's event loop, kept for reuse.
    bridges: list[_Bridge] | None = None


_local = _Local()
_fallback_pool: concurrent.futures.ThreadPoolExecutor | None = None
_fallback_lock = threading.Lock()


class _Bridge(greenlet.greenlet):  # type: ignore[misc]
    """A greenlet running synchronous calls on the event loop; its parent awaits for it.

    Made once and reused: starting a new greenlet costs about ten times a
    switch into an idle one. See :func:`run_in_bridge`.
    """


class _Waiting(t.NamedTuple):
    """What a bridge hands its parent: a coroutine stopped at its first real wait."""

    coro: t.Coroutine[t.Any, t.Any, t.Any]
    #: What the coroutine yielded: the future it waits on (or None for a bare yield).
    waiting_on: t.Any


class _Returned:
    """What a bridge hands its parent when its call returned."""

    __slots__ = ("value",)

    def __init__(self, value: t.Any) -> None:
        self.value = value


class _Raised:
    """What a bridge hands its parent when its call raised."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


#: Idle bridges kept per thread; more are made when more requests wait at once.
_MAX_IDLE_BRIDGES = 64


def _serve_calls(func: t.Callable[..., t.Any], args: tuple[t.Any, ...]) -> None:
    """A bridge's life: run each call it is switched into with, hand back the outcome."""
    parent = greenlet.getcurrent().parent
    while True:
        outcome: _Returned | _Raised
        try:
            outcome = _Returned(func(*args))
        except greenlet.GreenletExit:
            raise  # the bridge itself is being discarded
        except BaseException as exc:
            outcome = _Raised(exc)
        del func, args  # nothing of this call outlives it
        func, args = parent.switch(outcome)
        parent = greenlet.getcurrent().parent


if sys.platform == "win32":
    _PlatformLoop = asyncio.ProactorEventLoop
else:
    _PlatformLoop = asyncio.SelectorEventLoop


#: A callback held back by :class:`EagerLoop`: its handle (which may be
#: cancelled; ``None`` when none was made), the callback, its arguments and its context.
_Held = tuple[
    asyncio.Handle | None, t.Callable[..., object], tuple[t.Any, ...], contextvars.Context
]


class EagerLoop(_PlatformLoop):
    """An event loop whose :meth:`run` starts a coroutine's task in the caller.

    Most ``async def`` views and hooks finish without ever waiting on the
    loop, and a turn of the loop (two polls of the selector, the start-up and
    shut-down of ``run_forever``) costs several times what such a view does.
    So :meth:`run` runs the new task's first step right away, inside a real
    :class:`asyncio.Task` (``current_task()``, ``asyncio.timeout`` and task
    groups work), with this loop as the running loop. If the task finished
    and scheduled nothing else, that is all; otherwise the loop takes over as
    ``run_until_complete`` would.

    On Python 3.12+ the standard library starts the task (``eager_start``);
    on 3.11, which lacks it, the callbacks the new task schedules for its
    first step are held back and run here instead.
    """

    def __init__(self) -> None:
        # While a task is being created: the callbacks it asks for, held back
        # to be run in the caller. While its first step runs: whether it
        # scheduled callbacks, which need a turn of the loop. (Set first: the
        # base class calls ``is_running`` while it initialises.)
        self._eager_held: list[_Held] | None = None
        # Whether held callbacks get a real Handle: only when a task factory,
        # which might keep and cancel it, creates the task.
        self._eager_handles = False
        self._eager_stepping = False
        self._eager_scheduled = False
        super().__init__()

    def call_soon(
        self,
        callback: t.Callable[[*_Ts], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        """Schedule ``callback``; held back for :meth:`run` while it creates its task."""
        held = self._eager_held
        if held is not None:
            if context is None:
                context = contextvars.copy_context()
            if not self._eager_handles:
                # Only a new task's constructor schedules in this window, and
                # it drops what it is given: no Handle is made for it.
                held.append((None, callback, args, context))
                return None  # type: ignore[return-value]
            handle = asyncio.Handle(callback, args, self, context)
            held.append((handle, callback, args, context))
            return handle
        if self._eager_stepping:
            self._eager_scheduled = True
        return super().call_soon(callback, *args, context=context)

    def call_soon_threadsafe(
        self,
        callback: t.Callable[[*_Ts], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        """Schedule ``callback`` from any thread (noted while a first step runs)."""
        if self._eager_stepping:
            self._eager_scheduled = True
        return super().call_soon_threadsafe(callback, *args, context=context)

    def is_running(self) -> bool:
        """Whether the loop runs: also true while :meth:`run` steps a task itself."""
        return self._eager_stepping or super().is_running()

    def run(self, coro: t.Coroutine[t.Any, t.Any, T]) -> T:
        """Run ``coro`` in a task to completion and return its result (or raise)."""
        if not _EAGER_START:
            task = self._start_by_hand(coro)
        elif self.get_task_factory() is not None:
            return self.run_until_complete(coro)  # the factory decides how tasks start
        else:
            self._eager_stepping = True
            self._eager_scheduled = False
            set_running_loop(self)
            try:
                task = asyncio.Task(coro, loop=self, eager_start=True)  # type: ignore[call-arg,unused-ignore]
            finally:
                set_running_loop(None)
                self._eager_stepping = False
        if task.done() and not self._eager_scheduled:
            return task.result()
        return self.run_until_complete(task)

    def _start_by_hand(self, coro: t.Coroutine[t.Any, t.Any, T]) -> asyncio.Task[T]:
        # Python 3.11: create the task with the callbacks it schedules held
        # back, then run them here as its first step.
        held = self._eager_held = []
        plain = self.get_task_factory() is None
        self._eager_handles = not plain
        try:
            # ``create_task`` without a task factory, minus its bookkeeping.
            task = asyncio.Task(coro, loop=self) if plain else self.create_task(coro)
        finally:
            self._eager_held = None
        self._eager_stepping = True
        self._eager_scheduled = False
        set_running_loop(self)
        try:
            for handle, callback, args, context in held:
                if handle is not None and handle.cancelled():
                    continue
                try:
                    context.run(callback, *args)
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:
                    # What the loop does with a failing callback.
                    self.call_exception_handler(
                        {"message": f"Exception in callback {callback!r}", "exception": exc}
                    )
        finally:
            set_running_loop(None)
            self._eager_stepping = False
        return task


#: Whether :class:`asyncio.Task` can run its first step itself (Python 3.12+).
_EAGER_START = sys.version_info >= (3, 12)


def _default_policy() -> bool:
    """Whether asyncio's own loop is wanted: no other event loop policy is installed."""
    if sys.version_info >= (3, 14):
        # Policies are deprecated (asking for one warns); asyncio's loop it is.
        return True
    return type(asyncio.get_event_loop_policy()) is asyncio.DefaultEventLoopPolicy


class _ThreadLoop:
    """This thread's reusable event loop, closed when the thread goes away.

    Thread-local values are released when their thread ends, so closing the
    loop in ``__del__`` frees its selector and self-pipe with the thread.
    """

    __slots__ = ("loop", "run")

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop
        self.run: t.Callable[[t.Coroutine[t.Any, t.Any, t.Any]], t.Any]
        if _default_policy():
            self.loop = eager = EagerLoop()
            self.run = eager.run
        else:
            # An installed policy (uvloop...) chooses the loop; it turns for
            # every coroutine.
            self.loop = asyncio.new_event_loop()
            self.run = self.loop.run_until_complete

    def __del__(self) -> None:
        loop = getattr(self, "loop", None)
        if loop is not None and not loop.is_closed():
            loop.close()


def _run_on_server_loop(loop: asyncio.AbstractEventLoop, coro: t.Awaitable[T]) -> T:
    future: concurrent.futures.Future[T] = concurrent.futures.Future()
    context = contextvars.copy_context()

    def finish(task: asyncio.Task[T]) -> None:
        if task.cancelled():
            future.cancel()
        elif (exc := task.exception()) is not None:
            future.set_exception(exc)
        else:
            future.set_result(task.result())

    def start() -> None:
        task = coro if asyncio.iscoroutine(coro) else _await(coro)
        loop.create_task(task, context=context).add_done_callback(finish)

    loop.call_soon_threadsafe(start)
    return future.result()


def _run_in_fallback_thread(coro: t.Awaitable[T]) -> T:
    # A loop is already running in this thread (sync code called from async
    # code outside a bridge); it cannot be re-entered, so use a helper thread.
    global _fallback_pool
    with _fallback_lock:
        if _fallback_pool is None:
            _fallback_pool = concurrent.futures.ThreadPoolExecutor(
                thread_name_prefix="demijohn-async"
            )
    context = contextvars.copy_context()
    return _fallback_pool.submit(context.run, run_sync, coro).result()


def run_sync(coro: t.Awaitable[T]) -> T:
    """Run ``coro`` (any awaitable) to completion and return its result, from synchronous code."""
    current = greenlet.getcurrent()
    if type(current) is _Bridge:
        return _await_in_bridge(current, coro)
    server_loop = _local.server_loop
    if server_loop is not None:
        return _run_on_server_loop(server_loop, coro)
    # No loop running in this thread: the common WSGI case.
    if running_loop() is None:
        if type(coro) is not CoroutineType and not asyncio.iscoroutine(coro):
            coro = _await(coro)
        holder = _local.loop
        if holder is None or holder.loop.is_closed():
            # Made in an empty context: the loop's self-pipe handle keeps the
            # context it is made in (the app, the request) for the thread's life.
            holder = _local.loop = contextvars.Context().run(_ThreadLoop)
        return holder.run(coro)  # type: ignore[no-any-return]
    return _run_in_fallback_thread(coro)


def iterate_async(iterator: t.AsyncIterator[T]) -> t.Iterator[T]:
    """Iterate an async iterator from synchronous code, one :func:`run_sync` per item.

    Closing the returned iterator early closes the async one too. An async
    iterator with a synchronous ``close`` as well (``stream_with_context``'s)
    has it called here, in the caller's context, once exhausted or failed
    (a caller seeing the error may never close the response: the test client).
    """
    done = False
    try:
        while True:
            try:
                item = run_sync(iterator.__anext__())
            except (StopAsyncIteration, Exception) as e:
                done = isinstance(e, StopAsyncIteration)
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
                if done:
                    return
                raise
            yield item
    finally:
        aclose = getattr(iterator, "aclose", None)
        if not done and aclose is not None:
            run_sync(aclose())


async def _await(awaitable: t.Awaitable[T]) -> T:
    return await awaitable


def _await_in_bridge(bridge: _Bridge, awaitable: t.Awaitable[T]) -> T:
    # Step the coroutine here first: most finish without waiting on anything,
    # and then no switch to the loop is needed at all.
    coro = awaitable if type(awaitable) is CoroutineType else _await(awaitable)
    try:
        waiting_on = coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    return bridge.parent.switch(_Waiting(coro, waiting_on))  # type: ignore[no-any-return]


#: ``_Steps.waiting_on`` of a coroutine not started yet.
_NOT_STARTED: t.Any = object()


class _Steps:
    """Awaitable: drive a coroutine's steps in ``context``, from the awaiting task.

    The steps run in the task that awaits this (the request's own task), so
    ``current_task()``, cancellation and ``asyncio.timeout`` work as if the
    coroutine had been awaited there, while its context variables are the
    request's.
    """

    __slots__ = ("context", "coro", "waiting_on")

    def __init__(
        self,
        coro: t.Any,
        context: contextvars.Context,
        waiting_on: t.Any = _NOT_STARTED,
    ) -> None:
        self.coro = coro
        self.context = context
        self.waiting_on = waiting_on

    def __await__(self) -> t.Generator[t.Any, t.Any, t.Any]:
        coro, run = self.coro, self.context.run
        waiting_on = self.waiting_on
        try:
            if waiting_on is _NOT_STARTED:
                waiting_on = run(coro.send, None)
            while True:
                try:
                    sent = yield waiting_on
                except GeneratorExit:
                    coro.close()
                    raise
                except BaseException as exc:  # thrown in by the task: a cancellation
                    waiting_on = run(coro.throw, exc)
                else:
                    waiting_on = run(coro.send, sent)
        except StopIteration as done:
            return done.value


def await_in(context: contextvars.Context, awaitable: t.Awaitable[T]) -> t.Awaitable[T]:
    """Await ``awaitable`` with each of its steps run in ``context``."""
    return _Steps(awaitable.__await__(), context)


async def run_in_bridge(context: contextvars.Context, func: t.Callable[..., T], *args: t.Any) -> T:
    """Run synchronous ``func(*args)`` on the running loop, awaiting what it awaits.

    ``func`` runs in a bridge greenlet within ``context``. A coroutine it hands
    to :func:`run_sync` is stepped at once; only if it has to wait does the
    greenlet switch here, where the rest of it is awaited (in ``context``)
    while other tasks keep running.
    """
    idle = _local.bridges
    if idle is None:
        idle = _local.bridges = []
    bridge = idle.pop() if idle else _Bridge(_serve_calls)
    current = greenlet.getcurrent()
    if bridge.parent is not current:
        bridge.parent = current
    bridge.gr_context = context
    if not bridge:  # new: a greenlet keeps its first switch's arguments, so not this call's
        bridge.switch(int, ())
    outcome = bridge.switch(func, args)
    while type(outcome) is _Waiting:
        try:
            value = await _Steps(outcome.coro, context, outcome.waiting_on)
        except BaseException as exc:
            outcome = bridge.throw(exc)
        else:
            outcome = bridge.switch(value)
    bridge.gr_context = None
    if len(idle) < _MAX_IDLE_BRIDGES:
        idle.append(bridge)
    if type(outcome) is _Raised:
        error = outcome.error
        del outcome
        raise error
    return outcome.value  # type: ignore[no-any-return]


class WorkerPool:
    """Threads that run synchronous calls for an event loop (the ASGI door's workers).

    Lighter than ``loop.run_in_executor``: a call is one queue put, and its
    outcome one ``call_soon_threadsafe`` setting an asyncio future, with no
    :class:`concurrent.futures.Future` and its lock and callbacks in
    between. Threads are started as calls find none idle, up to ``size``;
    they are daemons, so an abandoned call never holds up interpreter exit.
    """

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()

    def run(
        self, context: contextvars.Context, func: t.Callable[..., T], *args: t.Any
    ) -> asyncio.Future[T]:
        """Run ``func(*args)`` in a worker thread within ``context``; await the result.

        Coroutines it runs through :func:`run_sync` are scheduled on the
        calling (server) loop. Successive calls may share one ``context`` (a
        streamed body is iterated chunk by chunk in the context its view ran in).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((loop, future, context, func, args))
        if self._idle == 0 and len(self._threads) < self.size:
            self._start_thread()
        return future

    def _start_thread(self) -> None:
        with self._lock:
            if len(self._threads) >= self.size:
                return
            thread = threading.Thread(
                target=self._work, name=f"{self.name}_{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        calls = self._calls
        while True:
            with self._lock:
                self._idle += 1
            call = calls.get()
            with self._lock:
                self._idle -= 1
            if call is None:
                return
            loop, future, context, func, args = call
            del call
            _local.server_loop = loop
            try:
                result = context.run(func, *args)
            except BaseException as exc:
                loop.call_soon_threadsafe(_settle, future, None, exc)
                del exc
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)
                del result
            finally:
                _local.server_loop = None
            del loop, future, context, func, args


#: A queued :class:`WorkerPool` call: the loop, its future, the context, the function, arguments.
_Call = tuple[
    asyncio.AbstractEventLoop,
    "asyncio.Future[t.Any]",
    contextvars.Context,
    t.Callable[..., t.Any],
    tuple[t.Any, ...],
]


def _settle(future: asyncio.Future[T], result: T, error: BaseException | None) -> None:
    if future.cancelled():
        return  # the awaiting task gave up (the client went away)
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
