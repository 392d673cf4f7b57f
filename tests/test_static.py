"""The ``static`` route of the app and of blueprints: files, escapes, caching, hosts,
and cache-busting URLs (``?v=<mtime>`` in debug mode, configurable).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from asgi_support import through
from werkzeug.datastructures import Headers

from demijohn import Blueprint, Flask, url_for


@pytest.fixture
def sapp(tmp_path: Path, door: str) -> Flask:
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "main.css").write_text("body { color: red }")
    (static / "data.bin").write_bytes(bytes(range(256)))
    (tmp_path / "secret.txt").write_text("top secret")
    return through(Flask("sapp", root_path=str(tmp_path)), door)


def get(app: Flask, url: str, **kwargs: object) -> tuple[int, bytes, Headers]:
    with app.test_client().get(url, **kwargs) as response:  # type: ignore[arg-type]
        return response.status_code, response.data, Headers(response.headers)


def test_static_route_serves_files(sapp: Flask) -> None:
    status, body, headers = get(sapp, "/static/css/main.css")
    assert (status, body) == (200, b"body { color: red }")
    assert headers["Content-Type"].startswith("text/css")
    assert "ETag" in headers and "Last-Modified" in headers
    assert headers["Cache-Control"] == "no-cache"  # SEND_FILE_MAX_AGE_DEFAULT is None


@pytest.mark.parametrize(
    "url",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/css/../../secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%2Fsecret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/..\\secret.txt",
        "/static/..%5csecret.txt",
        "/static/css%5c..%5c..%5csecret.txt",
        "/static/C:/secret.txt",
        "/static/css/main.css%00.png",
        "/static/css",
        "/static/css/",
        "/static/",
        "/static",
        "/static/missing.css",
    ],
)
def test_path_traversal_and_missing_files_are_404(sapp: Flask, url: str) -> None:
    status, body, _ = get(sapp, url)
    assert status == 404
    assert b"top secret" not in body


def test_doubled_slashes_redirect_inside_the_static_folder(sapp: Flask) -> None:
    status, _, headers = get(sapp, "/static//css/main.css")
    assert (status, headers["Location"]) == (308, "http://localhost/static/css/main.css")


def test_conditional_and_range_requests(sapp: Flask) -> None:
    _, _, headers = get(sapp, "/static/data.bin")
    status, body, _ = get(sapp, "/static/data.bin", headers={"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    status, _, _ = get(
        sapp, "/static/data.bin", headers={"If-Modified-Since": headers["Last-Modified"]}
    )
    assert status == 304
    status, body, ranged = get(sapp, "/static/data.bin", headers={"Range": "bytes=10-19"})
    assert (status, body) == (206, bytes(range(10, 20)))
    assert ranged["Content-Range"] == "bytes 10-19/256"
    status, _, bad = get(sapp, "/static/data.bin", headers={"Range": "bytes=500-600"})
    assert status == 416 and bad["Content-Range"] == "bytes */256"


def test_send_file_max_age(sapp: Flask) -> None:
    sapp.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    _, _, headers = get(sapp, "/static/css/main.css")
    assert headers["Cache-Control"] == "public, max-age=3600"

    class Custom(Flask):
        def get_send_file_max_age(self, filename: str | None) -> int | None:
            return 60 if filename and filename.endswith(".css") else None

    custom = Custom("custom", root_path=sapp.root_path)
    with custom.test_client().get("/static/css/main.css") as response:
        assert response.headers["Cache-Control"] == "public, max-age=60"


def test_custom_static_folder_and_url_path(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "a.js").write_text("js")
    app = Flask(
        "custom", root_path=str(tmp_path), static_folder="assets", static_url_path="/public"
    )
    with app.test_client().get("/public/a.js") as response:
        assert response.text == "js"
    assert app.test_client().get("/static/a.js").status_code == 404
    none = Flask("none", root_path=str(tmp_path), static_folder=None)
    assert "static" not in none.view_functions


def test_static_host_with_host_matching(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "x.txt").write_text("x")
    app = Flask("hosts", root_path=str(tmp_path), host_matching=True, static_host="cdn.example")
    app.add_url_rule("/", "index", lambda: "home", host="www.example")
    client = app.test_client()
    with client.get("/static/x.txt", base_url="http://cdn.example") as response:
        assert response.text == "x"
    assert client.get("/static/x.txt", base_url="http://www.example").status_code == 404
    assert client.get("/", base_url="http://www.example").text == "home"


def test_blueprint_static_folder(tmp_path: Path) -> None:
    (tmp_path / "bp_static").mkdir()
    (tmp_path / "bp_static" / "shop.css").write_text("shop")
    app = Flask("bps", root_path=str(tmp_path))
    bp = Blueprint(
        "shop", "bps", static_folder="bp_static", static_url_path="/assets", root_path=str(tmp_path)
    )
    app.register_blueprint(bp, url_prefix="/shop")
    with app.test_request_context():
        assert url_for("shop.static", filename="shop.css") == "/shop/assets/shop.css"
    with app.test_client().get("/shop/assets/shop.css") as response:
        assert response.text == "shop"
    assert app.test_client().get("/shop/assets/../bp_static/shop.css").status_code == 404


# -- cache-busting URLs: ``?v=<mtime>`` in debug mode, configurable ----------------------
#
# A demijohn feature, not Flask's: docs/design.md, known error "Cache-busting".


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    """The cache-busting tests' app, in place of conftest's: static files with known mtimes."""
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
