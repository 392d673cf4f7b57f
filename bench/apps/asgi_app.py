"""The ASGI floor: the same responses from a bare ASGI callable, no framework.

It does the work any ASGI framework must do per request (answer the lifespan
protocol, dispatch on the path, read the body, serialise the JSON, parse the
form, send the two response messages) and nothing else, so it bounds from
below what a framework can cost under the same server.
"""

from __future__ import annotations

import json
import typing as t
import urllib.parse

from scenarios import FORM_FIELDS, RETURN_FORM_NAMES

Scope = t.MutableMapping[str, t.Any]
Message = t.MutableMapping[str, t.Any]
Receive = t.Callable[[], t.Awaitable[Message]]
Send = t.Callable[[Message], t.Awaitable[None]]
Result = tuple[int, bytes, bytes]

#: Scenarios this app cannot serve: the return forms are Flask's API.
UNSUPPORTED: frozenset[str] = RETURN_FORM_NAMES

_HTML = b"text/html; charset=utf-8"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _hello(receive: Receive) -> Result:
    return 200, _HTML, b"Hello, World!"


async def _json(receive: Receive) -> Result:
    document = {"message": "Hello, World!", "items": [1, 2, 3], "ok": True}
    return 200, b"application/json", json.dumps(document, separators=(",", ":")).encode()


async def _form(receive: Receive) -> Result:
    fields = dict(urllib.parse.parse_qsl((await _read_body(receive)).decode()))
    body = json.dumps({name: fields[name] for name in FORM_FIELDS}).encode()
    return 200, b"application/json", body


def _post(path: str) -> Result | None:
    # /user/<int:id>/post/<slug>: the one dynamic route the scenarios use.
    parts = path.split("/")
    if len(parts) == 5 and parts[1] == "user" and parts[2].isdigit() and parts[3] == "post":
        return 200, _HTML, f"{int(parts[2])} {parts[4]}".encode()
    return None


_ROUTES: dict[tuple[str, str], t.Callable[[Receive], t.Awaitable[Result]]] = {
    ("GET", "/hello"): _hello,
    ("GET", "/json"): _json,
    ("POST", "/form"): _form,
}


async def _lifespan(receive: Receive, send: Send) -> None:
    # Nothing to set up or tear down; uvicorn runs with ``--lifespan on``.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Dispatch on method and path; 404 for anything else."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    view = _ROUTES.get((scope["method"], scope["path"]))
    result = await view(receive) if view is not None else _post(scope["path"])
    status, content_type, body = result or (404, _HTML, b"Not Found")
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
