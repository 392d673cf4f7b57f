"""``async def`` views, hooks and handlers, and the event loop the WSGI door runs them on.

Hooks, error handlers, context processors and class-based views written as
``async def``, through both doors; the WSGI door's loop, reused per thread;
and ``demijohn._async.EagerLoop``, where a coroutine's first step runs in the
caller.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import sys
import threading
import typing as t

import pytest

import demijohn
from demijohn import Flask, _async, g, render_template_string, request
from demijohn.views import MethodView


def test_async_hooks_see_the_request_context(app: Flask) -> None:
    seen: list[str] = []

    @app.before_request
    async def before() -> None:
        await asyncio.sleep(0)
        g.user = request.args.get("user", "anon")

    @app.after_request
    async def after(response: t.Any) -> t.Any:
        await asyncio.sleep(0)
        response.headers["X-User"] = g.user
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen.append(f"teardown {request.path} {exc!r}")

    @app.teardown_appcontext
    async def teardown_app(exc: BaseException | None) -> None:
        seen.append(f"app teardown {g.user}")

    @app.context_processor
    async def inject() -> dict[str, str]:
        return {"who": g.user}

    @app.route("/")
    async def index() -> str:
        await asyncio.sleep(0)
        return render_template_string("hi {{ who }}")

    response = app.test_client().get("/?user=ada")
    assert (response.text, response.headers["X-User"]) == ("hi ada", "ada")
    assert seen == ["teardown / None", "app teardown ada"]


def test_async_before_request_can_short_circuit(app: Flask) -> None:
    @app.before_request
    async def gate() -> t.Any:
        if request.args.get("blocked"):
            return "blocked", 403
        return None

    app.add_url_rule("/", "index", lambda: "open")
    client = app.test_client()
    assert client.get("/").text == "open"
    assert client.get("/?blocked=1").status_code == 403


def test_async_error_handlers(app: Flask) -> None:
    class Oops(Exception):
        pass

    @app.errorhandler(Oops)
    async def handle_oops(e: Oops) -> tuple[str, int]:
        await asyncio.sleep(0)
        return f"handled in {request.path}", 418

    @app.errorhandler(404)
    async def not_found(e: t.Any) -> tuple[dict[str, str], int]:
        return {"error": "not found"}, 404

    @app.route("/oops")
    async def oops() -> str:
        raise Oops()

    client = app.test_client()
    assert (client.get("/oops").status_code, client.get("/oops").text) == (
        418,
        "handled in /oops",
    )
    assert client.get("/nope").json == {"error": "not found"}


def test_async_method_view(app: Flask) -> None:
    class ItemAPI(MethodView):
        async def get(self, item_id: int) -> dict[str, int]:
            await asyncio.sleep(0)
            return {"id": item_id}

        async def delete(self, item_id: int) -> tuple[str, int]:
            return "", 204

    app.add_url_rule("/items/<int:item_id>", view_func=ItemAPI.as_view("item"))
    client = app.test_client()
    assert client.get("/items/3").json == {"id": 3}
    assert client.delete("/items/3").status_code == 204
    assert client.head("/items/3").status_code == 200  # HEAD falls back to get
    assert client.post("/items/3").status_code == 405


def test_asyncio_gather_in_a_view(app: Flask) -> None:
    async def fetch(name: str, delay: float) -> str:
        await asyncio.sleep(delay)
        return name

    @app.route("/dashboard")
    async def dashboard() -> dict[str, list[str]]:
        results = await asyncio.gather(fetch("weather", 0.02), fetch("news", 0.01))
        return {"results": list(results), "path": [request.path]}

    assert app.test_client().get("/dashboard").json == {
        "results": ["weather", "news"],
        "path": ["/dashboard"],
    }


def test_async_to_sync_is_the_override_point(app: Flask) -> None:
    calls: list[str] = []
    original = app.async_to_sync

    def tracing(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        calls.append(func.__name__)
        return original(func)

    app.async_to_sync = tracing  # type: ignore[method-assign]

    @app.route("/")
    async def index() -> str:
        return "ok"

    assert app.test_client().get("/").text == "ok"
    assert calls == ["index"]


def test_async_view_error_propagates_in_testing(app: Flask) -> None:
    @app.route("/")
    async def index() -> str:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        app.test_client().get("/")


# -- under WSGI: the loop per thread and the override points ---------------------------


def test_async_view_and_hooks(app: demijohn.Flask) -> None:
    app.config["TESTING"] = False
    calls: list[str] = []

    @app.before_request
    async def before() -> None:
        await asyncio.sleep(0)
        g.before = True
        calls.append("before")

    @app.after_request
    async def after(response: demijohn.Response) -> demijohn.Response:
        calls.append("after")
        response.headers["X-Async"] = "1"
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        calls.append("teardown")

    @app.errorhandler(ValueError)
    async def handle(e: ValueError) -> tuple[str, int]:
        return "async handled", 400

    @app.route("/")
    async def index() -> str:
        await asyncio.sleep(0)
        return f"{request.args['x']} {g.before}"

    @app.route("/fail")
    async def fail() -> str:
        raise ValueError()

    client = app.test_client()
    resp = client.get("/?x=hi")
    assert resp.text == "hi True"
    assert resp.headers["X-Async"] == "1"
    assert calls == ["before", "after", "teardown"]
    resp = client.get("/fail")
    assert (resp.status_code, resp.text) == (400, "async handled")


def test_gather_inside_view(app: demijohn.Flask) -> None:
    async def fetch(n: int) -> int:
        await asyncio.sleep(0.01)
        return n * 2

    @app.route("/")
    async def index() -> dict[str, list[int]]:
        return {"results": list(await asyncio.gather(*(fetch(i) for i in range(3))))}

    assert app.test_client().get("/").json == {"results": [0, 2, 4]}


@pytest.mark.wsgi_only
def test_event_loop_is_reused_per_thread(app: demijohn.Flask) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    @app.route("/")
    async def index() -> str:
        loops.append(asyncio.get_running_loop())
        return "ok"

    client = app.test_client()
    client.get("/")
    client.get("/")
    assert loops[0] is loops[1]

    other: list[asyncio.AbstractEventLoop] = []

    def in_thread() -> None:
        app.test_client().get("/")
        other.append(loops[-1])

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(timeout=10)
    assert other and other[0] is not loops[0]


def test_ensure_sync_answers_as_inspect_does(app: demijohn.Flask) -> None:
    async def coroutine_function() -> str:
        return "async"

    def plain() -> str:
        return "plain"

    def marked() -> t.Any:
        return coroutine_function()

    mark = getattr(inspect, "markcoroutinefunction", None)
    if mark is not None:  # Python 3.12+
        mark(marked)
    else:  # 3.11 has no marker to honour: set the attribute, which inspect ignores
        marked._is_coroutine_marker = object()  # type: ignore[attr-defined]
    for func in (coroutine_function, plain, marked, functools.partial(coroutine_function)):
        wrapped = app.ensure_sync(func)
        assert (wrapped is not func) is inspect.iscoroutinefunction(func), func
    if mark is not None:
        assert app.ensure_sync(marked)() == "async"


def test_ensure_sync_and_async_to_sync_are_override_points(app: demijohn.Flask) -> None:
    def plain() -> str:
        return "plain"

    assert app.ensure_sync(plain) is plain
    wrapped = app.ensure_sync(_coro)
    assert wrapped is not _coro
    assert wrapped(3) == 6

    class Custom(demijohn.Flask):
        def async_to_sync(self, func):  # type: ignore[no-untyped-def]
            return lambda *a, **k: "custom"

    custom = Custom("custom", static_folder=None)
    custom.add_url_rule("/", "index", _coro_view)
    assert custom.test_client().get("/").text == "custom"


def test_async_from_running_loop_falls_back_to_thread(app: demijohn.Flask) -> None:
    async def outer() -> int:
        return app.ensure_sync(_coro)(5)  # type: ignore[no-any-return]

    assert asyncio.run(outer()) == 10


async def _coro(n: int) -> int:
    await asyncio.sleep(0)
    return n * 2


async def _coro_view() -> str:
    return "original"


def test_a_wsgi_worker_loads_asyncio_only_for_async_code() -> None:
    # The ASGI door and the event-loop bridge (asyncio, greenlet, a thread
    # pool) are imported on first use: a plain WSGI worker stays smaller.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import sys
        from demijohn import Flask
        app = Flask("lean")
        app.add_url_rule("/", "index", lambda: "sync")

        async def later():
            return "async"

        app.add_url_rule("/async", "later", later)
        client = app.test_client()
        heavy = ("asyncio", "greenlet", "concurrent.futures", "demijohn.asgi")
        assert client.get("/").text == "sync"
        print(sorted(name for name in heavy if name in sys.modules))
        assert client.get("/async").text == "async"
        print("asyncio" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "True"]


# -- the WSGI door's event loop: a coroutine's first step runs in the caller -----------
#
# ``demijohn._async.EagerLoop.run`` must behave as ``run_until_complete`` does
# (a real task, the loop running, callbacks run, errors raised) while turning
# the loop only when the coroutine is left waiting.


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


def test_a_task_factory_makes_the_task(loop: _async.EagerLoop) -> None:
    made: list[asyncio.Task[t.Any]] = []

    def factory(
        loop: asyncio.AbstractEventLoop, coro: t.Coroutine[t.Any, t.Any, t.Any], **kwargs: t.Any
    ) -> asyncio.Task[t.Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    loop.set_task_factory(factory)  # type: ignore[arg-type]

    async def view() -> asyncio.Task[t.Any] | None:
        await asyncio.sleep(0)
        return asyncio.current_task()

    task = loop.run(view())
    assert made == [task]
    assert task is not None and task.done()


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
