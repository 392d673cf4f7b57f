"""The native ASGI door: HTTP here; lifespan and WebSocket connections routed on.

An HTTP request goes through the same pipeline as under WSGI
(:meth:`Flask.run_pipeline`); only its ends differ:

1. A request without a body is built straight from the scope, its WSGI
   environ made only if something reads it (:func:`_request_without_body`).
   For any other, the scope becomes a WSGI environ (a ready-made template
   plus the request's own keys) and the body is read on the event loop,
   bounded by ``MAX_CONTENT_LENGTH`` and spooled to disk past 1 MiB, so
   ``request.form`` and ``request.get_json()`` stay synchronous.
2. The URL is matched once, here, and the request context keeps the match.
   The endpoint decides where the pipeline runs (decided when the view was
   registered, see :class:`~demijohn.sansio.scaffold.ViewFunctions`): an
   ``async def`` view's on the loop, in a bridge greenlet (its awaits
   interleave with other requests; see :mod:`demijohn._async`), any other in
   a worker thread, so blocking code never stalls the loop.
3. The response is sent from the loop: a buffered body in one message; a
   streamed one chunk by chunk, each produced where the pipeline ran (async
   iterables on the loop), while a watcher notices the client going away and
   stops (and closes) the stream.

``app.asgi_app`` is the replaceable entry, as ``app.wsgi_app`` is for WSGI.
When ``wsgi_app`` has been replaced on the app (``ProxyFix``, the debugger),
HTTP requests go through that middleware too, in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import os
import sys
import tempfile
import threading
import typing as t

import greenlet
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Response as ResponseBase

from ._async import WorkerPool, _Bridge, await_in, run_in_bridge, run_sync
from ._shortcuts.asyncio import running_loop
from ._shortcuts.werkzeug import init_request_from_scope
from .ctx import RequestContext
from .sansio.scaffold import ViewFunctions, runs_on_loop
from .signals import pipeline_receivers
from .wrappers import (
    Request,
    _is_async_only,
    base_get_wsgi_response,
    buffered_parts,
    needs_close,
    wsgi_parts,
)

_request_init = Request.__init__

if t.TYPE_CHECKING:
    from .app import Flask

Scope = t.MutableMapping[str, t.Any]
Message = t.MutableMapping[str, t.Any]
Receive = t.Callable[[], t.Awaitable[Message]]
Send = t.Callable[[Message], t.Awaitable[None]]


#: Request bodies larger than this are spooled to a temporary file.
SPOOL_MAX_SIZE = 1024 * 1024
#: The protocols where a request without Content-Length or Transfer-Encoding
#: has no body: as ``scope["http_version"]`` and as ``SERVER_PROTOCOL``.
_HTTP1_VERSIONS = frozenset(("1.1", "1.0"))
_HTTP1 = frozenset(f"HTTP/{version}" for version in _HTTP1_VERSIONS)
_BODILESS = frozenset(("GET", "HEAD"))

#: How a pipeline step is run: ``run(context, func, *args)`` awaits
#: ``func(*args)`` run in ``context``, on the loop or in a worker thread.
_Runner = t.Callable[..., t.Awaitable[t.Any]]

#: What the pipeline hands the door: status code, ASGI headers, the body
#: (``bytes`` when buffered, else a sync or async iterable), and what to call
#: once it is sent.
_Parts = tuple[int, list[tuple[bytes, bytes]], t.Any, t.Callable[[], None] | None]

_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def worker_pool() -> WorkerPool:
    """The threads that run synchronous endpoints (``DEMIJOHN_ASGI_THREADS``, default 40)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                size = int(os.environ.get("DEMIJOHN_ASGI_THREADS", "40"))
                _pool = WorkerPool(size, "demijohn-asgi")
    return _pool


def _in_thread(context: contextvars.Context, func: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
    return (_pool or worker_pool()).run(context, func, *args)


def asgi_app(app: Flask, scope: Scope, receive: Receive, send: Send) -> t.Awaitable[None]:
    """Serve one ASGI connection (``http``, ``websocket`` or ``lifespan``) for ``app``.

    Returns the coroutine of the connection's own server, so a request costs
    no coroutine frame for this choice.
    """
    kind = scope["type"]
    if kind == "http":
        return serve_http(app, scope, receive, send)
    if kind == "websocket":
        from .websockets import serve_websocket

        return serve_websocket(app, scope, receive, send)
    if kind == "lifespan":
        from .serving import serve_lifespan

        return serve_lifespan(app, scope, receive, send)
    return _unsupported(kind)


async def _unsupported(kind: str) -> None:
    raise ValueError(f"Unsupported ASGI scope type {kind!r}.")


async def serve_http(app: Flask, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one HTTP request: match, run the pipeline where the endpoint says, send."""
    request = _request_without_body(app, scope)
    body: t.IO[bytes] | None = None
    if request is None:
        environ = make_environ(scope)
        if _has_no_body(environ):
            body = io.BytesIO()  # nothing to wait for: no await, no coroutine
        else:
            body = await _read_body(receive, environ, app.config["MAX_CONTENT_LENGTH"])
            if body is None:
                return  # the client went away before the request was complete
        environ["wsgi.input"] = body
    # The context the pipeline runs in when it runs elsewhere (a worker
    # thread, a bridge greenlet), and then each streamed chunk too (a
    # ``stream_with_context`` generator pops what the view pushed).
    context: contextvars.Context | None = None
    run: _Runner = _in_thread
    try:
        try:
            if request is None and app._wsgi_app_wrapped:
                context = contextvars.copy_context()
                parts = await run(context, _call_wsgi, app.wsgi_app, environ)
            else:
                if request is None:
                    ctx = app.request_context(environ)
                else:
                    ctx = RequestContext(app, None, request)
                ctx.match_request()
                rule = ctx.request.url_rule
                method = scope["method"]
                if rule is not None and _awaits_only_the_view(app, rule.endpoint, method, body):
                    run = run_in_bridge  # for a streamed body's steps and the close
                    # Awaited in this task, in its own context: the pipeline
                    # unbinds all it binds, and a server runs each request
                    # in a task of its own.
                    parts = await _pipeline_awaiting_view(app, ctx)
                else:
                    if rule is not None and runs_on_loop(app.view_functions, rule.endpoint, method):
                        run = run_in_bridge
                    context = contextvars.copy_context()
                    parts = await run(context, app.run_pipeline, ctx, _asgi_parts)
        except BaseException:
            # Propagated (testing, PROPAGATE_EXCEPTIONS): still answer.
            await send(_plain_500_start)
            await send(_plain_500_body)
            raise
        status, headers, content, close = parts
        try:
            if type(content) is bytes:
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": content, "more_body": False})
            else:
                # (A pipeline that ran in this task hands a copy of its context on.)
                context = context or contextvars.copy_context()
                await _stream(status, headers, content, run, context, receive, send)
        finally:
            if close is not None:
                # Where the body was made: ``call_on_close`` functions may block.
                await run(context or contextvars.copy_context(), close)
    finally:
        if body is not None:
            body.close()


def _request_without_body(app: Flask, scope: Scope) -> Request | None:
    """The request of a scope that certainly has no body, built from the scope, or ``None``.

    Most requests are such (a ``GET`` without ``Content-Length`` or
    ``Transfer-Encoding`` over HTTP/1), and most never read their WSGI
    environ or headers: the request makes those when first read (see
    :class:`~demijohn.wrappers.Request`). Built so only where the result is
    the same as building it from the environ: the app's own request class
    and request context, no WSGI middleware, an ASCII path without a root
    path, no header name sent twice (the environ joins those), every header
    name lowercased (as the ASGI specification has servers give them).
    """
    headers_list = scope["headers"]
    if scope["method"] not in _BODILESS or type(headers_list) is not list:
        return None  # (another iterable may be readable only once)
    headers = dict(headers_list)
    header_names = b"".join(headers)
    cls = app.request_class
    if (
        # Names as ASGI servers give them, lowercased: the lookups below rely
        # on it. (``islower`` is also false for names without a letter: those
        # take the environ path too, which is never wrong.)
        (header_names and not header_names.islower())
        or len(headers) != len(headers_list)
        or b"content-length" in headers
        or b"transfer-encoding" in headers
        or scope.get("http_version", "1.1") not in _HTTP1_VERSIONS
        or scope.get("root_path")
        or not scope["path"].isascii()
        or cls.__init__ is not _request_init
        or app._request_context_replaced
        or app._wsgi_app_wrapped
    ):
        return None
    server = scope.get("server")
    if server:
        names = _server_names.get(server)
        if names is None:
            names = _server_environ(server)
        request_server = names[2]
    else:
        request_server = _NO_SERVER
    request = cls.__new__(cls)
    init_request_from_scope(request, scope, headers, request_server)
    return request


async def _pipeline_awaiting_view(app: Flask, ctx: RequestContext) -> _Parts:
    """:meth:`Flask.run_pipeline`, with the ``async def`` view awaited right here.

    The same steps in the same order, sharing the pipeline's own methods
    (those of :meth:`Flask.full_dispatch_request` inlined, one coroutine
    less); only the view call differs. Its coroutine is awaited in the
    request's task instead of being run through ``ensure_sync`` in a bridge
    greenlet, which costs two greenlet switches per request. Taken only where
    nothing else in the pipeline may have to await
    (:func:`_awaits_only_the_view`): every other step is plain synchronous
    code, and no ``request_started`` receiver is connected. The door awaits
    this whole coroutine in its own task, in the task's ``contextvars``
    context.
    """
    if not app._serving_started:
        from .serving import ensure_started

        # ``before_serving`` hooks may be ``async def``: run where they can await.
        await run_in_bridge(contextvars.copy_context(), ensure_started, app)
    error: BaseException | None = None
    try:
        try:
            ctx.push()
            # What ``full_dispatch_request`` does, the view awaited:
            if not app._got_first_request:
                app._got_first_request = True
            rv: t.Any
            try:
                rv = app.preprocess_request()
                if rv is None:
                    request = ctx.request
                    view = app.view_functions[request.url_rule.endpoint]  # type: ignore[union-attr]
                    rv = await view(**request.view_args)  # type: ignore[arg-type,misc]
            except Exception as e:
                # In the ``except`` block: an unhandled error is re-raised from here.
                response = app.finalize_request(app.handle_user_exception(e))
            else:
                response = app.finalize_request(rv)
        except Exception as e:
            error = e
            response = app.handle_exception(e)
        except BaseException as e:
            error = e
            raise
        return app._hand_over(ctx, response, _asgi_parts)
    finally:
        app._end_request(ctx, error)
        error = None  # this frame is in its traceback: holding it would be a cycle


def _awaits_only_the_view(app: Flask, endpoint: str, method: str, body: object) -> bool:
    """Whether the view of a request to ``endpoint`` may be awaited by the door itself.

    That is when the view is an ``async def`` function (so the request runs
    on the loop, whatever its method) and nothing else the pipeline runs
    needs to await (which only a bridge greenlet allows): no ``async def``
    hook, teardown function, error handler or signal receiver, no replaced
    pipeline method, no automatic ``OPTIONS`` answer and no body left to
    receive past ``MAX_CONTENT_LENGTH``.

    Once the app has handled a request, the answer about its hooks and
    handlers is kept: the setup methods refuse new ones from then on. One
    an extension appends to a registry by hand later still runs, and
    correctly; if it is ``async def``, through a helper thread instead of
    on the loop (as it would anywhere else outside a bridge).
    """
    views = app.view_functions
    if (
        type(views) is not ViewFunctions
        or endpoint not in views.awaitable
        or method == "OPTIONS"
        or type(body) is _UnreadBody
    ):
        return False
    plain = app._awaits_views
    if plain is None:
        plain = app._plain_pipeline and not _has_async_hook(app)
        if app._got_first_request:
            app._awaits_views = plain  # set up for good: hooks can no longer be added
    # A receiver may be ``async def``: blinker runs it through ``ensure_sync``.
    return plain and (pipeline_receivers.none_known or pipeline_receivers.none_connected())


def _has_async_hook(app: Flask) -> bool:
    """Whether any hook, teardown function or error handler of ``app`` is ``async def``.

    As the pipeline decides it: ``ensure_sync`` wraps exactly those.
    """
    funcs: list[t.Callable[..., t.Any]] = [*app.teardown_appcontext_funcs]
    for registry in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        for registered in registry.values():
            funcs.extend(registered)
    for by_code in app.error_handler_spec.values():
        for by_class in by_code.values():
            funcs.extend(by_class.values())
    return any(app.ensure_sync(func) is not func for func in funcs)


def _asgi_parts(request: Request, response: ResponseBase) -> _Parts:
    """The response as the door sends it (run by the pipeline, contexts still pushed)."""
    environ = request.__dict__.get("environ")
    # A request built from the scope, its environ unmade, is a GET or HEAD:
    # its method is the environ's. A buffered body needs no environ.
    method = request.method if environ is None else environ.get("REQUEST_METHOD")
    buffered = buffered_parts(response, method)
    if buffered is not None:
        code, headers, data = buffered
        close = response.close if needs_close(response) else None
        return code, _asgi_headers(headers), data, close
    environ = request.environ
    if _is_async_only(response.response):
        # Iterated on the loop, natively, instead of through a sync adapter.
        body: t.Any = response.response
        code = response.status_code
        if _sends_no_body(environ, code):
            body = b""
        headers = response.get_wsgi_headers(environ).to_wsgi_list()
        return code, _asgi_headers(headers), body, response.close
    if response.is_sequence and type(response).get_wsgi_response is base_get_wsgi_response:
        # A body in memory with headers Werkzeug must fix up first (a
        # redirect's ``Location``, HEAD, 304): still one message, no hops.
        headers = response.get_wsgi_headers(environ).to_wsgi_list()
        code = response.status_code
        data = b"" if _sends_no_body(environ, code) else b"".join(response.iter_encoded())
        close = response.close if needs_close(response) else None
        return code, _asgi_headers(headers), data, close
    status, headers, app_iter = wsgi_parts(response, environ)
    return _status_code(status), _asgi_headers(headers), app_iter, getattr(app_iter, "close", None)


def _sends_no_body(environ: dict[str, t.Any], code: int) -> bool:
    """Whether the response has no body on the wire (HEAD, 1xx, 204, 304), as Werkzeug decides."""
    return environ["REQUEST_METHOD"] == "HEAD" or code < 200 or code in (204, 304)


def _call_wsgi(wsgi_app: t.Callable[..., t.Any], environ: dict[str, t.Any]) -> _Parts:
    """Call a WSGI application (middleware around the app) and return what it sent."""
    sent: list[t.Any] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Callable[[bytes], t.NoReturn]:
        sent[:] = [status, headers]
        return _no_write

    app_iter = wsgi_app(environ, start_response)
    close = getattr(app_iter, "close", None)
    body: t.Iterable[bytes] = app_iter
    if not sent:
        # start_response may come with the first chunk (allowed by PEP 3333).
        rest = iter(app_iter)
        body = _prepend(next(rest, b""), rest)
    status, headers = sent
    return _status_code(status), _asgi_headers(headers), body, close


def _prepend(first: bytes, rest: t.Iterator[bytes]) -> t.Iterator[bytes]:
    yield first
    yield from rest


async def _stream(
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: t.Any,
    run: _Runner,
    context: contextvars.Context,
    receive: Receive,
    send: Send,
) -> None:
    """Send a streamed body, stopping (and closing it) if the client goes away."""
    if _is_async_only(body):
        chunks: t.AsyncIterator[bytes] = _async_chunks(body, context)
    else:
        chunks = _sync_chunks(iter(body), run, context)
    pump = asyncio.ensure_future(_pump(status, headers, chunks, send))
    watcher = asyncio.ensure_future(_wait_for_disconnect(receive))
    try:
        await asyncio.wait((pump, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not pump.done():
            pump.cancel()
        watcher.cancel()
        # The pump's outcome: a generator's error surfaces; a cancellation
        # (client gone, or this task cancelled) ends quietly.
        try:
            await pump
        except asyncio.CancelledError:
            if not watcher.done() or watcher.cancelled():
                raise


async def _pump(
    status: int, headers: list[tuple[bytes, bytes]], chunks: t.AsyncIterator[bytes], send: Send
) -> None:
    started = False
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            if not started:
                await send({"type": "http.response.start", "status": status, "headers": headers})
                started = True
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except Exception:
        if not started:
            await send(_plain_500_start)
            await send(_plain_500_body)
        raise
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
    if not started:
        await send({"type": "http.response.start", "status": status, "headers": headers})
    await send(_end_message)


async def _sync_chunks(
    iterator: t.Iterator[bytes], run: _Runner, context: contextvars.Context
) -> t.AsyncIterator[bytes]:
    """A sync body's chunks, each produced where the pipeline ran (a generator may block)."""
    step: asyncio.Future[bytes | None] | None = None
    try:
        while True:
            step = asyncio.ensure_future(run(context, next, iterator, None))
            # Shielded: a chunk being made in a thread cannot be stopped, and
            # closing the generator must wait until it is (see below).
            chunk = await asyncio.shield(step)
            if chunk is None:
                return
            yield chunk
    finally:
        if step is not None and not step.done():
            await asyncio.wait((step,))
        close = getattr(iterator, "close", None)
        if close is not None:
            await run(context, close)


async def _async_chunks(
    iterable: t.AsyncIterable[bytes | str], context: contextvars.Context
) -> t.AsyncIterator[bytes]:
    """An async body's chunks, each step run in the request's context."""
    iterator = aiter(iterable)
    try:
        while True:
            try:
                chunk = await await_in(context, anext(iterator))
            except StopAsyncIteration:
                return
            yield chunk.encode() if isinstance(chunk, str) else chunk
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await await_in(context, aclose())


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        # Nothing else may arrive once the body is read; if a faulty server
        # sends more anyway, yield instead of spinning the loop.
        await asyncio.sleep(0)


#: The environ keys every request shares; :func:`make_environ` copies it.
_ENVIRON_TEMPLATE: dict[str, t.Any] = {
    "wsgi.version": (1, 0),
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": True,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
    # The body is complete: Werkzeug may read it without a Content-Length.
    "wsgi.input_terminated": True,
    "SCRIPT_NAME": "",
    "SERVER_NAME": "localhost",
    "SERVER_PORT": "80",
}

_PROTOCOLS = {"1.1": "HTTP/1.1", "2": "HTTP/2", "1.0": "HTTP/1.0", "3": "HTTP/3"}

#: Request header name -> its environ key, for the names seen so far. Names
#: are the client's to choose: past the bound, they are converted each time.
_environ_keys: dict[bytes, str] = {}
_MAX_CACHED_NAMES = 512


def _environ_key(raw_name: bytes) -> str:
    key = raw_name.decode("latin-1").upper().replace("-", "_")
    if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        key = f"HTTP_{key}"
    if len(_environ_keys) < _MAX_CACHED_NAMES:
        _environ_keys[raw_name] = key
    return key


def make_environ(scope: Scope) -> dict[str, t.Any]:
    """The WSGI environ equivalent of an ASGI HTTP (or WebSocket) scope, without ``wsgi.input``.

    WSGI strings are bytes decoded as latin-1 (PEP 3333), so a UTF-8 path
    arrives as Werkzeug expects it.
    """
    environ = _ENVIRON_TEMPLATE.copy()
    path: str = scope["path"]
    root_path: str | None = scope.get("root_path")
    if root_path:
        if path.startswith(root_path):
            path = path[len(root_path) :]
        environ["SCRIPT_NAME"] = root_path.encode().decode("latin-1")
    environ["PATH_INFO"] = path if path.isascii() else path.encode().decode("latin-1")
    environ["REQUEST_METHOD"] = scope.get("method", "GET")
    environ["QUERY_STRING"] = scope["query_string"].decode("latin-1")
    version = scope.get("http_version", "1.1")
    environ["SERVER_PROTOCOL"] = _PROTOCOLS.get(version) or f"HTTP/{version}"
    environ["wsgi.url_scheme"] = scope.get("scheme", "http")
    environ["asgi.scope"] = scope
    server = scope.get("server")
    if server:
        names = _server_names.get(server)
        if names is None:
            names = _server_environ(server)
        environ["SERVER_NAME"], environ["SERVER_PORT"] = names[0], names[1]
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = client[0]
        environ["REMOTE_PORT"] = str(client[1])
    keys = _environ_keys
    for raw_name, raw_value in scope["headers"]:
        key = keys.get(raw_name) or _environ_key(raw_name)
        if key in environ:
            separator = "; " if key == "HTTP_COOKIE" else ","
            environ[key] = f"{environ[key]}{separator}{raw_value.decode('latin-1')}"
        else:
            environ[key] = raw_value.decode("latin-1")
    return environ


#: ``scope["server"]`` -> ``(SERVER_NAME, SERVER_PORT, request.server)``: a
#: server listens on a few addresses.
_server_names: dict[tuple[str, int | None], tuple[str, str, tuple[str, int]]] = {}
#: ``request.server`` for a scope without a server: the environ's defaults.
_NO_SERVER = ("localhost", 80)


def _server_environ(server: t.Sequence[t.Any]) -> tuple[str, str, tuple[str, int]]:
    name = str(server[0])
    port = "80" if server[1] is None else str(server[1])
    # As Werkzeug reads the environ's two keys back.
    names = (name, port, (name, int(port)))
    if len(_server_names) < _MAX_CACHED_NAMES:
        _server_names[tuple(server)] = names
    return names


async def _read_body(
    receive: Receive, environ: dict[str, t.Any], limit: int | None
) -> t.IO[bytes] | None:
    """Read the request body; ``None`` if the client disconnected first.

    A body over ``limit`` is not read past it: the request's stream answers
    413 when the app reads it, exactly as under WSGI, and the rest is left
    with the server unless a view raised ``request.max_content_length``
    (see :class:`_UnreadBody`).
    """
    declared = environ.get("CONTENT_LENGTH")
    if declared is not None and limit is not None and _exceeds(declared, limit):
        return t.cast("t.IO[bytes]", _UnreadBody(receive, None))

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
            if limit is not None and size > limit and message.get("more_body", False):
                # Chunked past the limit: no length is recorded, so the
                # stream reads at most one byte past the app's limit.
                body.seek(0)
                return t.cast("t.IO[bytes]", _UnreadBody(receive, body))
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


def _has_no_body(environ: dict[str, t.Any]) -> bool:
    """Whether the request certainly has no body, so none need be received.

    An HTTP/1 request with neither ``Content-Length`` nor ``Transfer-Encoding``
    has none (RFC 9112, 6.3). Only for the methods that never carry one in
    practice, in case a hand-made scope lacks the headers.
    """
    return (
        environ["REQUEST_METHOD"] in _BODILESS
        and "CONTENT_LENGTH" not in environ
        and "HTTP_TRANSFER_ENCODING" not in environ
        and environ["SERVER_PROTOCOL"] in _HTTP1
    )


def _exceeds(declared: str, limit: int) -> bool:
    """Whether the request will read this Content-Length value as a number over ``limit``.

    The client chooses the value. Werkzeug reads one that is no plain number
    as 0: ``"²"`` (it passes ``str.isdigit``, not ``int``) and one of more
    digits than ``int`` parses (4300) included. Agreeing with it keeps both
    from being a 500, and the body from being left unread for a 0 length.
    """
    if not (declared.isascii() and declared.isdigit()):
        return False
    try:
        return int(declared) > limit
    except ValueError:
        return False


class _UnreadBody(io.RawIOBase):
    """A body the door stopped reading at ``MAX_CONTENT_LENGTH``: what was read, then the rest.

    The rest is only received if the app reads that far, which the request's
    stream allows only when a view or hook raised ``request.max_content_length``
    for this request; otherwise the 413 goes out without it. It is received
    where the pipeline runs (a worker thread, or the bridge greenlet on the
    loop), through :func:`~demijohn._async.run_sync`. An ``async def`` view
    past its first real ``await`` runs in the loop's own task, where a
    synchronous read cannot wait: that is refused instead of hanging the loop.
    """

    def __init__(self, receive: Receive, head: t.IO[bytes] | None) -> None:
        self._receive = receive
        self._head = head
        self._pending = memoryview(b"")
        self._more = True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        if self._head is not None:
            data = self._head.read(len(buffer))
            if data:
                buffer[: len(data)] = data
                return len(data)
            self._head.close()
            self._head = None
        while not self._pending and self._more:
            if running_loop() is not None and type(greenlet.getcurrent()) is not _Bridge:
                raise RuntimeError(
                    "The request body goes past MAX_CONTENT_LENGTH and its rest cannot be"
                    " received here: after its first await, an async view runs on the event"
                    " loop, where a synchronous read would block it. Raise"
                    " request.max_content_length and read the body before awaiting (or in"
                    " a before_request hook), or use a sync view."
                )
            message = run_sync(self._receive())
            if message["type"] == "http.disconnect":
                self._more = False
                raise ClientDisconnected()
            self._pending = memoryview(message.get("body", b""))
            self._more = message.get("more_body", False)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        if self._head is not None:
            self._head.close()
            self._head = None
        super().close()


#: Response header name -> its ASGI spelling, for the names seen so far.
_header_names: dict[str, bytes] = {}


def _asgi_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    names = _header_names
    encoded = []
    for name, value in headers:
        raw_name = names.get(name)
        if raw_name is None:
            raw_name = name.lower().encode("latin-1")
            if len(names) < _MAX_CACHED_NAMES:
                names[name] = raw_name
        encoded.append((raw_name, value.encode("latin-1")))
    return encoded


def _status_code(status: str) -> int:
    return int(status.split(None, 1)[0])


def _no_write(data: bytes) -> t.NoReturn:
    raise NotImplementedError("The WSGI write() callable is not supported under ASGI.")


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
