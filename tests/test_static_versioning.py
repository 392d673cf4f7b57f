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
