"""Flask-Migrate through the ``demijohn db`` command: the guide's workflow, end to end.

The guide's ``flask db ...`` lines become ``demijohn db ...``: Flask-Migrate's
``db`` group reaches the command through the ``flask.commands`` entry point.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

MODELS = textwrap.dedent(
    """
    from flask import Flask
    from flask_sqlalchemy import SQLAlchemy
    from flask_migrate import Migrate

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///site.db"
    db = SQLAlchemy(app)
    migrate = Migrate(app, db)

    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        username = db.Column(db.String(20), unique=True, nullable=False)
    """
)

DEMIJOHN = str(Path(sys.executable).parent / "demijohn")


def db(project: Path, *args: str) -> str:
    result = subprocess.run(
        [DEMIJOHN, "db", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": str(Path(sys.executable).parent), "FLASK_APP": "app"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def columns(database: Path) -> list[str]:
    with sqlite3.connect(database) as conn:
        return [row[1] for row in conn.execute("PRAGMA table_info(user)")]


def test_init_migrate_upgrade_downgrade_history(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(MODELS)
    db(tmp_path, "init")
    assert (tmp_path / "migrations" / "env.py").is_file()

    db(tmp_path, "migrate", "-m", "create user")
    db(tmp_path, "upgrade")
    database = tmp_path / "instance" / "site.db"
    assert columns(database) == ["id", "username"]

    # "add phone number to user": change the model, generate, apply.
    (tmp_path / "app.py").write_text(MODELS + "    phone = db.Column(db.String(20))\n")
    out = db(tmp_path, "migrate", "-m", "add phone number to user")
    assert "Detected added column 'user.phone'" in out
    script = next((tmp_path / "migrations" / "versions").glob("*add_phone_number_to_user.py"))
    text = script.read_text()
    assert "op.add_column" in text and "op.drop_column" in text  # upgrade() and downgrade()
    db(tmp_path, "upgrade")
    assert columns(database) == ["id", "username", "phone"]

    head = db(tmp_path, "current")
    assert "(head)" in head
    history = db(tmp_path, "history")
    assert "add phone number to user" in history and "create user" in history

    db(tmp_path, "downgrade")
    assert columns(database) == ["id", "username"]
    assert "(head)" not in db(tmp_path, "current")
