"""The multi-blueprint example (examples/bookshelf) through the test client, both doors.

The example is an ordinary Flask project: an application factory, its own
``init_app``-style extension, three blueprints with their own templates and
static folders (one nested blueprint), blueprint-scoped hooks and error
handlers, a MethodView JSON API and a blueprint CLI group. These tests check
it behaves on demijohn the way its code says it would on Flask.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from asgi_support import through
from werkzeug.exceptions import BadRequest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bookshelf"
PACKAGE = EXAMPLE / "bookshelf"
DEMIJOHN = str(Path(sys.executable).parent / "demijohn")
TOKEN = "letmein"
JSON_ERROR_KEYS = {"code", "name", "message"}


@pytest.fixture
def bookshelf(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[t.Any]:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import bookshelf

    yield bookshelf
    for name in list(sys.modules):
        if name == "bookshelf" or name.startswith("bookshelf."):
            del sys.modules[name]


@pytest.fixture
def make_app(bookshelf: t.Any, tmp_path: Path, door: str) -> t.Callable[..., t.Any]:
    def make(instance: str = "instance", **config: t.Any) -> t.Any:
        app = bookshelf.create_app(
            {"TESTING": True, **config}, instance_path=str(tmp_path / instance)
        )
        through(app, door)
        return app

    return make


@pytest.fixture
def app(make_app: t.Callable[..., t.Any]) -> t.Any:
    return make_app()


def login(client: t.Any) -> None:
    response = client.post("/admin/login", data={"token": TOKEN})
    assert response.status_code == 302
    assert response.location == "/admin/"


def assert_json_error(response: t.Any, code: int) -> dict[str, t.Any]:
    assert response.status_code == code
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) >= JSON_ERROR_KEYS
    assert error["code"] == code
    return t.cast(dict[str, t.Any], error)


# --- the factory, the config and the extension ----------------------------------------------


def test_factory_reads_instance_config_silently(
    bookshelf: t.Any, tmp_path: Path, door: str
) -> None:
    # No instance/config.py: the defaults, without an error.
    plain = bookshelf.create_app(instance_path=str(tmp_path / "plain"))
    assert plain.config["SHELF_NAME"] == "The Bookshelf"
    assert plain.config.root_path == str(tmp_path / "plain")

    configured = tmp_path / "configured"
    configured.mkdir()
    (configured / "config.py").write_text(
        "SHELF_NAME = 'Reading Room'\nADMIN_TOKEN = 'from-instance'\n"
    )
    app = bookshelf.create_app({"ADMIN_TOKEN": "from-test"}, instance_path=str(configured))
    through(app, door)
    assert app.config["SHELF_NAME"] == "Reading Room"
    # test_config is applied last and wins over the instance file.
    assert app.config["ADMIN_TOKEN"] == "from-test"
    page = app.test_client().get("/")
    assert "<title>Books · Reading Room</title>" in page.text


def test_extension_registers_itself_and_closes_on_teardown(app: t.Any, bookshelf: t.Any) -> None:
    from bookshelf.store import store

    state = app.extensions["bookstore"]
    assert state.database == os.path.join(app.instance_path, "bookshelf.sqlite")
    assert os.path.isfile(state.database)
    with app.app_context():
        connection = store.connection
        assert store.connection is connection
        assert store.count() == 3
    with pytest.raises(sqlite3.ProgrammingError):
        connection.execute("SELECT 1")


def test_extension_connection_is_closed_after_each_request(app: t.Any, client: t.Any) -> None:
    seen: list[sqlite3.Connection] = []

    @app.after_request
    def remember(response: t.Any) -> t.Any:
        from flask import g

        seen.append(g._bookstore)
        return response

    assert client.get("/").status_code == 200
    assert client.get("/api/books").status_code == 200
    assert len(seen) == 2 and seen[0] is not seen[1]
    for connection in seen:
        with pytest.raises(sqlite3.ProgrammingError):
            connection.execute("SELECT 1")


def test_seeding_can_be_switched_off(make_app: t.Callable[..., t.Any]) -> None:
    app = make_app(BOOKSTORE_SEED=False)
    response = app.test_client().get("/api/books")
    assert response.json == {"count": 0, "books": []}
    assert "Nothing here yet." in app.test_client().get("/").text


# --- the catalog blueprint -------------------------------------------------------------------


def test_catalog_pages(client: t.Any) -> None:
    index = client.get("/")
    assert index.status_code == 200
    assert "<title>Books · The Bookshelf</title>" in index.text  # app_context_processor
    assert "<h1>3 books</h1>" in index.text  # app_template_filter
    assert '<a href="/books/2">Moby-Dick</a>' in index.text  # url_for('.book')
    assert '<form action="/" method="get">' in index.text  # url_for('.index')
    assert index.text.index("Moby-Dick") < index.text.index("Pride and Prejudice")

    found = client.get("/", query_string={"q": "austen"})
    assert "<h1>1 book matching “austen”</h1>" in found.text
    assert "Pride and Prejudice" in found.text and "Moby-Dick" not in found.text

    book = client.get("/books/3")
    assert "<h1>The Left Hand of Darkness</h1>" in book.text
    assert '<p class="year">First published 1969</p>' in book.text
    assert '<a href="/api/books/3">as JSON</a>' in book.text


def test_catalog_missing_book_is_an_html_404(client: t.Any) -> None:
    response = client.get("/books/99")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<h1>404 Not Found</h1>" in response.text
    assert "There is no book number 99 on this shelf." in response.text
    unknown = client.get("/no/such/page")
    assert unknown.status_code == 404 and unknown.mimetype == "text/html"
    assert "<title>404 Not Found · The Bookshelf</title>" in unknown.text


def test_app_template_overrides_blueprint_template(app: t.Any, client: t.Any) -> None:
    # Both folders have catalog/about.html; the blueprint's own copy exists...
    blueprint_copy = PACKAGE / "catalog" / "templates" / "catalog" / "about.html"
    app_copy = PACKAGE / "templates" / "catalog" / "about.html"
    assert blueprint_copy.is_file() and app_copy.is_file()
    source, _, _ = app.blueprints["catalog"].jinja_loader.get_source(None, "catalog/about.html")
    assert "about-generic" in source
    # ...but the app's templates folder wins.
    response = client.get("/about")
    assert response.status_code == 200
    assert '<p class="about-local">' in response.text
    assert "about-generic" not in response.text
    assert "with 3 books." in response.text
    # The override still extends the blueprint's layout, and base.html from the app.
    assert '<link rel="stylesheet" href="/catalog/static/catalog.css">' in response.text
    assert response.text.startswith("<!doctype html>")
    with app.test_request_context():
        from flask import render_template

        assert "about-local" in render_template("catalog/about.html", count=0)


# --- static files of each blueprint ----------------------------------------------------------


def test_blueprint_static_urls(app: t.Any) -> None:
    from flask import url_for

    with app.test_request_context():
        assert url_for("static", filename="style.css") == "/static/style.css"
        assert url_for("catalog.static", filename="catalog.css") == "/catalog/static/catalog.css"
        assert url_for("admin.static", filename="admin.js") == "/admin/static/admin.js"
        assert url_for("api.static", filename="schema.json") == "/api/static/schema.json"
        assert (
            url_for("admin.reports.static", filename="reports.css")
            == "/admin/reports/static/reports.css"
        )


@pytest.mark.parametrize(
    ("url", "source", "mimetype"),
    [
        ("/static/style.css", "static/style.css", "text/css"),
        ("/catalog/static/catalog.css", "catalog/static/catalog.css", "text/css"),
        ("/admin/static/admin.css", "admin/static/admin.css", "text/css"),
        ("/admin/static/admin.js", "admin/static/admin.js", "text/javascript"),
        ("/api/static/schema.json", "api/static/schema.json", "application/json"),
    ],
)
def test_blueprint_static_files_are_served(
    client: t.Any, url: str, source: str, mimetype: str
) -> None:
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.mimetype == mimetype
        assert response.data == (PACKAGE / source).read_bytes()


def test_pages_link_their_blueprint_static_files(client: t.Any) -> None:
    page = client.get("/").text
    assert '<link rel="stylesheet" href="/static/style.css">' in page
    assert '<link rel="stylesheet" href="/catalog/static/catalog.css">' in page
    assert "admin.css" not in page
    assert 'href="/api/static/schema.json"' in client.get("/api/").text
    login(client)
    dashboard = client.get("/admin/").text
    assert '<link rel="stylesheet" href="/admin/static/admin.css">' in dashboard
    assert '<script src="/admin/static/admin.js"></script>' in dashboard
    reports = client.get("/admin/reports/").text
    assert '<link rel="stylesheet" href="/admin/static/admin.css">' in reports
    assert '<link rel="stylesheet" href="/admin/reports/static/reports.css">' in reports


def test_nested_blueprint_static_is_behind_the_admin_login(client: t.Any) -> None:
    # The admin hook runs for admin.reports too, its static route included;
    # admin's own static files are exempt.
    with client.get("/admin/reports/static/reports.css") as response:
        assert response.status_code == 302
        assert response.location == "/admin/login"
    login(client)
    with client.get("/admin/reports/static/reports.css") as response:
        assert response.status_code == 200
        assert response.data == (PACKAGE / "admin/reports/static/reports.css").read_bytes()


@pytest.mark.parametrize(
    "url",
    [
        "/catalog/static/../__init__.py",
        "/catalog/static/%2e%2e/__init__.py",
        "/catalog/static/..%2f__init__.py",
        "/admin/static/../__init__.py",
        "/admin/static/%2e%2e/commands.py",
        "/api/static/../__init__.py",
        "/api/static/..%2f..%2fstore.py",
        "/static/../__init__.py",
        "/static/..%2fstore.py",
        "/catalog/static/missing.css",
        "/api/static/",
    ],
)
def test_static_traversal_and_missing_files_are_404(client: t.Any, url: str) -> None:
    with client.get(url) as response:
        assert response.status_code == 404
        assert b"import" not in response.data


# --- the admin blueprint, its hooks, and the nested admin.reports ----------------------------


def test_nested_blueprint_endpoints_and_urls(app: t.Any) -> None:
    from flask import url_for

    assert {"catalog", "admin", "admin.reports", "api"} <= set(app.blueprints)
    endpoints = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    assert endpoints["admin.reports.index"] == "/admin/reports/"
    assert endpoints["admin.reports.authors_csv"] == "/admin/reports/authors.csv"
    assert "reports.index" not in endpoints
    with app.test_request_context():
        assert url_for("admin.reports.index") == "/admin/reports/"
        assert url_for("admin.reports.authors_csv") == "/admin/reports/authors.csv"
    with app.test_request_context("/admin/reports/"):
        from flask import request

        assert request.blueprint == "admin.reports"
        assert request.blueprints == ["admin.reports", "admin"]
        assert url_for(".authors_csv") == "/admin/reports/authors.csv"
        assert url_for(".index") == "/admin/reports/"
    with app.test_request_context("/admin/"):
        assert url_for(".reports.index") == "/admin/reports/"
        assert url_for(".dashboard") == "/admin/"


def test_reports_pages(client: t.Any) -> None:
    login(client)
    page = client.get("/admin/reports/")
    assert page.status_code == 200
    assert "3 books by 3 authors." in page.text
    assert '<a href="/admin/reports/authors.csv">Download as CSV</a>' in page.text
    assert '<a href="/admin/">Back to the dashboard</a>' in page.text
    assert '<p class="admin-banner">Administration</p>' in page.text
    csv_file = client.get("/admin/reports/authors.csv")
    assert csv_file.mimetype == "text/csv"
    assert csv_file.headers["Content-Disposition"] == "attachment; filename=authors.csv"
    assert csv_file.text.splitlines()[0] == "author,books,first,last"
    assert "Jane Austen,1,1813,1813" in csv_file.text.splitlines()
    assert csv_file.headers["Cache-Control"] == "no-store"  # admin's after_request


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/admin/"),
        ("GET", "/admin/books/new"),
        ("POST", "/admin/books/new"),
        ("POST", "/admin/books/1/delete"),
        ("GET", "/admin/reports/"),
        ("GET", "/admin/reports/authors.csv"),
    ],
)
def test_admin_pages_need_a_login(client: t.Any, method: str, url: str) -> None:
    response = client.open(url, method=method, data={"title": "Sneaky", "author": "X"})
    assert response.status_code == 302
    assert response.location == "/admin/login"
    assert response.headers["Cache-Control"] == "no-store"
    # Nothing was changed by the refused request.
    assert client.get("/api/books").json["count"] == 3
    assert "Log in to manage the shelf." in client.get("/admin/login").text


def test_admin_hooks_do_not_run_for_other_blueprints(client: t.Any) -> None:
    for url in ("/", "/books/1", "/about", "/api/", "/api/books", "/api/books/1"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Cache-Control" not in response.headers, url
        assert "admin-banner" not in response.text, url
    with client.get("/catalog/static/catalog.css") as response:
        assert response.status_code == 200
        assert response.headers.get("Cache-Control") != "no-store"
    # Admin's own static files are reachable without a login.
    with client.get("/admin/static/admin.css") as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store"


def test_admin_login_and_logout(client: t.Any) -> None:
    page = client.get("/admin/login")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert '<form method="post" action="/admin/login">' in page.text

    wrong = client.post("/admin/login", data={"token": "guess"})
    assert wrong.status_code == 401
    assert "That token is not right." in wrong.text
    assert client.get("/admin/").status_code == 302

    login(client)
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    assert "Welcome back." in dashboard.text
    # The blueprint's context_processor reaches admin templates only; the
    # catalog's app_context_processor and app_template_filter reach them too.
    assert '<p class="admin-banner">Administration</p>' in dashboard.text
    assert "<title>Admin · The Bookshelf</title>" in dashboard.text
    assert "<h1>The shelf holds 3 books</h1>" in dashboard.text
    assert '<a href="/admin/reports/">Reports</a>' in dashboard.text
    assert "admin-banner" not in client.get("/").text

    out = client.post("/admin/logout")
    assert out.status_code == 302 and out.location == "/"
    assert "Logged out." in client.get("/").text
    assert client.get("/admin/").status_code == 302
    # Logging out is a POST only.
    login(client)
    assert client.get("/admin/logout").status_code == 405


def test_admin_adds_and_removes_books(client: t.Any) -> None:
    login(client)
    form = client.get("/admin/books/new")
    assert '<form method="post" action="/admin/books/new">' in form.text

    invalid = client.post("/admin/books/new", data={"title": "  ", "author": "A", "year": "x"})
    assert invalid.status_code == 422
    assert '<p class="field-error" data-field="title">this field is required</p>' in invalid.text
    assert '<p class="field-error" data-field="year">must be a whole number</p>' in invalid.text
    assert 'value="A"' in invalid.text  # what was typed is kept
    assert client.get("/api/books").json["count"] == 3

    added = client.post(
        "/admin/books/new", data={"title": "Middlemarch", "author": "George Eliot", "year": "1871"}
    )
    assert added.status_code == 302 and added.location == "/admin/"
    assert "Added “Middlemarch”." in client.get("/admin/").text
    assert client.get("/api/books/4").json["year"] == 1871
    assert "Middlemarch" in client.get("/").text

    removed = client.post("/admin/books/4/delete")
    assert removed.status_code == 302 and removed.location == "/admin/"
    assert "Removed book 4." in client.get("/admin/").text
    assert client.get("/books/4").status_code == 404
    client.post("/admin/books/4/delete")
    assert "There was no book 4." in client.get("/admin/").text


# --- the JSON API ----------------------------------------------------------------------------


def test_api_crud(client: t.Any) -> None:
    listing = client.get("/api/books")
    assert listing.status_code == 200
    assert listing.json["count"] == 3
    assert listing.json["books"][0] == {
        "id": 2,
        "title": "Moby-Dick",
        "author": "Herman Melville",
        "year": 1851,
        "url": "/api/books/2",
    }
    assert client.get("/api/books?q=le guin").json["count"] == 1

    created = client.post(
        "/api/books", json={"title": "The Dispossessed", "author": "Ursula K. Le Guin"}
    )
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/books/4"
    assert created.json == {
        "id": 4,
        "title": "The Dispossessed",
        "author": "Ursula K. Le Guin",
        "year": None,
        "url": "/api/books/4",
    }
    assert client.get(created.headers["Location"]).json == created.json

    replaced = client.put(
        "/api/books/4", json={"title": "The Dispossessed", "author": "U. K. Le Guin", "year": 1974}
    )
    assert replaced.status_code == 200
    assert replaced.json["author"] == "U. K. Le Guin" and replaced.json["year"] == 1974
    assert client.get("/api/books/4").json == replaced.json
    assert '<p class="author">U. K. Le Guin</p>' in client.get("/books/4").text

    deleted = client.delete("/api/books/4")
    assert deleted.status_code == 204
    assert deleted.data == b""
    assert_json_error(client.get("/api/books/4"), 404)
    assert client.get("/api/books").json["count"] == 3


def test_api_malformed_json_is_400(client: t.Any) -> None:
    for body in ('{"title": ', "", "not json"):
        response = client.post("/api/books", data=body, content_type="application/json")
        error = assert_json_error(response, 400)
        assert error["name"] == "Bad Request"
        # Outside debug mode the parser's message is not shown (Flask 3.1).
        assert error["message"] == BadRequest.description
    not_an_object = client.post("/api/books", json=["Moby-Dick"])
    assert assert_json_error(not_an_object, 400)["message"].startswith("Send one JSON object")
    put = client.put("/api/books/1", data="{oops", content_type="application/json")
    assert_json_error(put, 400)
    assert client.get("/api/books").json["count"] == 3


def test_api_non_json_body_is_415(client: t.Any) -> None:
    response = client.post("/api/books", data={"title": "Form", "author": "Post"})
    error = assert_json_error(response, 415)
    assert error["name"] == "Unsupported Media Type"
    assert "Content-Type" in error["message"]
    assert client.get("/api/books").json["count"] == 3


def test_api_invalid_book_is_422_with_the_fields(client: t.Any) -> None:
    missing = client.post("/api/books", json={"title": "No author"})
    error = assert_json_error(missing, 422)
    assert error["message"] == "The book is not valid."
    assert error["fields"] == {"author": "this field is required"}

    wrong = client.post(
        "/api/books", json={"title": 42, "author": "x" * 201, "year": "soon", "colour": "red"}
    )
    assert assert_json_error(wrong, 422)["fields"] == {
        "title": "must be a string",
        "author": "must be at most 200 characters",
        "year": "must be a whole number",
        "colour": "unknown field",
    }
    assert assert_json_error(client.post("/api/books", json={}), 422)["fields"] == {
        "title": "this field is required",
        "author": "this field is required",
    }
    assert client.get("/api/books").json["count"] == 3


def test_api_failed_update_changes_nothing(client: t.Any) -> None:
    before = client.get("/api/books/1").json
    response = client.put("/api/books/1", json={"title": "Only a title"})
    assert assert_json_error(response, 422)["fields"] == {"author": "this field is required"}
    assert client.get("/api/books/1").json == before
    assert_json_error(client.put("/api/books/1", data="[", content_type="application/json"), 400)
    assert client.get("/api/books/1").json == before


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_api_unknown_id_is_404(client: t.Any, method: str) -> None:
    response = client.open(
        "/api/books/99", method=method, json={"title": "T", "author": "A", "year": 2000}
    )
    error = assert_json_error(response, 404)
    assert error["message"] == "No book with id 99."
    assert client.get("/api/books").json["count"] == 3


def test_api_unknown_url_is_json_404(client: t.Any) -> None:
    for url in ("/api/nope", "/api/books/not-a-number", "/api/books/1/extra"):
        error = assert_json_error(client.get(url), 404)
        assert error["name"] == "Not Found"


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("DELETE", "/api/books", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("PUT", "/api/books", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("PATCH", "/api/books/1", {"DELETE", "GET", "HEAD", "OPTIONS", "PUT"}),
        ("POST", "/api/books/1", {"DELETE", "GET", "HEAD", "OPTIONS", "PUT"}),
    ],
)
def test_api_wrong_method_is_json_405(
    client: t.Any, method: str, url: str, allowed: set[str]
) -> None:
    response = client.open(url, method=method, json={"title": "T", "author": "A"})
    error = assert_json_error(response, 405)
    assert error["name"] == "Method Not Allowed"
    assert set(response.headers["Allow"].split(", ")) == allowed
    options = client.options(url)
    assert options.status_code == 200
    assert set(options.headers["Allow"].split(", ")) == allowed
    assert client.get("/api/books").json["count"] == 3


def test_api_wrong_method_outside_the_api_is_html(client: t.Any) -> None:
    response = client.post("/about")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "<h1>405 Method Not Allowed</h1>" in response.text
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_api_docs_page(client: t.Any) -> None:
    page = client.get("/api/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert "<title>API · The Bookshelf</title>" in page.text
    assert "<code>GET, POST /api/books</code>" in page.text
    assert "<code>GET, PUT, DELETE /api/books/1</code>" in page.text
    redirect = client.get("/api")
    assert redirect.status_code == 308 and redirect.location.endswith("/api/")


# --- the blueprint CLI group -----------------------------------------------------------------


def test_cli_import_books(app: t.Any, client: t.Any, tmp_path: Path) -> None:
    books = tmp_path / "books.json"
    books.write_text((EXAMPLE / "sample-books.json").read_text())
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["admin", "import-books", "--dry-run", str(books)])
    assert dry.exit_code == 0, dry.output
    assert dry.output == "3 books would be imported.\n"
    assert client.get("/api/books").json["count"] == 3

    result = runner.invoke(args=["admin", "import-books", str(books)])
    assert result.exit_code == 0, result.output
    assert result.output == "Imported 3 books; the shelf now has 6.\n"
    titles = [book["title"] for book in client.get("/api/books").json["books"]]
    assert {"Middlemarch", "The Dispossessed", "Persuasion"} <= set(titles)
    assert "Persuasion" in client.get("/").text


def test_cli_import_books_rejects_a_bad_file_whole(
    app: t.Any, client: t.Any, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"title": "Fine", "author": "Someone"}, {"title": ""}, 7]))
    result = runner.invoke(args=["admin", "import-books", str(bad)])
    assert result.exit_code == 1
    assert "nothing imported:" in result.output
    assert "book 2: title: this field is required" in result.output
    assert "book 2: author: this field is required" in result.output
    assert "book 3: expected an object" in result.output
    assert client.get("/api/books").json["count"] == 3  # not even the fine one

    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    result = runner.invoke(args=["admin", "import-books", str(broken)])
    assert result.exit_code == 1 and "is not JSON" in result.output
    result = runner.invoke(args=["admin", "import-books", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "No such file or directory" in result.output

    help_text = runner.invoke(args=["admin", "--help"]).output
    assert "import-books" in help_text


def test_readme_cli_command(tmp_path: Path) -> None:
    # The README's command line, through the real ``demijohn`` command.
    root = EXAMPLE.parent.parent
    env = {**os.environ, "BOOKSHELF_INSTANCE_PATH": str(tmp_path / "instance")}
    result = subprocess.run(
        [
            DEMIJOHN,
            "--app",
            "examples/bookshelf/bookshelf",
            "admin",
            "import-books",
            "examples/bookshelf/sample-books.json",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Imported 3 books; the shelf now has 6.\n"
    assert (tmp_path / "instance" / "bookshelf.sqlite").is_file()


# --- isolation ------------------------------------------------------------------------------


def test_two_apps_from_the_factory_are_isolated(make_app: t.Callable[..., t.Any]) -> None:
    first = make_app("one", SHELF_NAME="First Shelf", SECRET_KEY="one")
    second = make_app("two", SHELF_NAME="Second Shelf", SECRET_KEY="two")
    assert first.extensions["bookstore"].database != second.extensions["bookstore"].database
    # The nested blueprint is registered once per app, not once more per app.
    assert sorted(first.blueprints) == sorted(second.blueprints)
    assert sum(r.endpoint == "admin.reports.index" for r in second.url_map.iter_rules()) == 1

    one, two = first.test_client(), second.test_client()
    created = one.post("/api/books", json={"title": "Only here", "author": "A"})
    assert created.status_code == 201
    assert one.get("/api/books").json["count"] == 4
    assert two.get("/api/books").json["count"] == 3
    assert "Only here" not in two.get("/").text
    assert "<title>Books · First Shelf</title>" in one.get("/").text
    assert "<title>Books · Second Shelf</title>" in two.get("/").text

    login(one)
    assert one.get("/admin/").status_code == 200
    assert two.get("/admin/").status_code == 302
    # A session signed by one app means nothing to the other.
    cookie = one.get_cookie("session")
    assert cookie is not None
    two.set_cookie("session", cookie.value)
    assert two.get("/admin/").status_code == 302
