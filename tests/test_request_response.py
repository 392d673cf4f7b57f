"""Request data, body limits, return-value conversion, JSON, redirects, abort."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import io
import typing as t
import uuid

import pytest
from markupsafe import Markup
from werkzeug.datastructures import Headers
from werkzeug.exceptions import NotFound

import demijohn
from demijohn import abort, jsonify, make_response, redirect, request


def test_args_form_values_files(app: demijohn.Flask) -> None:
    @app.route("/", methods=["POST"])
    def index() -> dict[str, object]:
        upload = request.files["doc"]
        return {
            "q": request.args.get("q"),
            "tags": request.args.getlist("tag"),
            "name": request.form["name"],
            "values": sorted(request.values),
            "file": upload.filename,
            "content": upload.read().decode(),
        }

    resp = app.test_client().post(
        "/?q=x&tag=a&tag=b",
        data={"name": "Ada", "doc": (io.BytesIO(b"hello"), "a.txt")},
    )
    assert resp.json == {
        "q": "x",
        "tags": ["a", "b"],
        "name": "Ada",
        "values": ["name", "q", "tag"],
        "file": "a.txt",
        "content": "hello",
    }


def test_missing_form_key_is_400(app: demijohn.Flask) -> None:
    @app.route("/", methods=["POST"])
    def index() -> str:
        return request.form["missing"]

    app.config["TESTING"] = False
    resp = app.test_client().post("/", data={"other": "1"})
    assert resp.status_code == 400


def test_json_body(app: demijohn.Flask) -> None:
    @app.route("/", methods=["POST"])
    def index() -> dict[str, object]:
        return {"got": request.get_json(), "is_json": request.is_json}

    resp = app.test_client().post("/", json={"a": [1, 2]})
    assert resp.json == {"got": {"a": [1, 2]}, "is_json": True}


def test_malformed_json_is_400(app: demijohn.Flask) -> None:
    @app.route("/", methods=["POST"])
    def index() -> dict[str, object]:
        return {"got": request.get_json()}

    resp = app.test_client().post("/", data="{bad", content_type="application/json")
    assert resp.status_code == 400


def test_non_json_content_type(app: demijohn.Flask) -> None:
    @app.route("/strict", methods=["POST"])
    def strict() -> dict[str, object]:
        return {"got": request.get_json()}

    @app.route("/silent", methods=["POST"])
    def silent() -> dict[str, object]:
        return {"got": request.get_json(silent=True)}

    @app.route("/force", methods=["POST"])
    def force() -> dict[str, object]:
        return {"got": request.get_json(force=True)}

    client = app.test_client()
    assert client.post("/strict", data='{"a": 1}', content_type="text/plain").status_code == 415
    assert client.post("/silent", data='{"a": 1}', content_type="text/plain").json == {"got": None}
    assert client.post("/force", data='{"a": 1}', content_type="text/plain").json == {
        "got": {"a": 1}
    }


def test_max_content_length_413(app: demijohn.Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.route("/", methods=["POST"])
    def index() -> str:
        return str(len(request.get_data()))

    @app.route("/form", methods=["POST"])
    def form() -> str:
        return request.form.get("a", "")

    client = app.test_client()
    assert client.post("/", data=b"x" * 5).text == "5"
    assert client.post("/", data=b"x" * 50).status_code == 413
    assert client.post("/form", data={"a": "y" * 50}).status_code == 413


@pytest.mark.parametrize("size", [0, 9, 10, 11, 100_000])
def test_max_content_length_holds_for_a_body_without_length(size: int) -> None:
    # A chunked upload reaches the app with no Content-Length and
    # ``wsgi.input_terminated`` set (gunicorn, the dev server): the limit must
    # still answer 413, never hand the view a silently truncated body.
    from werkzeug.test import EnvironBuilder

    app = demijohn.Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 10
    seen: list[bytes] = []

    @app.post("/")
    def index() -> str:
        seen.append(request.get_data())
        return "ok"

    environ = EnvironBuilder(method="POST", data=b"x" * size).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input_terminated"] = True
    statuses: list[str] = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: statuses.append(status)))
    if size <= 10:
        assert (statuses, body, seen) == (["200 OK"], b"ok", [b"x" * size])
    else:
        assert statuses == ["413 REQUEST ENTITY TOO LARGE"] and seen == []


def test_max_form_memory_size(app: demijohn.Flask) -> None:
    app.config["MAX_FORM_MEMORY_SIZE"] = 8

    @app.route("/", methods=["POST"])
    def index() -> str:
        return request.form["a"]

    client = app.test_client()
    assert client.post("/", data={"a": "short"}).text == "short"
    resp = client.post("/", data={"a": "long value here", "f": (io.BytesIO(b"x"), "f.txt")})
    assert resp.status_code == 413


def test_request_routing_attributes(app: demijohn.Flask) -> None:
    seen: dict[str, object] = {}

    @app.route("/u/<int:uid>")
    def user(uid: int) -> str:
        seen.update(
            endpoint=request.endpoint,
            view_args=request.view_args,
            rule=request.url_rule.rule if request.url_rule else None,
            blueprint=request.blueprint,
            blueprints=request.blueprints,
        )
        return "ok"

    app.test_client().get("/u/3")
    assert seen == {
        "endpoint": "user",
        "view_args": {"uid": 3},
        "rule": "/u/<int:uid>",
        "blueprint": None,
        "blueprints": [],
    }
    with app.test_request_context("/missing"):
        assert isinstance(request.routing_exception, NotFound)


def test_arbitrary_attributes_on_request(app: demijohn.Flask) -> None:
    @app.before_request
    def tag() -> None:
        request.csp_nonce = "abc"  # type: ignore[attr-defined]

    @app.route("/")
    def index() -> str:
        return request.csp_nonce  # type: ignore[attr-defined, no-any-return]

    assert app.test_client().get("/").text == "abc"


@pytest.mark.parametrize(
    ("value", "status", "body", "mimetype"),
    [
        ("text", 200, b"text", "text/html"),
        (b"raw", 200, b"raw", "text/html"),
        ({"a": 1}, 200, b'{"a":1}\n', "application/json"),
        ([1, 2], 200, b"[1,2]\n", "application/json"),
        (("created", 201), 201, b"created", "text/html"),
        (("teapot", "418 I'M A TEAPOT"), 418, b"teapot", "text/html"),
        (({"e": 1}, 400), 400, b'{"e":1}\n', "application/json"),
    ],
)
def test_return_value_conversion(
    app: demijohn.Flask, value: object, status: int, body: bytes, mimetype: str
) -> None:
    app.add_url_rule("/", "index", lambda: value)
    resp = app.test_client().get("/")
    assert resp.status_code == status
    assert resp.data == body
    assert resp.mimetype == mimetype


def test_tuple_with_headers(app: demijohn.Flask) -> None:
    app.add_url_rule("/a", "a", lambda: ("body", {"X-A": "1"}))
    app.add_url_rule("/b", "b", lambda: ("body", 202, [("X-B", "2")]))
    app.add_url_rule("/c", "c", lambda: ("body", Headers({"X-C": "3"})))
    client = app.test_client()
    assert client.get("/a").headers["X-A"] == "1"
    resp = client.get("/b")
    assert resp.status_code == 202
    assert resp.headers["X-B"] == "2"
    assert client.get("/c").headers["X-C"] == "3"


@pytest.mark.wsgi_only
def test_generator_is_streamed(app: demijohn.Flask) -> None:
    produced: list[int] = []

    def gen() -> object:
        for i in range(3):
            produced.append(i)
            yield f"{i},"

    app.add_url_rule("/", "index", lambda: (gen(), {"X-Stream": "yes"}))
    resp = app.test_client().get("/", buffered=False)
    # Like Flask, at most the first chunk is produced before the body is read.
    assert len(produced) <= 1
    assert resp.headers["X-Stream"] == "yes"
    assert resp.get_data() == b"0,1,2,"


def test_response_object_and_wsgi_callable(app: demijohn.Flask) -> None:
    def wsgi(environ: dict[str, object], start_response: object) -> list[bytes]:
        start_response("202 Accepted", [("Content-Type", "text/plain")])  # type: ignore[operator]
        return [b"from wsgi"]

    app.add_url_rule("/resp", "resp", lambda: demijohn.Response("r", status=201))
    app.add_url_rule("/wsgi", "wsgi", lambda: wsgi)
    app.add_url_rule("/err", "err", lambda: NotFound())
    client = app.test_client()
    assert client.get("/resp").status_code == 201
    resp = client.get("/wsgi")
    assert (resp.status_code, resp.data) == (202, b"from wsgi")
    assert client.get("/err").status_code == 404


@pytest.mark.parametrize("value", [None, 42, ("a", 200, {}, "extra"), object()])
def test_invalid_return_values_name_the_view(app: demijohn.Flask, value: object) -> None:
    app.add_url_rule("/", "my_view", lambda: value)
    with pytest.raises(TypeError) as info:
        app.test_client().get("/")
    message = str(info.value)
    assert "my_view" in message or "response tuple" in message


def test_make_response_helper(app: demijohn.Flask) -> None:
    @app.route("/")
    def index() -> demijohn.Response:
        resp = make_response("body", 404)
        resp.headers["X-Extra"] = "1"
        return resp

    with app.test_request_context():
        assert make_response().status_code == 200
        assert make_response({"a": 1}).json == {"a": 1}
    resp = app.test_client().get("/")
    assert (resp.status_code, resp.headers["X-Extra"]) == (404, "1")


def test_jsonify_forms(app: demijohn.Flask) -> None:
    with app.app_context():
        assert jsonify(a=1).json == {"a": 1}
        assert jsonify([1, 2]).json == [1, 2]
        assert jsonify(1, 2).json == [1, 2]
        assert jsonify("x").json == "x"
        with pytest.raises(TypeError):
            jsonify(1, a=2)


def test_json_provider_types(app: demijohn.Flask) -> None:
    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    value = uuid.UUID(int=1)
    data = {
        "date": datetime.date(2024, 1, 2),
        "dt": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "uuid": value,
        "dec": decimal.Decimal("1.50"),
        "point": Point(1, 2),
        "html": Markup("<b>x</b>"),
    }
    with app.app_context():
        loaded = demijohn.json.loads(demijohn.json.dumps(data))
    assert loaded == {
        "date": "Tue, 02 Jan 2024 00:00:00 GMT",
        "dt": "Tue, 02 Jan 2024 03:04:05 GMT",
        "uuid": str(value),
        "dec": "1.50",
        "point": {"x": 1, "y": 2},
        "html": "<b>x</b>",
    }


def test_json_provider_options(app: demijohn.Flask) -> None:
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.compact = False  # type: ignore[attr-defined]
    app.json.mimetype = "application/vnd.api+json"  # type: ignore[attr-defined]
    with app.app_context():
        resp = jsonify({"b": "é", "a": 1})
    assert resp.mimetype == "application/vnd.api+json"
    assert resp.get_data(as_text=True) == '{\n  "b": "é",\n  "a": 1\n}\n'


def test_json_pretty_in_debug(app: demijohn.Flask) -> None:
    app.debug = True
    with app.app_context():
        assert jsonify(a=1).get_data(as_text=True) == '{\n  "a": 1\n}\n'


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_codes(app: demijohn.Flask, code: int) -> None:
    app.add_url_rule("/", "index", lambda: redirect("/login", code=code))
    resp = app.test_client().get("/")
    assert resp.status_code == code
    assert resp.location == "/login"


def test_abort_with_code_and_response(app: demijohn.Flask) -> None:
    @app.route("/code")
    def code() -> str:
        abort(403)

    @app.route("/described")
    def described() -> str:
        abort(404, description="no such thing")

    @app.route("/resp")
    def resp() -> str:
        abort(demijohn.Response("custom", status=418))

    client = app.test_client()
    assert client.get("/code").status_code == 403
    described_resp = client.get("/described")
    assert described_resp.status_code == 404
    assert b"no such thing" in described_resp.data
    custom = client.get("/resp")
    assert (custom.status_code, custom.text) == (418, "custom")


def test_abort_unknown_code_raises_lookup_error(app: demijohn.Flask) -> None:
    with app.app_context(), pytest.raises(LookupError):
        abort(299)


def test_response_defaults(app: demijohn.Flask) -> None:
    resp = demijohn.Response("x")
    assert resp.mimetype == "text/html"
    with app.app_context():
        app.config["MAX_COOKIE_SIZE"] = 10
        assert resp.max_cookie_size == 10


@pytest.mark.parametrize(
    ("status", "method", "extra_headers"),
    [
        (200, "GET", {}),
        (201, "POST", {"X-A": "1"}),
        (200, "HEAD", {}),
        (204, "DELETE", {}),
        (304, "GET", {}),
        (302, "GET", {"Location": "/ünïcode path"}),
        (200, "GET", {"Content-Location": "/naïve"}),
        (500, "GET", {}),
        (404, "GET", {}),
        (405, "GET", {"Allow": "GET, HEAD"}),
        (404, "HEAD", {}),
        (101, "GET", {}),
        (301, "GET", {"Location": "/elsewhere"}),
    ],
)
def test_short_wsgi_path_matches_werkzeug(
    status: int, method: str, extra_headers: dict[str, str]
) -> None:
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Response as WerkzeugResponse

    def send(call: t.Any) -> tuple[str, list[tuple[str, str]], bytes]:
        seen: list[t.Any] = []
        body = call(
            EnvironBuilder(method=method).get_environ(),
            lambda s, h, e=None: seen.extend((s, h)),
        )
        data = b"".join(body)
        getattr(body, "close", lambda: None)()
        return seen[0], list(seen[1]), data

    def build(cls: type[WerkzeugResponse]) -> WerkzeugResponse:
        response = cls("héllo", status=status, headers=extra_headers)
        response.autocorrect_location_header = False
        return response

    ours = build(demijohn.Response)
    theirs = build(WerkzeugResponse)
    theirs.default_mimetype = "text/html"
    theirs.headers["Content-Type"] = ours.headers["Content-Type"]
    assert send(ours) == send(WerkzeugResponse.__call__.__get__(theirs))
