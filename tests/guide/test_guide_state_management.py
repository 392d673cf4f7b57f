"""Guide, "State Management": cookies, sessions and message flashing, through both doors."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from asgi_support import through
from flask import (
    Flask,
    flash,
    get_flashed_messages,
    make_response,
    message_flashed,
    redirect,
    render_template,
    render_template_string,
    request,
    session,
    url_for,
)

SETTINGS = """{% with messages = get_flashed_messages(with_categories=true) %}
  {% if messages %}
    <div class="flashes">
    {% for category, message in messages %}
      <div class="alert alert-{{ category }}">
        {{ message }}
      </div>
    {% endfor %}
    </div>
  {% endif %}
{% endwith %}"""


def test_cookies_set_get_clear(door: str) -> None:
    app = through(Flask(__name__), door)

    @app.route("/set-preference")
    def set_cookie_example():  # type: ignore[no-untyped-def]
        """
        Creates a response and attaches a cookie to it.
        """
        response = make_response("Your theme preference has been saved!")

        # Setting a cookie named 'theme' with value 'dark'
        # Valid for 30 days (60s * 60m * 24h * 30d)
        response.set_cookie("theme", "dark", max_age=2592000, httponly=True)

        return response

    @app.route("/get-preference")
    def get_cookie_example():  # type: ignore[no-untyped-def]
        """
        Retrieves the 'theme' cookie from the incoming request.
        """
        # Fallback to 'light' if the 'theme' cookie is not found
        theme = request.cookies.get("theme", "light")

        return f"The current theme is: {theme}"

    @app.route("/clear-preference")
    def clear_cookie():  # type: ignore[no-untyped-def]
        response = make_response("Preferences cleared.")

        # This effectively expires the 'theme' cookie
        response.delete_cookie("theme")

        return response

    client = app.test_client()
    assert client.get("/get-preference").text == "The current theme is: light"
    saved = client.get("/set-preference")
    header = saved.headers["Set-Cookie"]
    assert header.startswith("theme=dark; ")
    assert "Max-Age=2592000" in header and "HttpOnly" in header and "Path=/" in header
    assert client.get("/get-preference").text == "The current theme is: dark"
    cleared = client.get("/clear-preference")
    assert "Max-Age=0" in cleared.headers["Set-Cookie"]
    assert client.get("/get-preference").text == "The current theme is: light"


def test_set_cookie_every_parameter(door: str) -> None:
    app = through(Flask(__name__), door)

    @app.route("/")
    def index():  # type: ignore[no-untyped-def]
        response = make_response("ok")
        response.set_cookie(
            "full",
            "v",
            max_age=60,
            path="/app",
            domain="example.com",
            secure=True,
            httponly=True,
            samesite="Lax",
            partitioned=True,
        )
        return response

    header = app.test_client().get("/").headers["Set-Cookie"]
    for part in (
        "full=v",
        "Domain=example.com",
        "Max-Age=60",
        "Secure",
        "HttpOnly",
        "Path=/app",
        "SameSite=Lax",
        "Partitioned",
    ):
        assert part in header, part
    assert "Expires=" in header


def test_session_login_and_profile(door: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = through(Flask(__name__), door)
    # Set the secret key to a random string (stored in environment variables)
    app.secret_key = os.environ.get("SECRET_KEY", "fallback-very-secret-string")

    @app.route("/login", methods=["POST"])
    def login():  # type: ignore[no-untyped-def]
        """
        Stores a user identifier in the session upon successful login.
        """
        username = request.form.get("username")
        # In a real app, validate credentials here
        session["user"] = username
        return redirect(url_for("profile"))

    @app.route("/profile")
    def profile():  # type: ignore[no-untyped-def]
        """
        Retrieves the user identifier from the session.
        """
        if "user" in session:
            return f"Logged in as: {session['user']}"
        return "You are not logged in.", 401

    client = app.test_client()
    assert client.get("/profile").status_code == 401
    logged_in = client.post("/login", data={"username": "ada"}, follow_redirects=True)
    assert logged_in.text == "Logged in as: ada"
    # The session is signed: a forged cookie is not trusted (empty session, no 500).
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.set_cookie("session", cookie.value[:-2] + "xx")
    assert client.get("/profile").status_code == 401


def test_permanent_sessions(door: str) -> None:
    app = through(Flask(__name__), door)
    app.secret_key = "k"
    # Set the session to last for 7 days
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=7)

    @app.route("/set-permanent")
    def make_permanent():  # type: ignore[no-untyped-def]
        session.permanent = True
        session["info"] = "This session will survive a browser restart."
        return "Session set to permanent."

    @app.route("/temporary")
    def temporary() -> str:
        session["x"] = 1
        return "tmp"

    client = app.test_client()
    header = client.get("/set-permanent").headers["Set-Cookie"]
    assert "Expires=" in header and "HttpOnly" in header
    temporary_header = app.test_client().get("/temporary").headers["Set-Cookie"]
    assert "Expires=" not in temporary_header  # a browser-session cookie


def test_message_flashing_with_categories(tmp_path: Path, door: str) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "settings.html").write_text(SETTINGS)
    app = through(Flask(__name__, root_path=str(tmp_path)), door)
    app.secret_key = "some_really_secure_random_string"
    flashed: list[tuple[str, str]] = []

    @app.route("/update-email", methods=["POST"])
    def update_email():  # type: ignore[no-untyped-def]
        new_email = request.form.get("email")

        if not new_email:
            # Flash a message with the 'error' category
            flash("Email field cannot be empty!", "error")
            return redirect(url_for("settings"))

        # Logic to update email in database...

        # Flash a success message
        flash(f"Your email has been updated to {new_email}.", "success")
        return redirect(url_for("settings"))

    @app.route("/settings")
    def settings():  # type: ignore[no-untyped-def]
        return render_template("settings.html")

    def record(sender: Flask, message: str, category: str, **extra: object) -> None:
        flashed.append((category, message))

    client = app.test_client()
    with message_flashed.connected_to(record, app):
        page = client.post("/update-email", data={}, follow_redirects=True)
        alerts = re.findall(r'alert alert-(\w+)">\s*(.*?)\s*</div>', page.text)
        assert alerts == [("error", "Email field cannot be empty!")]
        ok = client.post("/update-email", data={"email": "a@b.c"}, follow_redirects=True)
        assert "alert alert-success" in ok.text and "updated to a@b.c." in ok.text
    assert flashed == [
        ("error", "Email field cannot be empty!"),
        ("success", "Your email has been updated to a@b.c."),
    ]
    # Shown once, then gone (and with no messages, no "flashes" block at all).
    assert client.get("/settings").text.strip() == ""


def test_flash_category_filter(door: str) -> None:
    app = through(Flask(__name__), door)
    app.secret_key = "k"

    @app.route("/flash")
    def add() -> str:
        flash("plain")
        flash("bad", "error")
        flash("worse", "error")
        return "ok"

    @app.route("/errors")
    def errors() -> str:
        # {% set errors = get_flashed_messages(category_filter=["error"]) %}
        return render_template_string(
            '{% set errors = get_flashed_messages(category_filter=["error"]) %}'
            "{{ errors|join(',') }}|{{ get_flashed_messages(with_categories=true) }}"
        )

    @app.route("/all")
    def everything() -> str:
        return repr(get_flashed_messages(with_categories=True))

    client = app.test_client()
    client.get("/flash")
    assert client.get("/errors").text == (
        "bad,worse|[(&#39;message&#39;, &#39;plain&#39;), (&#39;error&#39;, &#39;bad&#39;),"
        " (&#39;error&#39;, &#39;worse&#39;)]"
    )
    assert client.get("/all").text == "[]"  # consumed by the previous request


def test_without_a_secret_key(door: str) -> None:
    app = through(Flask(__name__), door)
    app.testing = True

    @app.route("/read")
    def read() -> str:
        return str(session.get("x"))

    @app.route("/write")
    def write() -> str:
        session["x"] = 1
        return "written"

    client = app.test_client()
    assert client.get("/read").text == "None"
    with pytest.raises(RuntimeError, match="The session is unavailable because no secret key"):
        client.get("/write")


def test_secret_key_and_session_defaults() -> None:
    # The table under "The Requirement of a Secret Key".
    app = Flask(__name__)
    assert app.secret_key is None
    assert app.config["SESSION_COOKIE_NAME"] == "session"
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(days=31)
    assert app.permanent_session_lifetime == timedelta(days=31)


def test_changing_the_secret_key_invalidates_sessions(door: str) -> None:
    # "If the secret key is changed or lost, all existing sessions become invalid."
    app = through(Flask(__name__), door)
    app.secret_key = "first-key"
    app.add_url_rule("/login", "login", lambda: session.update(user="ada") or "ok")
    app.add_url_rule("/who", "who", lambda: str(session.get("user")))
    client = app.test_client()
    client.get("/login")
    assert client.get("/who").text == "ada"
    app.secret_key = "rotated-key"
    assert client.get("/who").text == "None"


def test_session_is_signed_not_encrypted(door: str) -> None:
    # "Anyone with access to the user's browser can decode the cookie to read
    # its contents (even if they cannot change them)."
    import base64
    import json

    app = through(Flask(__name__), door)
    app.secret_key = "k"
    app.add_url_rule("/", "index", lambda: session.update(user="ada") or "ok")
    client = app.test_client()
    client.get("/")
    cookie = client.get_cookie("session")
    assert cookie is not None
    payload = cookie.value.split(".")[0]
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert decoded == {"user": "ada"}


def test_removing_session_data(door: str) -> None:
    app = through(Flask(__name__), door)
    app.secret_key = "k"

    @app.route("/store")
    def store() -> str:
        session["key"] = "value"
        session["other"] = "kept"
        return "stored"

    @app.route("/read")
    def read() -> str:
        return f"{session.get('key')} {session.get('other')}"

    @app.route("/delete-key")
    def delete_key() -> str:
        session.pop("key", None)
        session.pop("never-set", None)  # no KeyError with a default
        return "deleted"

    @app.route("/logout")
    def logout() -> str:
        session.clear()
        return "bye"

    client = app.test_client()
    client.get("/store")
    assert client.get("/read").text == "value kept"
    client.get("/delete-key")
    assert client.get("/read").text == "None kept"
    response = client.get("/logout")
    assert "Max-Age=0" in response.headers["Set-Cookie"]  # the cookie is removed
    assert client.get_cookie("session") is None
    assert client.get("/read").text == "None None"


def test_session_cookie_security_flags(door: str) -> None:
    # "Security and Best Practices": HttpOnly, Secure and SameSite, for the
    # session cookie through configuration.
    app = through(Flask(__name__), door)
    app.secret_key = "k"
    app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE="Lax")
    app.add_url_rule("/", "index", lambda: session.update(a=1) or "ok")
    header = app.test_client().get("/").headers["Set-Cookie"]
    assert {"HttpOnly", "Secure", "SameSite=Lax"} <= set(header.split("; "))


def test_cookie_size_limit_warning(door: str) -> None:
    # "Browsers typically limit the size of a single cookie to 4KB": an
    # oversized cookie is reported instead of silently failing in the browser.
    app = through(Flask(__name__), door)
    app.secret_key = "k"

    @app.route("/")
    def index() -> str:
        session["data"] = os.urandom(4096).hex()
        return "ok"

    with pytest.warns(UserWarning, match="cookie is too large"):
        app.test_client().get("/")


def test_flashing_non_string_data(door: str) -> None:
    # "Advanced Flashing: Non-String Data": any JSON-serializable object works.
    app = through(Flask(__name__), door)
    app.secret_key = "k"
    app.add_url_rule("/save", "save", lambda: flash({"id": 7, "tags": ["a"]}, "data") or "ok")
    app.add_url_rule("/show", "show", lambda: repr(get_flashed_messages(with_categories=True)))
    client = app.test_client()
    client.get("/save")
    assert client.get("/show").text == repr([("data", {"id": 7, "tags": ["a"]})])


def test_unread_messages_stay_in_the_session(door: str) -> None:
    # The closing note: until get_flashed_messages() is called, they stay.
    app = through(Flask(__name__), door)
    app.secret_key = "k"
    app.add_url_rule("/flash", "add", lambda: flash("Login Successful") or "ok")
    app.add_url_rule("/plain", "plain", lambda: "no messages shown")
    app.add_url_rule("/show", "show", lambda: repr(get_flashed_messages()))
    client = app.test_client()
    client.get("/flash")
    for _ in range(3):
        client.get("/plain")
    assert client.get("/show").text == "['Login Successful']"
    assert client.get("/show").text == "[]"
