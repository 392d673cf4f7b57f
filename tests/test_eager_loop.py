"""The WSGI door's event loop: a coroutine's first step runs in the caller.

``demijohn._async.EagerLoop.run`` must behave as ``run_until_complete`` does
(a real task, the loop running, callbacks run, errors raised) while turning
the loop only when the coroutine is left waiting.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading
import typing as t

import pytest

import demijohn
from demijohn import _async

T = t.TypeVar("T")


@pytest.fixture
def loop() -> t.Iterator[_async.EagerLoop]:
    loop = _async.EagerLoop()
    yield loop
    loop.close()


def count_turns(loop: asyncio.AbstractEventLoop) -> list[int]:
    """Count the loop's ``run_forever`` calls (each turn of ``run_until_complete``)."""
    turns = [0]
    run_forever = loop.run_forever

    def counted() -> None:
        turns[0] += 1
        run_forever()

    loop.run_forever = counted  # type: ignore[method-assign]
    return turns


def test_a_coroutine_that_never_waits_runs_without_turning_the_loop(
    loop: _async.EagerLoop,
) -> None:
    turns = count_turns(loop)
    seen: dict[str, object] = {}

    async def view() -> str:
        seen["task"] = asyncio.current_task()
        seen["loop"] = asyncio.get_running_loop()
        seen["running"] = loop.is_running()
        return "done"

    assert loop.run(view()) == "done"
    assert turns == [0]
    assert isinstance(seen["task"], asyncio.Task)
    assert seen["task"].done()  # type: ignore[attr-defined]
    assert seen["loop"] is loop
    assert seen["running"] is True
    # Afterwards the thread is back to having no running loop.
    assert asyncio._get_running_loop() is None
    assert not loop.is_running()


def test_a_waiting_coroutine_continues_in_the_same_task(loop: _async.EagerLoop) -> None:
    turns = count_turns(loop)
    tasks: list[asyncio.Task[t.Any] | None] = []

    async def view() -> int:
        tasks.append(asyncio.current_task())
        await asyncio.sleep(0.01)
        tasks.append(asyncio.current_task())
        return 42

    assert loop.run(view()) == 42
    assert turns == [1]
    assert tasks[0] is not None and tasks[0] is tasks[1]


def test_timeouts_and_task_groups_work_from_the_first_step(loop: _async.EagerLoop) -> None:
    async def times_out() -> str:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(10)
        return "never"

    with pytest.raises(TimeoutError):
        loop.run(times_out())

    async def double(n: int) -> int:
        await asyncio.sleep(0)
        return n * 2

    async def gathers() -> list[int]:
        async with asyncio.TaskGroup() as group:
            children = [group.create_task(double(n)) for n in range(3)]
        return [child.result() for child in children]

    assert loop.run(gathers()) == [0, 2, 4]


def test_callbacks_and_tasks_started_by_the_first_step_get_their_turn(
    loop: _async.EagerLoop,
) -> None:
    events: list[str] = []

    async def background() -> None:
        events.append("background started")

    started: list[asyncio.Task[None]] = []

    async def view() -> str:
        asyncio.get_running_loop().call_soon(events.append, "callback")
        started.append(asyncio.create_task(background()))
        return "returned at once"

    assert loop.run(view()) == "returned at once"
    # As with run_until_complete: what the task scheduled ran before it returned.
    assert events == ["callback", "background started"]


def test_errors_propagate_and_the_loop_stays_usable(loop: _async.EagerLoop) -> None:
    async def fails() -> None:
        raise LookupError("from the view")

    with pytest.raises(LookupError, match="from the view"):
        loop.run(fails())

    async def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        loop.run(interrupted())

    async def fine() -> str:
        return "fine"

    assert loop.run(fine()) == "fine"
    assert asyncio._get_running_loop() is None


def test_the_coroutine_runs_in_a_copy_of_the_callers_context(loop: _async.EagerLoop) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    var.set("caller")

    async def view() -> str:
        seen = var.get()
        var.set("view")
        return seen

    assert loop.run(view()) == "caller"
    assert var.get() == "caller"


def test_sync_code_inside_the_first_step_can_run_coroutines_again() -> None:
    # The nested call sees a running loop and uses the helper thread.
    async def inner() -> str:
        await asyncio.sleep(0)
        return "inner"

    async def outer() -> str:
        return _async.run_sync(inner()) + " via outer"

    assert _async.run_sync(outer()) == "inner via outer"


def test_run_sync_accepts_any_awaitable() -> None:
    class Ready:
        def __await__(self) -> t.Generator[t.Any, None, str]:
            yield from asyncio.sleep(0).__await__()
            return "awaited"

    assert _async.run_sync(Ready()) == "awaited"


@pytest.mark.skipif(
    sys.version_info >= (3, 14), reason="event loop policies are deprecated from Python 3.14"
)
def test_an_installed_loop_policy_chooses_the_threads_loop() -> None:
    class CustomLoop(asyncio.SelectorEventLoop):
        pass

    class Policy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self) -> asyncio.AbstractEventLoop:
            return CustomLoop()

    async def which() -> str:
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop()).__name__

    found: list[str] = []

    def in_new_thread() -> None:
        found.append(_async.run_sync(which()))

    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(Policy())
    try:
        thread = threading.Thread(target=in_new_thread)
        thread.start()
        thread.join(timeout=10)
    finally:
        asyncio.set_event_loop_policy(previous)
    assert found == ["CustomLoop"]


def test_views_can_use_timeouts_and_task_groups(app: demijohn.Flask) -> None:
    async def child(n: int) -> int:
        await asyncio.sleep(0)
        return n + 1

    @app.route("/group")
    async def group() -> dict[str, list[int]]:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(child(n)) for n in range(3)]
        return {"results": [task.result() for task in tasks]}

    @app.route("/slow")
    async def slow() -> str:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(10)
        except TimeoutError:
            return "timed out", 504  # type: ignore[return-value]
        return "finished"

    client = app.test_client()
    assert client.get("/group").json == {"results": [1, 2, 3]}
    resp = client.get("/slow")
    assert (resp.status_code, resp.text) == (504, "timed out")


def test_coroutine_functions_get_one_wrapper_each(app: demijohn.Flask) -> None:
    async def view() -> str:
        return "hi"

    first = app.ensure_sync(view)
    assert app.ensure_sync(view) is first
    assert first() == "hi"
    assert first.__wrapped__ is view  # type: ignore[attr-defined]

    class Holder:
        async def method(self) -> str:
            return "method"

    # Bound methods are made anew per access: wrapped each time, never kept.
    kept = len(app._sync_wrappers)
    assert app.ensure_sync(Holder().method)() == "method"
    assert len(app._sync_wrappers) == kept

    # Functions made on the fly cannot pile up.
    for n in range(1000):

        async def made(n: int = n) -> int:
            return n

        app.ensure_sync(made)
    assert len(app._sync_wrappers) <= 256
