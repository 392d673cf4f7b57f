"""``send_file`` and ``send_from_directory``: options, conditional and range requests, escapes."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from werkzeug.datastructures import Headers
from werkzeug.exceptions import NotFound

from demijohn import Flask, send_file, send_from_directory


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """``tmp_path/files``: the served folder; ``tmp_path/secret.txt`` lies outside it."""
    folder = tmp_path / "files"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "guide.txt").write_text("the guide")
    (folder / "data.bin").write_bytes(bytes(range(100)))
    (folder / "page.html").write_text("<p>hi</p>")
    (tmp_path / "secret.txt").write_text("top secret")
    return folder


def fetch(app: Flask, url: str, **kwargs: object) -> tuple[int, bytes, Headers]:
    # File responses hold an open file: close each one (warnings are errors).
    with app.test_client().get(url, **kwargs) as response:  # type: ignore[arg-type]
        return response.status_code, response.data, Headers(response.headers)


# -- send_file ----------------------------------------------------------------------


def test_paths_relative_to_root_path_absolute_and_pathlike(app: Flask, files: Path) -> None:
    @app.route("/<kind>")
    def view(kind: str) -> object:
        if kind == "relative":
            return send_file("files/docs/guide.txt")  # relative to app.root_path
        if kind == "absolute":
            return send_file(str(files / "docs" / "guide.txt"))
        return send_file(files / "docs" / "guide.txt")

    for kind in ("relative", "absolute", "pathlike"):
        status, body, headers = fetch(app, f"/{kind}")
        assert (status, body) == (200, b"the guide")
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert headers["Content-Length"] == "9"
        assert "ETag" in headers and "Last-Modified" in headers


def test_file_objects_need_a_mimetype_or_name(app: Flask) -> None:
    @app.route("/named")
    def named() -> object:
        return send_file(io.BytesIO(b"a,b"), download_name="table.csv")

    @app.route("/typed")
    def typed() -> object:
        return send_file(io.BytesIO(b"{}"), mimetype="application/json")

    @app.route("/unnamed")
    def unnamed() -> object:
        return send_file(io.BytesIO(b"?"))

    @app.route("/text-mode")
    def text_mode() -> object:
        return send_file(io.StringIO("text"), mimetype="text/plain")

    status, body, headers = fetch(app, "/named")
    assert (status, body, headers["Content-Type"]) == (200, b"a,b", "text/csv; charset=utf-8")
    # A file object has no mtime: no Last-Modified, and no ETag to compute.
    assert "Last-Modified" not in headers and "ETag" not in headers
    assert headers["Content-Disposition"] == "inline; filename=table.csv"
    assert fetch(app, "/typed")[2]["Content-Type"] == "application/json"
    with pytest.raises(TypeError, match="Unable to detect the MIME type"):
        fetch(app, "/unnamed")
    with pytest.raises(ValueError, match="binary mode"):
        fetch(app, "/text-mode")


def test_attachment_and_download_name(app: Flask, files: Path) -> None:
    @app.route("/report")
    def report() -> object:
        return send_file(io.BytesIO(b"1,2"), as_attachment=True, download_name="report 2026.csv")

    @app.route("/unicode")
    def unicode_name() -> object:
        return send_file(files / "data.bin", as_attachment=True, download_name="résumé.pdf")

    @app.route("/own-name")
    def own_name() -> object:
        return send_file(files / "docs" / "guide.txt", as_attachment=True)

    assert fetch(app, "/report")[2]["Content-Disposition"] == (
        'attachment; filename="report 2026.csv"'
    )
    # The ASCII fallback plus the RFC 5987 UTF-8 form; the type follows the new name.
    _, _, headers = fetch(app, "/unicode")
    assert headers["Content-Disposition"] == (
        "attachment; filename=resume.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    )
    assert headers["Content-Type"] == "application/pdf"
    assert fetch(app, "/own-name")[2]["Content-Disposition"] == "attachment; filename=guide.txt"


def test_conditional_requests_answer_304(app: Flask, files: Path) -> None:
    app.add_url_rule("/f", "f", lambda: send_file(files / "data.bin"))
    _, _, headers = fetch(app, "/f")
    etag, last_modified = headers["ETag"], headers["Last-Modified"]

    status, body, not_modified = fetch(app, "/f", headers={"If-None-Match": etag})
    assert (status, body) == (304, b"")
    assert not_modified["ETag"] == etag
    assert fetch(app, "/f", headers={"If-None-Match": "*"})[0] == 304
    assert fetch(app, "/f", headers={"If-Modified-Since": last_modified})[0] == 304
    # A stale validator gets the whole file again.
    status, body, _ = fetch(app, "/f", headers={"If-None-Match": '"other"'})
    assert (status, len(body)) == (200, 100)
    status, _, _ = fetch(app, "/f", headers={"If-Modified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"})
    assert status == 200


def test_range_requests_answer_206_or_416(app: Flask, files: Path) -> None:
    app.add_url_rule("/f", "f", lambda: send_file(files / "data.bin"))
    status, body, headers = fetch(app, "/f")
    assert headers["Accept-Ranges"] == "bytes"
    etag = headers["ETag"]

    cases = {
        "bytes=10-19": (bytes(range(10, 20)), "bytes 10-19/100"),
        "bytes=95-": (bytes(range(95, 100)), "bytes 95-99/100"),
        "bytes=-3": (bytes(range(97, 100)), "bytes 97-99/100"),
        "bytes=90-500": (bytes(range(90, 100)), "bytes 90-99/100"),
    }
    for header, (expected, content_range) in cases.items():
        status, body, headers = fetch(app, "/f", headers={"Range": header})
        assert (status, body) == (206, expected), header
        assert headers["Content-Range"] == content_range
        assert headers["Content-Length"] == str(len(expected))

    for unsatisfiable in ("bytes=100-200", "bytes=500-", "bytes=0-1,5-6", "items=1-2"):
        status, _, headers = fetch(app, "/f", headers={"Range": unsatisfiable})
        assert status == 416, unsatisfiable
        assert headers["Content-Range"] == "bytes */100"

    # If-Range: the range only applies while the client's copy is current.
    status, body, _ = fetch(app, "/f", headers={"Range": "bytes=0-1", "If-Range": etag})
    assert (status, body) == (206, b"\x00\x01")
    status, body, _ = fetch(app, "/f", headers={"Range": "bytes=0-1", "If-Range": '"old"'})
    assert (status, len(body)) == (200, 100)


def test_conditional_false_ignores_validators_and_ranges(app: Flask, files: Path) -> None:
    app.add_url_rule("/f", "f", lambda: send_file(files / "data.bin", conditional=False))
    _, _, headers = fetch(app, "/f")
    assert "Accept-Ranges" not in headers
    status, body, _ = fetch(app, "/f", headers={"If-None-Match": headers["ETag"]})
    assert (status, len(body)) == (200, 100)
    status, body, _ = fetch(app, "/f", headers={"Range": "bytes=0-1"})
    assert (status, len(body)) == (200, 100)


def test_etag_and_last_modified_options(app: Flask, files: Path) -> None:
    app.add_url_rule("/no-etag", "a", lambda: send_file(files / "data.bin", etag=False))
    app.add_url_rule("/fixed-etag", "b", lambda: send_file(files / "data.bin", etag="v42"))
    stamp = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    app.add_url_rule("/dated", "c", lambda: send_file(files / "data.bin", last_modified=stamp))
    app.add_url_rule("/epoch", "d", lambda: send_file(files / "data.bin", last_modified=0))

    assert "ETag" not in fetch(app, "/no-etag")[2]
    assert fetch(app, "/fixed-etag")[2]["ETag"] == '"v42"'
    assert fetch(app, "/fixed-etag", headers={"If-None-Match": '"v42"'})[0] == 304
    assert fetch(app, "/dated")[2]["Last-Modified"] == "Mon, 06 May 2024 07:08:09 GMT"
    assert fetch(app, "/epoch")[2]["Last-Modified"] == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_max_age_argument_config_and_app_hook(app: Flask, files: Path) -> None:
    app.add_url_rule("/default", "a", lambda: send_file(files / "data.bin"))
    app.add_url_rule("/ten", "b", lambda: send_file(files / "data.bin", max_age=10))
    app.add_url_rule(
        "/by-name",
        "c",
        lambda: send_file(files / "page.html", max_age=lambda name: 60 if name else None),
    )

    # SEND_FILE_MAX_AGE_DEFAULT is None: browsers must revalidate (and can, cheaply).
    assert fetch(app, "/default")[2]["Cache-Control"] == "no-cache"
    assert fetch(app, "/ten")[2]["Cache-Control"] == "public, max-age=10"
    assert fetch(app, "/by-name")[2]["Cache-Control"] == "public, max-age=60"

    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 300
    assert fetch(app, "/default")[2]["Cache-Control"] == "public, max-age=300"
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = timedelta(hours=12)
    assert fetch(app, "/default")[2]["Cache-Control"] == "public, max-age=43200"
    assert fetch(app, "/ten")[2]["Cache-Control"] == "public, max-age=10"

    # Without a max_age argument, send_file asks the app, per file name.
    seen: list[str | None] = []

    def get_send_file_max_age(filename: str | None) -> int | None:
        seen.append(filename)
        return 5

    app.get_send_file_max_age = get_send_file_max_age  # type: ignore[method-assign]
    assert fetch(app, "/default")[2]["Cache-Control"] == "public, max-age=5"
    assert seen == [str(files / "data.bin")]


def test_get_send_file_max_age_reads_the_config(app: Flask) -> None:
    with app.app_context():
        assert app.get_send_file_max_age("x.css") is None
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = timedelta(minutes=2)
        assert app.get_send_file_max_age("x.css") == 120
        app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 7
        assert app.get_send_file_max_age(None) == 7


def test_head_request_sends_headers_only(app: Flask, files: Path) -> None:
    app.add_url_rule("/f", "f", lambda: send_file(files / "data.bin"))
    with app.test_client().head("/f") as response:
        assert response.status_code == 200
        assert response.data == b""
        assert response.headers["Content-Length"] == "100"


def test_x_sendfile_leaves_the_body_to_the_server(app: Flask, files: Path) -> None:
    app.config["USE_X_SENDFILE"] = True
    app.add_url_rule("/f", "f", lambda: send_file(files / "data.bin"))
    status, body, headers = fetch(app, "/f")
    assert (status, body) == (200, b"")
    assert headers["X-Sendfile"] == str(files / "data.bin")


def test_missing_file_is_an_error_not_a_404(app: Flask) -> None:
    # send_file trusts its caller: a missing path is a bug (send_from_directory 404s).
    app.add_url_rule("/f", "f", lambda: send_file("nope.txt"))
    with pytest.raises(FileNotFoundError):
        fetch(app, "/f")


def test_send_file_needs_a_request_context(files: Path) -> None:
    with pytest.raises(RuntimeError, match="outside of application context"):
        send_file(files / "data.bin")


# -- send_from_directory ------------------------------------------------------------


def test_send_from_directory_serves_files_inside(app: Flask, files: Path) -> None:
    @app.route("/files/<path:name>")
    def download(name: str) -> object:
        return send_from_directory(files, name)

    @app.route("/attach/<path:name>")
    def attach(name: str) -> object:
        return send_from_directory(str(files), name, as_attachment=True, max_age=30)

    assert fetch(app, "/files/docs/guide.txt")[:2] == (200, b"the guide")
    status, body, headers = fetch(app, "/attach/data.bin")
    assert (status, len(body)) == (200, 100)
    assert headers["Content-Disposition"] == "attachment; filename=data.bin"
    assert headers["Cache-Control"] == "public, max-age=30"
    status, body, _ = fetch(app, "/files/data.bin", headers={"Range": "bytes=0-2"})
    assert (status, body) == (206, b"\x00\x01\x02")


@pytest.mark.parametrize(
    "url",
    [
        "/files/../secret.txt",
        "/files/docs/../../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/%2E%2E/secret.txt",
        "/files/..%2fsecret.txt",
        "/files/..%2Fsecret.txt",
        "/files/..\\secret.txt",
        "/files/..%5csecret.txt",
        "/files/docs%5c..%5c..%5csecret.txt",
        "/files/C:/secret.txt",
        "/files/docs",
        "/files/docs/",
        "/files/missing.txt",
        "/files/guide.txt%00.png",
    ],
)
def test_send_from_directory_escapes_and_misses_are_404(app: Flask, files: Path, url: str) -> None:
    app.add_url_rule(
        "/files/<path:name>", "download", lambda name: send_from_directory(files, name)
    )
    status, body, _ = fetch(app, url)
    assert status == 404
    assert b"top secret" not in body


def test_send_from_directory_absolute_paths_are_404(app: Flask, files: Path) -> None:
    app.add_url_rule(
        "/files/<path:name>", "download", lambda name: send_from_directory(files, name)
    )
    # The URL form: Werkzeug merges the doubled slash (308) inside the folder.
    with app.test_client().get("/files//etc/passwd", follow_redirects=True) as response:
        assert response.status_code == 404
        assert [r.status_code for r in response.history] == [308]
    # Called directly with an absolute name, whatever the view received.
    with app.test_request_context():
        for name in (
            str(files.parent / "secret.txt"),
            "/etc/passwd",
            "\\secret.txt",
            "C:\\secret.txt",
            "",
            "docs/../../secret.txt",
        ):
            with pytest.raises(NotFound):
                send_from_directory(files, name)
