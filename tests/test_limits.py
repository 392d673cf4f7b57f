"""Request limits: a clear 4xx, never a 500, a hang or unbounded memory.

Each limit is checked through both doors of the test client, then against
real servers on 127.0.0.1: the development server (``demijohn run``, Werkzeug's
threaded server), gunicorn and uvicorn, one of each for the whole module.
Requests a client library would refuse to send (a declared length with no
body, a chunked body that never ends, an upload that stalls) go through raw
sockets; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import select
import socket
import sys
import textwrap
import time
import typing as t
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from servers import free_port, running_server

import demijohn
from demijohn import request

MiB = 1024 * 1024
#: ``MAX_CONTENT_LENGTH`` of the served app.
LIMIT = 2 * MiB
#: gunicorn's ``--timeout``: a worker silent for longer is killed and replaced.
GUNICORN_TIMEOUT = 3
#: The longest any single socket or HTTP exchange of these tests may take.
IO_TIMEOUT = 10.0

LIMITS_APP = textwrap.dedent(
    f"""
    import asyncio
    import threading

    from demijohn import Flask, request

    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH={LIMIT}, MAX_FORM_MEMORY_SIZE=100_000, MAX_FORM_PARTS=10
    )

    @app.before_request
    def lower_the_limit():
        if request.path == "/lowered":
            request.max_content_length = 10

    @app.post("/data")
    def data():
        return str(len(request.get_data()))

    @app.post("/lowered")
    def lowered():
        return str(len(request.get_data()))

    @app.post("/raised")
    def raised():
        request.max_content_length = {4 * LIMIT}
        return str(len(request.get_data()))

    @app.post("/raised-async")
    async def raised_async():
        # Read before the first await: see test_asgi_raised_limit_after_an_await.
        request.max_content_length = {4 * LIMIT}
        size = len(request.get_data())
        await asyncio.sleep(0)
        return str(size)

    @app.post("/form")
    def form():
        return {{"fields": len(request.form), "files": len(request.files)}}

    @app.post("/json")
    def json_body():
        return type(request.get_json()).__name__

    @app.get("/ping")
    def ping():
        return "pong"

    @app.get("/threads")
    def threads():
        return str(threading.active_count())

    @app.get("/tasks")
    async def tasks():
        return str(len(asyncio.all_tasks()))
    """
)

BIN = Path(sys.executable).parent


# -- through the test client (both doors) --------------------------------------


@pytest.fixture
def limited(app: demijohn.Flask) -> demijohn.Flask:
    """``app`` with small limits and views that read the body in each way."""
    # Werkzeug also holds each read of the multipart stream (64 KiB) to
    # MAX_FORM_MEMORY_SIZE, so a useful one is larger than that.
    app.config.update(MAX_CONTENT_LENGTH=100, MAX_FORM_MEMORY_SIZE=100_000, MAX_FORM_PARTS=5)

    @app.before_request
    def per_request_limits() -> None:
        if request.path == "/lowered":
            request.max_content_length = 10
        elif request.path == "/raised-in-hook":
            request.max_content_length = 10_000

    @app.post("/data")
    @app.post("/lowered")
    @app.post("/raised-in-hook")
    def data() -> str:
        return str(len(request.get_data()))

    @app.post("/raised")
    def raised() -> str:
        request.max_content_length = 10_000
        return str(len(request.get_data()))

    @app.post("/form")
    def form() -> dict[str, int]:
        return {"fields": len(request.form), "files": len(request.files)}

    @app.post("/json")
    def json_body() -> str:
        return type(request.get_json()).__name__

    return app


def test_body_over_max_content_length_is_413(limited: demijohn.Flask) -> None:
    client = limited.test_client()
    assert client.post("/data", data=b"x" * 100).text == "100"
    too_big = client.post("/data", data=b"x" * 101)
    assert too_big.status_code == 413
    assert "Request Entity Too Large" in too_big.text
    # The JSON and form parsers read through the same guarded stream.
    assert client.post("/json", json=["x" * 200]).status_code == 413
    assert client.post("/form", data={"a": "x" * 200}).status_code == 413


@pytest.mark.parametrize("size", [100, 101, 5000])
def test_chunked_body_is_held_to_max_content_length(limited: demijohn.Flask, size: int) -> None:
    # No Content-Length: the server ends the body (``wsgi.input_terminated``),
    # and the stream reads one byte past the limit at most.
    response = limited.test_client().post(
        "/data",
        input_stream=io.BytesIO(b"c" * size),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    if size <= 100:
        assert response.text == str(size)
    else:
        assert response.status_code == 413


@pytest.mark.parametrize("path", ["/raised", "/raised-in-hook"])
@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_view_or_hook_may_raise_the_limit(
    limited: demijohn.Flask, path: str, chunked: bool
) -> None:
    client = limited.test_client()
    # Without options the test client declares the (seekable) stream's length.
    extra: dict[str, t.Any] = {}
    if chunked:
        extra = {
            "headers": {"Transfer-Encoding": "chunked"},
            "environ_overrides": {"wsgi.input_terminated": True},
        }
    body = b"r" * 3000
    response = client.post(path, input_stream=io.BytesIO(body), **extra)
    # The whole body, not the part read before the limit was raised.
    assert response.text == "3000"
    over = client.post(path, input_stream=io.BytesIO(b"r" * 10_001), **extra)
    assert over.status_code == 413


def test_a_hook_may_lower_the_limit(limited: demijohn.Flask) -> None:
    client = limited.test_client()
    assert client.post("/lowered", data=b"x" * 10).text == "10"
    assert client.post("/lowered", data=b"x" * 11).status_code == 413


def _multipart(fields: dict[str, str], upload: bytes = b"file content") -> dict[str, t.Any]:
    # A file part makes the test client encode the form as multipart.
    return {**fields, "upload": (io.BytesIO(upload), "a.txt")}


def test_max_form_memory_size_limits_a_text_field(limited: demijohn.Flask) -> None:
    limited.config["MAX_CONTENT_LENGTH"] = None
    client = limited.test_client()
    fits = client.post("/form", data=_multipart({"a": "x" * 90_000}))
    assert fits.json == {"fields": 1, "files": 1}
    assert client.post("/form", data=_multipart({"a": "x" * 110_000})).status_code == 413
    # A file part of that size is spooled, not held in memory: no limit there.
    big_file = client.post("/form", data=_multipart({"a": "x"}, upload=b"f" * 300_000))
    assert big_file.json == {"fields": 1, "files": 1}


def test_max_form_parts_limits_the_number_of_parts(limited: demijohn.Flask) -> None:
    limited.config["MAX_CONTENT_LENGTH"] = None
    client = limited.test_client()
    four = {f"f{i}": "v" for i in range(4)}
    assert client.post("/form", data=_multipart(four)).json == {"fields": 4, "files": 1}
    five = {f"f{i}": "v" for i in range(5)}
    assert client.post("/form", data=_multipart(five)).status_code == 413


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_json_is_400_not_500(app: demijohn.Flask, opening: str) -> None:
    @app.post("/json")
    def json_body() -> str:
        return type(request.get_json()).__name__

    @app.post("/json-silent")
    def json_silent() -> str:
        return repr(request.get_json(silent=True))

    client = app.test_client()
    deep = opening * 100_000
    # TESTING is on: an unexpected RecursionError would propagate and fail here.
    response = client.post("/json", data=deep, content_type="application/json")
    assert response.status_code == 400
    assert "Bad Request" in response.text
    assert "Recursion" not in response.text
    assert client.post("/json-silent", data=deep, content_type="application/json").text == "None"
    # Nesting the parser can follow is still parsed.
    nested = "[" * 50 + "]" * 50
    assert client.post("/json", data=nested, content_type="application/json").text == "list"


def test_deeply_nested_json_outside_a_request() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        demijohn.json.loads("[" * 100_000)
    assert demijohn.json.loads("[[1]]") == [[1]]


# -- the ASGI door itself: what it receives from the server ---------------------


def _http_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, t.Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


@dataclasses.dataclass
class _Exchange:
    """What an ASGI request did: the messages sent, and how many times it called receive."""

    sent: list[dict[str, t.Any]]
    receives: int

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


def _serve(
    asgi: t.Any, scope: dict[str, t.Any], chunks: list[bytes], *, disconnect: bool = False
) -> _Exchange:
    """Run one request through ``asgi`` with ``chunks`` as the body messages."""
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    if disconnect:  # the client leaves before the body is complete
        incoming[-1]["more_body"] = True
        incoming.append({"type": "http.disconnect"})
    exchange = _Exchange([], 0)
    done = asyncio.Event()

    async def receive() -> dict[str, t.Any]:
        exchange.receives += 1
        if incoming:
            return incoming.pop(0)
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, t.Any]) -> None:
        exchange.sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    async def main() -> None:
        await asyncio.wait_for(asgi(scope, receive, send), IO_TIMEOUT)

    asyncio.run(main())
    return exchange


def _asgi_app(view_is_async: bool) -> demijohn.Flask:
    app = demijohn.Flask("asgi_limits")
    app.config["MAX_CONTENT_LENGTH"] = 100

    def length() -> str:
        if request.path == "/raised":
            request.max_content_length = 10_000
        return str(len(request.get_data()))

    async def async_length() -> str:
        size = length()
        await asyncio.sleep(0)
        return size

    async def length_after_an_await() -> str:
        await asyncio.sleep(0)
        return length()

    for rule in ("/data", "/raised"):
        app.add_url_rule(rule, rule, async_length if view_is_async else length, methods=["POST"])
    app.add_url_rule("/late", "late", length_after_an_await, methods=["POST"])
    return app


@pytest.mark.parametrize("view_is_async", [False, True], ids=["sync", "async"])
def test_asgi_declared_length_over_the_limit_is_413_unread(view_is_async: bool) -> None:
    app = _asgi_app(view_is_async)
    scope = _http_scope("/data", [(b"content-length", b"5000")])
    exchange = _serve(app, scope, [b"y" * 1000] * 5)
    assert exchange.status == 413
    # Not one body message was asked for: the server can answer without it.
    assert exchange.receives == 0


@pytest.mark.parametrize("view_is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "chunked"])
def test_asgi_raised_limit_reads_the_whole_body(view_is_async: bool, declared: bool) -> None:
    # Before the fix the declared body came back empty and the chunked one cut
    # off a little past the app's limit.
    app = _asgi_app(view_is_async)
    headers = [(b"content-length", b"5000")] if declared else []
    exchange = _serve(app, _http_scope("/raised", headers), [b"y" * 300] * 16 + [b"y" * 200])
    assert (exchange.status, exchange.body) == (200, b"5000")
    assert exchange.receives == 17
    # Chunked, without a raise: the door stops receiving just past the limit.
    if not declared:
        small = _serve(app, _http_scope("/data", []), [b"y" * 30] * 20)
        assert small.status == 413
        assert small.receives == 4


def test_asgi_raised_limit_after_an_await(caplog: pytest.LogCaptureFixture) -> None:
    # Past its first real await an async view runs in the loop's own task,
    # where a synchronous read of the rest of the body cannot wait for the
    # server: the door refuses it (a 500 that says why) rather than block the
    # loop. Through WSGI, the same view reads the body.
    app = _asgi_app(view_is_async=True)
    app.add_url_rule("/late-raised", "late-raised", app.view_functions["late"], methods=["POST"])

    @app.before_request
    def raise_for_late() -> None:
        if request.path == "/late-raised":
            request.max_content_length = 10_000

    scope = _http_scope("/late-raised", [(b"content-length", b"5000")])
    exchange = _serve(app, scope, [b"y" * 1000] * 5)
    assert exchange.status == 500
    assert "read the body before awaiting" in caplog.text
    # Within the app's own limit the body was read by the door: no problem there.
    within = _serve(app, _http_scope("/late-raised", [(b"content-length", b"50")]), [b"y" * 50])
    assert within.body == b"50"
    wsgi = app.test_client().post("/late-raised", data=b"y" * 5000)
    assert wsgi.text == "5000"


def test_asgi_client_leaving_during_a_raised_read_is_400() -> None:
    app = _asgi_app(view_is_async=False)
    scope = _http_scope("/raised", [(b"content-length", b"5000")])
    exchange = _serve(app, scope, [b"y" * 1000, b"y" * 1000], disconnect=True)
    assert exchange.status == 400


# -- real servers ---------------------------------------------------------------


@dataclasses.dataclass
class Served:
    """A running server: its name, port, base URL and the folder holding its log."""

    name: str
    port: int
    base: str
    folder: Path

    def log(self) -> str:
        return "".join(path.read_text() for path in self.folder.glob("server-*.log"))


def _command(name: str, port: int) -> list[str]:
    if name == "dev":
        # Werkzeug's server, threaded, as ``demijohn run`` starts it.
        return [str(BIN / "demijohn"), "--app", "limits_app", "run", "--port", str(port)]
    if name == "gunicorn":
        options = ["--workers", "2", "--timeout", str(GUNICORN_TIMEOUT)]
        return [str(BIN / "gunicorn"), "limits_app:app", "--bind", f"127.0.0.1:{port}", *options]
    host = ["--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, "-m", "uvicorn", "limits_app:app", *host]


@pytest.fixture(scope="module", params=["dev", "gunicorn", "uvicorn"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    name: str = request.param
    folder = tmp_path_factory.mktemp(f"limits-{name}")
    (folder / "limits_app.py").write_text(LIMITS_APP)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Two worker threads in the ASGI door: stalled uploads must hold none.
    env = {"PYTHONPATH": str(folder), "DEMIJOHN_ASGI_THREADS": "2"}
    with running_server(_command(name, port), probe_url=f"{base}/ping", cwd=folder, env=env):
        yield Served(name, port, base, folder)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)


def _head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _read_response(sock: socket.socket, timeout: float = IO_TIMEOUT) -> tuple[int, bytes]:
    """Read one response from ``sock``: its status and body, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout

    def more() -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete response within {timeout} s")
        sock.settimeout(remaining)
        try:
            return sock.recv(65536)
        except ConnectionResetError:
            # The server closed with request bytes unread: what it sent before stands.
            return b""

    data = b""
    while b"\r\n\r\n" not in data:
        chunk = more()
        assert chunk, f"the server closed the connection without a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.lower().split(":", 1) for line in lines[1:])
    length = int(fields["content-length"])
    while len(body) < length:
        chunk = more()
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), body


def _send_until_answered(sock: socket.socket, payload: bytes, timeout: float = IO_TIMEOUT) -> int:
    """Send ``payload`` while the server reads it, stopping once it answers; the bytes sent."""
    deadline = time.monotonic() + timeout
    pending = memoryview(payload)
    sent = 0
    while pending:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "the server neither read the body nor answered"
        readable, writable, _ = select.select([sock], [sock], [], remaining)
        if readable:
            break  # the answer (or the close) came before the whole body
        if writable:
            try:
                count = sock.send(pending[:65536])
            except (BrokenPipeError, ConnectionResetError):
                break
            pending = pending[count:]
            sent += count
    return sent


def test_declared_length_over_the_limit_is_413_without_the_body(server: Served) -> None:
    with _connect(server.port) as sock:
        started = time.monotonic()
        sock.sendall(
            _head("/data", f"Content-Length: {LIMIT + 1}", "Content-Type: application/octet-stream")
        )
        # Not a byte of the body is sent: the answer may not wait for it.
        status, body = _read_response(sock)
        elapsed = time.monotonic() - started
    assert status == 413
    assert b"Request Entity Too Large" in body
    assert elapsed < 5


def test_chunked_body_over_the_limit_is_413(server: Served) -> None:
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"c" * 64 * 1024)
    chunks = chunk * (2 * LIMIT // (64 * 1024))
    with _connect(server.port) as sock:
        sock.sendall(_head("/data", "Transfer-Encoding: chunked", "Connection: close"))
        sent = _send_until_answered(sock, chunks + b"0\r\n\r\n")
        status, _ = _read_response(sock)
    assert status == 413
    assert sent > LIMIT  # the limit was passed before the answer


def test_within_the_limit_is_read(server: Served) -> None:
    body = b"b" * LIMIT
    assert httpx.post(f"{server.base}/data", content=body, timeout=IO_TIMEOUT).text == str(LIMIT)


@pytest.mark.parametrize("path", ["/raised", "/raised-async"])
def test_a_view_may_raise_the_limit(server: Served, path: str) -> None:
    size = LIMIT + MiB

    def chunks() -> Iterator[bytes]:
        for _ in range(size // (256 * 1024)):
            yield b"r" * 256 * 1024

    url = f"{server.base}{path}"
    declared = httpx.post(url, content=b"r" * size, timeout=IO_TIMEOUT)
    assert (declared.status_code, declared.text) == (200, str(size))
    chunked = httpx.post(url, content=chunks(), timeout=IO_TIMEOUT)
    assert (chunked.status_code, chunked.text) == (200, str(size))


def test_a_hook_may_lower_the_limit_under_a_server(server: Served) -> None:
    url = f"{server.base}/lowered"
    assert httpx.post(url, content=b"x" * 10, timeout=IO_TIMEOUT).text == "10"
    assert httpx.post(url, content=b"x" * 11, timeout=IO_TIMEOUT).status_code == 413


def test_form_limits_under_a_server(server: Served) -> None:
    url = f"{server.base}/form"
    upload = {"upload": ("a.txt", b"file content")}

    def post(fields: dict[str, str]) -> httpx.Response:
        return httpx.post(url, data=fields, files=upload, timeout=IO_TIMEOUT)

    assert post({"a": "x" * 90_000}).json() == {"fields": 1, "files": 1}
    assert post({"a": "x" * 110_000}).status_code == 413  # MAX_FORM_MEMORY_SIZE
    assert post({f"f{i}": "v" for i in range(9)}).json() == {"fields": 9, "files": 1}
    assert post({f"f{i}": "v" for i in range(10)}).status_code == 413  # MAX_FORM_PARTS


def test_deeply_nested_json_under_a_server(server: Served) -> None:
    url = f"{server.base}/json"
    headers = {"Content-Type": "application/json"}
    deep = httpx.post(url, content=b"[" * 100_000, headers=headers, timeout=IO_TIMEOUT)
    assert deep.status_code == 400
    assert httpx.post(url, content=b"[[]]", headers=headers, timeout=IO_TIMEOUT).text == "list"


# -- an upload that stalls: the server keeps serving, and lets the worker go ----


def _stall(port: int) -> socket.socket:
    """Start a 1 MiB upload, send 10 KiB of it, and stop."""
    sock = _connect(port)
    sock.sendall(_head("/data", f"Content-Length: {MiB}", "Content-Type: application/octet-stream"))
    sock.sendall(b"s" * 10 * 1024)
    return sock


def _get(served: Served, path: str) -> str:
    response = httpx.get(f"{served.base}{path}", timeout=IO_TIMEOUT)
    assert response.status_code == 200
    return response.text


def _count_until(served: Served, path: str, done: Callable[[int], bool]) -> int:
    """Poll the count at ``path`` until ``done`` accepts it (for at most five seconds)."""
    deadline = time.monotonic() + 5
    while True:
        count = int(_get(served, path))
        if done(count) or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def _stalled_worker_is_killed(served: Served) -> None:
    # gunicorn's sync workers: one is stuck reading the body; the other serves.
    with _stall(served.port) as stalled:
        started = time.monotonic()
        for _ in range(5):
            assert _get(served, "/ping") == "pong"
        # The arbiter kills the silent worker after --timeout; the client sees
        # the connection end (gunicorn answers the aborted request itself).
        stalled.settimeout(GUNICORN_TIMEOUT + 5)
        with contextlib.suppress(ConnectionResetError):
            stalled.recv(65536)
        freed_after = time.monotonic() - started
    assert GUNICORN_TIMEOUT - 1 < freed_after < GUNICORN_TIMEOUT + 5
    assert "WORKER TIMEOUT" in served.log()
    assert _get(served, "/ping") == "pong"


def _stalled_thread_is_freed_when_the_client_leaves(served: Served) -> None:
    # Werkzeug's threaded server has no read timeout: a stalled upload holds
    # its thread until the client goes away, and every other request gets one
    # of its own meanwhile.
    before = int(_get(served, "/threads"))
    stalled = [_stall(served.port) for _ in range(3)]
    try:
        during = _count_until(served, "/threads", lambda count: count >= before + 3)
        assert during >= before + 3
        for _ in range(5):
            assert _get(served, "/ping") == "pong"
    finally:
        for sock in stalled:
            sock.close()
    after = _count_until(served, "/threads", lambda count: count <= during - 3)
    assert after <= during - 3


def _stalled_upload_holds_no_thread(served: Served) -> None:
    # The ASGI door reads the body on the event loop: four stalled uploads
    # (the door has two worker threads here) hold no thread, so a sync view
    # still runs; each is one waiting task, gone when its client leaves.
    before = int(_get(served, "/tasks"))
    stalled = [_stall(served.port) for _ in range(4)]
    try:
        during = _count_until(served, "/tasks", lambda count: count >= before + 4)
        assert during >= before + 4
        for _ in range(5):
            assert _get(served, "/ping") == "pong"
    finally:
        for sock in stalled:
            sock.close()
    after = _count_until(served, "/tasks", lambda count: count <= during - 4)
    assert after <= during - 4


STALL_CHECKS: dict[str, Callable[[Served], None]] = {
    "gunicorn": _stalled_worker_is_killed,
    "dev": _stalled_thread_is_freed_when_the_client_leaves,
    "uvicorn": _stalled_upload_holds_no_thread,
}


def test_a_stalled_upload_does_not_stop_the_server(server: Served) -> None:
    STALL_CHECKS[server.name](server)
