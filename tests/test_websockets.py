"""WebSockets: ``@app.websocket`` handlers and the ``websocket`` global.

In process through the test client (which drives the real ASGI door in a
thread), directly through :func:`serve_websocket` for what only a hand-made
server can show, and through a real uvicorn with the ``websockets`` client.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import typing as t
from pathlib import Path

import httpx
import pytest
from servers import free_port, running_server
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

import demijohn
from demijohn import Blueprint, Flask, abort, g, session, url_for, websocket
from demijohn.testing import FlaskClient, WebsocketDisconnectError, WebsocketResponseError


@pytest.fixture
def ws_app(tmp_path: Path) -> Flask:
    """An app for WebSocket tests (their client needs no WSGI/ASGI door choice)."""
    app = Flask("ws_app", root_path=os.fspath(tmp_path))
    app.config["TESTING"] = True
    app.secret_key = "test secret"
    return app


@pytest.fixture
def ws_client(ws_app: Flask) -> FlaskClient:
    return ws_app.test_client()


def _refusal(client: FlaskClient, path: str, **kwargs: t.Any) -> t.Any:
    """The HTTP response the app refuses the handshake to ``path`` with."""
    with pytest.raises(WebsocketResponseError) as refused, client.websocket(path, **kwargs):
        pass
    return refused.value.response


# -- echo, JSON, the request side ----------------------------------------------


def test_async_handler_echoes_text_as_text_and_bytes_as_bytes(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    @ws_app.websocket("/echo")
    async def echo() -> None:
        while True:
            await websocket.send(await websocket.receive())

    with ws_client.websocket("/echo") as ws:
        ws.send("héllo")
        assert ws.receive() == "héllo"
        ws.send(b"\x00\xff")
        assert ws.receive() == b"\x00\xff"
        for n in range(20):
            ws.send(f"message {n}")
        assert [ws.receive() for _ in range(20)] == [f"message {n}" for n in range(20)]


def test_json_goes_through_the_apps_json_provider(ws_app: Flask, ws_client: FlaskClient) -> None:
    ws_app.json.sort_keys = True  # type: ignore[attr-defined]

    @ws_app.websocket("/json")
    async def json_echo() -> None:
        while True:
            data = await websocket.receive_json()
            await websocket.send_json({"got": data, "b": 1, "a": 2})

    with ws_client.websocket("/json") as ws:
        ws.send_json({"x": [1, 2]})
        raw = ws.receive()
        assert raw == ws_app.json.dumps({"a": 2, "b": 1, "got": {"x": [1, 2]}})
        ws.send("[3]")
        assert ws.receive_json() == {"a": 2, "b": 1, "got": [3]}


def test_handshake_request_attributes(ws_app: Flask, ws_client: FlaskClient) -> None:
    seen: dict[str, t.Any] = {}

    @ws_app.websocket("/room/<int:number>")
    async def room(number: int) -> None:
        seen.update(
            path=websocket.path,
            full_path=websocket.full_path,
            args=websocket.args.to_dict(),
            header=websocket.headers["X-Token"],
            cookie=websocket.cookies["flavour"],
            url=websocket.url,
            scheme=websocket.scheme,
            subprotocols=websocket.subprotocols,
            view_args=websocket.view_args,
            endpoint=websocket.endpoint,
            host=websocket.host,
            request_is_handshake=demijohn.request.path == websocket.path,
        )
        await websocket.accept(subprotocol="chat.v2", headers={"X-Hello": "there"})
        await websocket.close()

    ws_client.set_cookie("flavour", "mint")
    with ws_client.websocket(
        "/room/7?tab=chat",
        headers={"X-Token": "abc"},
        subprotocols=["chat.v1", "chat.v2"],
    ) as ws:
        assert ws.subprotocol == "chat.v2"
        assert ws.accept_headers["X-Hello"] == "there"
        with pytest.raises(WebsocketDisconnectError) as closed:
            ws.receive()
        assert closed.value.code == 1000
    assert seen == {
        "path": "/room/7",
        "full_path": "/room/7?tab=chat",
        "args": {"tab": "chat"},
        "header": "abc",
        "cookie": "mint",
        "url": "ws://localhost/room/7?tab=chat",
        "scheme": "ws",
        "subprotocols": ["chat.v1", "chat.v2"],
        "view_args": {"number": 7},
        "endpoint": "room",
        "host": "localhost",
        "request_is_handshake": True,
    }


def test_wss_scheme_over_https(ws_app: Flask, ws_client: FlaskClient) -> None:
    @ws_app.websocket("/where")
    async def where() -> None:
        await websocket.send(f"{websocket.scheme} {websocket.url} {url_for('where')}")

    with ws_client.websocket("/where", base_url="https://example.test") as ws:
        assert ws.receive() == "wss wss://example.test/where wss://example.test/where"


def test_blueprint_prefix_converters_and_subdomain(tmp_path: Path) -> None:
    app = Flask("subdomains", root_path=os.fspath(tmp_path), subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    api = Blueprint("api", __name__, url_prefix="/api", subdomain="live")
    feeds = Blueprint("feeds", __name__, url_prefix="/feeds")

    @feeds.url_value_preprocessor
    def pull_topic(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        g.topic = values.pop("topic") if values else None

    @feeds.websocket("/<uuid:feed>/<path:topic>")
    async def feed(feed: t.Any) -> None:
        where = f"{websocket.endpoint} {websocket.blueprints}"
        await websocket.send(f"{where} {feed.hex[:4]} {g.topic}")

    api.register_blueprint(feeds)
    app.register_blueprint(api)
    client = app.test_client()

    path = "/api/feeds/12345678-1234-5678-1234-567812345678/a/b"
    with client.websocket(path, subdomain="live") as ws:
        assert ws.receive() == "api.feeds.feed ['api.feeds', 'api'] 1234 a/b"
    refused = _refusal(client, path)  # not on the blueprint's subdomain
    assert refused.status_code == 404


def test_add_websocket_registers_one_handler_for_several_rules(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    def handler(name: str = "default") -> None:
        websocket.send(name)

    ws_app.add_websocket("/plain", "greet", handler)
    ws_app.add_websocket("/named/<name>", "greet", handler)
    rules = {rule.rule: rule for rule in ws_app.url_map.iter_rules() if rule.endpoint == "greet"}
    assert all(rule.websocket for rule in rules.values())
    assert ws_app.view_functions["greet"].__wrapped__ is handler  # type: ignore[attr-defined]

    with ws_client.websocket("/plain") as ws:
        assert ws.receive() == "default"
    with ws_client.websocket("/named/ada") as ws:
        assert ws.receive() == "ada"


# -- contexts: session, g, url_for ------------------------------------------------


def test_session_g_and_url_for_inside_a_handler(ws_app: Flask, ws_client: FlaskClient) -> None:
    @ws_app.get("/")
    def index() -> str:
        return "index"

    @ws_app.before_websocket
    def load_user() -> None:
        g.user = session.get("user", "anonymous")

    @ws_app.websocket("/whoami")
    async def whoami() -> None:
        await websocket.send(f"{g.user} {url_for('index')} {url_for('whoami', _external=True)}")

    @ws_app.websocket("/whoami-sync")
    def whoami_sync() -> None:
        websocket.send(f"{g.user} {url_for('index', _external=True)}")

    with ws_client.websocket("/whoami") as ws:
        assert ws.receive() == "anonymous / ws://localhost/whoami"
    with ws_client.session_transaction() as sess:
        sess["user"] = "ada"
    with ws_client.websocket("/whoami") as ws:
        assert ws.receive() == "ada / ws://localhost/whoami"
    with ws_client.websocket("/whoami-sync") as ws:
        assert ws.receive() == "ada http://localhost/"
    # From an HTTP view, a WebSocket route's URL is built with its ws scheme.
    with ws_app.test_request_context():
        assert url_for("whoami") == "ws://localhost/whoami"


def test_websocket_proxy_is_unbound_outside_a_connection(ws_app: Flask) -> None:
    assert not websocket
    with pytest.raises(RuntimeError, match="outside of websocket context"):
        websocket.receive()
    with ws_app.test_request_context(), pytest.raises(RuntimeError, match="ASGI door"):
        websocket.path  # noqa: B018


def test_flask_alias_gives_the_same_proxy() -> None:
    import flask

    assert flask.websocket is demijohn.websocket
    from flask import websocket as aliased

    assert aliased is websocket


# -- hooks --------------------------------------------------------------------------


def test_hooks_run_in_order_for_app_and_blueprint(ws_app: Flask, ws_client: FlaskClient) -> None:
    calls: list[str] = []
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    def record(name: str) -> t.Callable[..., t.Any]:
        def hook(*args: t.Any) -> t.Any:
            calls.append(name if not args else f"{name}({type(args[0]).__name__})")
            return args[0] if args else None

        return hook

    ws_app.before_websocket(record("app before"))
    ws_app.after_websocket(record("app after"))
    ws_app.teardown_websocket(record("app teardown_websocket"))
    ws_app.teardown_request(record("teardown_request"))
    ws_app.teardown_appcontext(record("teardown_appcontext"))
    bp.before_websocket(record("bp before"))
    bp.after_websocket(record("bp after"))
    bp.teardown_websocket(record("bp teardown_websocket"))
    bp.before_app_websocket(record("app-wide before"))
    bp.after_app_websocket(record("app-wide after"))
    bp.teardown_app_websocket(record("app-wide teardown"))
    # A plain HTTP hook does not run for WebSockets.
    ws_app.before_request(record("before_request"))

    @bp.websocket("/chat")
    async def chat() -> None:
        calls.append("handler")
        await websocket.send("hi")

    ws_app.register_blueprint(bp)
    with ws_client.websocket("/bp/chat") as ws:
        assert ws.receive() == "hi"
    assert calls == [
        "app before",
        "app-wide before",
        "bp before",
        "handler",
        "bp after(NoneType)",
        "app-wide after(NoneType)",
        "app after(NoneType)",
        "bp teardown_websocket(NoneType)",
        "app-wide teardown(NoneType)",
        "app teardown_websocket(NoneType)",
        "teardown_request(NoneType)",
        "teardown_appcontext(NoneType)",
    ]


def test_async_hooks_may_do_socket_io(ws_app: Flask, ws_client: FlaskClient) -> None:
    @ws_app.before_websocket
    async def greet() -> None:
        await websocket.accept()
        await websocket.send("welcome")

    @ws_app.websocket("/a")
    async def a() -> None:
        await websocket.send("from async")

    @ws_app.websocket("/s")
    def s() -> None:
        websocket.send("from def")

    with ws_client.websocket("/a") as ws:
        assert [ws.receive(), ws.receive()] == ["welcome", "from async"]
    with ws_client.websocket("/s") as ws:
        assert [ws.receive(), ws.receive()] == ["welcome", "from def"]


# -- refusing the handshake -----------------------------------------------------------


def test_abort_before_accepting_refuses_with_the_error_response(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    ran: list[str] = []

    @ws_app.errorhandler(403)
    def forbidden(error: HTTPException) -> tuple[str, int, dict[str, str]]:
        return "members only", 403, {"X-Reason": "membership"}

    @ws_app.websocket("/members")
    async def members() -> None:
        abort(403)

    @ws_app.after_websocket
    def seen(response: t.Any) -> t.Any:
        ran.append(f"after {response.status_code}")
        response.headers["X-After"] = "yes"
        return response

    @ws_app.teardown_websocket
    def teardown(error: BaseException | None) -> None:
        ran.append(f"teardown {error!r}")

    response = _refusal(ws_client, "/members")
    assert response.status_code == 403
    assert response.headers["X-Reason"] == "membership"
    assert response.headers["X-After"] == "yes"
    assert response.get_data(as_text=True) == "members only"
    assert ran == ["after 403", "teardown None"]


def test_before_websocket_returning_a_value_refuses_and_skips_the_handler(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    handled: list[str] = []

    @ws_app.before_websocket
    def check_token() -> t.Any:
        if websocket.args.get("token") != "sesame":
            return {"error": "bad token"}, 401
        return None

    @ws_app.websocket("/vault")
    async def vault() -> None:
        handled.append(websocket.args["token"])
        await websocket.send("open")

    refused = _refusal(ws_client, "/vault?token=guess")
    assert refused.status_code == 401
    assert refused.get_json() == {"error": "bad token"}
    assert handled == []
    with ws_client.websocket("/vault?token=sesame") as ws:
        assert ws.receive() == "open"
    assert handled == ["sesame"]


def test_unknown_path_and_http_only_path_get_http_errors(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    @ws_app.get("/page")
    def page() -> str:
        return "page"

    unknown = _refusal(ws_client, "/nowhere")
    assert unknown.status_code == 404
    http_only = _refusal(ws_client, "/page")
    assert http_only.status_code == 400  # Werkzeug's WebsocketMismatch


def test_closing_before_accepting_is_a_403(ws_app: Flask, ws_client: FlaskClient) -> None:
    @ws_app.websocket("/shy")
    async def shy() -> None:
        await websocket.close()

    refused = _refusal(ws_client, "/shy")
    assert refused.status_code == 403


# -- serving hooks and background tasks ----------------------------------------------------


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_background_task_starts_once_the_handler_has_finished(
    ws_app: Flask, ws_client: FlaskClient, kind: str
) -> None:
    handler_done = threading.Event()
    seen: list[tuple[t.Any, bool]] = []
    finished = threading.Event()

    def task(word: str) -> None:
        seen.append((word, handler_done.is_set()))
        finished.set()

    if kind == "async":

        @ws_app.websocket("/queue")
        async def queue_async() -> None:
            ws_app.add_background_task(task, await websocket.receive())
            await websocket.send("queued")
            await websocket.receive()  # until the client says bye
            handler_done.set()

    else:

        @ws_app.websocket("/queue")
        def queue_sync() -> None:
            ws_app.add_background_task(task, websocket.receive())
            websocket.send("queued")
            websocket.receive()
            handler_done.set()

    with ws_client.websocket("/queue") as ws:
        ws.send("hello")
        assert ws.receive() == "queued"
        # Queued, not started: the connection is still being served.
        assert not finished.wait(0.2)
        ws.send("bye")
        assert finished.wait(10)
    assert seen == [("hello", True)]


def test_before_serving_runs_before_the_first_connection(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    events: list[str] = []

    @ws_app.before_serving
    def warm_up() -> None:
        events.append("before_serving")

    @ws_app.websocket("/hi")
    async def hi() -> None:
        events.append("handler")
        await websocket.send("hi")

    for _ in range(2):
        with ws_client.websocket("/hi") as ws:
            assert ws.receive() == "hi"
    assert events == ["before_serving", "handler", "handler"]


# -- errors -----------------------------------------------------------------------------


def test_error_before_accepting_is_a_logged_500(
    ws_app: Flask, ws_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    @ws_app.websocket("/broken")
    async def broken() -> None:
        raise ValueError("broken before accept")

    refused = _refusal(ws_client, "/broken")
    assert refused.status_code == 500
    [record] = [r for r in caplog.records if r.name == "ws_app"]
    assert record.getMessage() == "Exception on /broken [GET]"
    assert record.exc_info is not None and str(record.exc_info[1]) == "broken before accept"


@pytest.mark.parametrize("kind", ["async", "def"])
def test_error_after_accepting_closes_1011_and_is_logged(
    ws_app: Flask, ws_client: FlaskClient, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    torn_down: list[str] = []

    if kind == "async":

        @ws_app.websocket("/fail")
        async def fail() -> None:
            await websocket.send("starting")
            raise KeyError("lost key")

    else:

        @ws_app.websocket("/fail")
        def fail() -> None:
            websocket.send("starting")
            raise KeyError("lost key")

    @ws_app.teardown_websocket
    def teardown(error: BaseException | None) -> None:
        torn_down.append(repr(error))

    with ws_client.websocket("/fail") as ws:
        assert ws.receive() == "starting"
        with pytest.raises(WebsocketDisconnectError) as closed:
            ws.receive()
        assert closed.value.code == 1011
    [record] = [r for r in caplog.records if r.name == "ws_app"]
    assert record.exc_info is not None and isinstance(record.exc_info[1], KeyError)
    assert torn_down == ["None"]  # handled: teardown sees no error, as after an HTTP 500


def test_abort_after_accepting_closes_1008_unlogged(
    ws_app: Flask, ws_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    @ws_app.websocket("/kick")
    async def kick() -> None:
        await websocket.accept()
        if await websocket.receive() == "spam":
            abort(403)

    with ws_client.websocket("/kick") as ws:
        ws.send("spam")
        with pytest.raises(WebsocketDisconnectError) as closed:
            ws.receive()
        assert closed.value.code == 1008
    assert [r for r in caplog.records if r.name == "ws_app"] == []


def test_io_after_close_is_a_clear_error(ws_app: Flask, ws_client: FlaskClient) -> None:
    errors: list[str] = []

    @ws_app.websocket("/closed")
    async def closed() -> None:
        await websocket.accept()
        await websocket.close(4000, "done")
        for call in (websocket.send("late"), websocket.receive()):
            try:
                await call
            except RuntimeError as e:
                errors.append(str(e))

    with ws_client.websocket("/closed") as ws:
        with pytest.raises(WebsocketDisconnectError) as closed_error:
            ws.receive()
        assert (closed_error.value.code, closed_error.value.reason) == (4000, "done")
    assert errors == [
        "The WebSocket is closed: nothing more can be sent.",
        "The WebSocket is closed: there is nothing more to receive.",
    ]


def test_sending_something_else_than_text_or_bytes_is_a_type_error(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    @ws_app.websocket("/typed")
    async def typed() -> None:
        try:
            await websocket.send(42)  # type: ignore[arg-type]
        except TypeError as e:
            await websocket.send(str(e))

    with ws_client.websocket("/typed") as ws:
        assert ws.receive() == "send() takes str or bytes, not int."


# -- the client going away -------------------------------------------------------------------


def test_disconnect_cancels_an_async_handler_wherever_it_waits(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    events: list[str] = []

    @ws_app.websocket("/idle/<how>")
    async def idle(how: str) -> None:
        await websocket.accept()
        try:
            if how == "receive":
                await websocket.receive()
            else:
                await asyncio.Event().wait()  # something that is not the socket
        except asyncio.CancelledError:
            events.append(f"{how}: cancelled")
            raise

    @ws_app.teardown_websocket
    def teardown_ws(error: BaseException | None) -> None:
        events.append(f"teardown_websocket {type(error).__name__}")

    @ws_app.teardown_request
    def teardown_request(error: BaseException | None) -> None:
        events.append(f"teardown_request {type(error).__name__}")

    for how in ("receive", "event"):
        with ws_client.websocket(f"/idle/{how}") as ws:
            ws.close(1001)  # returns once the app has finished
        assert events == [
            f"{how}: cancelled",
            "teardown_websocket CancelledError",
            "teardown_request CancelledError",
        ]
        events.clear()


def test_disconnect_reaches_a_def_handler_blocked_in_receive(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    events: list[str] = []

    @ws_app.websocket("/blocking")
    def blocking() -> None:
        websocket.send("ready")
        try:
            websocket.receive()
        except asyncio.CancelledError:
            events.append("receive raised CancelledError")
            raise

    @ws_app.teardown_websocket
    def teardown(error: BaseException | None) -> None:
        events.append(f"teardown {type(error).__name__}")

    with ws_client.websocket("/blocking") as ws:
        assert ws.receive() == "ready"
    assert events == ["receive raised CancelledError", "teardown CancelledError"]


def test_a_handler_may_catch_the_disconnect_and_finish(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    events: list[str] = []

    @ws_app.websocket("/tidy")
    async def tidy() -> None:
        try:
            await websocket.receive()
        except asyncio.CancelledError:
            await asyncio.sleep(0)  # cleanup may still await
            events.append("cleaned up")

    @ws_app.teardown_websocket
    def teardown(error: BaseException | None) -> None:
        events.append(f"teardown {error!r}")

    with ws_client.websocket("/tidy"):
        pass
    assert events == ["cleaned up", "teardown None"]


def test_def_handler_runs_in_a_worker_thread_async_one_on_the_loop(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    @ws_app.websocket("/thread-def")
    def in_thread() -> None:
        websocket.send(threading.current_thread().name.rpartition("_")[0])
        websocket.send_json(websocket.receive_json())

    @ws_app.websocket("/thread-async")
    async def on_loop() -> None:
        await websocket.send(threading.current_thread().name)

    with ws_client.websocket("/thread-def") as ws:
        assert ws.receive() == "demijohn-websocket"
        ws.send_json({"n": 1})
        assert ws.receive_json() == {"n": 1}
    with ws_client.websocket("/thread-async") as ws:
        assert ws.receive() == "websocket-test"  # the test client's event loop thread


def test_io_from_another_threads_event_loop_is_awaitable_there(
    ws_app: Flask, ws_client: FlaskClient
) -> None:
    @ws_app.websocket("/nested-loop")
    def nested_loop() -> None:
        async def talk() -> None:
            await websocket.send("from another loop: " + await websocket.receive())

        asyncio.run(talk())

    with ws_client.websocket("/nested-loop") as ws:
        ws.send("hi")
        assert ws.receive() == "from another loop: hi"


# -- the door itself, driven by a hand-made server -------------------------------------------


def _scope(path: str, **extra: t.Any) -> dict[str, t.Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "server": ("localhost", 80),
        "client": ("127.0.0.1", 40000),
        **extra,
    }


def test_without_the_http_response_extension_a_refusal_closes_1008(ws_app: Flask) -> None:
    @ws_app.websocket("/deny")
    async def deny() -> None:
        abort(403)

    sent: list[dict[str, t.Any]] = []
    incoming = [{"type": "websocket.connect"}]

    async def receive() -> dict[str, t.Any]:
        if incoming:
            return incoming.pop()
        await asyncio.Event().wait()  # a server waiting for the client
        raise AssertionError("unreachable")

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)

    asyncio.run(ws_app(_scope("/deny"), receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_unread_messages_are_buffered_up_to_the_inbox_size(ws_app: Flask) -> None:
    from demijohn.websockets import INBOX_SIZE

    received = 0
    counts: list[int] = []

    async def receive() -> dict[str, t.Any]:
        nonlocal received
        if received == 1000:  # a client with nothing more to say
            await asyncio.Event().wait()
        received += 1
        if received == 1:
            return {"type": "websocket.connect"}
        return {"type": "websocket.receive", "text": str(received)}

    async def send(message: dict[str, t.Any]) -> None:
        pass

    @ws_app.websocket("/slow")
    async def slow() -> None:
        await websocket.accept()
        for _ in range(5):
            await asyncio.sleep(0)
        counts.append(received)
        assert await websocket.receive() == "2"
        for _ in range(5):
            await asyncio.sleep(0)
        counts.append(received)

    asyncio.run(ws_app(_scope("/slow", extensions={}), receive, send))
    # The connect message, then one per free place in the inbox: no more.
    assert counts == [1 + INBOX_SIZE, 2 + INBOX_SIZE]


# -- routing: the URL map's indexes with WebSocket rules present ---------------------------


def _environ(path: str, method: str = "GET", upgrade: bool = False) -> dict[str, t.Any]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    if upgrade:
        environ.update(HTTP_CONNECTION="keep-alive, Upgrade", HTTP_UPGRADE="websocket")
    return environ


def _werkzeug_answer(url_map: Map, environ: dict[str, t.Any]) -> t.Any:
    try:
        rule, args = url_map.bind_to_environ(environ).match(return_rule=True)
    except HTTPException as e:
        return type(e).__name__
    return rule.endpoint, args


def _indexed_answer(url_map: t.Any, environ: dict[str, t.Any]) -> t.Any:
    try:
        found = url_map.match_environ(environ)
    except HTTPException as e:
        return type(e).__name__
    if found is None:  # "ask Werkzeug": what the request context does next
        return _werkzeug_answer(url_map, environ)
    return found[0].endpoint, found[1]


@pytest.mark.parametrize(
    "environ",
    [
        _environ("/live"),
        _environ("/live", upgrade=True),
        _environ("/live", "POST"),
        _environ("/feed"),
        _environ("/feed", upgrade=True),
        _environ("/page"),
        _environ("/page", upgrade=True),
        _environ("/items/3"),
        _environ("/items/3", upgrade=True),
        _environ("/items/3/live"),
        _environ("/items/3/live", upgrade=True),
        _environ("/missing"),
        _environ("/missing", upgrade=True),
    ],
    ids=lambda e: f"{e['REQUEST_METHOD']} {e['PATH_INFO']} {'ws' if 'HTTP_UPGRADE' in e else ''}",
)
def test_url_map_indexes_agree_with_werkzeug_when_websocket_rules_exist(
    ws_app: Flask, environ: dict[str, t.Any]
) -> None:
    @ws_app.get("/live")
    def live_page() -> str:
        return ""

    @ws_app.websocket("/live")
    async def live_socket() -> None:
        pass

    @ws_app.websocket("/feed")
    async def feed() -> None:
        pass

    @ws_app.get("/page")
    def page() -> str:
        return ""

    @ws_app.get("/items/<int:n>")
    def item(n: int) -> str:
        return ""

    @ws_app.websocket("/items/<int:n>/live")
    async def item_live(n: int) -> None:
        pass

    # Fresh copies: Werkzeug's Rule.empty() would drop ``websocket``.
    plain = Map(
        [
            Rule(rule.rule, endpoint=rule.endpoint, methods=rule.methods, websocket=rule.websocket)
            for rule in ws_app.url_map.iter_rules()
        ]
    )
    assert _indexed_answer(ws_app.url_map, environ) == _werkzeug_answer(plain, environ)


def test_static_index_still_answers_http_requests_beside_websocket_rules(ws_app: Flask) -> None:
    @ws_app.get("/live")
    def live_page() -> str:
        return ""

    @ws_app.websocket("/live")
    async def live_socket() -> None:
        pass

    url_map: t.Any = ws_app.url_map
    found = url_map.match_environ(_environ("/live"))
    assert found is not None and found[0].endpoint == "live_page"
    # Handshakes always go to Werkzeug, which alone tells the rules apart.
    assert url_map.match_environ(_environ("/live", upgrade=True)) is None


# -- the WSGI side: a clear error, never a crash ----------------------------------------------


def test_websocket_route_over_http_answers_400_and_handshake_over_wsgi_501(
    app: Flask, client: FlaskClient
) -> None:
    ran: list[str] = []

    @app.websocket("/socket")
    async def socket() -> None:
        ran.append("handler")

    plain = client.get("/socket")
    assert plain.status_code == 400
    upgrade = client.get("/socket", headers={"Connection": "Upgrade", "Upgrade": "websocket"})
    assert upgrade.status_code == 501
    assert "ASGI" in upgrade.text
    assert ran == []


def test_werkzeug_dev_server_answers_a_handshake_with_501(ws_app: Flask) -> None:
    from werkzeug.serving import make_server

    @ws_app.websocket("/socket")
    def socket() -> None:
        websocket.send("never")

    server = make_server("127.0.0.1", 0, ws_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        response = httpx.get(
            f"http://127.0.0.1:{server.port}/socket",
            headers={
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            },
            timeout=5,
        )
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
    assert response.status_code == 501


# -- through a real uvicorn ------------------------------------------------------------------

SERVED_APP = """
import asyncio

from demijohn import Flask, abort, websocket

app = Flask(__name__)
events = []


@app.get("/events")
def get_events():
    return {"events": events}


@app.websocket("/echo")
async def echo():
    while True:
        await websocket.send(await websocket.receive())


@app.websocket("/sync-echo/<int:times>")
def sync_echo(times):
    while True:
        websocket.send(websocket.receive() * times)


@app.websocket("/deny")
async def deny():
    abort(403, "members only")


@app.websocket("/boom")
async def boom():
    await websocket.accept()
    raise RuntimeError("boom after accept")


@app.websocket("/wait/<name>")
async def wait(name):
    await websocket.accept()
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        events.append(f"{name} cancelled")
        raise


@app.teardown_websocket
def teardown(error):
    if websocket.endpoint == "wait":
        events.append(f"{websocket.view_args['name']} teardown {type(error).__name__}")
"""


@pytest.fixture(scope="module", params=["websockets-sansio", "wsproto"])
def uvicorn_ws(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> t.Iterator[tuple[str, Path]]:
    """uvicorn serving ``SERVED_APP``, with each of its WebSocket implementations."""
    folder = tmp_path_factory.mktemp("uvicorn_ws")
    (folder / "served_ws.py").write_text(SERVED_APP)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "served_ws:app", "--host", "127.0.0.1"]
    command += ["--ws", request.param]
    with running_server(
        [*command, "--port", str(port)],
        probe_url=f"http://127.0.0.1:{port}/events",
        cwd=folder,
        env={"PYTHONPATH": str(folder)},
    ):
        yield f"127.0.0.1:{port}", folder


def _events(address: str) -> list[str]:
    return t.cast(list[str], httpx.get(f"http://{address}/events", timeout=5).json()["events"])


def test_uvicorn_100_concurrent_clients_echo_100_messages_each(
    uvicorn_ws: tuple[str, Path],
) -> None:
    from websockets.asyncio.client import connect

    address, _ = uvicorn_ws

    async def client(number: int) -> list[str | bytes]:
        async with connect(f"ws://{address}/echo") as ws:
            replies: list[str | bytes] = []
            for n in range(100):
                message: str | bytes = f"{number}:{n}" if n % 2 else f"{number}:{n}".encode()
                await ws.send(message)
                replies.append(await ws.recv())
            return replies

    async def main() -> list[list[str | bytes]]:
        async with asyncio.timeout(20):
            return await asyncio.gather(*(client(number) for number in range(100)))

    results = asyncio.run(main())
    for number, replies in enumerate(results):
        assert replies == [
            f"{number}:{n}" if n % 2 else f"{number}:{n}".encode() for n in range(100)
        ]


def test_uvicorn_def_handlers_in_threads(uvicorn_ws: tuple[str, Path]) -> None:
    from websockets.asyncio.client import connect

    address, _ = uvicorn_ws

    async def client(number: int) -> list[str | bytes]:
        async with connect(f"ws://{address}/sync-echo/2") as ws:
            replies = []
            for n in range(10):
                await ws.send(f"{number}.{n} ")
                replies.append(await ws.recv())
            return replies

    async def main() -> list[list[str | bytes]]:
        async with asyncio.timeout(15):
            return await asyncio.gather(*(client(number) for number in range(10)))

    for number, replies in enumerate(asyncio.run(main())):
        assert replies == [f"{number}.{n} {number}.{n} " for n in range(10)]


def test_uvicorn_refusals_are_http_responses(uvicorn_ws: tuple[str, Path]) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    address, _ = uvicorn_ws

    async def attempt(path: str) -> t.Any:
        with pytest.raises(InvalidStatus) as refused:
            async with asyncio.timeout(10), connect(f"ws://{address}{path}"):
                pass
        return refused.value.response

    denied = asyncio.run(attempt("/deny"))
    assert denied.status_code == 403
    assert b"members only" in denied.body
    assert denied.headers["Content-Type"].startswith("text/html")
    assert asyncio.run(attempt("/nowhere")).status_code == 404
    assert asyncio.run(attempt("/events")).status_code == 400


def test_uvicorn_error_after_accept_closes_1011_and_logs(uvicorn_ws: tuple[str, Path]) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosedError

    address, folder = uvicorn_ws

    async def main() -> t.Any:
        async with asyncio.timeout(10), connect(f"ws://{address}/boom") as ws:
            with pytest.raises(ConnectionClosedError) as closed:
                await ws.recv()
            return closed.value.rcvd

    assert asyncio.run(main()).code == 1011
    log = "".join(path.read_text() for path in folder.glob("server-*.log"))
    assert "Exception on /boom [GET]" in log
    assert "Traceback" in log and "RuntimeError: boom after accept" in log


def test_uvicorn_client_vanishing_cancels_the_handler_and_tears_down_once(
    uvicorn_ws: tuple[str, Path],
) -> None:
    from websockets.asyncio.client import connect

    address, _ = uvicorn_ws

    async def vanish() -> None:
        async with asyncio.timeout(10):
            ws = await connect(f"ws://{address}/wait/gone")
            ws.transport.abort()  # no closing handshake: the TCP connection just drops
            await ws.wait_closed()

    asyncio.run(vanish())
    expected = ["gone cancelled", "gone teardown CancelledError"]
    deadline = time.monotonic() + 10
    while [e for e in _events(address) if e.startswith("gone")] != expected:
        assert time.monotonic() < deadline, _events(address)
        time.sleep(0.05)
    time.sleep(0.2)  # nothing more arrives: teardown ran once
    assert [e for e in _events(address) if e.startswith("gone")] == expected
