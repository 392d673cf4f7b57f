"""Flask-Migrate through the ``demijohn db`` command: the guide's workflow, end to end.

The guide's ``flask db ...`` lines become ``demijohn db ...``: Flask-Migrate's
``db`` group reaches the command through the ``flask.commands`` entry point.
"""

from __future__ import annotations

from pathlib import Path

from migrate_support import MODELS, columns, flask_db


def test_init_migrate_upgrade_downgrade_history(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(MODELS)
    flask_db(tmp_path, "init")
    assert (tmp_path / "migrations" / "env.py").is_file()

    flask_db(tmp_path, "migrate", "-m", "create user")
    flask_db(tmp_path, "upgrade")
    database = tmp_path / "instance" / "site.db"
    assert columns(database) == ["id", "username"]

    # "add phone number to user": change the model, generate, apply.
    (tmp_path / "app.py").write_text(MODELS + "    phone = db.Column(db.String(20))\n")
    out = flask_db(tmp_path, "migrate", "-m", "add phone number to user")
    assert "Detected added column 'user.phone'" in out
    script = next((tmp_path / "migrations" / "versions").glob("*add_phone_number_to_user.py"))
    text = script.read_text()
    assert "op.add_column" in text and "op.drop_column" in text  # upgrade() and downgrade()
    flask_db(tmp_path, "upgrade")
    assert columns(database) == ["id", "username", "phone"]

    head = flask_db(tmp_path, "current")
    assert "(head)" in head
    history = flask_db(tmp_path, "history")
    assert "add phone number to user" in history and "create user" in history

    flask_db(tmp_path, "downgrade")
    assert columns(database) == ["id", "username"]
    assert "(head)" not in flask_db(tmp_path, "current")
