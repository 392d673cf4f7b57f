"""The ceiling: the same responses from a bare WSGI callable, no framework.

It does the work any framework must do per request (dispatch on the path,
serialise the JSON, parse the form, render the template with Jinja2, build the
headers) and nothing else, so it bounds from below what a framework can cost.
"""

from __future__ import annotations

import json
import typing as t
import urllib.parse
from pathlib import Path

import jinja2
from scenarios import FORM_FIELDS, RETURN_FORM_NAMES, TEMPLATE_ITEMS

StartResponse = t.Callable[..., t.Any]

#: Scenarios this app cannot serve: no signed sessions, no coroutines (a WSGI
#: callable is synchronous by definition); the return forms are Flask's API.
UNSUPPORTED: frozenset[str] = frozenset({"session", "async"}) | RETURN_FORM_NAMES

_HTML = "text/html; charset=utf-8"

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
)
_ITEMS = _TEMPLATES.get_template("items.html")


def _hello(environ: dict[str, t.Any]) -> tuple[str, str, bytes]:
    return "200 OK", _HTML, b"Hello, World!"


def _json(environ: dict[str, t.Any]) -> tuple[str, str, bytes]:
    document = {"message": "Hello, World!", "items": [1, 2, 3], "ok": True}
    body = json.dumps(document, separators=(",", ":")).encode() + b"\n"
    return "200 OK", "application/json", body


def _form(environ: dict[str, t.Any]) -> tuple[str, str, bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    pairs = (pair.partition("=") for pair in environ["wsgi.input"].read(length).decode().split("&"))
    unquote = urllib.parse.unquote_plus
    fields = {unquote(name): unquote(value) for name, _, value in pairs}
    body = json.dumps({name: fields[name] for name in FORM_FIELDS}).encode()
    return "200 OK", "application/json", body


def _template(environ: dict[str, t.Any]) -> tuple[str, str, bytes]:
    return "200 OK", _HTML, _ITEMS.render(items=TEMPLATE_ITEMS).encode()


def _hooked(environ: dict[str, t.Any]) -> tuple[str, str, bytes]:
    return "200 OK", _HTML, b"hooked"


def _post(environ: dict[str, t.Any]) -> tuple[str, str, bytes] | None:
    # /user/<int:id>/post/<slug>: the one dynamic route the scenarios use.
    parts = environ.get("PATH_INFO", "").split("/")
    if len(parts) == 5 and parts[1] == "user" and parts[2].isdigit() and parts[3] == "post":
        return "200 OK", _HTML, f"{int(parts[2])} {parts[4]}".encode()
    return None


_ROUTES: dict[tuple[str, str], t.Callable[[dict[str, t.Any]], tuple[str, str, bytes]]] = {
    ("GET", "/hello"): _hello,
    ("GET", "/json"): _json,
    ("GET", "/template"): _template,
    ("POST", "/form"): _form,
    ("GET", "/hooked/"): _hooked,
}


def app(environ: dict[str, t.Any], start_response: StartResponse) -> list[bytes]:
    """Dispatch on method and path; 404 for anything else."""
    view = _ROUTES.get((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")))
    result = view(environ) if view is not None else _post(environ)
    if result is None:
        status, content_type, body = "404 NOT FOUND", _HTML, b"Not Found"
    else:
        status, content_type, body = result
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
