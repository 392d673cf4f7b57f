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
