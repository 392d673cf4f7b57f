"""Guide, "Core Contexts": current_app, test_request_context, g, hooks, teardown."""

from __future__ import annotations

import logging
import typing as t
from pathlib import Path

import pytest
from asgi_support import door_app
from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    render_template_string,
    request,
    session,
    url_for,
)


class FakeConnection:
    """Stands in for the guide's hypothetical ``connect_to_db``."""

    opened: t.ClassVar[list[FakeConnection]] = []

    def __init__(self, url: str) -> None:
        self.url = url
        self.closed = False
        FakeConnection.opened.append(self)

    def close(self) -> None:
        self.closed = True


def connect_to_db(url: str) -> FakeConnection:
    return FakeConnection(url)


def make_app(door: str) -> Flask:
    app = door_app(__name__, door)
    app.config.update(SECRET_KEY="ctx", DATABASE_URL="sqlite:///ctx.db", SITE_NAME="Demo")
    return app


def test_current_app_in_a_blueprint(door: str) -> None:
    bp = Blueprint("info", __name__)

    # A blueprint doesn't know about 'app' yet
    @bp.route("/info")
    def get_info():  # type: ignore[no-untyped-def]
        # current_app points to the active Flask instance
        site_name = current_app.config.get("SITE_NAME", "Default Site")
        return f"Welcome to {site_name}"

    app = make_app(door)
    app.register_blueprint(bp)
    assert app.test_client().get("/info").text == "Welcome to Demo"


def test_pushing_the_app_context_in_a_script(door: str) -> None:
    app = make_app(door)
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        current_app.config  # noqa: B018
    # Manually pushing the context to interact with the database in a script
    with app.app_context():
        # Now current_app and db are accessible
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        assert f"Connected to: {app.config['DATABASE_URL']}" == "Connected to: sqlite:///ctx.db"


def test_current_app_logger_anywhere(door: str, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(door)

    def log_api_call(endpoint):  # type: ignore[no-untyped-def]
        # This function can be anywhere in your project
        current_app.logger.info(f"API endpoint {endpoint} was accessed.")

    with app.app_context(), caplog.at_level(logging.INFO, logger=app.name):
        log_api_call("/api/items")
    assert "API endpoint /api/items was accessed." in caplog.text


def test_manually_simulating_a_request(door: str) -> None:
    app = make_app(door)
    # Manually simulating a request for testing
    with app.test_request_context("/login?name=Alice", method="POST"):
        # Now you can use 'request' as if you were in a view function
        assert request.path == "/login"
        assert request.args["name"] == "Alice"
        assert request.method == "POST"
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        request.path  # noqa: B018


def test_g_for_a_per_request_connection(door: str) -> None:
    app = make_app(door)
    FakeConnection.opened.clear()

    def get_db():  # type: ignore[no-untyped-def]
        """
        Check if a database connection exists in 'g'.
        If not, create one and store it.
        """
        if "db" not in g:
            # Assuming a custom connect_to_db function
            g.db = connect_to_db(current_app.config["DATABASE_URL"])
        return g.db

    @app.teardown_appcontext
    def teardown_db(exception):  # type: ignore[no-untyped-def]
        """
        Cleans up the connection after the request is finished.
        """
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.route("/")
    def index() -> str:
        first, second = get_db(), get_db()
        return str(first is second)

    client = app.test_client()
    assert client.get("/").text == "True"  # one connection per request
    assert client.get("/").text == "True"
    assert len(FakeConnection.opened) == 2  # a new one for each request: g does not leak
    assert all(conn.closed for conn in FakeConnection.opened)


def test_loading_the_logged_in_user_into_g(tmp_path: Path, door: str) -> None:
    app = make_app(door)

    class User:
        def __init__(self, username: str) -> None:
            self.username = username

        class query:
            @staticmethod
            def get(user_id: int) -> User:
                return User({1: "ada"}[user_id])

    @app.before_request
    def load_logged_in_user():  # type: ignore[no-untyped-def]
        user_id = session.get("user_id")
        if user_id is None:
            g.user = None
        else:
            # Load the user object from the database
            g.user = User.query.get(user_id)

    @app.route("/profile")
    def profile():  # type: ignore[no-untyped-def]
        # 'g.user' is now available without re-querying the DB
        if g.user is None:
            return redirect(url_for("login"))
        return f"Hello, {g.user.username}!"

    @app.route("/login")
    def login() -> str:
        return render_template_string(
            """{% if g.user %}
                <span>Logged in as: {{ g.user.username }}</span>
            {% else %}
                <a href="{{ url_for('login') }}">Login</a>
            {% endif %}"""
        ).strip()

    client = app.test_client()
    assert client.get("/profile").location == "/login"
    assert client.get("/login").text == '<a href="/login">Login</a>'
    with client.session_transaction() as sess:
        sess["user_id"] = 1
    assert client.get("/profile").text == "Hello, ada!"
    assert client.get("/login").text == "<span>Logged in as: ada</span>"


def test_request_hooks(door: str) -> None:
    app = make_app(door)

    @app.before_request
    def check_maintenance_mode():  # type: ignore[no-untyped-def]
        if app.config.get("MAINTENANCE_MODE"):
            return "Service Temporarily Unavailable", 503

    @app.after_request
    def add_security_headers(response):  # type: ignore[no-untyped-def]
        # This function must accept and return a response object
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    app.add_url_rule("/", "index", lambda: "open")
    client = app.test_client()
    normal = client.get("/")
    assert (normal.text, normal.headers["X-Content-Type-Options"]) == ("open", "nosniff")
    app.config["MAINTENANCE_MODE"] = True
    closed = client.get("/")
    assert (closed.status_code, closed.text) == (503, "Service Temporarily Unavailable")
    assert closed.headers["X-Content-Type-Options"] == "nosniff"  # after_request still ran


def test_teardown_appcontext_runs_even_when_the_app_crashes(door: str) -> None:
    app = make_app(door)
    app.logger.disabled = True
    seen: list[BaseException | None] = []
    after: list[str] = []

    @app.teardown_appcontext
    def close_db_connection(exception=None):  # type: ignore[no-untyped-def]
        # 'exception' contains the error if the request failed
        seen.append(exception)
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.after_request
    def never_for_crashes(response):  # type: ignore[no-untyped-def]
        after.append(request.path)
        return response

    @app.route("/crash")
    def crash() -> str:
        g.db = connect_to_db("x")
        raise ValueError("crashed")

    response = app.test_client().get("/crash")
    assert response.status_code == 500
    assert isinstance(seen[0], ValueError)
    # after_request runs for the error response Flask builds, not for the crash itself.
    assert after == ["/crash"]
