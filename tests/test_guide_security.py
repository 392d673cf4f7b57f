"""Guide, "Security": CSRF (incl. tokens in templates), CORS, headers, password hashing."""

from __future__ import annotations

import re

import pytest
from asgi_support import through
from flask import Flask, render_template_string, request
from flask_cors import CORS
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash


def door_app(door: str) -> Flask:
    app = Flask(__name__)
    through(app, door)
    return app


def test_csrf_protect_with_tokens_in_templates(door: str) -> None:
    app = door_app(door)
    app.config["SECRET_KEY"] = "your-super-secret-key"
    csrf = CSRFProtect(app)

    @app.route("/form", methods=["GET", "POST"])
    def form() -> str:
        if request.method == "POST":
            return "accepted"
        return render_template_string(
            '<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">'
            "<script>fetch('/form', {method: 'POST', headers: {"
            "'X-CSRFToken': \"{{ csrf_token() }}\"}})</script>"
        )

    @app.post("/webhook")
    @csrf.exempt
    def webhook() -> str:
        return "hook"

    client = app.test_client()
    page = client.get("/form").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    assert f"'X-CSRFToken': \"{token.group(1)}\"" in page
    assert client.post("/form").status_code == 400
    assert client.post("/form", data={"csrf_token": token.group(1)}).text == "accepted"
    assert client.post("/form", headers={"X-CSRFToken": token.group(1)}).text == "accepted"
    # Safe methods are never checked; exempt views are not either.
    assert client.get("/form").status_code == 200
    assert client.post("/webhook").text == "hook"


def test_cors_configurations(door: str) -> None:
    app = door_app(door)
    # Only allow your specific frontend domain
    CORS(app, resources={r"/api/*": {"origins": "https://www.myapp.com"}})

    @app.route("/api/data")
    def private_data():  # type: ignore[no-untyped-def]
        return {"message": "This is only accessible by myapp.com"}

    client = app.test_client()
    allowed = client.get("/api/data", headers={"Origin": "https://www.myapp.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.myapp.com"
    assert allowed.json == {"message": "This is only accessible by myapp.com"}
    denied = client.get("/api/data", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers

    creds = door_app(door)
    CORS(creds, resources={r"/api/*": {"origins": "https://myapp.com"}}, supports_credentials=True)
    creds.add_url_rule("/api/me", "me", lambda: {"me": 1})
    response = creds.test_client().get("/api/me", headers={"Origin": "https://myapp.com"})
    # With credentials the origin is never the wildcard.
    assert response.headers["Access-Control-Allow-Origin"] == "https://myapp.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


def test_talisman_and_manual_security_headers(door: str) -> None:
    app = door_app(door)
    # Custom CSP to allow Google Fonts and self-hosted scripts
    csp = {
        "default-src": "'self'",
        "style-src": ["'self'", "fonts.googleapis.com"],
        "font-src": "fonts.gstatic.com",
    }
    Talisman(app, content_security_policy=csp, force_https=False)
    app.add_url_rule("/", "index", lambda: "ok")
    headers = app.test_client().get("/").headers
    assert headers["Content-Security-Policy"] == (
        "default-src 'self'; style-src 'self' fonts.googleapis.com; font-src fonts.gstatic.com"
    )

    manual = door_app(door)

    @manual.after_request
    def add_security_headers(response):  # type: ignore[no-untyped-def]
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response

    manual.add_url_rule("/", "index", lambda: "ok")
    headers = manual.test_client().get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Even for an error page.
    assert manual.test_client().get("/missing").headers["X-Frame-Options"] == "SAMEORIGIN"


def test_password_hashing() -> None:
    password = "correct horse battery staple"
    # Method defaults to 'scrypt' or 'pbkdf2:sha256'
    hashed_password = generate_password_hash(password)
    assert hashed_password.startswith("scrypt:32768:8:1$")
    # stored_hash retrieved from Database
    stored_hash = hashed_password
    is_valid = check_password_hash(stored_hash, "user-input-password")
    assert is_valid is False
    assert check_password_hash(stored_hash, password) is True
    assert generate_password_hash(password) != hashed_password  # salted


def test_password_hashes_on_the_user_model() -> None:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db = SQLAlchemy(app)

    class User(db.Model):  # type: ignore[name-defined, misc]
        id = db.Column(db.Integer, primary_key=True)
        username = db.Column(db.String(80), unique=True, nullable=False)
        password_hash = db.Column(db.String(128))

        def set_password(self, password):  # type: ignore[no-untyped-def]
            self.password_hash = generate_password_hash(password)

        def check_password(self, password):  # type: ignore[no-untyped-def]
            return check_password_hash(self.password_hash, password)

    with app.app_context():
        db.create_all()
        user = User(username="ada")
        user.set_password("s3cret")
        db.session.add(user)
        db.session.commit()
        stored = db.session.get(User, user.id)
        assert stored.check_password("s3cret") and not stored.check_password("nope")
        # The guide says 128 characters usually suffice; Werkzeug's scrypt
        # hashes are 162 (SQLite does not enforce the length, other databases do).
        assert len(stored.password_hash) == 162


@pytest.mark.parametrize("value", ["<script>alert(1)</script>", '"onmouseover="x'])
def test_user_data_is_escaped_in_templates(door: str, value: str) -> None:
    app = door_app(door)
    app.add_url_rule("/", "index", lambda: render_template_string("<p>{{ v }}</p>", v=value))
    body = app.test_client().get("/").text
    assert "<script>" not in body and '"onmouseover' not in body
