"""Guide, "Getting Started": the minimal apps, debug mode, app.run and the CLI examples.

The ``flask run/shell/routes/--version`` commands themselves are tested in
``tests/test_cli.py`` (``flask`` becomes ``demijohn``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import click
import pytest
import werkzeug.serving
from asgi_support import client_for
from flask import Flask


def test_core_application_structure(door: str) -> None:
    # Initialize the Flask application
    # __name__ helps Flask determine the root path for resources like templates and static files
    app = Flask(__name__)

    @app.route("/")
    def index():  # type: ignore[no-untyped-def]
        """
        A simple view function that maps the root URL ('/')
        to a response string.
        """
        return "The Flask microframework is initialized and running."

    response = client_for(app, door).get("/")
    assert response.text == "The Flask microframework is initialized and running."
    assert app.root_path == str(Path(__file__).parent)


def test_explicit_template_and_static_folders() -> None:
    # Example of explicitly setting a template folder for non-standard structures
    app = Flask(__name__, template_folder="custom_templates", static_folder="assets")
    root = Path(__file__).parent
    assert app.template_folder == "custom_templates"
    assert app.static_folder == str(root / "assets")
    assert app.jinja_loader is not None
    assert app.jinja_loader.searchpath == [str(root / "custom_templates")]  # type: ignore[attr-defined]


def test_verification_script(tmp_path: Path) -> None:
    script = tmp_path / "check.py"
    script.write_text(
        textwrap.dedent(
            """
            import demijohn; demijohn.install_as_flask()
            import flask
            # Verification script to check environment pathing
            import sys
            import os

            def check_env():
                # Returns the path to the current Python executable
                print(f"Executable Path: {sys.executable}")
                # Confirms if we are inside a virtual environment
                is_venv = sys.prefix != sys.base_prefix
                print(f"Is Virtual Env Active: {is_venv}")
                print(f"Flask Version: {flask.__version__}")

            if __name__ == "__main__":
                check_env()
            """
        )
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "Is Virtual Env Active: True" in out
    assert "Flask Version: 3.1" in out  # the Flask API level demijohn implements


def test_minimal_app_and_response_handling(door: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # 1. Create the application instance
    app = Flask(__name__)

    # 2. Define the route using the route() decorator
    @app.route("/")
    def hello_world():  # type: ignore[no-untyped-def]
        # 3. Return the response body as a string
        return "<p>Hello, World!</p>"

    @app.route("/api/data")
    def status_example():  # type: ignore[no-untyped-def]
        # Returning a tuple: (Body, Status Code, Headers)
        return {"message": "Accepted"}, 202, {"Content-Type": "application/json"}

    @app.route("/none")
    def nothing() -> None:
        return None

    client = client_for(app, door)
    hello = client.get("/")
    assert (hello.status_code, hello.mimetype, hello.text) == (
        200,
        "text/html",
        "<p>Hello, World!</p>",
    )
    accepted = client.get("/api/data")
    assert (accepted.status_code, accepted.json) == (202, {"message": "Accepted"})
    assert accepted.headers.getlist("Content-Type") == ["application/json"]
    # "If a view function returns nothing (None), Flask will raise a TypeError":
    # propagated under TESTING, and the message names the view.
    app.testing = True
    with pytest.raises(TypeError) as info:
        client.get("/none")
    assert str(info.value).startswith(
        "The view function for 'nothing' did not return a valid response."
    )
    # Outside testing the client (browser) gets a plain 500, not a crash.
    app.testing = False
    monkeypatch.setattr(app.logger, "disabled", True)  # the logger is process-global
    assert client.get("/none").status_code == 500


def test_debug_mode_methods(monkeypatch: pytest.MonkeyPatch, door: str) -> None:
    app = Flask(__name__)
    # Method 1: Configuration dictionary (Must be set before app.run)
    app.config["DEBUG"] = True

    @app.route("/")
    def trigger_error():  # type: ignore[no-untyped-def]
        # Intentional error to demonstrate the debugger
        division = 1 / 0
        return str(division)

    assert app.debug is True
    # In debug mode the error propagates (to the debugger, here to the test client).
    client = client_for(app, door)
    with pytest.raises(ZeroDivisionError):
        client.get("/")
    # Debug mode OFF: a generic 500 page that shows nothing of the traceback.
    app.config["DEBUG"] = False
    monkeypatch.setattr(app.logger, "disabled", True)  # the logger is process-global
    generic = client.get("/")
    assert generic.status_code == 500
    assert "Internal Server Error" in generic.text
    assert "ZeroDivisionError" not in generic.text and "division" not in generic.text

    calls: list[dict[str, t.Any]] = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *a, **kw: calls.append(kw))
    # Method 2: Argument in app.run
    app.config["DEBUG"] = False
    app.run(debug=True)
    assert app.debug is True
    assert calls[0]["use_reloader"] is True and calls[0]["use_debugger"] is True


def test_advanced_app_run_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Flask(__name__)
    calls: list[tuple[tuple[t.Any, ...], dict[str, t.Any]]] = []
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *a, **kw: calls.append((a, kw)))
    app.run(
        host="0.0.0.0",  # Listen on all public IPs
        port=8080,  # Change the default 5000 port
        debug=True,  # Enable debug mode
        use_reloader=True,  # Explicitly enable/disable the reloader
    )
    (host, port, served), options = calls[0]
    assert (host, port, served) == ("0.0.0.0", 8080, app)
    assert options["use_reloader"] is True and options["use_debugger"] is True


def test_never_in_debug_mode_unless_asked() -> None:
    app = Flask(__name__)
    assert app.debug is False
    assert app.jinja_env.auto_reload is False


def test_custom_cli_command_seed_db() -> None:
    app = Flask(__name__)

    @app.cli.command("seed-db")
    @click.argument("count", default=10)
    def seed_database(count):  # type: ignore[no-untyped-def]
        """
        Custom command to seed the database with dummy users.
        Run this using: flask seed-db 20
        """
        click.echo(f"Seeding the database with {count} users...")
        # Logic to insert data into the database would go here
        click.echo("Database seeding complete.")

    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-db", "20"])
    assert result.output.splitlines() == [
        "Seeding the database with 20 users...",
        "Database seeding complete.",
    ]
    assert "Seeding the database with 10 users..." in runner.invoke(args=["seed-db"]).output
