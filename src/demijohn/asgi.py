"""The native ASGI door: HTTP and lifespan.

An ASGI request is turned into the same WSGI environ the WSGI door sees and
handed to the same pipeline, :meth:`Flask.wsgi_app` (so WSGI middleware such
as ``ProxyFix`` applies too). What differs is where the pipeline runs:

* the body is read first, on the event loop (bounded by
  ``MAX_CONTENT_LENGTH``, spooled to disk past 1 MiB), so ``request.form`` and
  ``request.get_json()`` stay synchronous;
* an ``async def`` endpoint runs its pipeline on the event loop itself, in a
  bridge greenlet (see :mod:`demijohn._async`): its awaits interleave with
  other requests;
* any other endpoint runs its pipeline in a worker thread: one hop per
  request, the loop stays free.

Response messages are sent as the body is produced, so streaming works in
both cases, and a client that disconnects closes the body iterator.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import io
import os
import sys
import tempfile
import threading
import typing as t
from concurrent.futures import ThreadPoolExecutor

from ._async import bridge_available, run_in_bridge, run_in_worker, run_sync

if t.TYPE_CHECKING:
    from .app import Flask

Scope = t.MutableMapping[str, t.Any]
Message = t.MutableMapping[str, t.Any]
Receive = t.Callable[[], t.Awaitable[Message]]
Send = t.Callable[[Message], t.Awaitable[None]]

#: Request bodies larger than this are spooled to a temporary file.
SPOOL_MAX_SIZE = 1024 * 1024
#: How many response messages a worker thread may have queued, unsent.
_MAX_QUEUED_MESSAGES = 16

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _worker_pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            size = int(os.environ.get("DEMIJOHN_ASGI_THREADS", "40"))
            _executor = ThreadPoolExecutor(size, thread_name_prefix="demijohn-asgi")
        return _executor


async def asgi_app(app: Flask, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one ASGI connection (``http`` or ``lifespan``) for ``app``."""
    kind = scope["type"]
    if kind == "http":
        await _serve_http(app, scope, receive, send)
    elif kind == "lifespan":
        await _serve_lifespan(receive, send)
    elif kind == "websocket":
        # Not supported yet: reject the handshake (the server answers 403).
        await send({"type": "websocket.close", "code": 1000})
    else:
        raise ValueError(f"Unsupported ASGI scope type {kind!r}.")


async def _serve_lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _serve_http(app: Flask, scope: Scope, receive: Receive, send: Send) -> None:
    environ = _make_environ(scope)
    body = await _read_body(receive, environ, app.config["MAX_CONTENT_LENGTH"])
    if body is None:
        return  # the client went away before the request was complete
    environ["wsgi.input"] = body

    response = _Response(send)
    watcher = asyncio.ensure_future(response.watch_disconnect(receive))
    try:
        if bridge_available() and _endpoint_is_async(app, environ):
            await run_in_bridge(response.run, app, environ, response.emit_on_loop)
        else:
            await response.run_in_thread(app, environ)
    finally:
        watcher.cancel()
        body.close()


def _make_environ(scope: Scope) -> dict[str, t.Any]:
    """The WSGI environ equivalent of an ASGI HTTP scope (without ``wsgi.input``)."""
    root_path: str = scope.get("root_path", "")
    path: str = scope["path"]
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": scope["method"],
        # WSGI strings are bytes decoded as latin-1.
        "SCRIPT_NAME": root_path.encode().decode("latin-1"),
        "PATH_INFO": path.encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] is not None else "80",
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        # The body is complete: Werkzeug may read it without a Content-Length.
        "wsgi.input_terminated": True,
        "asgi.scope": scope,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        if name in environ:
            separator = "; " if name == "HTTP_COOKIE" else ","
            value = f"{environ[name]}{separator}{value}"
        environ[name] = value
    return environ


async def _read_body(
    receive: Receive, environ: dict[str, t.Any], limit: int | None
) -> t.IO[bytes] | None:
    """Read the request body; ``None`` if the client disconnected first.

    A body over ``limit`` is not read past it: the recorded length then
    exceeds the limit and Werkzeug answers 413 when the app reads the body,
    exactly as under WSGI.
    """
    declared = environ.get("CONTENT_LENGTH")
    if limit is not None and declared and declared.isdigit() and int(declared) > limit:
        return io.BytesIO()

    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    chunk: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        # The common case: the whole body (often empty) in one message.
        environ["CONTENT_LENGTH"] = str(len(chunk))
        return io.BytesIO(chunk)

    # Not a ``with`` block: the file becomes ``wsgi.input`` and lives as long as the request.
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_SIZE)  # noqa: SIM115
    size = 0
    while True:
        if chunk:
            size += len(chunk)
            body.write(chunk)
            if limit is not None and size > limit:
                break
        if not message.get("more_body", False):
            break
        message = await receive()
        if message["type"] == "http.disconnect":
            body.close()
            return None
        chunk = message.get("body", b"")
    body.seek(0)
    environ["CONTENT_LENGTH"] = str(size)
    return body


def _endpoint_is_async(app: Flask, environ: dict[str, t.Any]) -> bool:
    """Whether the request goes to an ``async def`` view (matched ahead of the pipeline)."""
    found = None
    try:
        if app._binds_url_adapter_lazily():
            # The same registration-time indexes the pipeline will use.
            found = app.url_map.match_environ(environ)  # type: ignore[attr-defined]
        if found is None:
            adapter = app.create_url_adapter(app.request_class(environ))
            if adapter is None:
                return False
            found = adapter.match(return_rule=True)
    except Exception:
        # Routing errors are answered by the pipeline, in a worker thread.
        return False
    rule = found[0]
    method = environ["REQUEST_METHOD"]
    view = app.view_functions.get(rule.endpoint)
    return view is not None and _view_is_async(view, method)


@functools.lru_cache(maxsize=1024)
def _view_is_async(view: t.Callable[..., t.Any], method: str) -> bool:
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        name = "get" if method == "HEAD" and not hasattr(view_class, "head") else method.lower()
        target = getattr(view_class, name, None) or view_class.dispatch_request
        return inspect.iscoroutinefunction(target)
    # Look through decorators (``functools.wraps``) for an async function.
    return inspect.iscoroutinefunction(inspect.unwrap(view))


class _Response:
    """Turns the WSGI side of the pipeline into ASGI response messages."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.gone = False
        self.head_sent = False
        self._queue: asyncio.Queue[Message | None] | None = None
        self._slots: threading.Semaphore | None = None

    async def watch_disconnect(self, receive: Receive) -> None:
        """Flag the response as abandoned when the client disconnects."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.gone = True
                if self._slots is not None:
                    # Wake a worker thread blocked on a full queue.
                    for _ in range(_MAX_QUEUED_MESSAGES):
                        self._slots.release()
                return
            # Nothing else may arrive once the body is read; if a faulty
            # server sends more anyway, yield instead of spinning the loop.
            await asyncio.sleep(0)

    def emit_on_loop(self, message: Message) -> None:
        """Send a message from a bridge greenlet (awaited on the loop)."""
        run_sync(self.send(message))

    def run(self, app: Flask, environ: dict[str, t.Any], emit: t.Callable[[Message], None]) -> None:
        """Run the pipeline and emit the response messages; synchronous."""
        status_headers: list[t.Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
        ) -> t.Callable[[bytes], t.NoReturn]:
            if exc_info is not None and self.head_sent:
                raise exc_info[1].with_traceback(exc_info[2])
            status_headers[:] = [status, headers]
            return _no_write

        try:
            body = app.wsgi_app(environ, start_response)
        except BaseException:
            if not self.head_sent:
                emit(_plain_500_start)
                emit(_plain_500_body)
                self.head_sent = True
            raise
        try:
            for chunk in body:
                if self.gone:
                    return
                if not chunk:
                    continue
                if not self.head_sent:
                    emit(_start_message(*status_headers))
                    self.head_sent = True
                emit({"type": "http.response.body", "body": chunk, "more_body": True})
            if not self.head_sent:
                emit(_start_message(*status_headers))
                self.head_sent = True
            emit(_end_message)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    async def run_in_thread(self, app: Flask, environ: dict[str, t.Any]) -> None:
        """Run :meth:`run` in a worker thread, sending what it emits from the loop."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Message | None] = asyncio.Queue()
        slots = threading.Semaphore(_MAX_QUEUED_MESSAGES)
        self._queue, self._slots = queue, slots

        def emit(message: Message) -> None:
            slots.acquire()
            loop.call_soon_threadsafe(queue.put_nowait, message)

        pump = asyncio.ensure_future(self._pump(queue, slots))
        try:
            await run_in_worker(_worker_pool(), self.run, app, environ, emit)
        finally:
            queue.put_nowait(None)
            await pump

    async def _pump(self, queue: asyncio.Queue[Message | None], slots: threading.Semaphore) -> None:
        while (message := await queue.get()) is not None:
            if not self.gone:
                try:
                    await self.send(message)
                except OSError:
                    self.gone = True
            slots.release()


def _no_write(data: bytes) -> t.NoReturn:
    raise NotImplementedError("The WSGI write() callable is not supported under ASGI.")


def _start_message(status: str, headers: list[tuple[str, str]]) -> Message:
    return {
        "type": "http.response.start",
        "status": int(status.split(" ", 1)[0]),
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
        ],
    }


_end_message: Message = {"type": "http.response.body", "body": b"", "more_body": False}
_plain_500_start: Message = {
    "type": "http.response.start",
    "status": 500,
    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
}
_plain_500_body: Message = {
    "type": "http.response.body",
    "body": b"Internal Server Error",
    "more_body": False,
}
