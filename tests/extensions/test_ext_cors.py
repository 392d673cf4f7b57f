"""Flask-CORS on demijohn: the guide's global and restricted configurations,
preflight answers, credentials, the decorator, blueprints and error responses."""

from __future__ import annotations

import pytest
from asgi_support import through
from flask import Blueprint, Flask, abort
from flask_cors import CORS, cross_origin

PREFLIGHT = {
    "Origin": "https://app.example",
    "Access-Control-Request-Method": "PUT",
    "Access-Control-Request-Headers": "Content-Type, X-Custom",
}


def cors_headers(response: object) -> dict[str, str]:
    # Names compared case-insensitively: the ASGI door sends them lowercased.
    headers = response.headers  # type: ignore[attr-defined]
    return {k.title(): v for k, v in headers.items() if k.lower().startswith("access-control-")}


@pytest.fixture
def app(door: str) -> Flask:
    app = Flask(__name__)
    through(app, door)

    @app.route("/api/items", methods=["GET", "PUT", "DELETE"])
    def items() -> tuple[dict[str, list[int]], int, dict[str, str]]:
        return {"items": [1, 2]}, 200, {"X-Total": "2"}

    @app.route("/private")
    def private() -> str:
        return "private"

    return app


def test_global_configuration_allows_every_origin(app: Flask) -> None:
    # This allows all routes to be accessed from any domain
    CORS(app)
    client = app.test_client()
    # No Origin header (not a cross-origin request): the wildcard.
    assert cors_headers(client.get("/private")) == {"Access-Control-Allow-Origin": "*"}
    # flask-cors 6 reflects the caller's origin for "*" and says so in Vary
    # (the same answer on Flask 3.1).
    response = client.get("/api/items", headers={"Origin": "https://any.example"})
    assert response.json == {"items": [1, 2]}
    assert cors_headers(response) == {"Access-Control-Allow-Origin": "https://any.example"}
    assert response.headers["Vary"] == "Origin"


def test_global_configuration_with_send_wildcard(app: Flask) -> None:
    CORS(app, send_wildcard=True)
    response = app.test_client().get("/private", headers={"Origin": "https://any.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_restricted_configuration(app: Flask) -> None:
    # Only allow your specific frontend domain
    CORS(app, resources={r"/api/*": {"origins": "https://www.myapp.com"}})

    @app.route("/api/data")
    def private_data() -> dict[str, str]:
        return {"message": "This is only accessible by myapp.com"}

    client = app.test_client()
    allowed = client.get("/api/data", headers={"Origin": "https://www.myapp.com"})
    assert allowed.json == {"message": "This is only accessible by myapp.com"}
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.myapp.com"
    # The response itself is served; the browser withholds it for lack of the header.
    other = client.get("/api/data", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and cors_headers(other) == {}
    outside = client.get("/private", headers={"Origin": "https://www.myapp.com"})
    assert cors_headers(outside) == {}


def test_preflight_answers_with_methods_headers_and_max_age(app: Flask) -> None:
    CORS(
        app,
        resources={
            r"/api/*": {
                "origins": ["https://app.example"],
                "methods": ["GET", "PUT"],
                "max_age": 600,
                "expose_headers": ["X-Total"],
            }
        },
    )
    client = app.test_client()
    preflight = client.options("/api/items", headers=PREFLIGHT)
    assert preflight.status_code == 200
    assert preflight.data == b""
    assert cors_headers(preflight) == {
        "Access-Control-Allow-Origin": "https://app.example",
        "Access-Control-Allow-Methods": "GET, PUT",
        "Access-Control-Allow-Headers": "Content-Type, X-Custom",
        "Access-Control-Max-Age": "600",
        "Access-Control-Expose-Headers": "X-Total",
    }
    # The view's own automatic OPTIONS answer is kept underneath.
    assert set(preflight.headers["Allow"].split(", ")) == {
        "GET",
        "HEAD",
        "PUT",
        "DELETE",
        "OPTIONS",
    }
    # A method outside the allowed list gets no Allow-Methods: the browser refuses.
    delete = client.options(
        "/api/items", headers={**PREFLIGHT, "Access-Control-Request-Method": "DELETE"}
    )
    assert "Access-Control-Allow-Methods" not in delete.headers
    # An unknown origin gets nothing at all.
    evil = client.options("/api/items", headers={**PREFLIGHT, "Origin": "https://evil.example"})
    assert cors_headers(evil) == {}
    # The actual request exposes the listed response header.
    actual = client.put("/api/items", headers={"Origin": "https://app.example"})
    assert actual.headers["Access-Control-Expose-Headers"] == "X-Total"
    assert actual.headers["X-Total"] == "2"


def test_default_preflight_allows_every_method_and_echoes_headers(app: Flask) -> None:
    CORS(app)
    preflight = app.test_client().options("/api/items", headers=PREFLIGHT)
    assert preflight.headers["Access-Control-Allow-Methods"] == (
        "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    )
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type, X-Custom"
    assert "Access-Control-Allow-Credentials" not in preflight.headers


def test_credentials_rules(app: Flask) -> None:
    CORS(app, resources={r"/api/*": {"origins": "https://myapp.com"}}, supports_credentials=True)
    client = app.test_client()
    response = client.get("/api/items", headers={"Origin": "https://myapp.com"})
    # With credentials the allowed origin is the caller's, never the wildcard.
    assert response.headers["Access-Control-Allow-Origin"] == "https://myapp.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    preflight = client.options("/api/items", headers={**PREFLIGHT, "Origin": "https://myapp.com"})
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert cors_headers(client.get("/api/items", headers={"Origin": "https://evil.example"})) == {}


def test_credentials_with_any_origin_reflect_the_caller(app: Flask) -> None:
    # The wildcard would be rejected by browsers with credentials; flask-cors
    # answers with the caller's origin instead (as on Flask 3.1).
    CORS(app, origins="*", supports_credentials=True)
    response = app.test_client().get("/private", headers={"Origin": "https://x.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://x.example"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


def test_error_responses_carry_cors_headers(app: Flask) -> None:
    # flask-cors wraps the app's handle_exception/handle_user_exception on
    # the instance: demijohn's pipeline must call them through the instance.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.logger.disabled = True
    CORS(app)

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("unhandled")

    @app.route("/forbidden")
    def forbidden() -> str:
        abort(403)

    client = app.test_client()
    origin = {"Origin": "https://x.example"}
    for path, status in [("/boom", 500), ("/forbidden", 403), ("/missing", 404)]:
        response = client.get(path, headers=origin)
        assert response.status_code == status, path
        assert response.headers["Access-Control-Allow-Origin"] == "https://x.example", path


def test_cross_origin_decorator(app: Flask) -> None:
    @app.route("/public", methods=["GET", "POST"])
    @cross_origin(origins="https://docs.example", methods=["GET"])
    def public() -> str:
        return "public"

    client = app.test_client()
    response = client.get("/public", headers={"Origin": "https://docs.example"})
    assert response.text == "public"
    assert response.headers["Access-Control-Allow-Origin"] == "https://docs.example"
    preflight = client.options(
        "/public",
        headers={"Origin": "https://docs.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET"
    other = client.get("/public", headers={"Origin": "https://evil.example"})
    assert cors_headers(other) == {}
    # Only the decorated view is affected.
    assert cors_headers(client.get("/private", headers={"Origin": "https://docs.example"})) == {}


def test_cors_on_a_blueprint(app: Flask) -> None:
    api = Blueprint("api_v1", __name__, url_prefix="/v1")
    CORS(api, origins=["https://bp.example"])

    @api.route("/ping")
    def ping() -> str:
        return "pong"

    app.register_blueprint(api)
    client = app.test_client()
    inside = client.get("/v1/ping", headers={"Origin": "https://bp.example"})
    assert inside.headers["Access-Control-Allow-Origin"] == "https://bp.example"
    outside = client.get("/private", headers={"Origin": "https://bp.example"})
    assert cors_headers(outside) == {}
