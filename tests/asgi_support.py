"""Drive the ASGI door in-process, so tests can check both doors alike.

The test client through either door (``through``, ``client_for``, ``door_app``),
one ASGI HTTP call (``call_asgi``), and the server's side of the lifespan
protocol (``Lifespan``).
"""

from __future__ import annotations

import asyncio
import typing as t

from werkzeug.datastructures import Headers
from werkzeug.http import HTTP_STATUS_CODES

from demijohn import Flask
from demijohn.testing import FlaskClient


def scope_from_environ(environ: dict[str, t.Any]) -> dict[str, t.Any]:
    """The ASGI HTTP scope a server would build for this WSGI environ."""
    headers = [
        (key[5:].replace("_", "-").lower().encode("latin-1"), value.encode("latin-1"))
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers.append((key.replace("_", "-").lower().encode(), environ[key].encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": environ.get("SERVER_PROTOCOL", "HTTP/1.1").partition("/")[2],
        "method": environ["REQUEST_METHOD"],
        "scheme": environ["wsgi.url_scheme"],
        "root_path": environ.get("SCRIPT_NAME", "").encode("latin-1").decode(),
        "path": (environ.get("SCRIPT_NAME", "") + environ["PATH_INFO"]).encode("latin-1").decode(),
        "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
        "headers": headers,
        "client": (environ.get("REMOTE_ADDR", "127.0.0.1"), 50000),
        "server": (environ["SERVER_NAME"], int(environ["SERVER_PORT"])),
    }


async def call_asgi(
    app: t.Any, scope: dict[str, t.Any], body: bytes, chunk_size: int = 65536
) -> list[dict[str, t.Any]]:
    """Call ``app`` as ASGI 3 with ``body`` and return the messages it sent."""
    chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)] or [b""]
    incoming: list[dict[str, t.Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, t.Any]] = []
    finished = asyncio.Event()

    async def receive() -> dict[str, t.Any]:
        if incoming:
            return incoming.pop(0)
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, t.Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    await app(scope, receive, send)
    return sent


class AsgiAsWsgi:
    """A WSGI callable that serves each call through ``app``'s ASGI door.

    Wrapping the door this way keeps everything the Werkzeug test client does
    around the call (cookies, redirects, ``response.request``) unchanged.
    """

    def __init__(self, app: t.Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, t.Any], start_response: t.Any) -> list[bytes]:
        body = environ["wsgi.input"].read()
        messages = asyncio.run(call_asgi(self.app, scope_from_environ(environ), body))
        start = messages[0]
        assert start["type"] == "http.response.start", messages
        status = f"{start['status']} {HTTP_STATUS_CODES.get(start['status'], 'UNKNOWN').upper()}"
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
        start_response(status, headers)
        return [m.get("body", b"") for m in messages[1:]]


class AsgiClient(FlaskClient):
    """The test client, sending each request through the ASGI door instead of WSGI."""

    def run_wsgi_app(
        self, environ: dict[str, t.Any], buffered: bool = False
    ) -> tuple[t.Iterable[bytes], str, Headers]:
        flask_app = self.application
        self.application = AsgiAsWsgi(flask_app)
        try:
            return super().run_wsgi_app(environ, buffered=buffered)
        finally:
            self.application = flask_app


_App = t.TypeVar("_App")


def through(app: _App, door: str) -> _App:
    """``app`` with its test client speaking ``door``: ``"wsgi"`` (as is) or ``"asgi"``."""
    if door == "asgi":
        app.test_client_class = AsgiClient  # type: ignore[attr-defined]
    return app


def client_for(app: Flask, door: str) -> FlaskClient:
    """``app``'s test client, speaking ``door``."""
    return through(app, door).test_client()


def served_both_kinds(app: Flask) -> FlaskClient:
    """Give ``app`` an ``async def`` view at ``/async`` and a ``def`` one at ``/sync``,
    request each once (the app has now served), and return the test client."""

    @app.route("/async")
    async def in_async() -> str:
        return "async"

    @app.route("/sync")
    def in_sync() -> str:
        return "sync"

    client = app.test_client()
    for path in ("/async", "/sync"):
        assert client.get(path).text == path[1:]
    return client


def door_app(import_name: str, door: str, **options: t.Any) -> Flask:
    """``Flask(import_name, **options)``, its test client speaking ``door``."""
    return through(Flask(import_name, **options), door)


# -- the lifespan protocol -------------------------------------------------------------

LIFESPAN_SCOPE = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}


class Lifespan:
    """One lifespan connection to ``entry`` (an ASGI app); create it inside a running loop."""

    def __init__(self, entry: t.Callable[..., t.Awaitable[None]]) -> None:
        self.incoming: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        self.sent: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        self.task = asyncio.ensure_future(entry(LIFESPAN_SCOPE, self.incoming.get, self.sent.put))

    async def ask(self, event: str) -> dict[str, t.Any]:
        """Send ``lifespan.<event>`` and return the app's answer."""
        await self.incoming.put({"type": f"lifespan.{event}"})
        return await asyncio.wait_for(self.sent.get(), 10)

    async def ended(self) -> None:
        """Wait for the lifespan coroutine to return (after shutdown, or a failure)."""
        await asyncio.wait_for(self.task, 10)


def http_get(path: str) -> dict[str, t.Any]:
    """A minimal ASGI HTTP scope for ``GET path``."""
    return {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
