"""Running coroutines from the synchronous request pipeline.

The pipeline is synchronous code (hooks, views and handlers are called
through ``app.ensure_sync``); this module decides where an ``async def``
function it calls actually runs:

* in a *bridge greenlet* (the ASGI door runs the pipeline of an ``async def``
  endpoint in one, on the server's event loop): the greenlet switches to its
  parent, which awaits the coroutine on the loop and switches back with the
  result. Other requests run on the loop meanwhile.
* in a worker thread of the ASGI door: the coroutine is scheduled on the
  server's event loop and the thread waits for it.
* anywhere else (WSGI): on this thread's own event loop, created once and
  reused, so each call costs one ``run_until_complete``.

In every case the coroutine runs in the caller's :mod:`contextvars` context,
so it sees the active app and request contexts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
import typing as t

try:
    import greenlet
except ImportError:  # pragma: no cover - exercised only without the extra
    greenlet = None

T = t.TypeVar("T")

_local = threading.local()
_fallback_pool: concurrent.futures.ThreadPoolExecutor | None = None
_fallback_lock = threading.Lock()


if greenlet is not None:

    class _Bridge(greenlet.greenlet):  # type: ignore[misc]
        """A greenlet whose awaits are performed by its parent, on the event loop."""

else:  # pragma: no cover

    class _Bridge:  # type: ignore[no-redef]
        """Placeholder: no greenlet support installed."""


class _ThreadLoop:
    """This thread's reusable event loop, closed when the thread goes away.

    Thread-local values are released when their thread ends, so closing the
    loop in ``__del__`` frees its selector and self-pipe with the thread.
    """

    __slots__ = ("loop",)

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        if not self.loop.is_closed():
            self.loop.close()


def _thread_loop() -> asyncio.AbstractEventLoop:
    holder: _ThreadLoop | None = getattr(_local, "loop", None)
    if holder is None or holder.loop.is_closed():
        holder = _local.loop = _ThreadLoop()
    return holder.loop


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
    if greenlet is not None:
        current = greenlet.getcurrent()
        if type(current) is _Bridge:
            return current.parent.switch(coro)  # type: ignore[no-any-return]
    server_loop: asyncio.AbstractEventLoop | None = getattr(_local, "server_loop", None)
    if server_loop is not None:
        return _run_on_server_loop(server_loop, coro)
    # ``_get_running_loop`` (asyncio's low-level query) answers None where
    # ``get_running_loop`` would raise: no exception on the common WSGI path.
    if asyncio._get_running_loop() is None:
        return _thread_loop().run_until_complete(coro)
    return _run_in_fallback_thread(coro)


def iterate_async(iterator: t.AsyncIterator[T]) -> t.Iterator[T]:
    """Iterate an async iterator from synchronous code, one :func:`run_sync` per item.

    Closing the returned iterator early closes the async one too.
    """
    done = False
    try:
        while True:
            try:
                yield run_sync(iterator.__anext__())
            except StopAsyncIteration:
                done = True
                return
    finally:
        aclose = getattr(iterator, "aclose", None)
        if not done and aclose is not None:
            run_sync(aclose())


async def _await(awaitable: t.Awaitable[T]) -> T:
    return await awaitable


def bridge_available() -> bool:
    """Whether :func:`run_in_bridge` can run code on the event loop (greenlet installed)."""
    return greenlet is not None


async def run_in_bridge(func: t.Callable[..., T], *args: t.Any) -> T:
    """Run synchronous ``func(*args)`` on the running loop, awaiting what it awaits.

    ``func`` runs in a bridge greenlet within a copy of the current context;
    each coroutine it hands to :func:`run_sync` is awaited here, in that same
    context, while other tasks keep running.
    """
    context = contextvars.copy_context()
    bridge = _Bridge(func)
    bridge.gr_context = context
    request = bridge.switch(*args)
    while not bridge.dead:
        if not asyncio.iscoroutine(request):
            # Servers may hand out plain awaitables (granian's ``send``), which
            # a task cannot take directly.
            request = _await(request)
        try:
            value = await asyncio.get_running_loop().create_task(request, context=context)
        except BaseException as e:
            request = bridge.throw(e)
        else:
            request = bridge.switch(value)
    return request  # type: ignore[no-any-return]


def run_in_worker(
    executor: concurrent.futures.Executor, func: t.Callable[..., T], *args: t.Any
) -> asyncio.Future[T]:
    """Run ``func(*args)`` in ``executor`` within a copy of the current context.

    Coroutines it runs through :func:`run_sync` are scheduled on the calling
    (server) loop.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()

    def call() -> T:
        _local.server_loop = loop
        try:
            return context.run(func, *args)
        finally:
            _local.server_loop = None

    return loop.run_in_executor(executor, call)
