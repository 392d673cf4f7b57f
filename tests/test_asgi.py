"""The ASGI door: environ building, bodies, streaming, concurrency, lifespan."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
import threading
import time
import typing as t

import httpx
import pytest
from asgi_support import call_asgi
from servers import free_port, running_server

import demijohn
from demijohn import request


def _scope(path: str = "/", method: str = "GET", **extra: t.Any) -> dict[str, t.Any]:
    scope: dict[str, t.Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"example.test")],
        "client": ("10.0.0.7", 1234),
        "server": ("example.test", 80),
    }
    scope.update(extra)
    return scope


def _run(app: t.Any, scope: dict[str, t.Any], body: bytes = b"", **kw: t.Any) -> list[t.Any]:
    return asyncio.run(call_asgi(app, scope, body, **kw))


def _single_message_receive() -> t.Callable[[], t.Awaitable[dict[str, t.Any]]]:
    """An ASGI ``receive``: the empty body, then blocks like a server until cancelled."""
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, t.Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


def _body(messages: list[dict[str, t.Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


def test_request_data_reaches_the_view(app: demijohn.Flask) -> None:
    @app.post("/echo/<name>")
    def echo(name: str) -> dict[str, t.Any]:
        return {
            "name": name,
            "q": request.args.get("q"),
            "form": request.form.to_dict(),
            "remote": request.remote_addr,
            "host": request.host,
            "cookie": request.cookies.get("a"),
            "url": request.url,
        }

    scope = _scope(
        "/echo/ad%C3%A9",
        "POST",
        query_string=b"q=1",
        headers=[
            (b"host", b"example.test"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
        ],
    )
    scope["path"] = "/echo/adé"
    messages = _run(app, scope, b"x=1&y=2", chunk_size=3)
    assert messages[0]["status"] == 200
    assert json.loads(_body(messages)) == {
        "name": "adé",
        "q": "1",
        "form": {"x": "1", "y": "2"},
        "remote": "10.0.0.7",
        "host": "example.test",
        "cookie": "1",
        "url": "http://example.test/echo/adé?q=1",
    }


def test_asgi2_form(app: demijohn.Flask) -> None:
    app.add_url_rule("/", "index", lambda: "two-step")

    async def main() -> list[t.Any]:
        instance = app(_scope())
        sent: list[t.Any] = []

        receive = _single_message_receive()

        async def send(message: dict[str, t.Any]) -> None:
            sent.append(message)

        await instance(receive, send)
        return sent

    assert _body(asyncio.run(main())) == b"two-step"


def _tagging(inner: t.Any, tag: bytes) -> t.Any:
    """An ASGI middleware adding an ``x-tag`` header to every response."""

    async def middleware(scope: t.Any, receive: t.Any, send: t.Any) -> None:
        async def tagged(message: dict[str, t.Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-tag", tag)]}
            await send(message)

        await inner(scope, receive, tagged)

    return middleware


def _tags(messages: list[dict[str, t.Any]]) -> list[bytes]:
    start = next(m for m in messages if m["type"] == "http.response.start")
    return [value for name, value in start["headers"] if name == b"x-tag"]


def test_middleware_on_asgi_app_wraps_every_request(app: demijohn.Flask) -> None:
    app.add_url_rule("/", "index", lambda: "wrapped")
    app.asgi_app = _tagging(app.asgi_app, b"outer")  # type: ignore[method-assign]
    messages = _run(app, _scope())
    assert (_body(messages), _tags(messages)) == (b"wrapped", [b"outer"])


def test_middleware_set_after_requests_wraps_the_next_ones(app: demijohn.Flask) -> None:
    # The door reads which entries are replaced from flags the app keeps up
    # to date as they are set and deleted, not from the instance dict.
    @app.route("/")
    async def index() -> str:
        return request.environ.get("HTTP_X_FROM", "direct")

    assert _body(_run(app, _scope())) == b"direct"
    app.asgi_app = _tagging(app.asgi_app, b"outer")  # type: ignore[method-assign]
    messages = _run(app, _scope())
    assert (_body(messages), _tags(messages)) == (b"direct", [b"outer"])
    del app.asgi_app
    inner = app.wsgi_app

    def wsgi_middleware(environ: dict[str, t.Any], start_response: t.Any) -> t.Any:
        environ["HTTP_X_FROM"] = "wsgi middleware"
        return inner(environ, start_response)

    app.wsgi_app = wsgi_middleware  # type: ignore[method-assign]
    messages = _run(app, _scope())
    assert (_body(messages), _tags(messages)) == (b"wsgi middleware", [])
    del app.wsgi_app
    assert _body(_run(app, _scope())) == b"direct"


def test_a_request_context_set_on_the_app_builds_every_request(app: demijohn.Flask) -> None:
    # A bodiless request is built from the scope only while the app's own
    # ``request_context`` would build it: one set on the instance later is used.
    @app.route("/")
    async def index() -> str:
        return "ok"

    assert _body(_run(app, _scope())) == b"ok"
    built: list[str] = []
    make_context = app.request_context

    def request_context(environ: dict[str, t.Any]) -> t.Any:
        built.append(environ["PATH_INFO"])
        return make_context(environ)

    app.request_context = request_context  # type: ignore[method-assign]
    assert _body(_run(app, _scope())) == b"ok"
    assert built == ["/"]
    del app.request_context
    assert _body(_run(app, _scope())) == b"ok"
    assert built == ["/"]


def test_a_subclass_asgi_app_serves_every_request() -> None:
    class Tagged(demijohn.Flask):
        async def asgi_app(self, scope: t.Any, receive: t.Any, send: t.Any) -> None:
            await _tagging(super().asgi_app, b"subclass")(scope, receive, send)

    app = Tagged(__name__)
    app.add_url_rule("/", "index", lambda: "mine")
    messages = _run(app, _scope())
    assert (_body(messages), _tags(messages)) == (b"mine", [b"subclass"])


def test_an_unknown_scope_type_is_refused(app: demijohn.Flask) -> None:
    async def never() -> dict[str, t.Any]:
        raise AssertionError("nothing is received for an unknown scope")

    async def ignore(message: dict[str, t.Any]) -> None:
        raise AssertionError("nothing is sent for an unknown scope")

    with pytest.raises(ValueError, match="Unsupported ASGI scope type 'telepathy'"):
        asyncio.run(app({"type": "telepathy"}, never, ignore))


def test_root_path_becomes_script_name(app: demijohn.Flask) -> None:
    @app.route("/page")
    def page() -> str:
        return f"{request.script_root} {request.path} {demijohn.url_for('page')}"

    messages = _run(app, _scope("/mount/page", root_path="/mount"))
    assert _body(messages) == b"/mount /page /mount/page"


def test_a_get_reads_its_environ_and_headers_only_when_asked(app: demijohn.Flask) -> None:
    """A bodiless request is built from the scope; what it shows is the environ's all the same."""
    seen: dict[str, t.Any] = {}

    @app.get("/plain")
    async def plain() -> str:
        seen["before"] = sorted({"environ", "headers"} & request.__dict__.keys())
        url = demijohn.url_for("plain", _external=True)
        seen["after"] = sorted({"environ", "headers"} & request.__dict__.keys())
        return url

    @app.get("/reads")
    def reads() -> dict[str, t.Any]:
        environ = request.environ
        return {
            "back": environ["werkzeug.request"] is request._get_current_object(),  # type: ignore[attr-defined]
            "input": environ["wsgi.input"].read().decode(),
            "headers": list(request.headers.items()),
            "host": request.host,
            "cookie": request.cookies.get("a"),
            "scope": environ["asgi.scope"]["path"],
        }

    headers = [(b"host", b"example.test"), (b"cookie", b"a=1"), (b"x-trace", b"t")]
    assert _body(_run(app, _scope("/plain", headers=headers))) == b"http://example.test/plain"
    # Only url_for needs the environ: it binds the URL map to it.
    assert seen == {"before": [], "after": ["environ"]}
    assert json.loads(_body(_run(app, _scope("/reads", headers=headers)))) == {
        "back": True,
        "input": "",
        "headers": [["Host", "example.test"], ["Cookie", "a=1"], ["X-Trace", "t"]],
        "host": "example.test",
        "cookie": "1",
        "scope": "/reads",
    }


def test_a_get_with_headers_in_any_iterable(app: demijohn.Flask) -> None:
    @app.get("/agent")
    def agent() -> str:
        return request.headers["User-Agent"]

    for headers in (
        [(b"host", b"x"), (b"user-agent", b"list")],
        ((b"host", b"x"), (b"user-agent", b"tuple")),
        iter([[b"host", b"x"], [b"user-agent", b"once"]]),
    ):
        sent = _run(app, _scope("/agent", headers=headers))
        assert sent[0]["status"] == 200
        assert _body(sent) in (b"list", b"tuple", b"once")


def test_a_get_from_a_server_that_keeps_header_case(app: demijohn.Flask) -> None:
    """Names not lowercased (against the ASGI spec) still count, the body included."""

    @app.get("/echo")
    def echo() -> dict[str, t.Any]:
        return {"host": request.host, "body": request.get_data(as_text=True)}

    headers = [(b"Host", b"cased.test"), (b"Content-Length", b"4")]
    assert json.loads(_body(_run(app, _scope("/echo", headers=headers), b"data"))) == {
        "host": "cased.test",
        "body": "data",
    }
    bad = _run(app, _scope("/echo", headers=[(b"Host", b"a\x01b")]))
    assert bad[0]["status"] == 400


def test_a_get_without_host_or_with_a_bad_one(app: demijohn.Flask) -> None:
    app.add_url_rule("/", "index", lambda: "index")
    assert _body(_run(app, _scope(headers=[]))) == b"index"
    bad = _run(app, _scope(headers=[(b"host", b"a\x01b")]))
    assert bad[0]["status"] == 400


def test_a_session_cookie_on_a_get_is_refreshed(app: demijohn.Flask) -> None:
    app.secret_key = "test"
    app.config["SESSION_REFRESH_EACH_REQUEST"] = True

    @app.get("/set")
    def set_session() -> str:
        demijohn.session.permanent = True
        demijohn.session["n"] = 1
        return "set"

    app.add_url_rule("/other", "other", lambda: "other")
    start = _run(app, _scope("/set"))[0]
    cookie = dict(start["headers"])[b"set-cookie"].split(b";")[0]
    refreshed = _run(app, _scope("/other", headers=[(b"host", b"x"), (b"cookie", cookie)]))[0]
    assert b"set-cookie" in dict(refreshed["headers"])
    untouched = _run(app, _scope("/other"))[0]
    assert b"set-cookie" not in dict(untouched["headers"])


def test_body_over_limit_is_413_without_reading(app: demijohn.Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    app.add_url_rule("/", "index", lambda: str(len(request.get_data())), methods=["POST"])
    declared = _scope(
        method="POST",
        headers=[(b"host", b"x"), (b"content-length", b"1000")],
    )
    assert _run(app, declared, b"y" * 1000)[0]["status"] == 413
    chunked = _scope(method="POST")
    assert _run(app, chunked, b"y" * 1000, chunk_size=7)[0]["status"] == 413
    assert _body(_run(app, _scope(method="POST"), b"y" * 8, chunk_size=3)) == b"8"


def test_large_body_is_spooled(app: demijohn.Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demijohn.asgi, "SPOOL_MAX_SIZE", 16)
    app.add_url_rule("/", "index", lambda: str(len(request.get_data())), methods=["POST"])
    assert _body(_run(app, _scope(method="POST"), b"z" * 5000, chunk_size=1000)) == b"5000"


def test_unhandled_error_is_500(app: demijohn.Flask) -> None:
    app.config["TESTING"] = False
    app.logger.disabled = True
    app.add_url_rule("/", "index", lambda: 1 / 0)
    messages = _run(app, _scope())
    assert messages[0]["status"] == 500


def test_propagated_error_still_answers_500(app: demijohn.Flask) -> None:
    app.add_url_rule("/", "index", lambda: 1 / 0)
    sent: list[t.Any] = []

    async def main() -> None:
        receive = _single_message_receive()

        async def send(message: dict[str, t.Any]) -> None:
            sent.append(message)

        await app(_scope(), receive, send)

    with pytest.raises(ZeroDivisionError):
        asyncio.run(main())
    assert sent[0]["status"] == 500


def test_async_view_runs_on_the_server_loop(app: demijohn.Flask) -> None:
    loops: list[asyncio.AbstractEventLoop] = []
    threads: list[int] = []

    @app.route("/")
    async def index() -> str:
        loops.append(asyncio.get_running_loop())
        threads.append(threading.get_ident())
        return request.args.get("x", "none")

    async def main() -> tuple[asyncio.AbstractEventLoop, bytes]:
        messages = await call_asgi(app, _scope(query_string=b"x=1"), b"")
        return asyncio.get_running_loop(), _body(messages)

    loop, body = asyncio.run(main())
    assert body == b"1"
    assert loops == [loop]
    assert threads == [threading.get_ident()]


def test_async_views_are_concurrent(app: demijohn.Flask) -> None:
    @app.route("/")
    async def index() -> str:
        await asyncio.sleep(0.2)
        return request.args["n"]

    async def main() -> list[bytes]:
        results = await asyncio.gather(
            *(call_asgi(app, _scope(query_string=f"n={i}".encode()), b"") for i in range(50))
        )
        return [_body(r) for r in results]

    started = time.perf_counter()
    bodies = asyncio.run(main())
    elapsed = time.perf_counter() - started
    assert bodies == [str(i).encode() for i in range(50)]
    assert elapsed < 2.0  # 50 x 0.2 s sequentially would be 10 s


#: Where an ``await`` may sit in the pipeline of an ``async def`` view.
AWAIT_POINTS = [
    "view",
    "before_request",
    "after_request",
    "teardown_request",
    "errorhandler",
    "request_started",
]


@pytest.mark.parametrize("waits_in", AWAIT_POINTS)
def test_an_await_anywhere_in_the_pipeline_lets_other_requests_run(
    app: demijohn.Flask, waits_in: str
) -> None:
    # One request waits for an event only a second, concurrent request sets.
    # Were the waiting code run off the loop (a helper thread blocking it),
    # the second request could never run: the wait would time out instead.
    gates: dict[str, asyncio.Event] = {}

    async def wait_for_release() -> None:
        if request.path == "/wait":
            await asyncio.wait_for(gates.setdefault("gate", asyncio.Event()).wait(), 5)

    @app.route("/wait")
    async def wait() -> str:
        if waits_in == "view":
            await wait_for_release()
        if waits_in == "errorhandler":
            raise LookupError("handled below")
        return "released"

    @app.route("/release")
    async def release() -> str:
        gates.setdefault("gate", asyncio.Event()).set()
        return "done"

    if waits_in == "before_request":
        app.before_request(wait_for_release)
    elif waits_in == "after_request":

        @app.after_request
        async def after(response: demijohn.Response) -> demijohn.Response:
            await wait_for_release()
            return response

    elif waits_in == "teardown_request":

        @app.teardown_request
        async def teardown(exc: BaseException | None) -> None:
            await wait_for_release()

    elif waits_in == "errorhandler":

        @app.errorhandler(LookupError)
        async def handle(error: LookupError) -> str:
            await wait_for_release()
            return "released"

    async def receiver(sender: demijohn.Flask, **extra: t.Any) -> None:
        await wait_for_release()

    async def main() -> list[bytes]:
        waiting = asyncio.ensure_future(call_asgi(app, _scope("/wait"), b""))
        await asyncio.sleep(0.05)  # the first request is now waiting
        releasing = call_asgi(app, _scope("/release"), b"")
        results = await asyncio.wait_for(asyncio.gather(waiting, releasing), 10)
        return [_body(result) for result in results]

    if waits_in == "request_started":
        with demijohn.request_started.connected_to(receiver, app):
            bodies = asyncio.run(main())
    else:
        bodies = asyncio.run(main())
    assert bodies == [b"released", b"done"]


def test_an_async_view_sees_a_dispatch_request_patched_on_the_app(app: demijohn.Flask) -> None:
    # As Flask-DebugToolbar does: the door must not call the view around it.
    @app.route("/")
    async def index() -> str:
        return "view"

    assert _body(_run(app, _scope())) == b"view"
    dispatch = app.dispatch_request
    app.dispatch_request = lambda: f"patched {dispatch()}"  # type: ignore[method-assign]
    assert _body(_run(app, _scope())) == b"patched view"
    del app.dispatch_request
    assert _body(_run(app, _scope())) == b"view"


def test_an_async_view_awaited_by_the_door_runs_in_the_request_task(
    app: demijohn.Flask,
) -> None:
    tasks: list[asyncio.Task[t.Any] | None] = []
    torn_down: list[BaseException | None] = []

    @app.route("/")
    async def index() -> str:
        tasks.append(asyncio.current_task())
        await asyncio.sleep(0)
        tasks.append(asyncio.current_task())
        return request.args.get("x", "none")

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(exc)

    async def main() -> tuple[asyncio.Task[t.Any] | None, bytes]:
        task = asyncio.ensure_future(call_asgi(app, _scope(query_string=b"x=1"), b""))
        return task, _body(await task)

    for _ in range(2):  # the first request and one after it
        task, body = asyncio.run(main())
        assert body == b"1"
        assert tasks[-2:] == [task, task]
    assert torn_down == [None, None]


def test_requests_in_one_task_leave_nothing_bound(app: demijohn.Flask) -> None:
    """The door awaits an ``async def`` view's pipeline in the caller's task:
    whatever it binds there, it unbinds, also for a streamed body and after
    an error."""

    @app.route("/plain")
    async def plain() -> str:
        demijohn.g.user = "ada"
        return f"{demijohn.has_request_context()} {demijohn.g.user}"

    @app.route("/stream")
    async def stream() -> demijohn.Response:
        @demijohn.stream_with_context
        async def chunks() -> t.AsyncIterator[str]:
            yield request.path
            yield f" {demijohn.has_app_context()}"

        return demijohn.Response(chunks())

    @app.route("/boom")
    async def boom() -> str:
        raise ValueError("boom")

    app.testing = False  # the error is answered, not propagated
    seen: list[tuple[bool, bool]] = []

    async def main() -> list[tuple[int, bytes]]:
        answers = []
        for path in ("/plain", "/stream", "/boom", "/plain"):
            messages = await call_asgi(app, _scope(path), b"")
            answers.append((messages[0]["status"], _body(messages)))
            seen.append((demijohn.has_app_context(), demijohn.has_request_context()))
        return answers

    answers = asyncio.run(main())
    assert [answer[0] for answer in answers] == [200, 200, 500, 200]
    assert answers[0][1] == answers[3][1] == b"True ada"
    assert answers[1][1] == b"/stream True"
    assert seen == [(False, False)] * 4


def test_sync_view_runs_in_a_worker_thread(app: demijohn.Flask) -> None:
    threads: list[int] = []

    @app.route("/")
    def index() -> str:
        threads.append(threading.get_ident())
        return "sync"

    assert _body(_run(app, _scope())) == b"sync"
    assert threads and threads[0] != threading.get_ident()


def test_async_hooks_on_sync_view_use_the_server_loop(app: demijohn.Flask) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    @app.before_request
    async def before() -> None:
        loops.append(asyncio.get_running_loop())

    app.add_url_rule("/", "index", lambda: "ok")

    async def main() -> asyncio.AbstractEventLoop:
        await call_asgi(app, _scope(), b"")
        return asyncio.get_running_loop()

    assert loops == [asyncio.run(main())]


def test_streaming_sync_and_async_generators(app: demijohn.Flask) -> None:
    @app.route("/sync")
    def sync_stream() -> demijohn.Response:
        def gen() -> t.Iterator[str]:
            yield "a"
            yield "b"

        return demijohn.Response(gen(), mimetype="text/plain")

    @app.route("/async")
    async def async_stream() -> t.Any:
        async def gen() -> t.AsyncIterator[str]:
            for part in ("x", "y", "z"):
                await asyncio.sleep(0)
                yield part

        return gen()

    sync_messages = _run(app, _scope("/sync"))
    assert [m.get("body") for m in sync_messages[1:]] == [b"a", b"b", b""]
    assert _body(_run(app, _scope("/async"))) == b"xyz"


def test_disconnect_closes_the_stream(app: demijohn.Flask) -> None:
    closed = threading.Event()
    torn_down = threading.Event()

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn_down.set()

    @app.route("/")
    def endless() -> demijohn.Response:
        @demijohn.stream_with_context
        def gen() -> t.Iterator[str]:
            try:
                for i in range(10_000):
                    time.sleep(0.005)
                    yield f"{i}\n"
            finally:
                closed.set()

        return demijohn.Response(gen())

    async def main() -> int:
        received: list[t.Any] = []
        disconnected = asyncio.Event()
        requested = False

        async def receive() -> dict[str, t.Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, t.Any]) -> None:
            received.append(message)
            if len(received) == 5:
                disconnected.set()

        await asyncio.wait_for(app(_scope(), receive, send), timeout=10)
        return len(received)

    count = asyncio.run(main())
    assert count < 100
    assert closed.wait(5)
    assert torn_down.wait(5)


def test_disconnect_closes_an_async_stream_and_tears_down(app: demijohn.Flask) -> None:
    closed: list[str] = []
    torn_down: list[str] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(request.path)

    @app.route("/")
    async def endless() -> demijohn.Response:
        @demijohn.stream_with_context
        async def gen() -> t.AsyncIterator[str]:
            try:
                for i in range(10_000):
                    await asyncio.sleep(0.005)
                    yield f"{request.path} {i}\n"
            finally:
                closed.append("closed")

        return demijohn.Response(gen())

    async def main() -> list[t.Any]:
        received: list[t.Any] = []
        disconnected = asyncio.Event()

        async def receive() -> dict[str, t.Any]:
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, t.Any]) -> None:
            received.append(message)
            if len(received) == 5:
                disconnected.set()

        await asyncio.wait_for(app(_scope(), receive, send), timeout=10)
        return received

    received = asyncio.run(main())
    assert received[1]["body"] == b"/ 0\n"
    assert len(received) < 100
    assert closed == ["closed"]
    assert torn_down == ["/"]


def test_lifespan() -> None:
    app = demijohn.Flask("lifespan_app", static_folder=None)
    sent: list[t.Any] = []

    async def main() -> None:
        messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

        async def receive() -> dict[str, t.Any]:
            return messages.pop(0)

        async def send(message: dict[str, t.Any]) -> None:
            sent.append(message)

        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

    asyncio.run(main())
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


SERVER_APP = textwrap.dedent(
    """
    import asyncio, time
    from demijohn import Flask, Response, request

    app = Flask(__name__)

    @app.route("/sleep")
    async def sleep():
        await asyncio.sleep(0.5)
        return "slept"

    @app.route("/sync")
    def sync():
        return "sync " + request.args.get("x", "")

    @app.route("/stream")
    def stream():
        def gen():
            yield "first\\n"
            time.sleep(1.5)
            yield "second\\n"
        return Response(gen(), mimetype="text/plain")
    """
)


@pytest.fixture(scope="module")
def uvicorn_server(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    folder = tmp_path_factory.mktemp("uvicorn_app")
    (folder / "served.py").write_text(SERVER_APP)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "served:app", "--host", "127.0.0.1"]
    with running_server(
        [*command, "--port", str(port)],
        probe_url=f"{base}/sync",
        cwd=folder,
        env={"PYTHONPATH": str(folder)},
    ):
        yield base


def test_uvicorn_serves_concurrent_async_views(uvicorn_server: str) -> None:
    async def main() -> list[str]:
        async with httpx.AsyncClient(base_url=uvicorn_server, timeout=10) as client:
            responses = await asyncio.gather(*(client.get("/sleep") for _ in range(20)))
        return [r.text for r in responses]

    started = time.perf_counter()
    assert asyncio.run(main()) == ["slept"] * 20
    assert time.perf_counter() - started < 5  # sequentially: 10 s
    assert httpx.get(f"{uvicorn_server}/sync?x=1", timeout=5).text == "sync 1"


def test_uvicorn_streams_first_chunk_early(uvicorn_server: str) -> None:
    started = time.perf_counter()
    with httpx.stream("GET", f"{uvicorn_server}/stream", timeout=10) as response:
        lines = response.iter_lines()
        assert next(lines) == "first"
        first_at = time.perf_counter() - started
        assert next(lines) == "second"
    assert first_at < 1.2  # before the generator's 1.5 s pause ended
