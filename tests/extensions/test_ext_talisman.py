"""Flask-Talisman on demijohn: the guide's setup and CSP example, HTTPS
redirects, HSTS, nonces, per-view options and cookie flags."""

from __future__ import annotations

import re

import pytest
from asgi_support import through
from flask import Flask, render_template_string, session
from flask_talisman import Talisman

HTTPS = "https://localhost"


@pytest.fixture
def app(door: str) -> Flask:
    app = Flask(__name__)
    app.secret_key = "talisman-secret"
    through(app, door)

    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        return "home"

    return app


def test_basic_setup_sets_the_secure_defaults(app: Flask) -> None:
    # Wraps the app with secure headers by default
    Talisman(app)
    client = app.test_client()
    # Plain HTTP is redirected to HTTPS first (force_https), for any method.
    redirect = client.get("/")
    assert (redirect.status_code, redirect.location) == (302, "https://localhost/")
    assert client.post("/").location == "https://localhost/"
    response = client.get("/", base_url=HTTPS)
    assert response.text == "home"
    headers = response.headers
    assert headers["Content-Security-Policy"] == "default-src 'self'; object-src 'none'"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["Strict-Transport-Security"] == "max-age=31556926; includeSubDomains"
    assert headers["Permissions-Policy"] == "browsing-topics=()"


def test_https_behind_a_proxy_and_permanent_redirects(app: Flask) -> None:
    Talisman(app, force_https_permanent=True)
    client = app.test_client()
    assert client.get("/").status_code == 301
    # A proxy that terminated TLS says so with X-Forwarded-Proto.
    proxied = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert (proxied.status_code, proxied.text) == (200, "home")


def test_debug_mode_is_not_forced_to_https(app: Flask) -> None:
    app.debug = True
    Talisman(app)
    assert app.test_client().get("/").status_code == 200


def test_custom_csp_from_the_guide(app: Flask) -> None:
    # Custom CSP to allow Google Fonts and self-hosted scripts
    csp = {
        "default-src": "'self'",
        "style-src": ["'self'", "fonts.googleapis.com"],
        "font-src": "fonts.gstatic.com",
    }
    Talisman(app, content_security_policy=csp)
    response = app.test_client().get("/", base_url=HTTPS)
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; style-src 'self' fonts.googleapis.com; font-src fonts.gstatic.com"
    )


def test_csp_nonce_in_templates_changes_per_request(app: Flask) -> None:
    Talisman(
        app,
        content_security_policy={"default-src": "'self'", "script-src": "'self'"},
        content_security_policy_nonce_in=["script-src"],
    )

    @app.route("/page")
    def page() -> str:
        return render_template_string("<script nonce='{{ csp_nonce() }}'>go()</script>")

    client = app.test_client()
    nonces = []
    for _ in range(2):
        response = client.get("/page", base_url=HTTPS)
        nonce = re.fullmatch(r"<script nonce='([\w-]+)'>go\(\)</script>", response.text)
        assert nonce is not None, response.text
        assert response.headers["Content-Security-Policy"] == (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce.group(1)}'"
        )
        nonces.append(nonce.group(1))
    assert nonces[0] != nonces[1]


def test_report_only_policy_deny_frames_and_hsts_age(app: Flask) -> None:
    Talisman(
        app,
        force_https=False,
        frame_options="DENY",
        content_security_policy_report_only=True,
        content_security_policy_report_uri="/csp-report",
        strict_transport_security_max_age=31536000,
    )
    client = app.test_client()
    assert client.get("/").status_code == 200  # no redirect
    headers = client.get("/", base_url=HTTPS).headers
    assert "Content-Security-Policy" not in headers
    assert headers["Content-Security-Policy-Report-Only"] == (
        "default-src 'self'; object-src 'none'; report-uri /csp-report"
    )
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # HSTS is only sent over HTTPS.
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_per_view_options(app: Flask) -> None:
    talisman = Talisman(app)

    @app.route("/embed")
    @talisman(frame_options="ALLOW-FROM", frame_options_allow_from="https://partner.example")
    def embed() -> str:
        return "embeddable"

    client = app.test_client()
    assert client.get("/embed", base_url=HTTPS).headers["X-Frame-Options"] == (
        "ALLOW-FROM https://partner.example"
    )
    assert client.get("/", base_url=HTTPS).headers["X-Frame-Options"] == "SAMEORIGIN"


def test_session_cookie_is_secure_and_httponly(app: Flask) -> None:
    Talisman(app)

    @app.route("/login")
    def login() -> str:
        session["user"] = "ada"
        return "in"

    cookie = app.test_client().get("/login", base_url=HTTPS).headers["Set-Cookie"]
    assert "; Secure" in cookie and "; HttpOnly" in cookie
    # Talisman sets the flags in the config when it handles a request.
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
