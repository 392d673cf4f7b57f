"""Streamed responses: over real sockets, and ``stream_with_context`` from ``async def`` views.

Over real sockets: the first chunk arrives before the generator ends, a client
that goes away closes the generator, and the worker serves the next request.
Through both doors: a sync or an async generator streams with ``request``,
``g`` and ``session`` available; one closed early (the client went away after
the first chunk), or never iterated (closed, or dropped without being closed),
leaves no context pushed, runs its ``finally``, tears the request down exactly
once, and leaves nothing behind for the next request or the garbage collector.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
import textwrap
import threading
import time
import typing as t
import warnings
from pathlib import Path

import httpx
import pytest
from asgi_support import scope_from_environ
from servers import free_port, running_server
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder

from demijohn import (
    Flask,
    Response,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
    stream_with_context,
)
from demijohn import g as demijohn_g
from demijohn.globals import _cv_app, _cv_request

WAIT = 10.0  # seconds: the bound of every wait below


@pytest.fixture
def streaming_app() -> tuple[Flask, dict[str, threading.Event], list[str]]:
    app = Flask("streaming")
    events = {name: threading.Event() for name in ("release", "closed", "teardown")}
    log: list[str] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        if request.path == "/endless":
            events["teardown"].set()

    @app.route("/held")
    def held() -> Response:
        @stream_with_context
        def generate() -> t.Iterator[str]:
            yield f"first for {request.args['who']}\n"
            # Only the client can release this: it must have the first chunk already.
            if not events["release"].wait(WAIT):
                yield "never released\n"
                return
            yield "second\n"

        return Response(generate(), mimetype="text/plain")

    @app.route("/endless")
    def endless() -> Response:
        def generate() -> t.Iterator[bytes]:
            try:
                for i in range(100_000):
                    log.append(f"chunk {i}")
                    yield b"x" * 65536
                    time.sleep(0.001)
            finally:
                events["closed"].set()

        return Response(generate(), mimetype="application/octet-stream")

    @app.route("/events")
    def sse() -> Response:
        def stream() -> t.Iterator[str]:
            for i in range(3):
                yield f"data: update {i}\n\n"

        return Response(stream(), mimetype="text/event-stream")

    @app.route("/ping")
    def ping() -> str:
        return "pong"

    return app, events, log


@pytest.fixture
def dev_server(
    streaming_app: tuple[Flask, dict[str, threading.Event], list[str]],
) -> t.Iterator[str]:
    app = streaming_app[0]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(WAIT)


def test_first_chunk_arrives_before_the_generator_finishes(
    dev_server: str, streaming_app: tuple[Flask, dict[str, threading.Event], list[str]]
) -> None:
    events = streaming_app[1]
    with httpx.stream("GET", f"{dev_server}/held?who=ada", timeout=WAIT) as response:
        lines = response.iter_lines()
        assert next(lines) == "first for ada"  # the generator is still blocked here
        assert not events["release"].is_set()
        events["release"].set()
        assert next(lines) == "second"
    assert "Content-Length" not in response.headers


def test_disconnect_closes_the_generator_and_runs_teardown(
    dev_server: str, streaming_app: tuple[Flask, dict[str, threading.Event], list[str]]
) -> None:
    _, events, log = streaming_app
    port = int(dev_server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as sock:
        sock.sendall(b"GET /endless HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    # The client is gone: the next write fails and the generator is closed.
    assert events["closed"].wait(WAIT)
    assert events["teardown"].wait(WAIT)
    assert len(log) < 100_000  # stopped early, not run to the end
    assert httpx.get(f"{dev_server}/ping", timeout=WAIT).text == "pong"


def test_server_sent_events(dev_server: str) -> None:
    with httpx.stream("GET", f"{dev_server}/events", timeout=WAIT) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line for line in response.iter_lines() if line]
    assert data == ["data: update 0", "data: update 1", "data: update 2"]


GUNICORN_APP = textwrap.dedent(
    """
    import os, time
    from demijohn import Flask, Response

    app = Flask(__name__)
    RELEASE = os.environ["RELEASE_FILE"]

    @app.route("/held")
    def held():
        def generate():
            yield "first\\n"
            deadline = time.monotonic() + 10
            while not os.path.exists(RELEASE) and time.monotonic() < deadline:
                time.sleep(0.02)
            yield "second\\n"
        return Response(generate(), mimetype="text/plain")

    @app.route("/ping")
    def ping():
        return "pong"
    """
)


def test_gunicorn_streams_the_first_chunk_early(tmp_path: Path) -> None:
    (tmp_path / "streamer.py").write_text(GUNICORN_APP)
    release = tmp_path / "release"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    with (
        running_server(
            [gunicorn, "--workers", "2", "--bind", f"127.0.0.1:{port}", "streamer:app"],
            probe_url=f"{base}/ping",
            cwd=tmp_path,
            env={"PYTHONPATH": str(tmp_path), "RELEASE_FILE": str(release)},
        ),
        httpx.stream("GET", f"{base}/held", timeout=WAIT) as response,
    ):
        lines = response.iter_lines()
        assert next(lines) == "first"  # sent while the worker still waits
        release.touch()
        assert next(lines) == "second"


# -- async generators, through both doors (the ``app`` fixture) -------------------


def test_response_of_an_async_generator(app: Flask) -> None:
    closed: list[str] = []

    @app.get("/agen")
    async def agen_view() -> Response:
        async def generate() -> t.AsyncIterator[str]:
            try:
                for i in range(3):
                    await asyncio.sleep(0)
                    yield f"part {i};"
            finally:
                closed.append("closed")

        return Response(generate(), mimetype="text/plain", headers={"X-Kind": "async"})

    response = app.test_client().get("/agen")
    assert response.status_code == 200
    assert response.headers["X-Kind"] == "async"
    assert response.text == "part 0;part 1;part 2;"
    assert closed == ["closed"]


def test_head_of_an_async_generator_sends_no_body_and_closes_it(app: Flask) -> None:
    started: list[str] = []

    @app.get("/agen")
    async def agen_view() -> Response:
        async def generate() -> t.AsyncIterator[bytes]:
            started.append("started")
            yield b"body"

        return Response(generate())

    response = app.test_client().head("/agen")
    assert response.status_code == 200
    assert response.data == b""


def test_stream_with_context_over_an_async_generator(app: Flask) -> None:
    teardowns: list[str] = []

    @app.teardown_request
    def record(exc: BaseException | None) -> None:
        teardowns.append(f"{request.path} {exc!r}")

    @app.get("/stream")
    async def stream_view() -> Response:
        demijohn_g.user = request.args["who"]

        @stream_with_context
        async def generate() -> t.AsyncIterator[str]:
            yield f"hello {request.args['who']};"
            await asyncio.sleep(0.01)
            # Still the same request and app context after the view returned.
            yield f"g says {demijohn_g.user};"
            yield f"teardowns so far {len(teardowns)}"

        return Response(generate(), mimetype="text/plain")

    client = app.test_client()
    response = client.get("/stream?who=ada")
    assert response.text == "hello ada;g says ada;teardowns so far 0"
    # Torn down exactly once, after the stream ended.
    assert teardowns == ["/stream None"]
    # The next request is unaffected.
    assert client.get("/stream?who=bob").text == "hello bob;g says bob;teardowns so far 1"
    assert teardowns == ["/stream None", "/stream None"]


def test_stream_with_context_closed_before_iteration_tears_down(app: Flask) -> None:
    teardowns: list[str] = []
    finished: list[str] = []

    @app.teardown_request
    def record(exc: BaseException | None) -> None:
        teardowns.append(request.path)

    @app.get("/stream")
    async def stream_view() -> Response:
        async def generate() -> t.AsyncIterator[bytes]:
            try:
                yield b"never sent"
            finally:
                finished.append("finally")

        return Response(stream_with_context(generate()))

    # HEAD: the body is never iterated; closing the response (as a server
    # does, and the test client when asked) ends the request.
    response = app.test_client().head("/stream")
    assert response.status_code == 200
    assert response.data == b""
    response.close()
    assert teardowns == ["/stream"]


# -- stream_with_context from ``async def`` views, through both doors -------------------


#: What the teardown sees for a stream closed before its end (as in Flask).
CLOSED = "GeneratorExit()"
CHUNKS = 400  # the most chunks a long stream yields (a few seconds at most)


class Recorder:
    """What the app under test saw: teardowns, ``finally`` blocks, chunks made."""

    def __init__(self) -> None:
        self.teardowns: list[tuple[str, str | None]] = []
        self.finals: list[tuple[str, bool, bool]] = []
        self.made: list[str] = []
        self.generators: list[t.Any] = []


def _finished(rec: Recorder, path: str) -> None:
    # Where the generator's ``finally`` ran: the request must still be there.
    rec.finals.append((path, has_request_context(), has_app_context()))


def build(app: Flask) -> Recorder:
    """Routes streaming through ``stream_with_context`` from ``async def`` views."""
    rec = Recorder()
    app.secret_key = "stream-test"

    @app.before_request
    def remember() -> None:
        g.who = request.args.get("who", "nobody")

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        rec.teardowns.append((request.path, None if exc is None else repr(exc)))

    @app.get("/sync")
    async def sync_view() -> Response:
        session["who"] = request.args["who"]
        g.extra = "from-view"

        def generate() -> t.Iterator[str]:
            try:
                yield f"args={request.args['who']};"
                yield f"g={g.who}/{g.extra};"
                yield f"session={session['who']}"
            finally:
                _finished(rec, "/sync")

        rec.generators.append(gen := generate())
        return Response(stream_with_context(gen), mimetype="text/plain")

    @app.get("/async")
    async def async_view() -> Response:
        session["who"] = request.args["who"]
        g.extra = "from-view"

        async def generate() -> t.AsyncIterator[str]:
            try:
                yield f"args={request.args['who']};"
                await asyncio.sleep(0)
                yield f"g={g.who}/{g.extra};"
                await asyncio.sleep(0.001)
                yield f"session={session['who']}"
            finally:
                _finished(rec, "/async")

        rec.generators.append(gen := generate())
        return Response(stream_with_context(gen), mimetype="text/plain")

    @app.get("/sync-long")
    async def sync_long() -> Response:
        @stream_with_context
        def generate() -> t.Iterator[bytes]:
            try:
                for i in range(CHUNKS):
                    rec.made.append(f"{request.args['who']} {i}")
                    yield b"x" * 1024
                    time.sleep(0.005)
            finally:
                _finished(rec, "/sync-long")

        return Response(generate(), mimetype="application/octet-stream")

    @app.get("/async-long")
    async def async_long() -> Response:
        @stream_with_context
        async def generate() -> t.AsyncIterator[bytes]:
            try:
                for i in range(CHUNKS):
                    rec.made.append(f"{request.args['who']} {i}")
                    yield b"x" * 1024
                    await asyncio.sleep(0.005)
            finally:
                _finished(rec, "/async-long")

        return Response(generate(), mimetype="application/octet-stream")

    @app.get("/plain")
    def plain() -> str:
        # The next request: its own ``g`` and a context pushed once.
        depth = len(_cv_request.get()._cv_tokens)
        return f"{request.args['who']} {g.who} {getattr(g, 'extra', '-')} depth={depth}"

    return rec


@pytest.fixture
def clean_exit() -> t.Iterator[list[t.Any]]:
    """Collect what reaches ``sys.unraisablehook``; turn every warning into an error."""
    caught: list[t.Any] = []
    previous = sys.unraisablehook
    sys.unraisablehook = caught.append
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            yield caught
            gc.collect(1)  # what a dropped generator left in a cycle runs now
    finally:
        sys.unraisablehook = previous
    assert [(u.exc_type, str(u.exc_value), u.object) for u in caught] == []


def assert_no_context() -> None:
    assert _cv_request.get(None) is None, "request context left pushed"
    assert _cv_app.get(None) is None, "app context left pushed"


def assert_next_request_is_fine(app: Flask, rec: Recorder) -> None:
    before = len(rec.teardowns)
    response = app.test_client().get("/plain?who=bob")
    assert response.status_code == 200
    assert response.text == "bob bob - depth=1"
    assert rec.teardowns[before:] == [("/plain", None)]
    assert_no_context()


def _environ(path: str, method: str = "GET") -> dict[str, t.Any]:
    base, _, query = path.partition("?")
    return EnvironBuilder(path=base, query_string=query, method=method).get_environ()


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: t.Any = None) -> None:
    assert status.startswith("200"), status


async def _asgi_until_first_chunk(
    app: Flask, path: str, *, disconnect_at_once: bool = False
) -> list[dict[str, t.Any]]:
    """Serve ``path`` through the ASGI door; the client goes away after the first chunk.

    With ``disconnect_at_once`` it goes away as soon as its request was read.
    """
    sent: list[dict[str, t.Any]] = []
    first_chunk = asyncio.Event()
    request_read = False

    async def receive() -> dict[str, t.Any]:
        nonlocal request_read
        if not request_read:
            request_read = True
            return {"type": "http.request", "body": b"", "more_body": False}
        if not disconnect_at_once:
            await asyncio.wait_for(first_chunk.wait(), WAIT)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_chunk.set()

    await asyncio.wait_for(app(scope_from_environ(_environ(path)), receive, send), WAIT)
    return sent


# -- the whole stream, through both doors (the ``app`` fixture) ----------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_stream_sees_request_g_and_session(app: Flask, kind: str, clean_exit: list[t.Any]) -> None:
    rec = build(app)
    client = app.test_client()
    response = client.get(f"/{kind}?who=ada")
    assert response.status_code == 200
    assert response.text == "args=ada;g=ada/from-view;session=ada"
    # The session written by the view is saved (the cookie went out).
    assert client.get_cookie("session") is not None
    assert rec.finals == [(f"/{kind}", True, True)]
    assert rec.teardowns == [(f"/{kind}", None)]
    assert_no_context()
    assert_next_request_is_fine(app, rec)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_head_closes_the_stream_unread(app: Flask, kind: str, clean_exit: list[t.Any]) -> None:
    rec = build(app)
    response = app.test_client().head(f"/{kind}?who=ada")
    assert response.status_code == 200
    assert response.data == b""
    response.close()
    assert rec.teardowns == [(f"/{kind}", CLOSED)]
    # Never started, so there is no ``finally`` of its to run; it is closed.
    (gen,) = rec.generators
    assert (gen.gi_frame if kind == "sync" else gen.ag_frame) is None
    assert_no_context()
    assert_next_request_is_fine(app, rec)


# -- WSGI: the server closes the body early, or never iterates it ------------------


@pytest.mark.parametrize("kind", ["sync-long", "async-long"])
def test_wsgi_close_after_the_first_chunk(kind: str, clean_exit: list[t.Any]) -> None:
    app = Flask(__name__)
    rec = build(app)
    body = app(_environ(f"/{kind}?who=ada"), _start_response)
    chunks = iter(body)
    assert next(chunks) == b"x" * 1024
    assert rec.teardowns == []  # still streaming: not torn down yet
    body.close()
    assert rec.finals == [(f"/{kind}", True, True)]
    assert rec.teardowns == [(f"/{kind}", CLOSED)]
    assert len(rec.made) < CHUNKS
    assert_no_context()
    assert_next_request_is_fine(app, rec)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_wsgi_body_closed_without_iterating(kind: str, clean_exit: list[t.Any]) -> None:
    app = Flask(__name__)
    rec = build(app)
    body = app(_environ(f"/{kind}?who=ada"), _start_response)
    body.close()
    assert rec.teardowns == [(f"/{kind}", CLOSED)]
    assert rec.finals == []  # never started: nothing of the generator ran
    assert_no_context()
    assert_next_request_is_fine(app, rec)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_wsgi_body_dropped_without_closing(kind: str, clean_exit: list[t.Any]) -> None:
    # A faulty server that neither iterates nor closes the body: dropping it
    # must not leave the request pushed in this thread for the next one.
    app = Flask(__name__)
    rec = build(app)
    body = app(_environ(f"/{kind}?who=ada"), _start_response)
    assert_no_context()
    del body
    rec.generators.clear()
    assert rec.teardowns == [(f"/{kind}", CLOSED)]
    assert_no_context()
    assert_next_request_is_fine(app, rec)


@pytest.mark.parametrize("kind", ["sync-long", "async-long"])
def test_wsgi_dropped_after_the_first_chunk(kind: str, clean_exit: list[t.Any]) -> None:
    app = Flask(__name__)
    rec = build(app)
    body = app(_environ(f"/{kind}?who=ada"), _start_response)
    chunks = iter(body)
    assert next(chunks) == b"x" * 1024
    assert_no_context()  # between chunks, nothing of the request is pushed
    del body, chunks
    assert rec.finals == [(f"/{kind}", True, True)]
    assert rec.teardowns == [(f"/{kind}", CLOSED)]
    assert_no_context()
    assert_next_request_is_fine(app, rec)


# -- ASGI: the client disconnects after the first chunk, or at once -----------------


@pytest.mark.parametrize("kind", ["sync-long", "async-long"])
def test_asgi_disconnect_after_the_first_chunk(kind: str, clean_exit: list[t.Any]) -> None:
    app = Flask(__name__)
    rec = build(app)
    sent = asyncio.run(_asgi_until_first_chunk(app, f"/{kind}?who=ada"))
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"x" * 1024
    assert rec.finals == [(f"/{kind}", True, True)]
    assert rec.teardowns == [(f"/{kind}", CLOSED)]
    assert len(rec.made) < CHUNKS
    assert_no_context()
    assert_next_request_is_fine(app, rec)


@pytest.mark.parametrize("kind", ["sync", "async", "sync-long", "async-long"])
def test_asgi_disconnect_before_any_chunk(kind: str, clean_exit: list[t.Any]) -> None:
    app = Flask(__name__)
    rec = build(app)
    asyncio.run(_asgi_until_first_chunk(app, f"/{kind}?who=ada", disconnect_at_once=True))
    # How far the stream got before the disconnect was seen is a race (a
    # short one may even finish); however far, it ended once, and if it had
    # started, its ``finally`` ran with the request still there.
    assert rec.teardowns in ([(f"/{kind}", CLOSED)], [(f"/{kind}", None)])
    assert rec.finals in ([], [(f"/{kind}", True, True)])
    assert_no_context()
    assert_next_request_is_fine(app, rec)
