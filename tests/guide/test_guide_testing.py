"""Guide, "Testing": the conftest fixtures, the test client, the CLI runner, mocking.

The guide's ``conftest.py`` examples are run as the guide lays them out: a small
project is written into ``tmp_path`` (the ``my_app`` factory package the
fixtures import, the guide's test modules, and the ``app`` package its mocking
examples patch) and pytest runs it in a subprocess. The project's root
``conftest.py`` is the one line a Flask project on demijohn adds
(``install_as_flask()``); for the ASGI door it also makes every test client
speak ASGI. Client behaviours the fixtures do not reach are tested in-process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest
from asgi_support import through
from flask import Flask, redirect, request, session, url_for

# -- the project the guide's fixtures and tests imply ----------------------------

MY_APP_INIT = '''
import click
from flask import Flask, flash, get_flashed_messages, redirect, request, session, url_for
from flask_sqlalchemy import SQLAlchemy
from werkzeug.security import check_password_hash, generate_password_hash

db = SQLAlchemy()

# Who may log in: the guide's login test posts these credentials.
CREDENTIALS = {"testuser": generate_password_hash("correct-password")}


class Config:
    SECRET_KEY = "dev"
    SQLALCHEMY_DATABASE_URI = "sqlite:///app.db"


class TestingConfig(Config):
    TESTING = True
    # A static key: sessions stay valid for the whole test run.
    SECRET_KEY = "testing-secret-key"
    SQLALCHEMY_DATABASE_URI = "sqlite:///:memory:"


config = {"default": Config, "testing": TestingConfig}


def create_app(config_name="default"):
    app = Flask(__name__)
    app.config.from_object(config[config_name])
    app.config["CREDENTIALS"] = dict(CREDENTIALS)
    db.init_app(app)

    from my_app.models import Post

    @app.route("/")
    def home():
        return "<h1>Welcome to my_app</h1>"

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            username = request.form["username"]
            hashed = app.config["CREDENTIALS"].get(username)
            if hashed and check_password_hash(hashed, request.form["password"]):
                session["username"] = username
                return redirect(url_for("dashboard"))
            return "Invalid credentials", 401
        return "<form method=post>...</form>"

    @app.route("/dashboard")
    def dashboard():
        if "username" not in session:
            return redirect(url_for("login"))
        return f"Logged in as {session['username']}"

    @app.post("/create")
    def create():
        db.session.add(Post(title=request.form["title"], content=request.form["content"]))
        db.session.commit()
        flash("Post created successfully!")
        return redirect(url_for("posts"))

    @app.route("/posts")
    def posts():
        titles = [post.title for post in db.session.execute(db.select(Post)).scalars()]
        return " | ".join(get_flashed_messages() + titles)

    @app.post("/api/update")
    def api_update():
        data = request.get_json()
        return {"updated": data.get("status") == "active", "status": "success"}

    @app.cli.command("init-db")
    def init_db():
        """Clear existing data and create new tables."""
        db.drop_all()
        db.create_all()
        click.echo("Initialized the database.")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--admin", is_flag=True, help="Create as admin user.")
    def create_user(username, admin):
        kind = "admin" if admin else "standard"
        click.echo(f"Creating {kind} user: {username}")

    @app.cli.command("reset-password")
    def reset_password():
        password = click.prompt("New password", hide_input=True)
        app.config["CREDENTIALS"]["testuser"] = generate_password_hash(password)
        click.echo("Password updated")

    @app.cli.command("buggy-cmd")
    def buggy_cmd():
        raise ConnectionError("the database is unreachable")

    from app.auth.views import auth_bp
    from app.views import main_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    return app
'''

MY_APP_MODELS = """
from werkzeug.security import check_password_hash, generate_password_hash

from my_app import db


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(20), unique=True, nullable=False)
    email = db.Column(db.String(120), unique=True, nullable=False)
    password_hash = db.Column(db.String(256))

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)


class Post(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(100), nullable=False)
    content = db.Column(db.Text, nullable=False)
"""

# The package the guide's mocking examples patch: ``app.auth.views.send_email``,
# ``app.tasks.generate_report.delay`` and a view calling a weather API.
APP_EMAIL = """
def send_email(address, subject):
    # The real thing would talk to an SMTP server: tests must never get here.
    raise RuntimeError(f"tried to really send {subject!r} to {address}")
"""

APP_AUTH_VIEWS = """
import click
from flask import Blueprint, request

from app.email import send_email

auth_bp = Blueprint("auth", __name__)


@auth_bp.post("/register")
def register():
    send_email(request.form["email"], "Welcome!")
    return "Check your inbox"


@auth_bp.cli.command("create-user")
def create_auth_user():
    click.echo("Created the auth user")
"""

APP_TASKS = """
from celery import Celery

celery = Celery("app", broker="redis://localhost:6379/0")


@celery.task
def generate_report(kind):
    return f"{kind} report"
"""

APP_VIEWS = """
import requests
from flask import Blueprint

from app.tasks import generate_report

main_bp = Blueprint("main", __name__)


@main_bp.route("/weather/<city>")
def weather(city):
    try:
        reply = requests.get(
            "https://api.weather.com/v1/current", params={"city": city}, timeout=5
        )
        reply.raise_for_status()
    except requests.RequestException:
        return "The weather service is unavailable", 503
    data = reply.json()
    return f"{city.title()}: {data['temp']} degrees, {data['condition']}"


@main_bp.post("/reports/create")
def create_report():
    generate_report.delay("monthly")
    return "Report queued", 202
"""

# The project's one demijohn line, plus the door switch for these tests.
ROOT_CONFTEST = """
import os

import demijohn

demijohn.install_as_flask()

if os.environ["DEMIJOHN_TEST_DOOR"] == "asgi":
    from asgi_support import AsgiClient

    demijohn.Flask.test_client_class = AsgiClient
"""

PYTEST_INI = """
[pytest]
filterwarnings = error
"""

# tests/conftest.py, "Using Fixtures", with "Setting Up a CLI Runner Fixture".
GUIDE_CONFTEST = """
import pytest
from my_app import create_app, db

@pytest.fixture
def app():
    app = create_app('testing') # Load TestingConfig (Section 8.4)

    with app.app_context():
        db.create_all()
        yield app
        db.drop_all() # Clean up after test is done

@pytest.fixture
def client(app):
    return app.test_client()

@pytest.fixture
def runner(app):
    return app.test_cli_runner()
"""

# tests/test_routes.py, "Writing a Basic Route Test".
GUIDE_TEST_ROUTES = '''
def test_home_page(client):
    """Verify that the home page loads correctly."""
    response = client.get('/')
    assert response.status_code == 200
    assert b"Welcome" in response.data

def test_login_post(client):
    """Verify that login redirects after success."""
    response = client.post('/login', data={
        'username': 'testuser',
        'password': 'correct-password'
    }, follow_redirects=True)

    assert response.status_code == 200
    assert b"Logged in as testuser" in response.data
'''

# "Testing with the Request Context" and "Common Testing Scenarios".
GUIDE_TEST_SCENARIOS = """
def test_session_data(app):
    with app.test_request_context():
        from flask import session
        session['user_id'] = 1
        assert session.get('user_id') == 1

def test_create_post(client):
    # Simulate a user submitting a blog post
    response = client.post('/create', data={
        'title': 'Test Title',
        'content': 'Test Content'
    }, follow_redirects=True)

    assert response.status_code == 200
    assert b"Post created successfully!" in response.data

def test_api_json(client):
    response = client.post('/api/update', json={'status': 'active'})
    assert response.status_code == 200
    assert response.json['updated'] is True
"""

# What the guide says around those examples, as tests of the same project.
PROJECT_TEST_BEHAVIOUR = """
import os

from flask import session


def test_requests_go_through_the_door_under_test(client):
    asgi = type(client).__name__ == "AsgiClient"
    assert asgi is (os.environ["DEMIJOHN_TEST_DOOR"] == "asgi")


def test_common_assertions(client):
    response = client.get('/dashboard')
    assert response.status_code == 302
    # Flask 3.1 keeps the Location header as the app sent it: relative.
    assert response.location == "/login"
    assert client.post('/api/update', json={'status': 'active'}).json['status'] == 'success'


def test_redirects_are_not_followed_by_default(client):
    response = client.post('/login', data={'username': 'testuser', 'password': 'correct-password'})
    assert response.status_code == 302
    assert response.location == "/dashboard"
    assert b"Logged in" not in response.data
    # The cookie jar kept the session: the dashboard now answers.
    assert client.get('/dashboard').data == b"Logged in as testuser"


def test_unauthorized_access(client):
    bad = client.post('/login', data={'username': 'testuser', 'password': 'wrong'})
    assert bad.status_code == 401
    landed = client.get('/dashboard', follow_redirects=True)
    assert landed.request.path == '/login'
    assert [r.status_code for r in landed.history] == [302]


def test_the_created_post_is_in_the_database(client):
    client.post('/create', data={'title': 'First', 'content': 'x'})
    page = client.post('/create', data={'title': 'Second', 'content': 'y'}, follow_redirects=True)
    # The first redirect was not followed: its message waited in the session.
    assert page.data == b"Post created successfully! | Post created successfully! | First | Second"
    # The flashed messages were consumed by that page.
    assert client.get('/posts').data == b"First | Second"


def test_each_test_starts_with_an_empty_database(client):
    assert client.get('/posts').data == b""


def test_a_form_post_missing_a_field_is_a_400(client):
    assert client.post('/create', data={'title': 'No content'}).status_code == 400
    assert client.get('/posts').data == b""  # nothing half-written


def test_json_api_rejects_a_non_json_body(client):
    assert client.post('/api/update', data={'status': 'active'}).status_code == 415


def test_http_methods_of_the_client(client):
    assert client.put('/api/update', json={}).status_code == 405
    assert client.delete('/api/update').status_code == 405
    assert client.patch('/').status_code == 405


def test_the_request_context_session_is_not_the_clients(client, app):
    with app.test_request_context():
        session['username'] = 'testuser'
    assert client.get('/dashboard').status_code == 302
"""

# "Testing Different Command Scenarios" and "Troubleshooting the CLI Runner".
GUIDE_TEST_CLI = """
# Assuming a command: @app.cli.command("init-db")
def test_init_db_command(runner):
    result = runner.invoke(args=["init-db"])
    assert "Initialized the database" in result.output
    assert result.exit_code == 0

# Assuming a command: @app.cli.command("create-user")
def test_create_user_with_args(runner):
    # Testing: flask create-user admin --admin
    result = runner.invoke(args=["create-user", "admin", "--admin"])
    assert "Creating admin user: admin" in result.output

def test_password_prompt(runner):
    # Simulate user typing 'secret123' when prompted
    result = runner.invoke(args=["reset-password"], input="secret123\\n")
    assert "Password updated" in result.output

def test_buggy_command(runner):
    result = runner.invoke(args=["buggy-cmd"])
    if result.exit_code != 0:
        print(f"Command failed with: {result.exception}")


def test_buggy_command_reports_its_exception(runner, capsys):
    test_buggy_command(runner)
    assert capsys.readouterr().out == "Command failed with: the database is unreachable\\n"
    result = runner.invoke(args=["buggy-cmd"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ConnectionError)


def test_blueprint_command(runner):
    result = runner.invoke(args=["auth", "create-user"])
    assert (result.exit_code, result.output) == (0, "Created the auth user\\n")


def test_sad_paths(runner):
    missing = runner.invoke(args=["create-user"])
    assert missing.exit_code == 2
    assert "Missing argument 'USERNAME'" in missing.output
    assert runner.invoke(args=["no-such-command"]).exit_code == 2


def test_commands_run_in_the_app_context(runner, client):
    client.post('/create', data={'title': 'Old', 'content': 'x'}, follow_redirects=True)
    assert client.get('/posts').data == b"Old"
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert client.get('/posts').data == b""  # init-db dropped and recreated the tables


def test_the_prompted_password_is_used(runner, client):
    runner.invoke(args=["reset-password"], input="secret123\\n")
    response = client.post('/login', data={'username': 'testuser', 'password': 'secret123'})
    assert response.location == '/dashboard'
"""

# "Mocking External Resources": the guide's three examples, then failure states.
GUIDE_TEST_MOCKING = """
from unittest.mock import patch

def test_user_registration_email(client):
    # Patching the 'send_email' function inside our 'auth.views' module
    with patch('app.auth.views.send_email') as mock_send:
        # Arrange: Setup mock behavior if needed
        mock_send.return_value = True

        # Act: Trigger the route that calls the external service
        client.post('/register', data={'email': 'test@example.com'})

        # Assert: Check if the external service was called correctly
        mock_send.assert_called_once_with('test@example.com', 'Welcome!')

import responses

@responses.activate
def test_weather_api_call(client):
    # 1. Define the mock response for a specific URL
    responses.add(
        responses.GET,
        "https://api.weather.com/v1/current",
        json={"temp": 22, "condition": "Sunny"},
        status=200
    )

    # 2. Call the route that makes the request
    response = client.get('/weather/london')

    # 3. Verify the app handled the mocked data correctly
    assert response.status_code == 200
    assert b"22 degrees" in response.data

def test_background_task_trigger(client, mocker):
    # Use pytest-mock's 'mocker' fixture
    mock_task = mocker.patch('app.tasks.generate_report.delay')

    client.post('/reports/create')

    # Check if the task was sent to the queue
    assert mock_task.called


import pytest
import requests


def test_the_mock_is_what_the_view_called(client):
    with patch('app.auth.views.send_email') as mock_send:
        assert client.post('/register', data={'email': 'a@b.c'}).data == b"Check your inbox"
    assert mock_send.call_count == 1


def test_without_the_mock_the_real_function_runs(client):
    # TESTING propagates the view's exception to the test.
    with pytest.raises(RuntimeError, match="tried to really send 'Welcome!' to a@b.c"):
        client.post('/register', data={'email': 'a@b.c'})


@responses.activate
def test_weather_api_failure_states(client):
    responses.add(responses.GET, "https://api.weather.com/v1/current", status=500)
    assert client.get('/weather/london').status_code == 503
    responses.replace(
        responses.GET,
        "https://api.weather.com/v1/current",
        body=requests.exceptions.Timeout("too slow"),
    )
    response = client.get('/weather/paris')
    assert (response.status_code, response.data) == (503, b"The weather service is unavailable")
    assert [call.request.params for call in responses.calls] == [
        {"city": "london"},
        {"city": "paris"},
    ]


def test_background_task_arguments(client, mocker):
    mock_task = mocker.patch('app.tasks.generate_report.delay')
    response = client.post('/reports/create')
    assert (response.status_code, response.data) == (202, b"Report queued")
    mock_task.assert_called_once_with("monthly")
"""

# tests/conftest.py, "Setting Up a Database Fixture".
GUIDE_DB_CONFTEST = '''
import pytest
from my_app import create_app, db
from my_app.models import User

@pytest.fixture
def app():
    # Load testing config (e.g., SQLALCHEMY_DATABASE_URI = "sqlite:///:memory:")
    app = create_app('testing')

    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()

@pytest.fixture
def session(app):
    """Returns a fresh database session for a test."""
    return db.session
'''

# "Testing Model Creation" and "Testing Constraints and Validations"; the two
# imports first are what the guide's module needs around them.
GUIDE_TEST_MODELS = """
import pytest
from my_app.models import User

def test_new_user(session):
    user = User(username='tester', email='test@example.com')
    user.set_password('flask123')
    session.add(user)
    session.commit()

    retrieved = User.query.filter_by(username='tester').first()
    assert retrieved is not None
    assert retrieved.email == 'test@example.com'
    assert retrieved.check_password('flask123') is True

import sqlalchemy

def test_duplicate_usernames(session):
    u1 = User(username='same', email='1@ex.com')
    u2 = User(username='same', email='2@ex.com')
    session.add(u1)
    session.commit()

    session.add(u2)
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        session.commit()


def test_database_state(session):
    assert User.query.count() == 0  # nothing left over from the tests before
    session.add(User(username='counted', email='c@ex.com'))
    session.commit()
    assert User.query.count() == 1


def test_wrong_password_and_null_constraint(session):
    user = User(username='tester', email='test@example.com')
    user.set_password('flask123')
    assert user.check_password('flask124') is False
    session.add(User(username='no-email'))
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        session.commit()
    session.rollback()
    assert User.query.count() == 0


def test_the_database_is_in_memory(app):
    from my_app import db

    assert db.engine.url.database == ":memory:"
"""


def write_project(root: Path, tests: dict[str, str]) -> None:
    files = {
        "conftest.py": ROOT_CONFTEST,
        "pytest.ini": PYTEST_INI,
        "my_app/__init__.py": MY_APP_INIT,
        "my_app/models.py": MY_APP_MODELS,
        "app/__init__.py": "",
        "app/email.py": APP_EMAIL,
        "app/auth/__init__.py": "",
        "app/auth/views.py": APP_AUTH_VIEWS,
        "app/tasks.py": APP_TASKS,
        "app/views.py": APP_VIEWS,
        **tests,
    }
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
    shutil.copy(Path(__file__).parents[1] / "asgi_support.py", root / "asgi_support.py")


def run_pytest(root: Path, door: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DEMIJOHN_TEST_DOOR": door},
    )


def summary(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else result.stderr


def test_the_guides_fixtures_client_runner_and_mocks(tmp_path: Path, door: str) -> None:
    write_project(
        tmp_path,
        {
            "tests/conftest.py": GUIDE_CONFTEST,
            "tests/test_routes.py": GUIDE_TEST_ROUTES,
            "tests/test_scenarios.py": GUIDE_TEST_SCENARIOS,
            "tests/test_behaviour.py": PROJECT_TEST_BEHAVIOUR,
            "tests/test_cli.py": GUIDE_TEST_CLI,
            "tests/test_mocking.py": GUIDE_TEST_MOCKING,
        },
    )
    result = run_pytest(tmp_path, door)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.fullmatch(r"31 passed in [\d.]+s", summary(result)), result.stdout
    # In-memory SQLite: the tests wrote no database file.
    assert not list(tmp_path.rglob("*.db"))


def test_the_guides_database_fixture(tmp_path: Path) -> None:
    # No request is made: the door does not matter here.
    write_project(
        tmp_path,
        {"tests/conftest.py": GUIDE_DB_CONFTEST, "tests/test_models.py": GUIDE_TEST_MODELS},
    )
    result = run_pytest(tmp_path, "wsgi")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.fullmatch(r"5 passed in [\d.]+s", summary(result)), result.stdout


def test_a_failing_guide_test_fails_the_run(tmp_path: Path) -> None:
    # The runs above can fail: a wrong expectation in the same project is reported.
    write_project(
        tmp_path,
        {
            "tests/conftest.py": GUIDE_CONFTEST,
            "tests/test_routes.py": GUIDE_TEST_ROUTES.replace("testuser", "someoneelse"),
        },
    )
    result = run_pytest(tmp_path, "wsgi")
    assert result.returncode == 1
    assert re.fullmatch(r"1 failed, 1 passed in [\d.]+s", summary(result)), result.stdout
    assert "assert 401 == 200" in result.stdout


# -- in-process: what the fixtures above do not reach ----------------------------


def login_app(door: str) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="testing-secret-key")
    through(app, door)

    @app.post("/login")
    def login() -> object:
        if not request.form.get("user"):
            return "Who are you?", 400
        session["user_id"] = request.form["user"]
        return redirect(url_for("private"))

    @app.route("/private")
    def private() -> object:
        if "user_id" not in session:
            return "Forbidden", 403
        return f"Hello {session['user_id']}"

    return app


@pytest.mark.wsgi_only
def test_preserving_the_context_with_with(door: str) -> None:
    client = login_app(door).test_client()

    def test_session_update(client):  # type: ignore[no-untyped-def]
        with client:
            client.post("/login", data={"user": "admin"})
            # Now we can check the session even though the request is over
            from flask import session

            assert session["user_id"] == "admin"

    test_session_update(client)
    # The block's end popped the kept context.
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        session.get("user_id")
    with client:
        client.get("/private")
        assert request.path == "/private"
        client.post("/login", data={})
        # Only the last request's context is kept.
        assert request.path == "/login"
        assert "user_id" in session  # the cookie from the first block is still sent
        with pytest.raises(RuntimeError, match="Cannot nest client invocations"), client:
            pass


def test_session_transaction(door: str) -> None:
    client = login_app(door).test_client()
    assert client.get("/private").status_code == 403
    with client.session_transaction() as sess:
        sess["user_id"] = "ada"
    assert client.get("/private").text == "Hello ada"
    client.post("/login", data={"user": "bob"})
    with client.session_transaction() as sess:
        assert sess["user_id"] == "bob"
        del sess["user_id"]
    assert client.get("/private").status_code == 403
    no_cookies = login_app(door).test_client(use_cookies=False)
    with pytest.raises(TypeError, match="Cookies are disabled"), no_cookies.session_transaction():
        pass


def test_session_data_needs_a_secret_key() -> None:
    def test_session_data(app):  # type: ignore[no-untyped-def]
        with app.test_request_context():
            from flask import session

            session["user_id"] = 1
            assert session.get("user_id") == 1

    test_session_data(login_app("wsgi"))
    with pytest.raises(RuntimeError, match="no secret key was set"):
        test_session_data(Flask(__name__))


def test_a_random_secret_key_invalidates_test_sessions(door: str) -> None:
    # "Warning: SECRET_KEY in Tests": a session signed with another key is dropped.
    app = login_app(door)
    client = app.test_client()
    client.post("/login", data={"user": "admin"})
    assert client.get("/private").status_code == 200
    app.secret_key = "a-new-random-key"
    assert client.get("/private").status_code == 403


def test_requests_and_response_attributes(door: str) -> None:
    app = login_app(door)

    @app.route("/items/<int:item_id>", methods=["GET", "PUT", "PATCH", "DELETE"])
    def item(item_id: int) -> object:
        if request.method == "DELETE":
            return "", 204
        if request.method == "GET":
            return {"id": item_id}
        return {"id": item_id, "method": request.method, "sent": request.get_json()}

    @app.route("/old")
    def old() -> object:
        return redirect("/items/1", code=301)

    client = app.test_client()
    got = client.get("/items/1")
    assert isinstance(got.status_code, int) and got.status_code == 200
    assert isinstance(got.data, bytes) and got.data == b'{"id":1}\n'
    assert got.json == {"id": 1}
    assert got.headers["Content-Type"] == "application/json"
    put = client.put("/items/1", json={"name": "x"})
    assert put.json == {"id": 1, "method": "PUT", "sent": {"name": "x"}}
    assert put.request.headers["Content-Type"] == "application/json"
    assert client.patch("/items/1", json={"n": 1}).json["method"] == "PATCH"
    deleted = client.delete("/items/1")
    assert (deleted.status_code, deleted.data) == (204, b"")
    moved = client.get("/old")
    assert (moved.status_code, moved.location, moved.headers["Location"]) == (
        301,
        "/items/1",
        "/items/1",
    )
    # A non-JSON response has no .json.
    assert client.get("/private").json is None
    assert client.post("/login", data={}).status_code == 400


def test_which_template_was_used(tmp_path: Path, door: str) -> None:
    # "Template Used": Flask's own test response has no ``templates`` (the guide's
    # line needs a plugin); the template_rendered signal tells the same.
    from flask import render_template, template_rendered

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "index.html").write_text("Hi {{ name }}")
    app = Flask(__name__, root_path=str(tmp_path))
    through(app, door)
    app.add_url_rule("/", "index", lambda: render_template("index.html", name="ada"))
    app.add_url_rule("/plain", "plain", lambda: "no template")

    rendered: list[tuple[str | None, dict[str, object]]] = []

    def record(sender: Flask, template: t.Any, context: dict[str, object], **extra: t.Any) -> None:
        rendered.append((template.name, context))

    with template_rendered.connected_to(record, app):
        response = app.test_client().get("/")
        assert response.text == "Hi ada"
        assert not hasattr(response, "templates")
        assert [name for name, _ in rendered] == ["index.html"]
        assert rendered[0][1]["name"] == "ada"
        app.test_client().get("/plain")
    assert len(rendered) == 1
