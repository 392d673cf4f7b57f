"""Guide: the CLI parts of "Getting Started", "Custom CLI Commands" (Advanced
Features) and "Testing the CLI" (Testing).

The guide's ``flask <command>`` is ``demijohn <command>``. Terminal usage runs
the real command in a subprocess; the rest uses the guide's ``runner`` fixture.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner
from flask import Blueprint, Flask
from flask.cli import FlaskGroup
from flask.testing import FlaskCliRunner
from servers import free_port, running_server


def build_app() -> Flask:
    app = Flask(__name__)

    @app.cli.command("init-db")
    def init_db():  # type: ignore[no-untyped-def]
        """Clear existing data and create new tables."""
        # Logic to initialize database
        click.echo("Initialized the database.")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--admin", is_flag=True, help="Create as admin user.")
    def create_user(username, admin):  # type: ignore[no-untyped-def]
        if admin:
            click.echo(f"Creating admin user: {username}")
        else:
            click.echo(f"Creating standard user: {username}")

    # "If your command uses click.prompt() (e.g., asking for a password)"
    @app.cli.command("reset-password")
    def reset_own_password():  # type: ignore[no-untyped-def]
        password = click.prompt("New password", hide_input=True)
        click.echo("Password updated" if password == "secret123" else "Password rejected")

    @app.cli.command("buggy-cmd")
    def buggy() -> None:
        raise click.UsageError("the database is unreachable")

    # auth/commands.py
    auth_bp = Blueprint("auth", __name__)

    @auth_bp.cli.command("reset-password")
    @click.argument("email")
    def reset_password(email):  # type: ignore[no-untyped-def]
        # Logic to send reset email
        print(f"Password reset sent to {email}")

    app.register_blueprint(auth_bp)
    return app


@pytest.fixture
def app() -> Flask:
    return build_app()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


def test_the_runner_fixture(runner: FlaskCliRunner) -> None:
    assert isinstance(runner, FlaskCliRunner)


# Assuming a command: @app.cli.command("init-db")
def test_init_db_command(runner):  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["init-db"])
    assert "Initialized the database" in result.output
    assert result.exit_code == 0


# Assuming a command: @app.cli.command("create-user")
def test_create_user_with_args(runner):  # type: ignore[no-untyped-def]
    # Testing: flask create-user admin --admin
    result = runner.invoke(args=["create-user", "admin", "--admin"])
    assert "Creating admin user: admin" in result.output
    standard = runner.invoke(args=["create-user", "bob"])
    assert standard.output == "Creating standard user: bob\n"
    missing = runner.invoke(args=["create-user"])
    assert missing.exit_code == 2 and "Missing argument 'USERNAME'" in missing.output


def test_password_prompt(runner):  # type: ignore[no-untyped-def]
    # Simulate user typing 'secret123' when prompted
    result = runner.invoke(args=["reset-password"], input="secret123\n")
    assert "Password updated" in result.output
    # The prompt is shown, the typed (hidden) input is not echoed.
    assert result.output == "New password: \nPassword updated\n"
    assert "Password rejected" in runner.invoke(args=["reset-password"], input="guess\n").output


def test_buggy_command(runner):  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["buggy-cmd"])
    assert result.exit_code == 2
    assert "Error: the database is unreachable" in result.output


def test_blueprint_specific_commands(runner):  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["auth", "reset-password", "user@example.com"])
    assert result.output == "Password reset sent to user@example.com\n"


def test_help_lists_commands_with_their_docstrings(app: Flask) -> None:
    result = CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["--help"])
    assert "init-db" in result.output
    assert "Clear existing data and create new tables." in result.output
    assert "auth" in result.output


def test_usage_in_terminal(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """
            import click
            from flask import Flask

            app = Flask(__name__)

            @app.cli.command("init-db")
            def init_db():
                \"\"\"Clear existing data and create new tables.\"\"\"
                click.echo("Initialized the database.")
            """
        )
    )
    demijohn = str(Path(sys.executable).parent / "demijohn")
    # $ flask init-db
    result = subprocess.run(
        [demijohn, "init-db"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout) == (0, "Initialized the database.\n")


# -- Getting Started: the CLI parts ---------------------------------------------

CLI_APPS = Path(__file__).parents[1] / "cli_apps"
DEMIJOHN = str(Path(sys.executable).parent / "demijohn")


def run_demijohn(
    args: list[str], cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DEMIJOHN, *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("flask_app", ["app.py", None])
def test_running_the_application_via_cli(tmp_path: Path, flask_app: str | None) -> None:
    # export FLASK_APP=app.py; flask run -- and without FLASK_APP, app.py is found.
    shutil.copy(CLI_APPS / "hello.py", tmp_path / "app.py")
    port = free_port()
    env = {"FLASK_APP": flask_app} if flask_app else {}
    base = f"http://127.0.0.1:{port}"
    command = [DEMIJOHN, "run", "--port", str(port)]
    with running_server(command, probe_url=base, cwd=tmp_path, env=env):
        response = httpx.get(base, timeout=5)
        assert (response.status_code, response.text) == (200, "<p>Hello, World!</p>")
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    log = next(tmp_path.glob("server-*.log")).read_text()
    # The app.run() under `if __name__ == "__main__":` is not reached; the CLI
    # serves with its own options (no debug unless asked for).
    assert " * Debug mode: off" in log
    assert "Ignoring a call to 'app.run()'" not in log


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, t.Any]]:
    """What ``demijohn run`` would pass to Werkzeug's ``run_simple`` (no socket opened)."""
    import demijohn.cli

    calls: list[dict[str, t.Any]] = []

    def fake_run_simple(host: str, port: int, app: t.Any, **options: t.Any) -> None:
        calls.append({"host": host, "port": port, **options})

    monkeypatch.setattr(demijohn.cli, "run_simple", fake_run_simple)
    return calls


def hello_group() -> FlaskGroup:
    return FlaskGroup(create_app=lambda: Flask("hello"))


def test_warning_external_access(served: list[dict[str, t.Any]]) -> None:
    # flask run --host=0.0.0.0 (not bound here: the fake run_simple records it)
    result = CliRunner().invoke(hello_group(), ["run", "--host=0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert (served[0]["host"], served[0]["port"]) == ("0.0.0.0", 5000)
    CliRunner().invoke(hello_group(), ["run"])
    assert served[1]["host"] == "127.0.0.1"  # only your own computer by default


def test_activating_debug_mode_with_environment_variables(
    served: list[dict[str, t.Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # export FLASK_DEBUG=1: the reloader and the interactive debugger.
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert "Debug mode: on" in CliRunner().invoke(hello_group(), ["run"]).output
    assert (served[0]["use_reloader"], served[0]["use_debugger"]) == (True, True)
    # export FLASK_ENV=development: Flask 3.1 no longer reads it (docs/design.md,
    # known error "FLASK_ENV").
    monkeypatch.delenv("FLASK_DEBUG")
    monkeypatch.setenv("FLASK_ENV", "development")
    assert "Debug mode: off" in CliRunner().invoke(hello_group(), ["run"]).output
    assert (served[1]["use_reloader"], served[1]["use_debugger"]) == (False, False)


def test_the_flask_command_and_discovery(tmp_path: Path) -> None:
    shutil.copy(CLI_APPS / "hello.py", tmp_path / "app.py")
    # flask routes: the URL rules and their view functions.
    routes = run_demijohn(["routes"], tmp_path)
    assert routes.returncode == 0, routes.stderr
    assert routes.stdout.splitlines()[2].split() == ["hello_world", "GET", "/"]
    # flask --version: Flask (the API level), Python and key dependencies.
    version = run_demijohn(["--version"], tmp_path).stdout
    assert re.search(r"^Python 3\.\d+", version, re.M)
    assert re.search(r"^demijohn \S+ \(Flask API 3\.1\.\d+\)$", version, re.M)
    assert re.search(r"^Werkzeug \d", version, re.M)
    # flask --help: all available commands and options.
    help_text = run_demijohn(["--help"], tmp_path).stdout
    for name in ("run", "shell", "routes", "--app", "--debug", "--env-file", "--version"):
        assert name in help_text


def test_the_application_context_and_flask_shell(tmp_path: Path) -> None:
    shutil.copy(CLI_APPS / "shell_app.py", tmp_path / "app.py")
    # Example of using 'flask shell' to test application logic, typed line by line.
    session = textwrap.dedent(
        """\
        from app import db, User

        # The app context is already pushed, so we can query immediately
        all_users = User.query.all()
        print(f"Total Users in DB: {len(all_users)}")

        # You can also check application configurations
        from flask import current_app
        print(current_app.config['DATABASE_URI'])
        from flask import g
        g.visited = True
        print("g works:", g.visited)
        """
    )
    result = run_demijohn(["shell"], tmp_path, stdin=session)
    assert result.returncode == 0, result.stderr
    assert "Total Users in DB: 2" in result.stdout
    assert "sqlite:///:memory:" in result.stdout
    assert "g works: True" in result.stdout
    assert "Traceback" not in result.stderr
    # The banner names the app and its instance folder.
    assert "App: app" in result.stderr and "Instance: " in result.stderr


def test_creating_custom_cli_commands(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            '''
            import click
            from flask import Flask

            app = Flask(__name__)

            @app.cli.command("seed-db")
            @click.argument("count", default=10)
            def seed_database(count):
                """
                Custom command to seed the database with dummy users.
                Run this using: flask seed-db 20
                """
                click.echo(f"Seeding the database with {count} users...")
                # Logic to insert data into the database would go here
                click.echo("Database seeding complete.")
            '''
        )
    )
    result = run_demijohn(["seed-db", "20"], tmp_path)
    assert result.stdout == "Seeding the database with 20 users...\nDatabase seeding complete.\n"
    assert "seed-db  Custom command to seed the database with dummy users." in (
        run_demijohn(["--help"], tmp_path).stdout
    )


def test_cli_environment_variable_management(tmp_path: Path) -> None:
    # .flaskenv: public Flask settings; .env: secrets and local overrides
    # (the .env is the one from Configuration, "Using python-dotenv").
    port = free_port()
    (tmp_path / ".flaskenv").write_text(f"FLASK_APP=wrong.py\nFLASK_RUN_PORT={port}\n")
    (tmp_path / ".env").write_text(
        "FLASK_APP=app.py\n"
        "FLASK_DEBUG=1\n"
        "DATABASE_URL=postgresql://user:password@localhost/dbname\n"
        "STRIPE_API_KEY=sk_test_4eC39HqLyjWDarjtTizdp7dc\n"
    )
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """
            import os
            from flask import Flask

            app = Flask(__name__)

            @app.route("/")
            def database():
                return os.environ["DATABASE_URL"]
            """
        )
    )
    base = f"http://127.0.0.1:{port}"
    # Loaded before the server starts: the app, its port, debug mode and secrets.
    with running_server([DEMIJOHN, "run", "--no-reload"], probe_url=base, cwd=tmp_path):
        assert httpx.get(base, timeout=5).text == "postgresql://user:password@localhost/dbname"
    assert " * Debug mode: on" in next(tmp_path.glob("server-*.log")).read_text()


def test_warning_command_overlapping(served: list[dict[str, t.Any]]) -> None:
    # The guide warns a custom `run` would override the built-in one; in Flask
    # 3.1 (and here) the built-in wins (docs/design.md, known error "Built-in
    # commands win"), so `flask run` keeps serving.
    app = Flask("overlap")

    @app.cli.command("run")
    def run() -> None:
        click.echo("custom run")

    result = CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["run"])
    assert "custom run" not in result.output
    assert len(served) == 1
