"""Streaming over real sockets: the first chunk arrives before the generator ends,
a client that goes away closes the generator, and the worker serves the next request.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import textwrap
import threading
import time
import typing as t
from pathlib import Path

import httpx
import pytest
from servers import free_port, running_server
from werkzeug.serving import make_server

from demijohn import Flask, Response, request, stream_with_context
from demijohn import g as demijohn_g

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
