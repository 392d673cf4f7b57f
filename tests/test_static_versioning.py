"""Cache-busting static URLs (DESIGN.md): ``?v=<mtime>`` in debug mode, configurable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from demijohn import Blueprint, Flask, url_for


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    (tmp_path / "static" / "css").mkdir(parents=True)
    css = tmp_path / "static" / "css" / "main.css"
    css.write_text("body {}")
    os.utime(css, (1_700_000_000, 1_700_000_000))
    (tmp_path / "bp_static").mkdir()
    (tmp_path / "bp_static" / "app.js").write_text("")
    os.utime(tmp_path / "bp_static" / "app.js", (1_600_000_000, 1_600_000_000))
    app = Flask("versioned", root_path=str(tmp_path))
    bp = Blueprint("shop", "versioned", static_folder="bp_static", root_path=str(tmp_path))
    app.register_blueprint(bp, url_prefix="/shop")
    return app


def test_off_unless_debug(app: Flask) -> None:
    with app.test_request_context():
        assert url_for("static", filename="css/main.css") == "/static/css/main.css"


def test_debug_mode_adds_the_mtime(app: Flask) -> None:
    app.debug = True
    with app.test_request_context():
        assert url_for("static", filename="css/main.css") == "/static/css/main.css?v=1700000000"
        assert url_for("shop.static", filename="app.js") == "/shop/bp_static/app.js?v=1600000000"
        # Missing files, unsafe names and an explicit version are left alone.
        assert url_for("static", filename="nope.css") == "/static/nope.css"
        assert url_for("static", filename="../secret.txt") == "/static/../secret.txt"
        assert url_for("static", filename="css/main.css", v="7") == "/static/css/main.css?v=7"


def test_configurable_either_way(app: Flask) -> None:
    app.config["STATIC_URL_VERSIONING"] = True
    with app.test_request_context():
        assert url_for("static", filename="css/main.css").endswith("?v=1700000000")
    app.debug = True
    app.config["STATIC_URL_VERSIONING"] = False
    with app.test_request_context():
        assert url_for("static", filename="css/main.css") == "/static/css/main.css"


def test_the_versioned_url_serves_the_file(app: Flask) -> None:
    app.debug = True
    with app.test_request_context():
        url = url_for("static", filename="css/main.css")
    with app.test_client().get(url) as response:
        assert response.text == "body {}"


def test_each_file_is_looked_at_once_per_request(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import demijohn.helpers

    looked_up: list[str] = []
    real = demijohn.helpers._static_file_version

    def counting(folder: str, filename: str) -> int | None:
        looked_up.append(filename)
        return real(folder, filename)

    monkeypatch.setattr(demijohn.helpers, "_static_file_version", counting)
    css = tmp_path / "static" / "css" / "main.css"
    app.debug = True
    with app.test_request_context():
        first = url_for("static", filename="css/main.css")
        # Edited while the page renders: the page keeps one consistent URL.
        os.utime(css, (1_700_000_100, 1_700_000_100))
        assert url_for("static", filename="css/main.css") == first
        assert url_for("static", filename="nope.css") == "/static/nope.css"
        assert url_for("static", filename="nope.css") == "/static/nope.css"
        assert url_for("static", filename="css") == "/static/css"  # a folder: no version
    assert looked_up == ["css/main.css", "nope.css", "css"]
    # The next request sees the edit.
    with app.test_request_context():
        assert url_for("static", filename="css/main.css") == "/static/css/main.css?v=1700000100"

    looked_up.clear()
    app.debug = False
    with app.test_request_context():
        url_for("static", filename="css/main.css")
        url_for("shop.static", filename="app.js")
    assert looked_up == []  # off: no file is touched


def test_versions_outside_a_request_use_the_app_context(app: Flask) -> None:
    # url_for in an app context (a CLI command, an e-mail template) with SERVER_NAME.
    app.debug = True
    app.config["SERVER_NAME"] = "example.test"
    with app.app_context():
        assert url_for("static", filename="css/main.css") == (
            "http://example.test/static/css/main.css?v=1700000000"
        )
