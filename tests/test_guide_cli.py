"""Guide: "Custom CLI Commands" (Advanced Features) and "Testing the CLI" (Testing).

The guide's ``flask <command>`` is ``demijohn <command>``; the terminal form is
checked once in a subprocess, the rest with the guide's ``runner`` fixture.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flask import Blueprint, Flask
from flask.testing import FlaskCliRunner


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

    @app.cli.command("reset-password")
    @click.password_option()
    def reset_own_password(password):  # type: ignore[no-untyped-def]
        click.echo("Password updated" if password == "secret123" else "mismatch")

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
    result = runner.invoke(args=["reset-password"], input="secret123\nsecret123\n")
    assert "Password updated" in result.output


def test_buggy_command(runner):  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["buggy-cmd"])
    assert result.exit_code == 2
    assert "Error: the database is unreachable" in result.output


def test_blueprint_specific_commands(runner):  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["auth", "reset-password", "user@example.com"])
    assert result.output == "Password reset sent to user@example.com\n"


def test_help_lists_commands_with_their_docstrings(app: Flask) -> None:
    from flask.cli import FlaskGroup

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
