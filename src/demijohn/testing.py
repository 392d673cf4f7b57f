"""The test client and CLI runner: ``app.test_client()``, ``app.test_cli_runner()``.

``client.websocket(path)`` opens a WebSocket connection through the app's
ASGI door (:class:`WebsocketTestConnection`).
"""

from __future__ import annotations

import importlib.metadata
import queue
import threading
import traceback
import typing as t
from contextlib import ExitStack, contextmanager, suppress
from copy import copy
from types import TracebackType
from urllib.parse import urlsplit

import werkzeug.test
from click.testing import CliRunner, Result
from werkzeug.datastructures import EnvironHeaders, Headers
from werkzeug.test import Client
from werkzeug.wrappers import Request as BaseRequest

from .sessions import SessionMixin

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.test import TestResponse

    from .app import Flask
    from .wrappers import Response


class EnvironBuilder(werkzeug.test.EnvironBuilder):
    """An environ builder whose defaults come from the app's config.

    The host is ``SERVER_NAME`` (or ``localhost``), the script root is
    ``APPLICATION_ROOT`` and the scheme ``PREFERRED_URL_SCHEME``; JSON bodies
    are encoded with ``app.json``.
    """

    def __init__(
        self,
        app: Flask,
        path: str = "/",
        base_url: str | None = None,
        subdomain: str | None = None,
        url_scheme: str | None = None,
        *args: t.Any,
        **kwargs: t.Any,
    ) -> None:
        if base_url is not None and (subdomain or url_scheme):
            raise ValueError('Cannot pass "subdomain" or "url_scheme" with "base_url".')
        if base_url is None:
            http_host = app.config.get("SERVER_NAME") or "localhost"
            app_root = app.config["APPLICATION_ROOT"]
            if subdomain:
                http_host = f"{subdomain}.{http_host}"
            if url_scheme is None:
                url_scheme = app.config["PREFERRED_URL_SCHEME"]
            url = urlsplit(path)
            scheme = url.scheme or url_scheme
            base_url = f"{scheme}://{url.netloc or http_host}/{app_root.lstrip('/')}"
            path = url.path
            if url.query:
                path = f"{path}?{url.query}"
        self.app = app
        super().__init__(path, base_url, *args, **kwargs)

    def json_dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``json=`` bodies with the app's JSON provider."""
        return self.app.json.dumps(obj, **kwargs)


def _werkzeug_version() -> str:
    try:
        return importlib.metadata.version("werkzeug")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


_WERKZEUG_VERSION = _werkzeug_version()


class FlaskClient(Client):
    """Werkzeug's test client, made aware of the app.

    Used as ``with client:``, the context of the last request stays pushed
    until the block ends, so ``request`` and ``session`` can be inspected.
    """

    application: Flask

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.preserve_context = False
        self._new_contexts: list[t.ContextManager[t.Any]] = []
        self._context_stack = ExitStack()
        #: Base environ values for every request (remote address, user agent).
        self.environ_base = {
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_USER_AGENT": f"Werkzeug/{_WERKZEUG_VERSION}",
        }

    @contextmanager
    def session_transaction(self, *args: t.Any, **kwargs: t.Any) -> t.Iterator[SessionMixin]:
        """Open the client's session for editing; it is saved back on exit.

        Arguments build the request used to open it, as for
        :meth:`Flask.test_request_context`.
        """
        if self._cookies is None:
            raise TypeError("Cookies are disabled. Create a client with 'use_cookies=True'.")
        app = self.application
        ctx = app.test_request_context(*args, **kwargs)
        self._add_cookies_to_wsgi(ctx.request.environ)
        with ctx:
            sess = app.session_interface.open_session(app, ctx.request)
        if sess is None:
            raise RuntimeError("Session backend did not open a session.")
        yield sess
        resp = app.response_class()
        if app.session_interface.is_null_session(sess):
            return
        with ctx:
            app.session_interface.save_session(app, sess, resp)
        self._update_cookies_from_response(
            ctx.request.host.partition(":")[0],
            ctx.request.path,
            resp.headers.getlist("Set-Cookie"),
        )

    def _copy_environ(self, other: WSGIEnvironment) -> WSGIEnvironment:
        out = {**self.environ_base, **other}
        if self.preserve_context:
            out["werkzeug.debug.preserve_context"] = self._new_contexts.append
        return out

    def _request_from_builder_args(
        self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]
    ) -> BaseRequest:
        kwargs["environ_base"] = self._copy_environ(kwargs.get("environ_base", {}))
        builder = EnvironBuilder(self.application, *args, **kwargs)
        try:
            return builder.get_request()
        finally:
            builder.close()

    def open(
        self,
        *args: t.Any,
        buffered: bool = False,
        follow_redirects: bool = False,
        **kwargs: t.Any,
    ) -> TestResponse:
        """Make a request; takes :class:`EnvironBuilder` arguments (``json=``, ``data=``...)."""
        if args and isinstance(args[0], (werkzeug.test.EnvironBuilder, dict, BaseRequest)):
            if isinstance(args[0], werkzeug.test.EnvironBuilder):
                builder = copy(args[0])
                builder.environ_base = self._copy_environ(builder.environ_base or {})  # type: ignore[arg-type]
                request = builder.get_request()
            elif isinstance(args[0], dict):
                request = EnvironBuilder.from_environ(
                    args[0], app=self.application, environ_base=self._copy_environ({})
                ).get_request()
            else:
                request = copy(args[0])
                request.environ = self._copy_environ(request.environ)
        else:
            request = self._request_from_builder_args(args, kwargs)

        # Pop the contexts kept from the previous request before the next one.
        self._context_stack.close()
        response = super().open(request, buffered=buffered, follow_redirects=follow_redirects)
        response.json_module = self.application.json  # type: ignore[assignment]

        # Re-push the contexts the app handed over, to keep them for the ``with`` block.
        while self._new_contexts:
            self._context_stack.enter_context(self._new_contexts.pop(0))
        return response

    def websocket(
        self,
        path: str,
        subprotocols: t.Sequence[str] = (),
        headers: t.Any = None,
        timeout: float = 5.0,
        **kwargs: t.Any,
    ) -> WebsocketTestConnection:
        """A WebSocket connection to ``path``, opened by ``with``::

            with client.websocket("/echo") as ws:
                ws.send("hi")
                assert ws.receive() == "hi"

        The handshake carries ``headers``, the client's cookies and the
        offered ``subprotocols``; other arguments are
        :class:`EnvironBuilder`'s (``query_string``, ``base_url``...). Every
        wait for the app is bounded by ``timeout`` seconds.
        """
        kwargs["environ_base"] = self._copy_environ(kwargs.get("environ_base", {}))
        builder = EnvironBuilder(self.application, path, headers=headers, **kwargs)
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        if self._cookies is not None:
            self._add_cookies_to_wsgi(environ)
        scope = _websocket_scope(environ, subprotocols)
        return WebsocketTestConnection(self.application, scope, timeout)

    def __enter__(self) -> FlaskClient:
        if self.preserve_context:
            raise RuntimeError("Cannot nest client invocations")
        self.preserve_context = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.preserve_context = False
        self._context_stack.close()


def _websocket_scope(environ: WSGIEnvironment, subprotocols: t.Sequence[str]) -> dict[str, t.Any]:
    """The ASGI scope a server would make for a WebSocket handshake with this environ."""
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in EnvironHeaders(environ).items()
    ]
    headers += [(b"connection", b"Upgrade"), (b"upgrade", b"websocket")]
    headers.append((b"sec-websocket-version", b"13"))
    if subprotocols:
        headers.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode("latin-1")))
    script_name: str = environ.get("SCRIPT_NAME", "")
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "wss" if environ["wsgi.url_scheme"] == "https" else "ws",
        "server": (environ["SERVER_NAME"], int(environ["SERVER_PORT"])),
        "client": (environ.get("REMOTE_ADDR", "127.0.0.1"), 50000),
        # WSGI strings are latin-1; ASGI paths are text.
        "root_path": script_name.encode("latin-1").decode(),
        "path": (script_name + environ["PATH_INFO"]).encode("latin-1").decode(),
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "subprotocols": list(subprotocols),
        "extensions": {"websocket.http.response": {}},
    }


class WebsocketResponseError(Exception):
    """The app refused the WebSocket handshake; :attr:`response` is its HTTP answer."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"The app refused the WebSocket handshake: {response.status}.")
        #: The response: ``status_code``, ``headers``, ``data``, ``get_json()``...
        self.response = response


class WebsocketDisconnectError(Exception):
    """The app closed the WebSocket, with :attr:`code` and :attr:`reason`."""

    def __init__(self, code: int, reason: str = "") -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"The app closed the WebSocket with code {code}{detail}.")
        self.code = code
        self.reason = reason


class WebsocketTestConnection:
    """A WebSocket connection to the app, as an ASGI server would make it.

    ``with`` runs ``app(scope, receive, send)`` in a thread with its own event
    loop and completes the handshake (raising :exc:`WebsocketResponseError`
    if the app refuses it); leaving the block closes the connection from the
    client's side and waits for the app to finish. An error the ASGI call
    raised is re-raised then.
    """

    def __init__(self, app: Flask, scope: dict[str, t.Any], timeout: float = 5.0) -> None:
        self.app = app
        self.scope = scope
        #: Seconds any wait for the app may last.
        self.timeout = timeout
        #: The subprotocol the app accepted, if any.
        self.subprotocol: str | None = None
        #: The headers the app added to its acceptance.
        self.accept_headers = Headers()
        self._from_app: queue.Queue[t.MutableMapping[str, t.Any] | None] = queue.Queue()
        self._to_app: t.Any = None  # an asyncio.Queue, made on the app's loop
        self._loop: t.Any = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="websocket-test", daemon=True)
        self._error: BaseException | None = None
        self._app_close: tuple[int, str] | None = None
        self._client_closed = False

    def __enter__(self) -> WebsocketTestConnection:
        self._thread.start()
        if not self._started.wait(self.timeout):
            raise TimeoutError(f"The app's event loop did not start within {self.timeout} s.")
        self._handshake()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, data: str | bytes) -> None:
        """Send a text (``str``) or binary (``bytes``) message to the app."""
        if self._client_closed:
            raise RuntimeError("The test client closed this WebSocket.")
        key = "text" if isinstance(data, str) else "bytes"
        self._deliver({"type": "websocket.receive", key: data})

    def send_json(self, obj: t.Any) -> None:
        """Send ``obj`` serialized with the app's JSON provider."""
        self.send(self.app.json.dumps(obj))

    def receive(self) -> str | bytes:
        """The app's next message; :exc:`WebsocketDisconnectError` once it has closed."""
        if self._app_close is not None:
            raise WebsocketDisconnectError(*self._app_close)
        message = self._next()
        if message["type"] == "websocket.send":
            text: str | None = message.get("text")
            return (message.get("bytes") or b"") if text is None else text
        if message["type"] == "websocket.close":
            self._app_close = (message.get("code", 1000), message.get("reason") or "")
            raise WebsocketDisconnectError(*self._app_close)
        raise RuntimeError(f"Unexpected ASGI message from the app: {message['type']!r}.")

    def receive_json(self) -> t.Any:
        """The app's next message, parsed with the app's JSON provider."""
        return self.app.json.loads(self.receive())

    def close(self, code: int = 1000) -> None:
        """Disconnect (the app sees ``code``) and wait for the app to finish."""
        if not self._client_closed:
            self._client_closed = True
            self._deliver({"type": "websocket.disconnect", "code": code})
        self._thread.join(self.timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"The app did not finish within {self.timeout} s of the close.")
        self._raise_app_error()

    def _serve(self) -> None:
        # Imported here: the test client serves WSGI without loading asyncio.
        import asyncio

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._to_app = asyncio.Queue()
            self._to_app.put_nowait({"type": "websocket.connect"})
            self._started.set()
            await self.app(self.scope, self._to_app.get, self._send)

        try:
            asyncio.run(main())
        except BaseException as e:
            self._error = e
        finally:
            self._started.set()
            self._from_app.put(None)

    async def _send(self, message: t.MutableMapping[str, t.Any]) -> None:
        if self._client_closed:
            # What servers raise for a client that has gone (an OSError).
            raise ConnectionResetError("The test client closed the WebSocket.")
        self._from_app.put(message)

    def _deliver(self, message: dict[str, t.Any]) -> None:
        # A RuntimeError: the app has finished and its loop is closed; nobody listens.
        with suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._to_app.put_nowait, message)

    def _next(self) -> t.MutableMapping[str, t.Any]:
        try:
            message = self._from_app.get(timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError(f"The app sent nothing within {self.timeout} s.") from None
        if message is None:
            self._from_app.put(None)  # the app has finished: so will every later call
            self._raise_app_error()
            raise RuntimeError("The app finished without closing the WebSocket.")
        return message

    def _handshake(self) -> None:
        message = self._next()
        kind = message["type"]
        if kind == "websocket.accept":
            self.subprotocol = message.get("subprotocol")
            self.accept_headers = Headers(
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())]
            )
            return
        if kind == "websocket.http.response.start":
            body = b""
            part: t.MutableMapping[str, t.Any] = {"more_body": True}
            while part.get("more_body", False):
                part = self._next()
                body += part.get("body", b"")
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]]
            response = self.app.response_class(body, message["status"], headers)
        elif kind == "websocket.close":
            # What a server answers when the app closes before accepting.
            response = self.app.response_class(b"", 403)
        else:
            raise RuntimeError(f"Unexpected ASGI message from the app: {kind!r}.")
        self.close()
        raise WebsocketResponseError(response)

    def _raise_app_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise RuntimeError("The app's ASGI call raised an exception.") from error


class FlaskCliRunner(CliRunner):
    """A Click test runner that invokes the app's commands without app discovery."""

    def __init__(self, app: Flask, **kwargs: t.Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(  # type: ignore[override]
        self, cli: t.Any = None, args: t.Any = None, **kwargs: t.Any
    ) -> Result:
        """Invoke ``cli`` (default: ``app.cli``) with ``args``, like Click's runner."""
        if cli is None:
            cli = self.app.cli
        if "obj" not in kwargs:
            from .cli import ScriptInfo

            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app)
        result = super().invoke(cli, args, **kwargs)
        if result.exc_info is not None and issubclass(result.exc_info[0], SystemExit):
            # Click keeps the ``SystemExit`` of every exit (a normal one too)
            # with its traceback. Its frames hold it again and reach the
            # caller's frame, which holds this result: cycles keeping the app,
            # this runner and the caller's locals alive until the collector
            # runs. Where a command exited is of no use, so it is dropped (no
            # local names the traceback here: this frame is reachable from
            # it); a failure's traceback is left alone.
            traceback.clear_frames(result.exc_info[2])
            result.exc_info[1].__traceback__ = None
            result.exc_info = (result.exc_info[0], result.exc_info[1], None)  # type: ignore[assignment]
        return result
