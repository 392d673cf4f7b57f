"""``stream_with_context`` from ``async def`` views, through both doors.

A sync or an async generator streams with ``request``, ``g`` and ``session``
available; one closed early (the client went away after the first chunk), or
never iterated (closed, or dropped without being closed), leaves no context
pushed, runs its ``finally``, tears the request down exactly once, and
leaves nothing behind for the next request or the garbage collector.
tests/test_streaming.py covers streaming over real sockets.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
import typing as t
import warnings

import pytest
from asgi_support import scope_from_environ
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
from demijohn.globals import _cv_app, _cv_request

WAIT = 10.0  # seconds: the bound of every wait below
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
