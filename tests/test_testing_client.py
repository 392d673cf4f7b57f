"""The test client: request building, cookies, redirects, kept contexts."""

from __future__ import annotations

import io

import pytest

import demijohn
from demijohn import request, session


def test_request_building(app: demijohn.Flask) -> None:
    @app.route("/echo", methods=["GET", "POST"])
    def echo() -> dict[str, object]:
        return {
            "args": request.args.to_dict(),
            "form": request.form.to_dict(),
            "json": request.get_json(silent=True),
            "header": request.headers.get("X-Test"),
            "files": list(request.files),
            "remote": request.remote_addr,
        }

    client = app.test_client()
    assert client.get("/echo", query_string={"a": "1"}, headers={"X-Test": "yes"}).json == {
        "args": {"a": "1"},
        "form": {},
        "json": None,
        "header": "yes",
        "files": [],
        "remote": "127.0.0.1",
    }
    resp = client.post("/echo", data={"f": "v", "up": (io.BytesIO(b"x"), "x.txt")})
    assert resp.json["form"] == {"f": "v"}
    assert resp.json["files"] == ["up"]
    assert client.post("/echo", json={"k": [1]}).json["json"] == {"k": [1]}


def test_response_attributes(app: demijohn.Flask) -> None:
    app.add_url_rule("/", "index", lambda: ({"a": 1}, 201, {"X-H": "v"}))
    resp = app.test_client().get("/")
    assert resp.status_code == 201
    assert resp.status == "201 CREATED"
    assert resp.json == {"a": 1}
    assert resp.text == '{"a":1}\n'
    assert resp.data == b'{"a":1}\n'
    assert resp.headers["X-H"] == "v"


def test_follow_redirects_history(app: demijohn.Flask) -> None:
    app.add_url_rule("/a", "a", lambda: demijohn.redirect("/b"))
    app.add_url_rule("/b", "b", lambda: demijohn.redirect("/c"))
    app.add_url_rule("/c", "c", lambda: "done")
    resp = app.test_client().get("/a", follow_redirects=True)
    assert resp.text == "done"
    assert [r.location for r in resp.history] == ["/b", "/c"]
    assert resp.request.path == "/c"


def test_cookies_kept_across_requests(app: demijohn.Flask) -> None:
    @app.route("/set")
    def set_cookie() -> demijohn.Response:
        resp = demijohn.make_response("set")
        resp.set_cookie("flavor", "oatmeal")
        return resp

    @app.route("/get")
    def get_cookie() -> str:
        return request.cookies.get("flavor", "none")

    client = app.test_client()
    client.get("/set")
    assert client.get("/get").text == "oatmeal"
    assert client.get_cookie("flavor").value == "oatmeal"  # type: ignore[union-attr]
    assert app.test_client(use_cookies=False).get("/get").text == "none"


@pytest.mark.wsgi_only
def test_with_client_keeps_request_context(app: demijohn.Flask) -> None:
    @app.route("/")
    def index() -> str:
        demijohn.g.seen = True
        return "ok"

    with app.test_client() as client:
        client.get("/?x=1")
        assert request.args["x"] == "1"
        assert demijohn.g.seen is True
        client.get("/?x=2")
        assert request.args["x"] == "2"
    assert not demijohn.has_request_context()


def test_nested_with_client_is_an_error(app: demijohn.Flask) -> None:
    client = app.test_client()
    with client, pytest.raises(RuntimeError, match="Cannot nest client invocations"):
        client.__enter__()


def test_session_transaction(app: demijohn.Flask) -> None:
    app.secret_key = "testing"

    @app.route("/")
    def index() -> str:
        return str(session.get("user_id"))

    client = app.test_client()
    with client.session_transaction() as sess:
        sess["user_id"] = 42
    assert client.get("/").text == "42"
    with client.session_transaction() as sess:
        assert sess["user_id"] == 42

    with (
        pytest.raises(TypeError, match="Cookies are disabled"),
        app.test_client(use_cookies=False).session_transaction(),
    ):
        pass


def test_test_request_context_options(app: demijohn.Flask) -> None:
    app.config["SERVER_NAME"] = "example.test"
    with app.test_request_context("/p", subdomain="api", url_scheme="https"):
        assert request.host == "api.example.test"
        assert request.scheme == "https"
    with (
        pytest.raises(ValueError, match="Cannot pass"),
        app.test_request_context("/", base_url="http://x", subdomain="a"),
    ):
        pass
