"""Flask-CORS and Flask-Talisman on demijohn: the guide's configurations."""

from __future__ import annotations

import pytest
from asgi_support import AsgiClient
from flask import Flask
from flask_cors import CORS, cross_origin
from flask_talisman import Talisman


@pytest.fixture
def app(door: str) -> Flask:
    app = Flask(__name__)
    if door == "asgi":
        app.test_client_class = AsgiClient

    @app.route("/api/items")
    def items() -> dict[str, list[int]]:
        return {"items": [1, 2]}

    @app.route("/private")
    def private() -> str:
        return "private"

    return app


def test_cors_everywhere(app: Flask) -> None:
    CORS(app)
    response = app.test_client().get("/api/items", headers={"Origin": "https://any.example"})
    # flask-cors 6 reflects the caller's origin for the default "*" (same on real Flask).
    assert response.headers["Access-Control-Allow-Origin"] == "https://any.example"


def test_cors_restricted_with_credentials_and_preflight(app: Flask) -> None:
    CORS(
        app,
        resources={r"/api/*": {"origins": ["https://app.example"]}},
        supports_credentials=True,
    )
    client = app.test_client()
    preflight = client.options(
        "/api/items",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    other = client.get("/api/items", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    outside = client.get("/private", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in outside.headers


def test_cross_origin_decorator(app: Flask) -> None:
    @app.route("/public")
    @cross_origin(origins="https://docs.example")
    def public() -> str:
        return "public"

    response = app.test_client().get("/public", headers={"Origin": "https://docs.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://docs.example"


def test_talisman_headers_and_csp(app: Flask) -> None:
    csp = {"default-src": "'self'", "img-src": ["'self'", "https://images.example"]}
    Talisman(app, content_security_policy=csp, force_https=False)
    response = app.test_client().get("/private")
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; img-src 'self' https://images.example"
    )
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_talisman_forces_https(app: Flask) -> None:
    Talisman(app)
    response = app.test_client().get("/private")
    assert response.status_code == 302
    assert response.location == "https://localhost/private"
    secure = app.test_client().get("/private", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31556926; includeSubDomains"
