"""``async def`` views, hooks and handlers under WSGI."""

from __future__ import annotations

import asyncio
import threading

import pytest

import demijohn
from demijohn import g, request


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
