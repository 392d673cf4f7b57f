"""Flask-Migrate driven through the demijohn command, as the guide's ``flask db ...``."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

#: The guide's models module (``app.py``) with Flask-Migrate set up.
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


def flask_db(project: Path, *args: str, ok: bool = True) -> str:
    """Run ``demijohn db ARGS`` in ``project``; assert it succeeds (or fails, ``ok=False``)."""
    result = subprocess.run(
        [DEMIJOHN, "db", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": str(Path(sys.executable).parent), "FLASK_APP": "app"},
    )
    assert (result.returncode == 0) is ok, result.stdout + result.stderr
    return result.stdout + result.stderr


def columns(database: Path, table: str = "user") -> list[str]:
    """The column names of ``table`` in the SQLite file ``database``."""
    conn = sqlite3.connect(database)
    try:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()
