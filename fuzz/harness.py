"""Drive both doors of an app with one raw request and check what comes back.

Shared by the fuzzer (``fuzz/run.py``) and the property tests
(``tests/test_hostile_input.py``). A request is described as the bytes a
client sent (:class:`RawRequest`); :func:`to_environ` and :func:`to_scope`
turn it into what a WSGI or an ASGI server would hand the app, keeping the
raw bytes a test client would normalise away. :func:`serve_wsgi` and
:func:`serve_asgi` call the door and return the :class:`Exchange`, raising
:class:`Malformed` when the answer breaks the protocol or leaves a context
pushed. Whether a status is acceptable is the caller's call.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import re
import typing as t
from urllib.parse import unquote_to_bytes

from demijohn.globals import _cv_app, _cv_request
from demijohn.signals import appcontext_popped, appcontext_pushed

#: An HTTP token: what a header name may be made of (RFC 9110, 5.6.2).
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: A header value servers accept: visible bytes, obs-text, space and tab (RFC 9110, 5.5).
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_STATUS_LINE = re.compile(r"([1-5][0-9][0-9]) [^\r\n]*")


class Malformed(AssertionError):
    """The door answered in a way no server could send, or left state behind."""


@dataclasses.dataclass
class RawRequest:
    """One request as a client put it on the wire (the server's parsing aside)."""

    method: str = "GET"
    #: The request target's path, still percent-encoded (possibly badly).
    path: bytes = b"/"
    query: bytes = b""
    headers: list[tuple[bytes, bytes]] = dataclasses.field(default_factory=list)
    body: bytes = b""
    #: Sent with ``Transfer-Encoding: chunked``: no length known up front; the
    #: ASGI door gets the body in several messages.
    chunked: bool = False
    http_version: str = "1.1"
    scheme: str = "http"
    #: The ASGI scope's ``path`` as given, instead of one derived from ``path``
    #: (a server may hand any text; ``None`` derives it as uvicorn does).
    asgi_path: str | None = None

    def __repr__(self) -> str:
        # Long fields cut short, so a failing example stays readable.
        def short(value: t.Any) -> str:
            text = repr(value)
            return text if len(text) <= 300 else f"{text[:200]}...<{len(text)} chars>"

        fields = ", ".join(
            f"{f.name}={short(getattr(self, f.name))}" for f in dataclasses.fields(self)
        )
        return f"RawRequest({fields})"


@dataclasses.dataclass
class Exchange:
    """What the door sent back."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or ``None``."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def to_environ(request: RawRequest) -> dict[str, t.Any]:
    """The WSGI environ a server (gunicorn, Werkzeug's) would build for ``request``.

    PATH_INFO is the percent-decoded path as latin-1 (PEP 3333), so it may hold
    any byte, NUL and invalid UTF-8 included.
    """
    environ: dict[str, t.Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(request.path).decode("latin-1"),
        "QUERY_STRING": request.query.decode("latin-1"),
        "REQUEST_URI": (request.path + (b"?" + request.query if request.query else b"")).decode(
            "latin-1"
        ),
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": f"HTTP/{request.http_version}",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in request.headers:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        key = name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        if key in environ and key.startswith("HTTP_"):
            separator = "; " if key == "HTTP_COOKIE" else ","
            environ[key] = f"{environ[key]}{separator}{value}"
        else:
            environ[key] = value
    if request.chunked:
        # What gunicorn and Werkzeug's server do for a chunked body.
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input_terminated"] = True
    return environ


def to_scope(request: RawRequest) -> dict[str, t.Any]:
    """The ASGI HTTP scope a server (uvicorn, hypercorn) would build for ``request``.

    ``path`` is the percent-decoded path as UTF-8 with replacement characters;
    header names are lowercased, values left as raw bytes (any byte but CR/LF).
    """
    path = request.asgi_path
    if path is None:
        path = unquote_to_bytes(request.path).decode("utf-8", "replace")
    headers = [(name.lower(), value) for name, value in request.headers]
    if request.chunked:
        headers = [(n, v) for n, v in headers if n != b"content-length"]
        headers.append((b"transfer-encoding", b"chunked"))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": request.http_version,
        "method": request.method,
        "scheme": request.scheme,
        "path": path,
        "raw_path": request.path,
        "root_path": "",
        "query_string": request.query,
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
        "state": {},
    }


class ContextBalance:
    """Counts app contexts pushed and popped for one app: every request must pop what it pushed.

    A context leaked in the ASGI door stays in the request's copied
    :mod:`contextvars` context, invisible from outside; the signals see it.
    """

    def __init__(self, app: t.Any) -> None:
        self.app = app
        self.pushed = 0
        self.popped = 0
        appcontext_pushed.connect(self._on_push, sender=app, weak=False)
        appcontext_popped.connect(self._on_pop, sender=app, weak=False)

    def _on_push(self, sender: t.Any, **extra: t.Any) -> None:
        self.pushed += 1

    def _on_pop(self, sender: t.Any, **extra: t.Any) -> None:
        self.popped += 1

    def disconnect(self) -> None:
        """Stop counting."""
        appcontext_pushed.disconnect(self._on_push, sender=self.app)
        appcontext_popped.disconnect(self._on_pop, sender=self.app)

    def check(self) -> None:
        """Raise :class:`Malformed` if a context is still pushed (here or in the door)."""
        if _cv_request.get(None) is not None or _cv_app.get(None) is not None:
            raise Malformed("a request or app context is left pushed in the caller's context")
        if self.pushed != self.popped:
            pushed, popped = self.pushed, self.popped
            self.pushed = self.popped = 0
            raise Malformed(f"app contexts pushed {pushed} times but popped {popped} times")


def _check_header(name: bytes, value: bytes) -> None:
    if not _TOKEN.fullmatch(name):
        raise Malformed(f"header name {name!r} is not an HTTP token")
    if not _FIELD_VALUE.fullmatch(value):
        raise Malformed(f"header {name!r} has control characters in its value {value!r}")


def _check_body(method: str, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    if (method == "HEAD" or status in (204, 304) or status < 200) and body:
        raise Malformed(f"a {method} {status} response has a body ({len(body)} bytes)")
    lengths = {v for k, v in headers if k.lower() == "content-length"}
    if len(lengths) > 1:
        raise Malformed(f"several Content-Length headers: {sorted(lengths)}")
    if lengths and method != "HEAD" and status not in (204, 304):
        (length,) = lengths
        if length != str(len(body)):
            raise Malformed(f"Content-Length {length} but {len(body)} bytes sent")


def serve_wsgi(app: t.Any, request: RawRequest, *, entry: t.Any = None) -> Exchange:
    """Call ``app.wsgi_app`` (or ``entry``) with ``request``; check and return the response.

    An exception out of the door propagates (a WSGI server would answer 500).
    """
    environ = to_environ(request)
    started: list[t.Any] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: t.Any = None
    ) -> t.Callable[[bytes], None]:
        if started and exc_info is None:
            raise Malformed("start_response called twice without exc_info")
        started[:] = [status, headers]
        return lambda data: None

    app_iter = (entry or app.wsgi_app)(environ, start_response)
    try:
        chunks = []
        for chunk in app_iter:
            if not isinstance(chunk, bytes):
                raise Malformed(f"the body iterable yielded {type(chunk).__name__}, not bytes")
            chunks.append(chunk)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    if not started:
        raise Malformed("start_response was never called")
    status, headers = started
    if not isinstance(status, str) or not _STATUS_LINE.fullmatch(status):
        raise Malformed(f"bad status line {status!r}")
    try:
        status.encode("latin-1")
    except UnicodeEncodeError:
        raise Malformed(f"status line {status!r} is not latin-1") from None
    if not isinstance(headers, list):
        raise Malformed(f"headers are a {type(headers).__name__}, not a list")
    for item in headers:
        if not (
            isinstance(item, tuple)
            and len(item) == 2
            and all(isinstance(part, str) for part in item)
        ):
            raise Malformed(f"header {item!r} is not a (str, str) tuple")
        try:
            name, value = item[0].encode("latin-1"), item[1].encode("latin-1")
        except UnicodeEncodeError:
            raise Malformed(f"header {item!r} is not latin-1") from None
        _check_header(name, value)
    code = int(status[:3])
    body = b"".join(chunks)
    _check_body(request.method.upper(), code, headers, body)
    return Exchange(code, headers, body)


#: How long the ASGI door may take over one request before it counts as hung.
ASGI_TIMEOUT = 10.0


#: The most body one ``http.request`` message carries (uvicorn reads 64 KiB at a time).
_ASGI_CHUNK = 65536


async def _asgi_exchange(
    entry: t.Any, scope: dict[str, t.Any], body: bytes, chunked: bool
) -> list[dict[str, t.Any]]:
    # A chunked body comes in several messages, made as they are received (as
    # a server reads them): what the door does not read is never copied.
    step = min(_ASGI_CHUNK, max(1, len(body) // 3)) if chunked and body else max(1, len(body))
    offset = 0
    sent: list[dict[str, t.Any]] = []
    finished = asyncio.Event()

    async def receive() -> dict[str, t.Any]:
        nonlocal offset
        if offset < len(body) or offset == 0 == len(body):
            piece = body[offset : offset + step]
            offset += step
            return {"type": "http.request", "body": piece, "more_body": offset < len(body)}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, t.Any]) -> None:
        if finished.is_set():
            raise Malformed(f"message sent after the response ended: {message!r}")
        sent.append(message)
        if message.get("type") == "http.response.body" and not message.get("more_body", False):
            finished.set()

    try:
        await entry(scope, receive, send)
    finally:
        finished.set()
    return sent


def serve_asgi(
    app: t.Any,
    request: RawRequest,
    loop: asyncio.AbstractEventLoop,
    *,
    entry: t.Any = None,
    timeout: float = ASGI_TIMEOUT,
) -> Exchange:
    """Call ``app.asgi_app`` (or ``entry``) on ``loop`` with ``request``; check and return.

    An exception out of the door propagates; a door that has not finished
    after ``timeout`` seconds raises :class:`Malformed`.
    """
    scope = to_scope(request)
    exchange = _asgi_exchange(entry or app.asgi_app, scope, request.body, request.chunked)
    try:
        messages = loop.run_until_complete(asyncio.wait_for(exchange, timeout))
    except TimeoutError:
        raise Malformed(f"the ASGI door did not finish within {timeout} s") from None
    if not messages or messages[0].get("type") != "http.response.start":
        raise Malformed(f"the response did not start with http.response.start: {messages[:1]!r}")
    start, rest = messages[0], messages[1:]
    status = start.get("status")
    if type(status) is not int or not 100 <= status <= 599:
        raise Malformed(f"bad status {status!r}")
    headers: list[tuple[str, str]] = []
    for item in start.get("headers", ()):
        if not (
            isinstance(item, (tuple, list))
            and len(item) == 2
            and all(isinstance(part, bytes) for part in item)
        ):
            raise Malformed(f"header {item!r} is not a pair of bytes")
        name, value = item
        if name != name.lower():
            raise Malformed(f"header name {name!r} is not lowercase")
        _check_header(name, value)
        headers.append((name.decode("latin-1"), value.decode("latin-1")))
    if not rest:
        raise Malformed("no http.response.body message")
    for message in rest:
        if message.get("type") != "http.response.body":
            raise Malformed(f"unexpected message {message!r}")
        if not isinstance(message.get("body", b""), bytes):
            raise Malformed(f"body {type(message['body']).__name__} is not bytes")
    if rest[-1].get("more_body", False):
        raise Malformed("the last body message says more_body")
    body = b"".join(m.get("body", b"") for m in rest)
    _check_body(request.method.upper(), status, headers, body)
    return Exchange(status, headers, body)
