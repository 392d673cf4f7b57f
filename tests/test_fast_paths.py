"""The per-request shortcuts give exactly what the general path gives.

``buffered_response`` (views returning ``str``/``bytes``/``dict``) and
``error_response`` (error pages) skip work on the hot path; each is compared
here, attribute by attribute, with what Werkzeug's general path builds.
"""

from __future__ import annotations

import typing as t

import pytest
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
)
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response as WerkzeugResponse

import demijohn
from demijohn.wrappers import Response, buffered_response, error_response


def snapshot(response: WerkzeugResponse) -> tuple[t.Any, ...]:
    state = {k: v for k, v in vars(response).items() if k != "headers"}
    return type(response), state, list(response.headers.items()), response.get_data()


class TextResponse(Response):
    default_mimetype = "text/plain"


class CustomInit(Response):
    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers["X-Custom"] = "1"


@pytest.mark.parametrize("cls", [Response, TextResponse, CustomInit, WerkzeugResponse])
@pytest.mark.parametrize("data", ["hello", "héllo ✓", "", b"raw \xff bytes", bytearray(b"ba")])
@pytest.mark.parametrize("mimetype", [None, "application/json", "text/csv"])
@pytest.mark.parametrize("status", [200, 404, 418, 599])
def test_buffered_response_equals_the_constructor(
    cls: type[WerkzeugResponse], data: str | bytes, mimetype: str | None, status: int
) -> None:
    expected = cls(data, status, mimetype=mimetype)
    built = buffered_response(cls, data, mimetype=mimetype, status=status)
    assert snapshot(built) == snapshot(expected)
    # The response is independent: changing one leaves the next untouched.
    built.headers["X-Changed"] = "1"
    built.set_data(b"changed")
    again = buffered_response(cls, data, mimetype=mimetype, status=status)
    assert snapshot(again) == snapshot(expected)


def test_views_returning_str_bytes_and_dict(app: demijohn.Flask) -> None:
    app.add_url_rule("/s", "s", lambda: "text ✓")
    app.add_url_rule("/b", "b", lambda: b"\x00bytes")
    app.add_url_rule("/d", "d", lambda: {"a": [1, 2]})
    client = app.test_client()
    text = client.get("/s")
    assert (text.status, text.content_type, text.data) == (
        "200 OK",
        "text/html; charset=utf-8",
        "text ✓".encode(),
    )
    assert text.headers["Content-Length"] == str(len("text ✓".encode()))
    assert client.get("/b").data == b"\x00bytes"
    data = client.get("/d")
    assert (data.content_type, data.json) == ("application/json", {"a": [1, 2]})


class OwnBody(NotFound):
    def get_body(self, environ: t.Any = None, scope: t.Any = None) -> str:
        return "<p>my own page</p>"


class OwnName(NotFound):
    @property
    def name(self) -> str:
        return "Gone Fishing"


def _exceptions() -> list[HTTPException]:
    return [
        NotFound(),
        NotFound("No such <thing>\nsecond line"),
        BadRequest(),
        InternalServerError(),
        MethodNotAllowed(["GET", "POST"]),
        OwnBody(),
        OwnName(),
        NotFound(response=WerkzeugResponse("given", status=404)),
        HTTPException(),  # no code: Werkzeug answers 200 with the page
    ]


@pytest.mark.parametrize(
    "exc", _exceptions(), ids=lambda e: f"{type(e).__name__}-{e.code}-{e.description!r:.12}"
)
def test_error_response_equals_the_exceptions_own(exc: HTTPException) -> None:
    environ = EnvironBuilder().get_environ()
    expected = Response.force_type(exc.get_response(environ))
    for _ in range(2):  # the first call fills the cache, the second reads it
        assert snapshot(error_response(Response, exc, environ)) == snapshot(expected)


def test_error_pages_follow_a_changed_class_description(monkeypatch: pytest.MonkeyPatch) -> None:
    environ = EnvironBuilder().get_environ()
    before = error_response(Response, NotFound(), environ).get_data()
    monkeypatch.setattr(NotFound, "description", "Nothing here.")
    after = error_response(Response, NotFound(), environ).get_data()
    assert b"Nothing here." in after and after != before


def _environ(**overrides: t.Any) -> dict[str, t.Any]:
    environ = EnvironBuilder().get_environ()
    for key, value in overrides.items():
        if value is None:
            environ.pop(key, None)
        else:
            environ[key] = value
    return environ


# Each varies what bind_to_environ reads; the per-request keys vary within.
_BINDING_ENVIRONS = [
    {},
    {"HTTP_HOST": "Example.COM:8080"},
    {"HTTP_HOST": None, "SERVER_NAME": "internal", "SERVER_PORT": "8000"},
    {"HTTP_HOST": "example.com:443", "wsgi.url_scheme": "https"},
    {"HTTP_HOST": "bücher.example"},
    {"SCRIPT_NAME": "/mounted/ünï".encode().decode("latin1")},
    {"HTTP_CONNECTION": "keep-alive, Upgrade", "HTTP_UPGRADE": "websocket"},
]
_PER_REQUEST = [
    {"PATH_INFO": "/a/b", "REQUEST_METHOD": "GET", "QUERY_STRING": "x=1"},
    {"PATH_INFO": "/naïve".encode().decode("latin1"), "REQUEST_METHOD": "POST"},
    {"PATH_INFO": "", "REQUEST_METHOD": "PUT", "QUERY_STRING": None},
    {"PATH_INFO": None, "REQUEST_METHOD": "DELETE", "QUERY_STRING": ""},
]


@pytest.mark.parametrize("binding", _BINDING_ENVIRONS)
@pytest.mark.parametrize("subdomain", ["", None, "api"])
def test_reused_bindings_equal_fresh_ones(binding: dict[str, t.Any], subdomain: str | None) -> None:
    from werkzeug.routing import Map

    from demijohn.routing import IndexedMap

    url_map = IndexedMap()
    for per_request in _PER_REQUEST * 2:  # cold, then from the cache
        environ = _environ(**binding, **per_request)
        assert vars(url_map.bind_to_environ(environ, subdomain=subdomain)) == vars(
            Map.bind_to_environ(url_map, environ, subdomain=subdomain)
        )


def test_bindings_are_copies_and_the_cache_is_bounded() -> None:
    from demijohn.routing import _MAX_BINDINGS, IndexedMap

    url_map = IndexedMap()
    first = url_map.bind_to_environ(_environ(PATH_INFO="/one"), subdomain="")
    second = url_map.bind_to_environ(_environ(PATH_INFO="/two"), subdomain="")
    assert (first.path_info, second.path_info) == ("/one", "/two")
    # Clients choose the Host header: a flood of them never grows the cache past its bound.
    for n in range(_MAX_BINDINGS * 3):
        environ = _environ(HTTP_HOST=f"host{n}.example")
        adapter = url_map.bind_to_environ(environ, subdomain="")
        assert adapter.server_name == f"host{n}.example"
    assert len(url_map._bindings) == _MAX_BINDINGS


def test_requests_through_reused_bindings(app: demijohn.Flask) -> None:
    app.add_url_rule("/p/<int:n>", "p", lambda n: f"{n} {demijohn.request.host}")
    client = app.test_client()
    assert client.get("/p/1", base_url="http://a.example").text == "1 a.example"
    assert client.get("/p/2", base_url="http://b.example:8000").text == "2 b.example:8000"
    assert client.get("/p/3", base_url="http://a.example").text == "3 a.example"
    redirect = client.get("/p/4/", base_url="https://a.example")
    assert redirect.status_code == 404
    with app.test_request_context("/p/5", base_url="https://c.example/root"):
        assert demijohn.url_for("p", n=6, _external=True) == "https://c.example/root/p/6"
