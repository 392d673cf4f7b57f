"""WebSocket connections: ``@app.websocket`` handlers, served through the ASGI door.

The API is Quart's, so handlers move between Quart and demijohn unchanged::

    from demijohn import websocket

    @app.websocket("/echo/<room>")
    async def echo(room):
        while True:
            data = await websocket.receive()
            await websocket.send(f"{room}: {data}")

How :func:`serve_websocket` serves one connection:

1. The handshake becomes a request (a WSGI environ made from the scope),
   matched against the URL map like any other: only ``websocket=True`` rules
   match it. A request context is pushed for it, so ``g``, ``current_app``,
   ``url_for`` and ``session`` work in the handler and its hooks (``session``
   is read-only: no response carries a cookie back), and
   :data:`~demijohn.websocket` is the connection.
2. URL value preprocessors, ``before_websocket`` hooks, the handler. A hook
   that returns a value, or an error raised before the connection is
   accepted (``abort(403)``), refuses the handshake with an HTTP response.
3. ``after_websocket`` hooks; the socket is closed (code 1000) unless it was
   already; then ``teardown_websocket``, ``teardown_request`` and
   ``teardown_appcontext`` functions run, once.

Where it runs follows the HTTP door: for an ``async def`` handler, on the
event loop (the synchronous steps in a bridge greenlet, the handler in a task
of its own); for a ``def`` handler, in a thread of a dedicated pool
(``DEMIJOHN_WEBSOCKET_THREADS``, 100 by default), held for as long as the
connection is open (past that many, a handshake waits for a thread): prefer
``async def`` for many long-lived connections.

The methods of :data:`~demijohn.websocket` (:meth:`~Websocket.accept`,
:meth:`~Websocket.receive`, :meth:`~Websocket.send`, the ``_json`` variants,
:meth:`~Websocket.close`) return awaitables on the event loop's thread and
block until done in any other thread, so a ``def`` handler calls them plainly.
(So a synchronous hook of an ``async def`` handler, which runs on the loop,
cannot do socket IO; an ``async def`` hook can.)

A client that disconnects cancels an ``async def`` handler: it gets
:exc:`asyncio.CancelledError` where it awaits. In a ``def`` handler,
``receive()`` and ``send()`` raise it. The teardown functions get it as
their exception. Unread messages from the client are buffered up to
:data:`INBOX_SIZE`; past that the connection stops reading from the socket.

An exception in the handler or a hook is logged (``app.log_exception``),
in testing mode too: it never propagates to the server. Before the
connection is accepted it is answered as an HTTP error (error handlers
apply; 500 if none does); after, the socket is closed with code 1011 (1008
for an :exc:`~werkzeug.exceptions.HTTPException`, an ``abort()``).
HTTP answers to a handshake need the server's ``websocket.http.response``
extension (uvicorn and hypercorn have it); without it the socket is closed
with code 1008 instead.

WSGI middleware (``app.wsgi_app = ProxyFix(app.wsgi_app)``) does not see
handshakes; wrap ``app.asgi_app`` with ASGI middleware for them. Under a WSGI
server, WebSocket routes answer plain requests with 400 and handshakes with
501 (:exc:`WebsocketNeedsASGI`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import io
import os
import sys
import threading
import typing as t
from itertools import chain

from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.sansio.utils import get_current_url

from ._async import WorkerPool, run_in_bridge, run_sync
from ._shortcuts.asyncio import running_loop
from .asgi import make_environ
from .globals import _cv_request, _cv_websocket
from .sansio.scaffold import WebsocketNeedsASGI as WebsocketNeedsASGI
from .sansio.scaffold import runs_on_loop

if t.TYPE_CHECKING:
    from werkzeug.datastructures import EnvironHeaders, ImmutableMultiDict, MultiDict
    from werkzeug.routing import Rule

    from .app import Flask
    from .asgi import Message, Receive, Scope, Send
    from .ctx import RequestContext
    from .wrappers import Request, Response

T = t.TypeVar("T")

#: Messages from the client held unread, at most; past that, reading waits.
INBOX_SIZE = 32

_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def _handler_pool() -> WorkerPool:
    """The threads of ``def`` handlers' connections, one per open connection.

    Bounded, and apart from the HTTP door's pool: open sockets cannot take
    every thread HTTP requests need.
    """
    global _pool
    with _pool_lock:
        if _pool is None:
            size = int(os.environ.get("DEMIJOHN_WEBSOCKET_THREADS", "100"))
            _pool = WorkerPool(size, "demijohn-websocket")
        return _pool


def handshake_environ(scope: Scope) -> dict[str, t.Any]:
    """The WSGI environ of a WebSocket handshake: a ``GET`` asking for the upgrade.

    Its scheme is WSGI's ``http`` or ``https``, and its ``Connection`` and
    ``Upgrade`` headers ask for WebSocket whatever the server passed on:
    Werkzeug's routing derives ``ws``/``wss`` from them, and then matches
    ``websocket=True`` rules only.
    """
    environ = make_environ(scope)
    environ["wsgi.url_scheme"] = "https" if scope.get("scheme") in ("wss", "https") else "http"
    environ["HTTP_CONNECTION"] = "Upgrade"
    environ["HTTP_UPGRADE"] = "websocket"
    environ["wsgi.input"] = io.BytesIO()
    return environ


def _from_request(name: str) -> t.Any:
    """A read-only property answering the handshake request's attribute ``name``."""
    return property(
        lambda self: getattr(self.request, name), doc=f"The handshake request's ``{name}``."
    )


def _asgi_headers(headers: t.Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


def _wait(future: concurrent.futures.Future[T]) -> T:
    try:
        return future.result()
    except concurrent.futures.CancelledError:
        # A disconnect (asyncio's CancelledError) reaches a thread as
        # concurrent.futures' own CancelledError, an Exception that ``except
        # Exception`` would swallow: raise asyncio's, as async handlers get.
        raise asyncio.CancelledError() from None


def _on_loop(coro: t.Coroutine[t.Any, t.Any, T]) -> T:
    """Run ``coro`` on the event loop from the pipeline (a bridge greenlet or a worker thread)."""
    try:
        return run_sync(coro)
    except concurrent.futures.CancelledError:
        raise asyncio.CancelledError() from None  # as in _wait


class Websocket:
    """One WebSocket connection: what :data:`~demijohn.websocket` is in a handler.

    The handshake's request attributes (``path``, ``args``, ``headers``,
    ``cookies``, ``view_args``, ``endpoint``...) are read from :attr:`request`.
    The IO methods return awaitables on the event loop's thread and block
    until done in any other thread (a ``def`` handler's).
    """

    path: str = _from_request("path")
    full_path: str = _from_request("full_path")
    root_path: str = _from_request("root_path")
    query_string: bytes = _from_request("query_string")
    args: MultiDict[str, str] = _from_request("args")
    headers: EnvironHeaders = _from_request("headers")
    cookies: ImmutableMultiDict[str, str] = _from_request("cookies")
    host: str = _from_request("host")
    remote_addr: str | None = _from_request("remote_addr")
    access_route: list[str] = _from_request("access_route")
    url_rule: Rule | None = _from_request("url_rule")
    view_args: dict[str, t.Any] | None = _from_request("view_args")
    endpoint: str | None = _from_request("endpoint")
    blueprint: str | None = _from_request("blueprint")
    blueprints: list[str] = _from_request("blueprints")

    def __init__(
        self, app: Flask, request: Request, scope: Scope, receive: Receive, send: Send
    ) -> None:
        #: The handshake as a request (``request`` in the handler is the same object).
        self.request = request
        self._app = app
        self._scope = scope
        self._asgi_receive = receive
        self._asgi_send = send
        self._loop = asyncio.get_running_loop()
        # Text or bytes from the client; ``None`` once it has gone.
        self._inbox: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self._room = asyncio.Semaphore(INBOX_SIZE)
        self._accepting = asyncio.Lock()
        self._accepted = False
        # The app closed the socket, or answered the handshake over HTTP.
        self._closed = False
        # The client disconnected (or a send found it gone).
        self._gone = False
        self._handler_task: asyncio.Future[t.Any] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url!r}>"

    @property
    def scheme(self) -> str:
        """``ws``, or ``wss`` over TLS."""
        return "wss" if self.request.scheme == "https" else "ws"

    @property
    def url(self) -> str:
        """The handshake's full URL, with the ``ws`` or ``wss`` scheme."""
        request = self.request
        return get_current_url(
            self.scheme, request.host, request.root_path, request.path, request.query_string
        )

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered, in its order of preference."""
        return list(self._scope.get("subprotocols") or ())

    #: Quart's name for :attr:`subprotocols`.
    requested_subprotocols = subprotocols

    # -- IO: each public method runs its coroutine as the caller can ---------

    def accept(
        self,
        headers: Headers | t.Mapping[str, str] | None = None,
        subprotocol: str | None = None,
    ) -> t.Any:
        """Accept the connection, with extra response ``headers`` and a chosen ``subprotocol``.

        The first :meth:`receive` or :meth:`send` accepts it otherwise; a
        second call does nothing.
        """
        return self._run(self._accept(headers, subprotocol))

    def receive(self) -> t.Any:
        """The client's next message: ``str`` for a text frame, ``bytes`` for a binary one."""
        return self._run(self._receive())

    def send(self, data: str | bytes) -> t.Any:
        """Send ``data``: a ``str`` as a text frame, ``bytes`` as a binary one."""
        return self._run(self._send(data))

    def receive_json(self) -> t.Any:
        """The client's next message, parsed with ``current_app.json``."""
        return self._run(self._receive_json())

    def send_json(self, obj: t.Any) -> t.Any:
        """Send ``obj`` serialized with ``current_app.json``, as a text frame."""
        return self._run(self._send(self._app.json.dumps(obj)))

    def close(self, code: int = 1000, reason: str = "") -> t.Any:
        """Close the socket (before accepting it: refuse the handshake). Idempotent."""
        return self._run(self._close(code, reason))

    def _run(self, coro: t.Coroutine[t.Any, t.Any, T]) -> t.Any:
        running = running_loop()
        if running is self._loop:
            return coro
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        if running is not None:
            # Another thread's event loop: awaitable there.
            return asyncio.wrap_future(future)
        return _wait(future)

    # -- the coroutines, all run on the server's loop ------------------------

    async def _accept(
        self, headers: Headers | t.Mapping[str, str] | None = None, subprotocol: str | None = None
    ) -> None:
        if self._accepted:
            return
        async with self._accepting:
            if self._accepted:
                return
            if self._closed:
                raise RuntimeError("The WebSocket was closed before it was accepted.")
            await self._send_message(
                {
                    "type": "websocket.accept",
                    "subprotocol": subprotocol,
                    "headers": _asgi_headers(Headers(headers or ()).items()),
                }
            )
            self._accepted = True

    async def _receive(self) -> str | bytes:
        await self._accept()
        if self._closed:
            raise RuntimeError("The WebSocket is closed: there is nothing more to receive.")
        data = await self._inbox.get()
        if data is None:
            self._inbox.put_nowait(None)  # every later receive() ends the same way
            raise asyncio.CancelledError("The client disconnected.")
        self._room.release()
        return data

    async def _receive_json(self) -> t.Any:
        return self._app.json.loads(await self._receive())

    async def _send(self, data: str | bytes) -> None:
        message: Message
        if isinstance(data, str):
            message = {"type": "websocket.send", "text": data}
        elif isinstance(data, (bytes, bytearray, memoryview)):
            message = {"type": "websocket.send", "bytes": bytes(data)}
        else:
            raise TypeError(f"send() takes str or bytes, not {type(data).__name__}.")
        await self._accept()
        if self._closed:
            raise RuntimeError("The WebSocket is closed: nothing more can be sent.")
        await self._send_message(message)

    async def _close(self, code: int = 1000, reason: str = "") -> None:
        if self._closed or self._gone:
            return
        self._closed = True
        await self._send_last([{"type": "websocket.close", "code": code, "reason": reason}])

    async def _refuse(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Answer the handshake with an HTTP response instead of accepting it."""
        if self._closed or self._gone:
            return
        self._closed = True
        if "websocket.http.response" not in (self._scope.get("extensions") or {}):
            # The server cannot send a response: a close before accepting
            # makes it refuse the handshake (with a 403).
            await self._send_last([{"type": "websocket.close", "code": 1008}])
            return
        await self._send_last(
            [
                {"type": "websocket.http.response.start", "status": status, "headers": headers},
                {"type": "websocket.http.response.body", "body": body},
            ]
        )

    async def _send_message(self, message: Message) -> None:
        if self._gone:
            raise asyncio.CancelledError("The client disconnected.")
        try:
            await self._asgi_send(message)
        except OSError:
            # How servers report a client that is gone (uvicorn's ClientDisconnected).
            self._client_gone()
            raise asyncio.CancelledError("The client disconnected.") from None

    async def _send_last(self, messages: list[Message]) -> None:
        """Send the messages that end the connection; a client gone already ended it."""
        try:
            for message in messages:
                await self._asgi_send(message)
        except OSError:
            self._client_gone()

    async def _read_messages(self) -> None:
        """Move the client's messages to the inbox until it disconnects."""
        while True:
            await self._room.acquire()
            message = await self._asgi_receive()
            kind = message["type"]
            if kind == "websocket.receive":
                text = message.get("text")
                self._inbox.put_nowait((message.get("bytes") or b"") if text is None else text)
                continue
            self._room.release()
            if kind == "websocket.disconnect":
                self._client_gone()
                return
            # Nothing else may arrive (``websocket.connect`` came already); if a
            # faulty server sends more anyway, yield instead of spinning the loop.
            await asyncio.sleep(0)

    def _client_gone(self) -> None:
        """Nothing more comes from the client: end receives, cancel the handler."""
        if self._gone:
            return
        self._gone = True
        self._inbox.put_nowait(None)
        # After the app's own close(), the handler may still be finishing up.
        if self._handler_task is not None and not self._closed:
            self._handler_task.cancel()

    async def _run_handler(self, awaitable: t.Awaitable[T]) -> T:
        """Await an ``async def`` handler in a task of its own, which a disconnect cancels."""
        task = asyncio.ensure_future(awaitable)
        self._handler_task = task
        if self._gone and not self._closed:
            task.cancel()
        try:
            return await task
        finally:
            self._handler_task = None

    def _cut_off(self, error: BaseException) -> bool:
        """Whether ``error`` is the client's disconnect reaching the pipeline."""
        return self._gone and isinstance(error, asyncio.CancelledError)


async def serve_websocket(app: Flask, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one ASGI ``websocket`` connection for ``app`` (see the module docstring)."""
    if (await receive())["type"] != "websocket.connect":
        return  # the client left before the handshake
    environ = handshake_environ(scope)
    ctx = app.request_context(environ)
    # Matched before choosing where the connection runs; pushing does not match again.
    ctx.match_request()
    ws = Websocket(app, ctx.request, scope, receive, send)
    context = contextvars.copy_context()
    reader = asyncio.ensure_future(ws._read_messages())
    try:
        rule = ctx.request.url_rule
        # Decided when the handler was registered, as for HTTP views.
        if rule is not None and runs_on_loop(app.view_functions, rule.endpoint, "GET"):
            await run_in_bridge(context, _run_pipeline, app, ctx, ws)
        else:
            await _handler_pool().run(context, _run_pipeline, app, ctx, ws)
    finally:
        reader.cancel()
        # If this task was cancelled while a ``def`` handler waits in
        # receive(), that wakes it up (with CancelledError) to finish.
        ws._client_gone()


def _run_pipeline(app: Flask, ctx: RequestContext, ws: Websocket) -> None:
    """Serve the connection, from push to teardown: the WebSocket ``run_pipeline``."""
    if not app._serving_started:
        # As for HTTP: ``before_serving`` hooks where no lifespan ran them.
        from .serving import ensure_started

        ensure_started(app)
    token = _cv_websocket.set(ws)
    error: BaseException | None = None
    try:
        ctx.push()
        try:
            rv = _dispatch(app, ws)
        except Exception as e:
            rv = _answer_error(app, ws, e)
        _finish(app, ws, rv)
    except BaseException as e:
        error = e
        if not ws._cut_off(e):
            raise
    finally:
        if error is not None and app.should_ignore_error(error):
            error = None
        try:
            if _cv_request.get(None) is ctx:
                _teardown_websocket(app, ws, error)
        finally:
            ctx.pop(error)
            _cv_websocket.reset(token)
    tasks = ctx._background_tasks
    if tasks:
        # A connection's "response has been sent" is its end.
        from .serving import start_background_tasks

        start_background_tasks(app, tasks)


def _dispatch(app: Flask, ws: Websocket) -> t.Any:
    """URL value preprocessors, ``before_websocket`` hooks, the handler: what it returns."""
    if not app._got_first_request:
        app._got_first_request = True
    request = ws.request
    if request.routing_exception is not None:
        app.raise_routing_exception(request)
    names = (None, *reversed(request.blueprints))
    for name in names:
        for preprocess in app.url_value_preprocessors.get(name, ()):
            preprocess(request.endpoint, request.view_args)
    for name in names:
        for hook in app.before_websocket_funcs.get(name, ()):
            rv = app.ensure_sync(hook)()
            if rv is not None:
                return rv
    rule = t.cast("Rule", request.url_rule)
    rv = app.view_functions[rule.endpoint](**(request.view_args or {}))
    if inspect.isawaitable(rv):
        rv = _on_loop(ws._run_handler(rv))
    return rv


def _answer_error(app: Flask, ws: Websocket, error: Exception) -> t.Any:
    """What an exception from a hook or the handler becomes; called while it is handled."""
    if ws._accepted:
        # Too late for an HTTP answer: close the socket instead.
        if isinstance(error, HTTPException):
            code = 1008  # the app refuses to go on (an abort())
        else:
            app.log_exception(sys.exc_info())
            code = 1011
        _on_loop(ws._close(code))
        return None
    try:
        return app.handle_user_exception(error)
    except Exception:
        app.log_exception(sys.exc_info())
        return InternalServerError(original_exception=error)


def _finish(app: Flask, ws: Websocket, rv: t.Any) -> None:
    """``after_websocket`` hooks, then refuse the handshake with the response or close."""
    response: Response | None = None
    if rv is not None and not ws._accepted:
        response = app.make_response(rv)
    for name in chain(ws.request.blueprints, (None,)):
        for hook in reversed(app.after_websocket_funcs.get(name, ())):
            response = app.ensure_sync(hook)(response)
    if response is not None and not ws._accepted:
        _on_loop(ws._refuse(*_response_parts(response, ws.request.environ)))
    else:
        _on_loop(ws._close())


def _response_parts(
    response: Response, environ: dict[str, t.Any]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    app_iter, status, headers = response.get_wsgi_response(environ)
    try:
        body = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    return int(status.split(" ", 1)[0]), _asgi_headers(headers), body


def _teardown_websocket(app: Flask, ws: Websocket, error: BaseException | None) -> None:
    for name in chain(ws.request.blueprints, (None,)):
        for func in reversed(app.teardown_websocket_funcs.get(name, ())):
            app.ensure_sync(func)(error)
