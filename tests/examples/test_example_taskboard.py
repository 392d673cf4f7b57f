"""The README's demo (examples/taskboard) through the test client, both doors.

The demo is an ordinary Flask project (``from flask import ...``, an application
factory, blueprints, Flask-SQLAlchemy, Flask-Migrate, Flask-Login, Flask-WTF):
these tests check it works on demijohn the way its code says it should.
Browser-level checks are in tests/test_browser.py, the proxy setup in
tests/test_deploy_nginx.py.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
import stat
import subprocess
import sys
import typing as t
from html import unescape
from pathlib import Path

import pytest
from asgi_support import through
from taskboard_server import import_taskboard

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "taskboard"
DEMIJOHN = str(Path(sys.executable).parent / "demijohn")
PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def taskboard() -> t.Iterator[t.Any]:
    with import_taskboard() as package:
        yield package


@pytest.fixture
def make_app(taskboard: t.Any, tmp_path: Path, door: str) -> t.Callable[..., t.Any]:
    def make(**config: t.Any) -> t.Any:
        app = taskboard.create_app(
            {"TESTING": True, "SEED_DEMO_DATA": False, **config},
            instance_path=str(tmp_path / "instance"),
        )
        through(app, door)
        return app

    return make


@pytest.fixture
def app(make_app: t.Callable[..., t.Any]) -> t.Any:
    return make_app()


def csrf(client: t.Any, path: str = "/auth/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, html
    return match.group(1)


def register(client: t.Any, username: str, password: str = PASSWORD) -> t.Any:
    token = csrf(client, "/auth/register")
    return client.post(
        "/auth/register",
        data={"csrf_token": token, "username": username, "password": password, "confirm": password},
    )


def login(client: t.Any, username: str, password: str = PASSWORD, **extra: t.Any) -> t.Any:
    token = csrf(client)
    data = {"csrf_token": token, "username": username, "password": password}
    if extra.pop("remember", False):
        data["remember"] = "y"
    return client.post(extra.pop("path", "/auth/login"), data=data, **extra)


def logged_in(app: t.Any, username: str = "ada") -> t.Any:
    client = app.test_client()
    assert register(client, username).status_code == 302
    return client


def text(response: t.Any) -> str:
    return str(response.get_data(as_text=True))


def field_errors(page: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'<p class="field-error">([^<]*)</p>', page)]


def flashes(page: str) -> list[str]:
    found = re.findall(r'<li class="flash[^"]*" role="status">([^<]*)</li>', page)
    return [unescape(m.strip()) for m in found]


# -- first start -----------------------------------------------------------------------------


def test_first_start_creates_and_seeds_the_database_in_the_instance_folder(
    taskboard: t.Any, tmp_path: Path
) -> None:
    instance = tmp_path / "instance"
    app = taskboard.create_app({"TESTING": True, "SEED_TASKS": 7}, instance_path=str(instance))
    database = instance / "taskboard.sqlite"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{database}"
    with sqlite3.connect(database) as conn:
        # Made by the committed migration, not create_all(): alembic knows it is at head.
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        users = [row[0] for row in conn.execute("SELECT username FROM user ORDER BY id")]
        (tasks,) = conn.execute("SELECT count(*) FROM task").fetchone()
    head = next((EXAMPLE / "migrations" / "versions").glob("*.py")).name.split("_")[0]
    assert revision == head
    assert users == ["alice", "bob", "carol"]
    assert tasks == 7

    # The generated secret key is private to the owner and reused by the next start.
    key_file = instance / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(app.config["SECRET_KEY"]) == 64
    again = taskboard.create_app({"TESTING": True, "SEED_TASKS": 7}, instance_path=str(instance))
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM task").fetchone() == (7,)  # not seeded twice

    # The seeded accounts work with the password the welcome page gives.
    client = again.test_client()
    assert "alice" in text(client.get("/"))
    response = login(client, "alice", "taskboard", follow_redirects=True)
    assert flashes(text(response)) == ["Logged in as alice."]
    assert text(response).count('class="task"') == 7


def test_configuration_from_instance_file_and_environment(
    taskboard: t.Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("SECRET_KEY = 'from-instance'\nSEED_TASKS = 3\n")
    app = taskboard.create_app(instance_path=str(instance))
    assert app.config["SECRET_KEY"] == "from-instance"
    assert not (instance / "secret_key").exists()

    monkeypatch.setenv("FLASK_SECRET_KEY", "from-env")
    monkeypatch.setenv("FLASK_SEED_DEMO_DATA", "false")
    monkeypatch.setenv("TASKBOARD_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    app = taskboard.create_app()
    assert app.instance_path == str(tmp_path / "elsewhere")
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SEED_DEMO_DATA"] is False
    with sqlite3.connect(tmp_path / "elsewhere" / "taskboard.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM user").fetchone() == (0,)


# -- pages, templates, static files ----------------------------------------------------------


def test_welcome_page_uses_the_base_template_and_context_processor(client: t.Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = text(response)
    assert "<title>Welcome · Taskboard</title>" in html  # block title + context processor
    assert 'href="/static/style.css"' in html
    assert '<img src="/static/logo.svg"' in html
    assert "0 people are sharing 0 tasks here." in html
    assert re.search(r"Taskboard · a Flask app served by demijohn · 20\d\d", html)
    assert 'href="/auth/register"' in html


def test_static_css_and_image(client: t.Any) -> None:
    with client.get("/static/style.css") as css:
        assert css.status_code == 200
        assert css.mimetype == "text/css"
        assert b".board {" in css.data
    with client.get("/static/logo.svg") as logo:
        assert logo.status_code == 200
        assert logo.mimetype == "image/svg+xml"
        assert logo.data.startswith(b"<svg")
    assert client.get("/static/missing.png").status_code == 404


def test_no_external_resources_in_pages_or_css(client: t.Any) -> None:
    pages = [text(client.get(p)) for p in ("/", "/auth/login", "/auth/register", "/nope")]
    with client.get("/static/style.css") as css:
        pages.append(text(css))
    for page in pages:
        assert not re.search(r"(src|href)=\"(https?:)?//", page)
        assert "url(http" not in page and "@import" not in page


def test_custom_404_page(client: t.Any) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = text(response)
    assert "<title>Page not found · Taskboard</title>" in html
    assert "There is nothing at <code>/no/such/page</code>." in html


def test_missing_task_is_the_custom_404(app: t.Any) -> None:
    client = logged_in(app)
    response = client.get("/tasks/999/edit")
    assert response.status_code == 404
    assert "Page not found" in text(response)


def test_custom_500_page(make_app: t.Callable[..., t.Any]) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("kaputt")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = text(response)
    assert "<title>Something went wrong · Taskboard</title>" in html
    assert "kaputt" not in html  # no internals leak into the page


# -- registration, login, logout -------------------------------------------------------------


def test_register_logs_in_and_flashes(client: t.Any) -> None:
    response = register(client, "ada")
    assert response.status_code == 302
    assert response.location == "/"
    board = text(client.get("/"))
    assert flashes(board) == ["Welcome, ada! Your account is ready."]
    assert "Signed in as <strong>ada</strong>" in board
    assert "<h1>Board</h1>" in board
    # Flashed once only.
    assert flashes(text(client.get("/"))) == []


def test_passwords_are_stored_hashed(app: t.Any, taskboard: t.Any) -> None:
    logged_in(app, "ada")
    with app.app_context():
        from taskboard.extensions import db
        from taskboard.models import User

        user = db.session.scalars(db.select(User)).one()
        assert PASSWORD not in user.password_hash
        assert user.password_hash.startswith("scrypt:")
        assert user.check_password(PASSWORD)
        assert not user.check_password("wrong password")


@pytest.mark.parametrize(
    ("username", "password", "confirm", "errors"),
    [
        ("", PASSWORD, PASSWORD, ["This field is required."]),
        ("al", PASSWORD, PASSWORD, ["Field must be between 3 and 32 characters long."]),
        ("bad name!", PASSWORD, PASSWORD, ["Use letters, digits, '.', '-' or '_' only."]),
        ("ada", "short", "short", ["Field must be between 8 and 128 characters long."]),
        ("ada", PASSWORD, "something else", ["Passwords must match."]),
    ],
)
def test_registration_errors_are_shown_next_to_fields(
    client: t.Any, username: str, password: str, confirm: str, errors: list[str]
) -> None:
    token = csrf(client, "/auth/register")
    data = {"csrf_token": token, "username": username, "password": password, "confirm": confirm}
    response = client.post("/auth/register", data=data)
    assert response.status_code == 200  # the form again, not a redirect
    html = text(response)
    assert field_errors(html) == errors
    assert 'class="field has-errors"' in html
    assert 'aria-invalid="true"' in html
    if username:
        assert f'value="{username}"' in html.replace("&#39;", "'")  # input kept


def test_username_taken_regardless_of_case(app: t.Any) -> None:
    logged_in(app, "Ada")
    response = register(app.test_client(), "ada")
    assert response.status_code == 200
    assert field_errors(text(response)) == ["That username is already taken."]


def test_login_failure_flashes_one_vague_message(app: t.Any) -> None:
    logged_in(app, "ada")
    client = app.test_client()
    for username, password in [("ada", "wrong password"), ("nobody", PASSWORD)]:
        response = login(client, username, password)
        assert response.status_code == 200
        assert flashes(text(response)) == ["Invalid username or password."]
    empty = login(client, "", "")
    assert field_errors(text(empty)) == ["This field is required.", "This field is required."]


def test_login_required_redirects_with_next_and_returns_there(app: t.Any) -> None:
    logged_in(app, "ada")
    client = app.test_client()
    response = client.get("/tasks/new")
    assert response.status_code == 302
    assert response.location == "/auth/login?next=%2Ftasks%2Fnew"
    page = text(client.get(response.location))
    assert flashes(page) == ["Please log in to see that page."]
    response = login(client, "ada", path="/auth/login?next=%2Ftasks%2Fnew")
    assert response.location == "/tasks/new"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_login_next_is_never_an_open_redirect(app: t.Any, target: str) -> None:
    logged_in(app, "ada")
    client = app.test_client()
    from urllib.parse import quote

    response = login(client, "ada", path="/auth/login?next=" + quote(target, safe=""))
    assert response.status_code == 302
    assert response.location == "/"


def test_csrf_token_is_required_on_forms(app: t.Any) -> None:
    client = app.test_client()
    data = {"username": "ada", "password": PASSWORD, "confirm": PASSWORD}
    response = client.post("/auth/register", data=data)
    assert response.status_code == 400
    assert "The CSRF token is missing." in text(response)
    csrf(client)  # now the session holds a token, but the form sends another one
    response = client.post("/auth/register", data={**data, "csrf_token": "forged"})
    assert response.status_code == 400
    assert "The CSRF token is invalid." in text(response)


def test_logout_is_a_post_and_forgets_the_user(app: t.Any) -> None:
    client = logged_in(app)
    assert client.get("/auth/logout").status_code == 405
    token = csrf(client, "/")
    response = client.post("/auth/logout", data={"csrf_token": token}, follow_redirects=True)
    assert response.request.path == "/auth/login"
    assert flashes(text(response)) == ["You have been logged out."]
    assert client.get("/tasks/new").status_code == 302


def test_remember_me_survives_a_browser_restart(app: t.Any) -> None:
    logged_in(app, "ada")
    client = app.test_client()
    login(client, "ada", remember=True)
    session_cookie = client.get_cookie("session")
    remember = client.get_cookie("remember_token")
    assert session_cookie is not None and session_cookie.expires is None  # dies with the browser
    assert remember is not None and remember.expires is not None  # persistent
    assert remember.http_only

    # A "restarted browser": only the persistent cookie is left.
    restarted = app.test_client()
    restarted.set_cookie("remember_token", remember.value)
    response = restarted.get("/")
    assert "Signed in as <strong>ada</strong>" in text(response)

    # Without "remember me" there is no such cookie, so a restart logs out.
    forgetful = app.test_client()
    login(forgetful, "ada")
    assert forgetful.get_cookie("remember_token") is None


# -- tasks -----------------------------------------------------------------------------------


def new_task(client: t.Any, title: str, status: str = "todo", description: str = "") -> t.Any:
    token = csrf(client, "/tasks/new")
    data = {"csrf_token": token, "title": title, "status": status, "description": description}
    return client.post("/tasks/new", data=data)


def board_columns(html: str) -> dict[str, list[str]]:
    columns = {}
    for status, body in re.findall(
        r'<section class="column status-(\w+)".*?>(.*?)</section>', html, re.S
    ):
        columns[status] = re.findall(r'<h3><a href="[^"]+">([^<]*)</a></h3>', body)
    return columns


def test_create_edit_move_and_delete_a_task(app: t.Any) -> None:
    client = logged_in(app)
    response = new_task(client, "Write the <docs>", description="With examples")
    assert response.status_code == 302
    html = text(client.get("/"))
    assert "Task “Write the &lt;docs&gt;” created." in html  # escaped
    assert board_columns(html) == {"todo": ["Write the &lt;docs&gt;"], "doing": [], "done": []}
    task_id = re.search(r'data-task-id="(\d+)"', html).group(1)  # type: ignore[union-attr]

    edit = text(client.get(f"/tasks/{task_id}/edit"))
    assert f"Edit task #{task_id}" in edit
    assert 'value="Write the &lt;docs&gt;"' in edit
    assert '<option selected value="todo">To do</option>' in edit
    token = csrf(client, "/")
    data = {"csrf_token": token, "title": "Write the docs", "status": "doing", "description": ""}
    assert client.post(f"/tasks/{task_id}/edit", data=data).status_code == 302
    html = text(client.get("/"))
    assert flashes(html) == ["Task “Write the docs” updated."]
    assert board_columns(html)["doing"] == ["Write the docs"]

    move = client.post(f"/tasks/{task_id}/move", data={"csrf_token": token, "status": "done"})
    assert move.status_code == 302
    html = text(client.get("/"))
    assert flashes(html) == ["Moved “Write the docs” to Done."]
    assert board_columns(html)["done"] == ["Write the docs"]
    bad = client.post(f"/tasks/{task_id}/move", data={"csrf_token": token, "status": "nope"})
    assert bad.status_code == 400

    assert client.post(f"/tasks/{task_id}/delete", data={"csrf_token": token}).status_code == 302
    html = text(client.get("/"))
    assert flashes(html) == ["Task “Write the docs” deleted."]
    assert board_columns(html) == {"todo": [], "doing": [], "done": []}


def test_task_validation_errors(app: t.Any) -> None:
    client = logged_in(app)
    response = new_task(client, "   ", description="kept")
    assert response.status_code == 200
    html = text(response)
    assert field_errors(html) == ["This field is required."]
    assert re.search(r"<textarea [^>]*>\s*kept</textarea>", html)
    response = new_task(client, "x" * 121)
    assert field_errors(text(response)) == ["Field cannot be longer than 120 characters."]
    response = new_task(client, "ok", status="archived")
    assert field_errors(text(response)) == ["Not a valid choice."]


def test_only_the_author_deletes_but_the_team_edits(app: t.Any) -> None:
    ada = logged_in(app, "ada")
    new_task(ada, "Ada's task")
    bob = logged_in(app, "bob")
    html = text(bob.get("/"))
    task_id = re.search(r'data-task-id="(\d+)"', html).group(1)  # type: ignore[union-attr]
    edit = text(bob.get(f"/tasks/{task_id}/edit"))
    assert "Delete this task" not in edit
    token = csrf(bob, "/")
    response = bob.post(f"/tasks/{task_id}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    data = {"csrf_token": token, "title": "Bob edited", "status": "todo"}
    assert bob.post(f"/tasks/{task_id}/edit", data=data).status_code == 302
    assert "Bob edited" in text(ada.get("/"))
    assert board_columns(text(bob.get("/?mine=1")))["todo"] == []


def test_csv_export_streams_every_task(app: t.Any) -> None:
    client = logged_in(app)
    new_task(client, "First, with a comma", description='Quote "this"\nand a newline')
    new_task(client, "Second", status="done")
    response = client.get("/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=tasks.csv"
    assert "Content-Length" not in response.headers  # streamed, not built in memory
    rows = list(csv.DictReader(io.StringIO(text(response))))
    assert [(r["id"], r["title"], r["status"], r["author"]) for r in rows] == [
        ("1", "First, with a comma", "todo", "ada"),
        ("2", "Second", "done", "ada"),
    ]
    assert rows[0]["description"] == 'Quote "this"\nand a newline'
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", rows[0]["created_at"])
    # Members only.
    assert app.test_client().get("/export.csv").status_code == 302


# -- the JSON API ----------------------------------------------------------------------------


def api_client(app: t.Any, username: str = "ada") -> tuple[t.Any, dict[str, str]]:
    client = logged_in(app, username)
    return client, {"X-CSRFToken": csrf(client, "/")}


def test_api_requires_login_with_a_json_401(client: t.Any) -> None:
    response = client.get("/api/v1/tasks")
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["status"] == 401
    assert response.get_json()["error"]["name"] == "Unauthorized"
    assert client.get("/api/v1/me").status_code == 401
    index = client.get("/api/v1/")
    assert index.status_code == 200
    assert index.get_json()["endpoints"]["tasks"] == "http://localhost/api/v1/tasks"


def test_api_create_list_read_update_delete(app: t.Any) -> None:
    client, headers = api_client(app)
    response = client.post(
        "/api/v1/tasks", json={"title": "From the API", "description": "json"}, headers=headers
    )
    assert response.status_code == 201
    task = response.get_json()
    assert response.headers["Location"] == task["url"] == "http://localhost/api/v1/tasks/1"
    assert task["title"] == "From the API"
    assert task["status"] == "todo"
    assert task["author"] == "ada"
    assert task["created_at"].endswith("Z")

    client.post("/api/v1/tasks", json={"title": "Done one", "status": "done"}, headers=headers)
    listing = client.get("/api/v1/tasks").get_json()
    assert listing["count"] == 2
    assert [t_["title"] for t_ in listing["tasks"]] == ["From the API", "Done one"]
    done = client.get("/api/v1/tasks?status=done").get_json()
    assert [t_["title"] for t_ in done["tasks"]] == ["Done one"]
    assert client.get("/api/v1/tasks/1").get_json() == task

    patched = client.patch("/api/v1/tasks/1", json={"status": "doing"}, headers=headers)
    assert patched.status_code == 200
    assert patched.get_json()["status"] == "doing"
    assert patched.get_json()["title"] == "From the API"  # PATCH keeps the other fields
    assert app.test_client().get("/").status_code == 200
    assert client.get("/api/v1/").get_json()["counts"] == {"todo": 0, "doing": 1, "done": 1}

    deleted = client.delete("/api/v1/tasks/1", headers=headers)
    assert deleted.status_code == 204
    assert deleted.data == b""
    assert client.get("/api/v1/tasks/1").status_code == 404
    # The web board sees what the API did.
    assert board_columns(text(client.get("/")))["done"] == ["Done one"]


def test_api_validation_errors_are_json_with_fields(app: t.Any) -> None:
    client, headers = api_client(app)
    response = client.post("/api/v1/tasks", json={"title": "", "status": "later"}, headers=headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["message"] == "The task is not valid."
    assert error["fields"] == {
        "title": ["This field is required."],
        "status": ["Not a valid choice."],
    }

    response = client.post("/api/v1/tasks", json={"title": "x", "owner": 1}, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Unknown fields: owner."
    response = client.post("/api/v1/tasks", data="title=x", headers=headers)
    assert response.status_code == 400
    assert "Send a JSON object" in response.get_json()["error"]["message"]
    response = client.get("/api/v1/tasks?status=archived")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "status must be one of: todo, doing, done."


def test_api_errors_are_json_everywhere_under_api(app: t.Any) -> None:
    client, headers = api_client(app)
    missing = client.get("/api/v1/tasks/42")
    assert (missing.status_code, missing.mimetype) == (404, "application/json")
    assert missing.get_json()["error"]["message"] == "There is no task #42."
    unknown = client.get("/api/v1/nothing-here")
    assert (unknown.status_code, unknown.mimetype) == (404, "application/json")
    assert unknown.get_json()["error"]["name"] == "Not Found"
    wrong = client.delete("/api/v1/tasks", headers=headers)
    assert (wrong.status_code, wrong.mimetype) == (405, "application/json")
    assert set(wrong.headers["Allow"].split(", ")) >= {"GET", "POST"}
    # No CSRF header: refused, as JSON.
    forged = client.post("/api/v1/tasks", json={"title": "x"})
    assert (forged.status_code, forged.mimetype) == (400, "application/json")
    assert forged.get_json()["error"]["message"] == "The CSRF token is missing."


def test_api_delete_is_for_the_author_only(app: t.Any) -> None:
    ada, ada_headers = api_client(app, "ada")
    ada.post("/api/v1/tasks", json={"title": "mine"}, headers=ada_headers)
    bob, bob_headers = api_client(app, "bob")
    response = bob.delete("/api/v1/tasks/1", headers=bob_headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["message"] == "Only the author of a task can delete it."


def test_api_500_is_json(make_app: t.Callable[..., t.Any]) -> None:
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/api/v1/boom")
    def boom() -> str:
        raise RuntimeError("kaputt")

    response = app.test_client().get("/api/v1/boom")
    assert (response.status_code, response.mimetype) == (500, "application/json")
    assert response.get_json()["error"]["message"] == "Something went wrong on our side."


def test_api_me_reports_the_last_login(app: t.Any) -> None:
    client, _ = api_client(app)
    me = client.get("/api/v1/me", environ_base={"REMOTE_ADDR": "10.1.2.3"}).get_json()
    assert me["username"] == "ada"
    assert me["last_login_ip"] == "127.0.0.1"
    assert me["remote_addr"] == "10.1.2.3"
    assert me["last_login_at"].endswith("Z")


# -- the command line ------------------------------------------------------------------------


def test_seed_db_command(app: t.Any) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-db", "20", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "Added 20 tasks; the board now has 20." in result.output
    assert "Demo users: alice, bob, carol (password: 'taskboard')." in result.output
    result = runner.invoke(args=["seed-db", "5"])
    assert "Added 5 tasks; the board now has 25." in result.output
    result = runner.invoke(args=["seed-db", "10001"])
    assert result.exit_code == 2
    assert "10001 is not in the range 0<=x<=10000" in result.output


@pytest.mark.wsgi_only
def test_cli_routes_seed_db_and_migrations_in_sync(tmp_path: Path) -> None:
    # As a user runs it from the repository root: demijohn finds create_app.
    env = {**os.environ, "TASKBOARD_INSTANCE_PATH": str(tmp_path / "instance")}
    app_path = str(EXAMPLE / "taskboard")

    def demijohn(*args: str) -> str:
        result = subprocess.run(
            [DEMIJOHN, "--app", app_path, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    routes = demijohn("routes").splitlines()
    assert routes[0].split() == ["Endpoint", "Methods", "Rule"]
    listed = {line.split()[0]: line.split()[-1] for line in routes[2:]}
    assert listed["api.task"] == "/api/v1/tasks/<int:task_id>"
    assert listed["main.export_csv"] == "/export.csv"
    assert listed["auth.logout"] == "/auth/logout"
    assert "Added 3 tasks; the board now has 23." in demijohn("seed-db", "3")
    # The committed migrations describe the models exactly (alembic's check).
    assert "No new upgrade operations detected." in demijohn("db", "check")
    assert "(head)" in demijohn("db", "current")


@pytest.mark.wsgi_only
def test_wsgi_entry_point_serves_the_app_through_the_alias(tmp_path: Path) -> None:
    script = """
import sys
import wsgi, demijohn
assert sys.modules["flask"] is demijohn
assert isinstance(wsgi.app, demijohn.Flask)
print(wsgi.app.test_client().get("/").status_code, wsgi.app.instance_path)
"""
    env = {**os.environ, "TASKBOARD_INSTANCE_PATH": str(tmp_path / "inst")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", str(tmp_path / "inst")]


def test_deployment_files_match_the_tested_setup() -> None:
    # The Dockerfile and Procfile cannot run here; check they name what the
    # tests exercise: the wsgi:app entry point, ProxyFix and the pinned extensions.
    procfile = (EXAMPLE / "Procfile").read_text()
    assert re.search(r"^web: gunicorn .*wsgi:app", procfile, re.M)
    assert "--bind 0.0.0.0:$PORT" in procfile
    dockerfile = (EXAMPLE / "Dockerfile").read_text()
    assert 'CMD ["gunicorn"' in dockerfile and '"wsgi:app"' in dockerfile
    assert "FLASK_PROXY_FIX" in dockerfile
    assert "--no-deps" in dockerfile
    repo_pins = (EXAMPLE.parent.parent / "requirements" / "extensions.txt").read_text()
    for name in ("Flask-SQLAlchemy", "Flask-Migrate", "Flask-Login", "Flask-WTF"):
        pin = re.search(rf"^{name}==\S+", repo_pins, re.M)
        assert pin and pin.group(0) in (EXAMPLE / "requirements-extensions.txt").read_text()
