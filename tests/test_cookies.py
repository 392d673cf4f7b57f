"""Plain cookies: ``set_cookie`` / ``delete_cookie`` and ``request.cookies``, through both doors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from demijohn import Flask, make_response, request
from demijohn.testing import FlaskClient


def attributes(header: str) -> tuple[str, dict[str, str]]:
    """Split a ``Set-Cookie`` value into ``name=value`` and its attributes."""
    first, *rest = header.split("; ")
    parsed: dict[str, str] = {}
    for item in rest:
        key, _, value = item.partition("=")
        parsed[key] = value
    return first, parsed


def test_set_cookie_with_every_parameter(app: Flask, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> object:
        response = make_response("ok")
        response.set_cookie(
            "full",
            "v",
            max_age=60,
            expires=datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC),
            path="/app",
            domain="example.com",
            secure=True,
            httponly=True,
            samesite="Strict",
            partitioned=True,
        )
        return response

    first, attrs = attributes(client.get("/").headers["Set-Cookie"])
    assert first == "full=v"
    assert attrs == {
        "Domain": "example.com",
        "Expires": "Tue, 06 May 2031 07:08:09 GMT",
        "Max-Age": "60",
        "Secure": "",
        "HttpOnly": "",
        "Path": "/app",
        "SameSite": "Strict",
        "Partitioned": "",
    }


def test_set_cookie_defaults_and_alternative_forms(app: Flask, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> object:
        response = make_response("ok")
        response.set_cookie("plain")  # value defaults to ""
        response.set_cookie("td", "1", max_age=timedelta(hours=1))
        response.set_cookie("ts", "2", expires=0)  # a UNIX timestamp
        response.set_cookie("lax", "3", samesite="lax")  # normalised to "Lax"
        return response

    headers = dict(attributes(h) for h in client.get("/").headers.getlist("Set-Cookie"))
    assert headers["plain="] == {"Path": "/"}
    assert headers["td=1"]["Max-Age"] == "3600"
    assert "Expires" in headers["td=1"]  # max_age also sets Expires, for old browsers
    assert headers["ts=2"] == {"Expires": "Thu, 01 Jan 1970 00:00:00 GMT", "Path": "/"}
    assert headers["lax=3"]["SameSite"] == "Lax"


def test_set_cookie_rejects_a_bad_samesite(app: Flask, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> object:
        response = make_response("ok")
        response.set_cookie("c", "v", samesite="sometimes")
        return response

    app.testing = False
    assert client.get("/").status_code == 500
    app.testing = True
    with pytest.raises(ValueError, match="SameSite"):
        client.get("/")


def test_cookie_values_are_quoted_and_read_back(app: Flask, client: FlaskClient) -> None:
    value = 'a value; with "quotes", commas and \u00e9'

    @app.route("/set")
    def set_it() -> object:
        response = make_response("ok")
        response.set_cookie("odd", value)
        return response

    @app.route("/get")
    def get_it() -> str:
        return request.cookies["odd"]

    client.get("/set")
    assert client.get("/get").text == value


def test_delete_cookie_with_every_parameter(app: Flask, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> object:
        response = make_response("bye")
        response.delete_cookie(
            "full",
            path="/app",
            domain="example.com",
            secure=True,
            httponly=True,
            samesite="None",
            partitioned=True,
        )
        return response

    first, attrs = attributes(client.get("/").headers["Set-Cookie"])
    assert first == "full="
    assert attrs == {
        "Domain": "example.com",
        "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
        "Max-Age": "0",
        "Secure": "",
        "HttpOnly": "",
        "Path": "/app",
        "SameSite": "None",
        "Partitioned": "",
    }


def test_delete_cookie_removes_it_from_the_client(app: Flask, client: FlaskClient) -> None:
    @app.route("/set")
    def set_it() -> object:
        response = make_response("ok")
        response.set_cookie("theme", "dark", path="/")
        response.set_cookie("lang", "en")
        return response

    @app.route("/clear")
    def clear() -> object:
        response = make_response("ok")
        response.delete_cookie("theme")
        return response

    @app.route("/read")
    def read() -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(request.cookies.items()))

    client.get("/set")
    assert client.get("/read").text == "lang=en,theme=dark"
    client.get("/clear")
    assert client.get_cookie("theme") is None
    assert client.get("/read").text == "lang=en"


def test_several_cookies_in_one_response(app: Flask, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> object:
        response = make_response("ok")
        for i in range(3):
            response.set_cookie(f"c{i}", str(i))
        return response

    headers = client.get("/").headers.getlist("Set-Cookie")
    assert [h.split(";")[0] for h in headers] == ["c0=0", "c1=1", "c2=2"]
    for i in range(3):
        cookie = client.get_cookie(f"c{i}")
        assert cookie is not None and cookie.value == str(i)


def test_request_cookies_is_a_read_only_multidict(app: Flask, client: FlaskClient) -> None:
    @app.route("/")
    def index() -> str:
        try:
            request.cookies["x"] = "y"  # type: ignore[index]
        except TypeError:
            pass
        else:  # pragma: no cover - the assertion below reports it
            return "mutable"
        return "|".join(
            [
                request.cookies.get("theme", "light"),
                ",".join(request.cookies.getlist("dup")),
                str(request.cookies.get("missing")),
            ]
        )

    assert client.get("/").text == "light||None"
    client.set_cookie("theme", "dark")
    assert client.get("/").text == "dark||None"
    # Repeated names (e.g. the same name set for two paths) are all kept.
    with app.test_request_context(headers={"Cookie": "dup=1; dup=2"}):
        assert request.cookies.getlist("dup") == ["1", "2"]
        assert request.cookies["dup"] == "1"


def test_path_and_domain_limit_where_the_client_sends_it(app: Flask, client: FlaskClient) -> None:
    @app.route("/set")
    def set_it() -> object:
        response = make_response("ok")
        response.set_cookie("scoped", "1", path="/admin")
        response.set_cookie("elsewhere", "1", domain="other.example")
        return response

    @app.route("/admin/read")
    @app.route("/read")
    def read() -> str:
        return ",".join(sorted(request.cookies))

    client.get("/set")
    assert client.get("/read").text == ""
    assert client.get("/admin/read").text == "scoped"
