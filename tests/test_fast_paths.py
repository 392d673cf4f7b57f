"""The per-request shortcuts give exactly what the general path gives.

``buffered_response`` (views returning ``str``/``bytes``/``dict``) and
``error_response`` (error pages) skip work on the hot path; each is compared
here, attribute by attribute, with what Werkzeug's general path builds. So are
the direct parse of urlencoded forms (against Werkzeug's ``FormDataParser``)
and the context proxies' attribute reads.
"""

from __future__ import annotations

import io
import re
import typing as t
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import EnvironHeaders, Headers, ImmutableMultiDict, MultiDict
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
)
from werkzeug.formparser import FormDataParser
from werkzeug.local import LocalProxy
from werkzeug.test import EnvironBuilder
from werkzeug.utils import redirect as werkzeug_redirect
from werkzeug.wrappers import Request as WerkzeugRequest
from werkzeug.wrappers import Response as WerkzeugResponse

import demijohn
from demijohn import current_app, g, request, session
from demijohn._shortcuts.werkzeug import has_close_callbacks, header_pairs
from demijohn.asgi import _request_without_body, make_environ
from demijohn.wrappers import (
    Response,
    buffered_parts,
    buffered_response,
    error_response,
    redirect_response,
    scope_header,
    scope_routing_input,
)


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


class Created(Response):
    default_status = 201


_HEADER_FORMS: list[t.Any] = [
    None,
    {},
    {"X-A": "b"},
    {"Content-Type": "text/plain"},
    [("X-A", "1"), ("X-A", "2"), ("content-type", "application/xml")],
    [("Content-Length", "999"), ("X-B", "c")],
    (("X-T", "tuple"),),
]


@pytest.mark.parametrize("cls", [Response, TextResponse, CustomInit, WerkzeugResponse, Created])
@pytest.mark.parametrize("data", ["hello", b"raw", ""])
@pytest.mark.parametrize("status", [None, 200, 201, 404])
@pytest.mark.parametrize("headers", _HEADER_FORMS)
def test_buffered_response_with_headers_equals_the_constructor(
    cls: type[WerkzeugResponse], data: str | bytes, status: int | None, headers: t.Any
) -> None:
    expected = cls(data, status, headers)
    built = buffered_response(cls, data, status=status, headers=headers)
    assert snapshot(built) == snapshot(expected)
    # A Headers object is taken as the constructor takes it: the same object.
    given = Headers([("X-Given", "1")])
    assert buffered_response(cls, data, status=status, headers=given).headers is given


_TUPLES: list[t.Any] = [
    ("text", {"Content-Type": "text/plain"}),
    ("text", {"X-A": "b"}),
    ("text", 201),
    ("text", "201 CREATED"),
    ("text", 201, {"X-A": "b"}),
    ("text", 201, [("X-A", "b"), ("X-A", "c")]),
    (b"bytes", 418, Headers([("X-H", "1")])),
]


@pytest.mark.parametrize("returned", _TUPLES, ids=repr)
@pytest.mark.parametrize("response_class", [Response, Created])
def test_returned_tuples_are_the_constructors_response(
    app: demijohn.Flask, returned: tuple[t.Any, ...], response_class: type[Response]
) -> None:
    app.response_class = response_class
    app.add_url_rule("/", "view", lambda: returned)
    got = app.test_client().get("/")
    body, *rest = returned
    status = next((item for item in rest if isinstance(item, int | str)), None)
    headers = next((item for item in rest if not isinstance(item, int | str)), None)
    expected = response_class(body, status, headers)
    assert (got.status, got.get_data()) == (expected.status, expected.get_data())
    # (Names in lower case through the ASGI door, as ASGI spells them.)
    assert [(name.lower(), value) for name, value in got.headers.items()] == [
        (name.lower(), value) for name, value in expected.headers.items()
    ]


def test_a_response_class_default_status_applies_to_every_return_form(
    app: demijohn.Flask,
) -> None:
    app.response_class = Created
    app.add_url_rule("/text", "text", lambda: "made")
    app.add_url_rule("/json", "json", lambda: {"made": True})
    client = app.test_client()
    assert client.get("/text").status_code == 201
    assert client.get("/json").status_code == 201


def test_close_callbacks_are_seen() -> None:
    built = buffered_response(Response, "hi")
    made = Response("hi")
    closed: list[str] = []
    for response in (built, made):
        assert not has_close_callbacks(response)
        response.call_on_close(lambda: closed.append("closed"))
        assert has_close_callbacks(response)
        response.close()
    assert closed == ["closed", "closed"]


_LOCATIONS = [
    "/x",
    "http://example.com/a/b?c=d&e=f#g",
    "/ünïcode",
    "/with space",
    "/x?",
    "/x#",
    "//other.host/p",
    "HTTP://Example.com/",
    "/a[1]",
    "/q?next=%2Fhome",
    "mailto:someone@example.com",
]


@pytest.mark.parametrize("location", _LOCATIONS)
@pytest.mark.parametrize(
    "extra",
    [[], [("Content-Location", "/x")], [("Content-Location", "/ü")], [("Location", "/second")]],
)
@pytest.mark.parametrize("absolute", [False, True])
def test_buffered_parts_send_locations_as_werkzeug_does(
    location: str, extra: list[tuple[str, str]], absolute: bool
) -> None:
    environ = EnvironBuilder("/here").get_environ()
    response = buffered_response(Response, "moved", status=302)
    response.headers["Location"] = location
    for name, value in extra:
        response.headers.add(name, value)
    response.autocorrect_location_header = absolute
    app_iter, status, headers = response.get_wsgi_response(environ)
    expected = (status, list(headers), b"".join(app_iter))
    fast = buffered_parts(response, environ["REQUEST_METHOD"])
    if fast is not None:
        assert (response.status, *fast[1:]) == expected
        assert fast[0] == int(status.split()[0])
    # The plain cases do take the shortcut.
    if location in ("/x", "/q?next=%2Fhome") and not extra and not absolute:
        assert fast is not None


@pytest.mark.parametrize("location", _LOCATIONS)
@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("cls", [Response, TextResponse, CustomInit, WerkzeugResponse])
def test_redirect_response_equals_werkzeugs_redirect(
    location: str, code: int, cls: type[WerkzeugResponse]
) -> None:
    assert snapshot(redirect_response(cls, location, code)) == snapshot(
        werkzeug_redirect(location, code, cls)
    )


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


# --- Urlencoded forms: demijohn's direct parse against Werkzeug's FormDataParser.

URLENCODED = "application/x-www-form-urlencoded"

FORM_BODIES = [
    b"a=1&b=2",
    b"a=1&a=2&b=&c",
    b"name=Ada+Lovelace&city=Z%C3%BCrich&sym=%26%3D%2B",
    b"bad=%ZZ&half=%4&ok=1",
    b"latin=%E9t%E9&bytes=%FF%FE",  # percent-escapes that are not UTF-8
    b"raw=\xff\xfe",  # a body that is not UTF-8 at all: an empty form
    b"",
    b"&&=&a=&=b",
    b"k=v;k2=v2",
    b"x=" + b"y" * 5000,
]


def _form_environ(body: bytes, content_type: str, **overrides: t.Any) -> dict[str, t.Any]:
    builder = EnvironBuilder(
        path="/", method="POST", data=body, content_type=content_type, environ_overrides=overrides
    )
    try:
        return builder.get_environ()
    finally:
        builder.close()


def _parse(request_class: type[WerkzeugRequest], environ: dict[str, t.Any]) -> t.Any:
    """What a request of ``request_class`` makes of the body, errors included."""
    request = request_class(environ)
    try:
        form = request.form
    except HTTPException as e:
        return "error", e.code
    return (
        type(form),
        list(form.items(multi=True)),
        list(request.files.items(multi=True)),
        request.stream.read(),
        request.get_data(),
    )


def _both(body: bytes, content_type: str, **overrides: t.Any) -> tuple[t.Any, t.Any]:
    app = demijohn.Flask(__name__)
    with app.app_context():
        ours = _parse(demijohn.Request, _form_environ(body, content_type, **overrides))
    theirs = _parse(WerkzeugRequest, _form_environ(body, content_type, **overrides))
    return ours, theirs


@pytest.mark.parametrize("body", FORM_BODIES)
@pytest.mark.parametrize(
    "content_type",
    [URLENCODED, URLENCODED + "; charset=utf-8", "Application/X-WWW-Form-Urlencoded"],
)
@pytest.mark.parametrize("terminated", [False, True])
def test_urlencoded_forms_parse_as_werkzeug_parses_them(
    body: bytes, content_type: str, terminated: bool
) -> None:
    overrides = {"wsgi.input_terminated": True} if terminated else {}
    ours, theirs = _both(body, content_type, **overrides)
    assert ours == theirs
    assert ours[0] is ImmutableMultiDict


#: Bodies a client might send: raw bytes, and name=value pairs with every kind
#: of escape, valid or not, spliced together.
_BODY_PARTS = st.sampled_from(
    ["=", "&", ";", "+", "%", "%2", "%41", "%C3%A9", "%FF", "é", "a", " "]
)
_BODIES = st.binary(max_size=120) | st.lists(_BODY_PARTS, max_size=30).map(
    lambda parts: "".join(parts).encode()
)


@settings(max_examples=300, deadline=None)
@given(body=_BODIES, terminated=st.booleans())
def test_any_urlencoded_body_parses_as_werkzeug_parses_it(body: bytes, terminated: bool) -> None:
    overrides = {"wsgi.input_terminated": True} if terminated else {}
    ours, theirs = _both(body, URLENCODED, **overrides)
    assert ours == theirs


def test_a_body_shorter_than_its_content_length_is_a_400_both_ways() -> None:
    # The client went away: Werkzeug's guarded stream answers 400, and so do we.
    ours, theirs = _both(b"a=1", URLENCODED, CONTENT_LENGTH="50")
    assert ours == theirs == ("error", 400)


def test_a_body_read_first_is_parsed_from_the_cache() -> None:
    app = demijohn.Flask(__name__)
    with app.app_context():
        request = demijohn.Request(_form_environ(b"a=1&b=2", URLENCODED))
        assert request.get_data() == b"a=1&b=2"
        assert request.form.to_dict() == {"a": "1", "b": "2"}
        assert request.get_data() == b"a=1&b=2"


@pytest.mark.parametrize("terminated", [False, True])
def test_max_content_length_still_answers_413(app: demijohn.Flask, terminated: bool) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    app.add_url_rule("/", "form", lambda: request.form.to_dict(), methods=["POST"])
    overrides = {"wsgi.input_terminated": True} if terminated else {}
    client = app.test_client()
    big = client.post("/", data={"a": "x" * 20}, environ_overrides=overrides)
    assert big.status_code == 413
    small = client.post("/", data={"a": "x"}, environ_overrides=overrides)
    assert (small.status_code, small.json) == (200, {"a": "x"})


class MarkingParser(FormDataParser):
    def _parse_urlencoded(self, stream: t.Any, *args: t.Any) -> t.Any:
        stream.read()
        return stream, self.cls({"parsed_by": "MarkingParser"}), self.cls()


class OwnParserClass(demijohn.Request):
    form_data_parser_class = MarkingParser


class OwnParserFactory(demijohn.Request):
    def make_form_data_parser(self) -> FormDataParser:
        return MarkingParser(cls=self.parameter_storage_class)


class NoFormParsing(demijohn.Request):
    @property
    def want_form_data_parsed(self) -> bool:
        return False


class MutableForms(demijohn.Request):
    parameter_storage_class = MultiDict


@pytest.mark.parametrize("request_class", [OwnParserClass, OwnParserFactory])
def test_a_custom_form_parser_is_still_used(
    app: demijohn.Flask, request_class: type[demijohn.Request]
) -> None:
    app.request_class = request_class
    app.add_url_rule("/", "form", lambda: request.form.to_dict(), methods=["POST"])
    assert app.test_client().post("/", data={"a": "1"}).json == {"parsed_by": "MarkingParser"}


def test_want_form_data_parsed_and_the_storage_class_are_honoured(app: demijohn.Flask) -> None:
    app.add_url_rule(
        "/",
        "form",
        lambda: {"form": request.form.to_dict(), "type": type(request.form).__name__},
        methods=["POST"],
    )
    client = app.test_client()
    app.request_class = NoFormParsing
    assert client.post("/", data={"a": "1"}).json == {"form": {}, "type": "ImmutableMultiDict"}
    app.request_class = MutableForms
    assert client.post("/", data={"a": "1"}).json == {"form": {"a": "1"}, "type": "MultiDict"}


def test_form_is_parsed_once_then_a_plain_attribute(app: demijohn.Flask) -> None:
    seen = []

    @app.post("/")
    def view() -> str:
        first = request.form
        assert request.form is first and request.files is request.files
        assert vars(request._get_current_object())["form"] is first  # type: ignore[attr-defined]
        replacement = ImmutableMultiDict({"b": "2"})
        request.form = replacement
        seen.append(request.form is replacement)
        return first["a"]

    assert app.test_client().post("/", data={"a": "1"}).text == "1"
    assert seen == [True]
    assert demijohn.Request.form.__doc__ == WerkzeugRequest.form.__doc__


def test_debug_mode_explains_files_missing_from_a_urlencoded_form(app: demijohn.Flask) -> None:
    app.debug = True

    @app.post("/")
    def view() -> str:
        try:
            request.files["upload"]
        except KeyError as e:
            return str(e)
        return "no error"

    message = app.test_client().post("/", data={"upload": "name.txt"}).text
    assert "enctype" in message and "multipart/form-data" in message


# --- The context proxies: attribute reads skip Werkzeug's descriptor, nothing else changes.


def test_proxies_read_set_and_delete_through_the_current_object(app: demijohn.Flask) -> None:
    with app.test_request_context("/?q=1"):
        assert request.args["q"] == "1"
        assert request.method == "GET"
        g.x = 1
        assert g.x == 1 and "x" in g
        del g.x
        assert "x" not in g
        with pytest.raises(AttributeError):
            g.missing  # noqa: B018
        with pytest.raises(AttributeError):
            request.no_such_attribute  # noqa: B018
        assert current_app.name == app.name
        assert isinstance(request, LocalProxy)
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        request.form  # noqa: B018
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        g.x  # noqa: B018


def test_each_proxy_remembers_only_the_names_read_through_it(app: demijohn.Flask) -> None:
    with app.test_request_context("/"):
        g.only_on_g = 1
        assert g.only_on_g == 1
        assert "only_on_g" in vars(type(g))
        assert "only_on_g" not in vars(type(request))
        assert "only_on_g" not in vars(type(current_app))
        # A name the object lacks is not remembered.
        with pytest.raises(AttributeError):
            g.never_set  # noqa: B018
        assert "never_set" not in vars(type(g))
    # A remembered name reads the new context's object, not the old one's.
    with app.test_request_context("/"), pytest.raises(AttributeError):
        g.only_on_g  # noqa: B018


class WithExtra(demijohn.Request):
    extra = "from the subclass"


def test_forwarded_names_and_the_fallback_reach_the_current_object(app: demijohn.Flask) -> None:
    app.request_class = WithExtra
    app.config["SECRET_KEY"] = "k"

    @app.post("/<name>")
    def view(name: str) -> dict[str, t.Any]:
        session["seen"] = True
        return {
            # Class-level names and those Werkzeug sets in __init__, forwarded...
            "form": request.form.to_dict(),
            "method": request.method,
            "path": request.path,
            "view_args": request.view_args,
            "config": current_app.config["SECRET_KEY"],
            "app": current_app.name,
            "session": session.get("seen"),
            # ...and a name only the app's own request class has, through __getattr__.
            "extra": request.extra,  # type: ignore[attr-defined]
        }

    response = app.test_client().post("/x", data={"a": "1"})
    assert response.json == {
        "form": {"a": "1"},
        "method": "POST",
        "path": "/x",
        "view_args": {"name": "x"},
        "config": "k",
        "app": app.name,
        "session": True,
        "extra": "from the subclass",
    }
    for proxy, name in [(request, "form"), (request, "method"), (current_app, "config")]:
        assert name in vars(type(proxy))
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        current_app.config  # noqa: B018


def test_a_forwarded_name_the_current_object_lacks_is_an_attribute_error(
    app: demijohn.Flask,
) -> None:
    class Bare:
        pass

    with app.test_request_context("/"):
        ctx = demijohn.globals._cv_request.get()
        real, ctx.request = ctx.request, Bare()  # type: ignore[assignment]
        try:
            assert "form" in vars(type(request))
            with pytest.raises(AttributeError, match="form"):
                request.form  # noqa: B018
            assert not hasattr(request, "method")
        finally:
            ctx.request = real


def test_uploads_are_closed_when_the_request_ends(app: demijohn.Flask) -> None:
    kept: list[t.Any] = []

    @app.post("/")
    def view() -> str:
        kept.append(request.files["f"])
        return request.files["f"].read().decode()

    client = app.test_client()
    sent = {"f": (io.BytesIO(b"uploaded"), "a.txt"), "note": "x"}
    assert client.post("/", data=sent, content_type="multipart/form-data").text == "uploaded"
    assert kept[0].stream.closed
    # A form without uploads has nothing to close, and still ends cleanly.
    assert client.post("/", data={"note": "x"}).status_code == 400


# --- The shortcuts into other libraries' internals stay in one place.

#: Private names of Werkzeug, asyncio and CPython that demijohn's fast paths use.
_PRIVATE_NAMES = re.compile(
    r"\._list\b|_set_running_loop|_get_running_loop|_is_coroutine_marker"
    r"|_is_coroutine\b|MapAdapter\.__new__|\._on_close"
)


def test_private_internals_are_reached_only_from_the_shortcuts_package() -> None:
    package = Path(demijohn.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        if path.parent.name != "_shortcuts"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _PRIVATE_NAMES.search(line)
    ]
    assert offenders == []


# -- the request constructor ----------------------------------------------------

#: WSGI strings: text as latin-1-decoded bytes, so non-ASCII and invalid UTF-8 too.
_WSGI_TEXT = st.one_of(
    st.sampled_from(["", "/", "/a/b", "//x/", "/app/", "/caf\xc3\xa9", "/\xff\xfe", "/a%20b"]),
    st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass").decode("latin-1")),
    st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
)
_MISSING = object()


def _maybe(values: st.SearchStrategy[t.Any]) -> st.SearchStrategy[t.Any]:
    return st.just(_MISSING) | values


@settings(max_examples=300, deadline=None)
@given(
    method=_maybe(st.sampled_from(["GET", "post", "PATCH"])),
    scheme=_maybe(st.sampled_from(["http", "https"])),
    server_name=_maybe(st.sampled_from(["localhost", "127.0.0.1", "/run/app.sock"])),
    server_port=_maybe(st.sampled_from(["80", "8000", "", "x", None, 8080])),
    script_name=_maybe(_WSGI_TEXT),
    path_info=_maybe(_WSGI_TEXT),
    query_string=_maybe(st.sampled_from(["", "a=1&b=2", "q=caf\xc3\xa9"])),
    remote_addr=_maybe(st.sampled_from(["127.0.0.1", "::1"])),
    populate_request=st.booleans(),
    shallow=st.booleans(),
)
def test_request_init_equals_werkzeugs(
    method: t.Any,
    scheme: t.Any,
    server_name: t.Any,
    server_port: t.Any,
    script_name: t.Any,
    path_info: t.Any,
    query_string: t.Any,
    remote_addr: t.Any,
    populate_request: bool,
    shallow: bool,
) -> None:
    given_keys = {
        "REQUEST_METHOD": method,
        "wsgi.url_scheme": scheme,
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": query_string,
        "REMOTE_ADDR": remote_addr,
    }
    environ = {key: value for key, value in given_keys.items() if value is not _MISSING}
    ours = demijohn.Request(dict(environ), populate_request=populate_request, shallow=shallow)
    theirs = WerkzeugRequest(dict(environ), populate_request=populate_request, shallow=shallow)

    def state(request: WerkzeugRequest) -> dict[str, t.Any]:
        attributes = {k: v for k, v in vars(request).items() if k not in ("environ", "headers")}
        environ = dict(request.environ)
        # Each environ points back at its own request object, if at all.
        back = environ.pop("werkzeug.request", None)
        attributes["points back"] = back is request
        attributes["environ"] = environ
        attributes["headers"] = (type(request.headers), list(request.headers.items()))
        return attributes

    assert state(ours) == state(theirs)


_HEADER_NAMES = [b"host", b"cookie", b"upgrade", b"accept", b"x_under", b"user-agent", b"x-a"]


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "HEAD", "get", "POST"]),
    scheme=_maybe(st.sampled_from(["http", "https"])),
    server=_maybe(
        st.sampled_from([("127.0.0.1", 8000), ("localhost", 80), ("/run/app.sock", None), None])
    ),
    client=_maybe(st.sampled_from([("127.0.0.1", 5000), ("::1", 1), None])),
    root_path=_maybe(st.sampled_from(["", "/app"])),
    path=st.sampled_from(["/", "/hello", "", "hello", "//x/", "/a//b/", "/caf\xe9", "/a%20b"]),
    query_string=st.sampled_from([b"", b"a=1&b=2", b"q=caf\xc3\xa9", b"\xff"]),
    http_version=_maybe(st.sampled_from(["1.1", "1.0", "2"])),
    headers=st.lists(st.tuples(st.sampled_from(_HEADER_NAMES), st.binary(max_size=8)), max_size=5),
)
def test_request_from_scope_equals_werkzeugs(
    method: str,
    scheme: t.Any,
    server: t.Any,
    client: t.Any,
    root_path: t.Any,
    path: str,
    query_string: bytes,
    http_version: t.Any,
    headers: list[tuple[bytes, bytes]],
) -> None:
    """A request the ASGI door builds from a bodiless scope equals one built from its environ.

    Everything the request holds, its environ (made when first read) and
    headers included; and the pipeline's reads of the environ answer the
    same before it is made.
    """
    given_keys = {
        "scheme": scheme,
        "server": server,
        "client": client,
        "root_path": root_path,
        "http_version": http_version,
    }
    scope = {key: value for key, value in given_keys.items() if value is not _MISSING}
    scope.update(type="http", method=method, path=path, query_string=query_string)
    scope["headers"] = headers
    app = demijohn.Flask(__name__)
    ours = _request_without_body(app, scope)
    environ = make_environ(scope)
    environ["wsgi.input"] = io.BytesIO()
    theirs = demijohn.Request(environ)
    if ours is None:
        # Only the scopes the environ would show to have a body, or where
        # building from the scope could differ, are left to the environ.
        names = [name for name, _ in headers]
        assert (
            method not in ("GET", "HEAD")
            or len(set(names)) != len(names)
            or http_version == "2"
            or root_path == "/app"
            or not path.isascii()
        )
        return
    assert ours.__dict__.keys().isdisjoint({"environ", "headers"})
    for name in (b"host", b"cookie", b"upgrade"):
        raw = scope_header(ours, name)
        key = "HTTP_" + name.decode().upper()
        assert (raw if raw is None else raw.decode("latin-1")) == environ.get(key), key
    path = None if "HTTP_UPGRADE" in environ else environ["PATH_INFO"]
    assert scope_routing_input(ours) == (path, environ["REQUEST_METHOD"])
    assert ours.method == environ["REQUEST_METHOD"]  # what the ASGI door sends HEAD by

    def state(request: demijohn.Request) -> dict[str, t.Any]:
        attributes = {
            key: value
            for key, value in vars(request).items()
            if key not in ("environ", "headers", "_asgi_scope", "_asgi_headers")
        }
        made = dict(request.environ)
        attributes["points back"] = made.pop("werkzeug.request") is request
        attributes["input"] = made.pop("wsgi.input").read()
        attributes["environ"] = made
        attributes["headers"] = (type(request.headers), list(request.headers.items()))
        return attributes

    assert state(ours) == state(theirs)


class _NotedHeaders(Headers):
    """A Headers subclass with its own WSGI list."""

    def to_wsgi_list(self) -> list[tuple[str, str]]:
        return [*super().to_wsgi_list(), ("X-Noted", "1")]


@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(["Content-Type", "X-A", "Set-Cookie"]),
            st.text(alphabet="ab =;/\xe9", max_size=5),
        ),
        max_size=4,
    )
)
def test_header_pairs_equal_the_wsgi_list(pairs: list[tuple[str, str]]) -> None:
    for headers in (Headers(pairs), _NotedHeaders(pairs), EnvironHeaders({"HTTP_X_A": "1"})):
        assert header_pairs(headers) == headers.to_wsgi_list()


def test_a_wsgi_server_adding_headers_leaves_the_response_unchanged() -> None:
    """The short path hands the server a copy of the response's header list."""
    response = buffered_response(Response, "hi")
    before = list(response.headers.items())

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        headers.append(("Server", "test"))  # as wsgiref does

    assert list(response(EnvironBuilder("/").get_environ(), start_response)) == [b"hi"]
    assert list(response.headers.items()) == before
