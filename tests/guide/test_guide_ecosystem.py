"""Guide, "Essential Ecosystem": what tests/extensions/test_ext_*.py do not run.

Already run there, as printed: the Flask-SQLAlchemy models and CRUD table
(test_ext_sqlalchemy), the Flask-Migrate init/migrate/upgrade/downgrade/
current/history workflow (test_ext_migrate), RegistrationForm and its template
(test_ext_wtf), the login_required/next/logout flow (test_ext_login), the
Flask-RESTful UserResource (test_ext_restful) and the Smorest schema and
blueprint on a dict (test_ext_smorest). Here: the file-backed configuration and
the session lifecycle, a migration file written as the guide shows it,
``stamp head`` and the not-nullable trap, the register route with its
``register.html``, custom validators, Flask-Login on the SQLAlchemy model with
the guide's user loader and login view, session protection, and Smorest
serving the model through ``get_or_404``.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import textwrap
import typing as t
from pathlib import Path

import pytest
from asgi_support import door_app
from flask import Flask, flash, get_flashed_messages, redirect, render_template, url_for
from flask_sqlalchemy import SQLAlchemy
from migrate_support import MODELS, columns, flask_db


@pytest.fixture(autouse=True)
def _restore_logger() -> t.Iterator[None]:
    # Tests of 500s silence the app's logger, which is global by name.
    yield
    logging.getLogger(__name__).disabled = False


# -- Flask-SQLAlchemy ----------------------------------------------------------


def test_basic_configuration_with_a_file_database(tmp_path: Path, door: str) -> None:
    def make() -> tuple[Flask, SQLAlchemy, t.Any]:
        app = door_app(__name__, door, instance_path=str(tmp_path / "instance"))
        # Connection string format: dialect+driver://username:password@host:port/database
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///site.db"
        app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False

        db = SQLAlchemy(app)

        class User(db.Model):  # type: ignore[name-defined, misc]
            id = db.Column(db.Integer, primary_key=True)
            username = db.Column(db.String(20), unique=True, nullable=False)

        @app.post("/users/<name>")
        def create(name: str) -> tuple[dict[str, t.Any], int]:
            db.session.add(User(username=name))
            db.session.commit()
            return {"users": [u.username for u in User.query.all()]}, 201

        return app, db, User

    app, db, _ = make()
    with app.app_context():
        db.create_all()
    # A relative SQLite path lives in the instance folder, created for it.
    database = tmp_path / "instance" / "site.db"
    assert database.is_file()
    client = app.test_client()
    assert client.post("/users/ada").json == {"users": ["ada"]}
    # A duplicate breaks the unique constraint: the request fails, nothing is kept.
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.logger.disabled = True
    assert client.post("/users/ada").status_code == 500
    assert client.post("/users/bob").json == {"users": ["ada", "bob"]}
    with app.app_context():
        db.engine.dispose()

    # The data is in the file: another app on the same URI reads it.
    again, db2, User2 = make()
    with again.app_context():
        assert [u.username for u in db2.session.execute(db2.select(User2)).scalars()] == [
            "ada",
            "bob",
        ]
        db2.engine.dispose()
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM user").fetchone() == (2,)
    conn.close()


def test_the_session_lifecycle_add_commit_rollback(door: str) -> None:
    app = door_app(__name__, door)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db = SQLAlchemy(app)

    class User(db.Model):  # type: ignore[name-defined, misc]
        id = db.Column(db.Integer, primary_key=True)
        username = db.Column(db.String(20), unique=True, nullable=False)
        email = db.Column(db.String(120), unique=True, nullable=False)

    with app.app_context():
        db.create_all()
        # 1. Add/Modify, 2. Commit: written all at once.
        db.session.add(User(username="admin", email="admin@ex.com"))
        db.session.add(User(username="ada", email="ada@ex.com"))
        db.session.commit()
        # 3. Rollback: uncommitted changes are cancelled.
        admin = User.query.filter_by(username="admin").first()
        admin.email = "new@ex.com"
        db.session.add(User(username="draft", email="draft@ex.com"))
        db.session.rollback()
        assert User.query.filter_by(username="admin").first().email == "admin@ex.com"
        assert User.query.count() == 2
        # The 2.0 style reads the same rows.
        names = db.session.execute(db.select(User.username).order_by(User.id)).scalars().all()
        assert names == ["admin", "ada"]
        assert User.query.get(1).username == "admin"
        # After a failed commit the session must be rolled back before it is used again.
        db.session.add(User(username="admin", email="dup@ex.com"))
        with pytest.raises(Exception, match="UNIQUE constraint failed"):
            db.session.commit()
        db.session.rollback()
        assert User.query.count() == 2


# -- Flask-Migrate -------------------------------------------------------------

# "Anatomy of a Migration File", as the guide prints it.
GUIDE_MIGRATION = """
def upgrade():
    # Automatically generated logic
    op.add_column('user', sa.Column('phone', sa.String(20), nullable=True))

def downgrade():
    # Logic to undo the upgrade
    op.drop_column('user', 'phone')
"""


def replace_functions(script: Path, functions: str) -> None:
    text = script.read_text()
    head = text[: text.index("def upgrade():")]
    script.write_text(head + textwrap.dedent(functions).lstrip())


def test_a_migration_file_as_the_guide_writes_it(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(MODELS)
    flask_db(tmp_path, "init")
    flask_db(tmp_path, "migrate", "-m", "create user")
    flask_db(tmp_path, "upgrade")
    database = tmp_path / "instance" / "site.db"
    assert columns(database) == ["id", "username"]

    # An empty revision, then the guide's upgrade()/downgrade() written into it.
    flask_db(tmp_path, "revision", "-m", "add phone number to user")
    script = next((tmp_path / "migrations" / "versions").glob("*add_phone_number_to_user.py"))
    assert "from alembic import op" in script.read_text()
    assert "import sqlalchemy as sa" in script.read_text()
    replace_functions(script, GUIDE_MIGRATION)

    flask_db(tmp_path, "upgrade")
    assert columns(database) == ["id", "username", "phone"]
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO user (username, phone) VALUES ('ada', '555-0100')")
    conn.close()
    # flask db downgrade: reverts the last migration applied.
    flask_db(tmp_path, "downgrade")
    assert columns(database) == ["id", "username"]
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT username FROM user").fetchall() == [("ada",)]
    conn.close()
    assert "(head)" not in flask_db(tmp_path, "current")
    flask_db(tmp_path, "upgrade")
    assert "(head)" in flask_db(tmp_path, "current")


def test_stamp_head_adopts_an_existing_database(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(MODELS)
    flask_db(tmp_path, "init")
    flask_db(tmp_path, "migrate", "-m", "create user")
    # A database made before migrations existed (db.create_all()).
    (tmp_path / "instance").mkdir(exist_ok=True)
    database = tmp_path / "instance" / "site.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(20))")
        conn.execute("INSERT INTO user (username) VALUES ('ada')")
    conn.close()
    # Upgrading would create the table again and fail; nothing is changed.
    out = flask_db(tmp_path, "upgrade", ok=False)
    assert "table user already exists" in out
    assert "(head)" not in flask_db(tmp_path, "current")

    out = flask_db(tmp_path, "stamp", "head")
    assert "Running stamp_revision" in out
    assert "(head)" in flask_db(tmp_path, "current")
    flask_db(tmp_path, "upgrade")  # nothing left to run
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT username FROM user").fetchall() == [("ada",)]
    conn.close()


def test_a_not_nullable_column_without_a_default_fails_on_existing_rows(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(MODELS)
    flask_db(tmp_path, "init")
    flask_db(tmp_path, "migrate", "-m", "create user")
    flask_db(tmp_path, "upgrade")
    database = tmp_path / "instance" / "site.db"
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO user (username) VALUES ('ada')")
    conn.close()

    (tmp_path / "app.py").write_text(
        MODELS + "    phone = db.Column(db.String(20), nullable=False)\n"
    )
    flask_db(tmp_path, "migrate", "-m", "add phone")
    out = flask_db(tmp_path, "upgrade", ok=False)
    assert "NOT NULL" in out
    assert columns(database) == ["id", "username"]  # the failed upgrade changed nothing

    # "you must provide a default value for existing rows in the migration script"
    script = next((tmp_path / "migrations" / "versions").glob("*add_phone.py"))
    script.write_text(
        re.sub(
            r"sa\.Column\('phone', sa\.String\(length=20\), nullable=False\)",
            "sa.Column('phone', sa.String(length=20), nullable=False, server_default='unknown')",
            script.read_text(),
        )
    )
    assert "server_default='unknown'" in script.read_text()
    flask_db(tmp_path, "upgrade")
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT username, phone FROM user").fetchall() == [("ada", "unknown")]
    conn.close()


# -- Flask-WTF -----------------------------------------------------------------

# "Rendering in Jinja2", as printed.
REGISTER_HTML = """<form method="POST" action="">
    {{ form.hidden_tag() }}
    <div>
        {{ form.username.label }}
        {{ form.username() }}
        {% for error in form.username.errors %}
            <span style="color: red;">[{{ error }}]</span>
        {% endfor %}
    </div>
    <div>
        {{ form.submit() }}
    </div>
</form>
"""


def test_the_register_route_with_register_html(tmp_path: Path, door: str) -> None:
    from flask_wtf import FlaskForm
    from wtforms import PasswordField, StringField, SubmitField
    from wtforms.validators import DataRequired, Email, EqualTo, Length

    class RegistrationForm(FlaskForm):
        username = StringField("Username", validators=[DataRequired(), Length(min=2, max=20)])
        email = StringField("Email", validators=[DataRequired(), Email()])
        password = PasswordField("Password", validators=[DataRequired()])
        confirm_password = PasswordField(
            "Confirm Password", validators=[DataRequired(), EqualTo("password")]
        )
        submit = SubmitField("Sign Up")

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "register.html").write_text(REGISTER_HTML)
    app = door_app(__name__, door, root_path=str(tmp_path))
    app.config["SECRET_KEY"] = "wtf-secret"

    @app.route("/")
    def home() -> str:
        return " ".join(f"{c}:{m}" for c, m in get_flashed_messages(with_categories=True))

    @app.route("/register", methods=["GET", "POST"])
    def register():  # type: ignore[no-untyped-def]
        form = RegistrationForm()
        if form.validate_on_submit():
            # Data is valid! Process the registration (e.g., add to DB)
            flash(f"Account created for {form.username.data}!", "success")
            return redirect(url_for("home"))
        return render_template("register.html", form=form)

    client = app.test_client()
    page = client.get("/register").text
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None, page
    assert '<label for="username">Username</label>' in page
    assert '<input id="username" maxlength="20" minlength="2" name="username" required' in page
    assert '<input id="submit" name="submit" type="submit" value="Sign Up">' in page

    valid = {
        "username": "ada",
        "email": "ada@example.com",
        "password": "pw",
        "confirm_password": "pw",
        "csrf_token": token.group(1),
    }
    # A missing CSRF token fails validation: the form comes back, nothing is flashed.
    no_token = client.post("/register", data={**valid, "csrf_token": ""})
    assert no_token.status_code == 200 and "<form" in no_token.text
    blank = client.post("/register", data={**valid, "username": ""})
    assert "[This field is required.]" in blank.text
    bad_email = client.post("/register", data={**valid, "email": "not-an-email"})
    assert bad_email.status_code == 200 and "<form" in bad_email.text
    assert client.get("/").text == ""
    done = client.post("/register", data=valid)
    assert (done.status_code, done.location) == (302, "/")
    assert client.get("/").text == "success:Account created for ada!"


def test_regexp_and_custom_validate_fieldname(door: str) -> None:
    from flask_wtf import FlaskForm
    from wtforms import StringField, ValidationError
    from wtforms.validators import DataRequired, Regexp

    taken = {"admin"}

    class SignupForm(FlaskForm):
        username = StringField(
            "Username", validators=[DataRequired(), Regexp(r"^[a-z0-9_]+$", message="bad chars")]
        )

        def validate_username(self, field):  # type: ignore[no-untyped-def]
            if field.data in taken:
                raise ValidationError("That username is taken.")

    app = door_app(__name__, door)
    app.config.update(SECRET_KEY="wtf-secret", WTF_CSRF_ENABLED=False)

    @app.post("/signup")
    def signup():  # type: ignore[no-untyped-def]
        form = SignupForm()
        if form.validate_on_submit():
            return {"ok": form.username.data}
        return {"errors": form.errors}, 400

    client = app.test_client()
    assert client.post("/signup", data={"username": "ada_1"}).json == {"ok": "ada_1"}
    wrong = client.post("/signup", data={"username": "Ada!"})
    assert (wrong.status_code, wrong.json) == (400, {"errors": {"username": ["bad chars"]}})
    used = client.post("/signup", data={"username": "admin"})
    assert used.json == {"errors": {"username": ["That username is taken."]}}


# -- Flask-Login on the SQLAlchemy model ----------------------------------------


@pytest.fixture
def login_app(door: str) -> t.Iterator[tuple[Flask, t.Any]]:
    from flask import request
    from flask_login import LoginManager, UserMixin
    from flask_wtf import FlaskForm
    from werkzeug.security import check_password_hash, generate_password_hash
    from wtforms import BooleanField, PasswordField, StringField

    app = door_app(__name__, door)
    app.config.update(
        SECRET_KEY="login-secret", SQLALCHEMY_DATABASE_URI="sqlite://", WTF_CSRF_ENABLED=False
    )
    db = SQLAlchemy(app)

    # The guide's model, with the two columns its login view reads.
    class User(db.Model, UserMixin):  # type: ignore[name-defined, misc]
        id = db.Column(db.Integer, primary_key=True)
        username = db.Column(db.String(20), unique=True)
        # UserMixin provides: is_authenticated, is_active, is_anonymous, get_id()
        email = db.Column(db.String(120), unique=True)
        password = db.Column(db.String(256))

    class LoginForm(FlaskForm):
        email = StringField("Email")
        password = PasswordField("Password")
        remember = BooleanField("Remember Me")

    login_manager = LoginManager(app)
    login_manager.login_view = "login"  # Redirects here if @login_required fails

    @login_manager.user_loader
    def load_user(user_id):  # type: ignore[no-untyped-def]
        return User.query.get(int(user_id))

    from flask_login import login_user

    @app.route("/login", methods=["POST"])
    def login():  # type: ignore[no-untyped-def]
        form = LoginForm()
        user = User.query.filter_by(email=form.email.data).first()
        if user and check_password_hash(user.password, form.password.data):
            login_user(user, remember=form.remember.data)
            return redirect(url_for("dashboard"))
        flash("Login Unsuccessful", "danger")

    from flask_login import current_user, login_required

    @app.route("/account")
    @login_required
    def account():  # type: ignore[no-untyped-def]
        return f"Hello, {current_user.username}!"

    @app.route("/dashboard")
    @login_required
    def dashboard() -> str:
        return f"Dashboard of {current_user.email} ({request.remote_addr})"

    with app.app_context():
        db.create_all()
        db.session.add(
            User(username="ada", email="ada@example.com", password=generate_password_hash("pw"))
        )
        db.session.commit()
    yield app, User
    with app.app_context():
        db.drop_all()


CREDENTIALS = {"email": "ada@example.com", "password": "pw"}


def test_login_view_and_user_loader_on_the_model(login_app: tuple[Flask, t.Any]) -> None:
    app, _ = login_app
    client = app.test_client()
    # login_view: the redirect carries where the user was going.
    assert client.get("/account").location == "/login?next=%2Faccount"
    logged_in = client.post("/login", data=CREDENTIALS)
    assert (logged_in.status_code, logged_in.location) == (302, "/dashboard")
    assert client.get_cookie("remember_token") is None
    # user_loader: User.query.get(int(user_id)) on every request.
    assert client.get("/account").text == "Hello, ada!"
    assert client.get("/dashboard").text == "Dashboard of ada@example.com (127.0.0.1)"


def test_remember_me_from_the_form(login_app: tuple[Flask, t.Any]) -> None:
    app, _ = login_app
    client = app.test_client()
    client.post("/login", data={**CREDENTIALS, "remember": "y"})
    assert client.get_cookie("remember_token") is not None
    client.delete_cookie("session")
    assert client.get("/account").text == "Hello, ada!"


def test_the_guides_failed_login_returns_nothing(login_app: tuple[Flask, t.Any]) -> None:
    # As printed, the view flashes and then returns None: Flask rejects that.
    app, _ = login_app
    app.testing = True  # the exception reaches the test
    client = app.test_client()
    with pytest.raises(TypeError, match="did not return a valid response"):
        client.post("/login", data={**CREDENTIALS, "password": "wrong"})
    app.testing = False
    app.logger.disabled = True
    assert client.post("/login", data={"email": "nobody@example.com"}).status_code == 500
    # Nobody was logged in.
    assert client.get("/account").status_code == 302


def test_a_deleted_user_is_logged_out(login_app: tuple[Flask, t.Any]) -> None:
    app, User = login_app
    client = app.test_client()
    client.post("/login", data=CREDENTIALS)
    with app.app_context():
        db = app.extensions["sqlalchemy"]
        db.session.delete(User.query.filter_by(username="ada").first())
        db.session.commit()
    # The loader returns None: the session's id no longer names a user.
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize("mode", ["basic", "strong"])
def test_session_protection(login_app: tuple[Flask, t.Any], mode: str) -> None:
    from flask_login import fresh_login_required

    app, _ = login_app
    app.config["SESSION_PROTECTION"] = mode

    @app.route("/delete-account")
    @fresh_login_required
    def delete_account() -> str:
        return "fresh"

    client = app.test_client()
    client.post("/login", data=CREDENTIALS, headers={"User-Agent": "browser/1"})
    assert client.get("/delete-account", headers={"User-Agent": "browser/1"}).text == "fresh"
    # The same cookie from another User-Agent: "basic" only marks the login not
    # fresh, "strong" logs the user out.
    stolen = client.get("/account", headers={"User-Agent": "thief/1"})
    if mode == "basic":
        assert stolen.text == "Hello, ada!"
        assert client.get("/delete-account", headers={"User-Agent": "browser/1"}).status_code == 401
    else:
        assert stolen.status_code == 302
        assert client.get("/account", headers={"User-Agent": "browser/1"}).status_code == 302


# -- Flask-Smorest on the model --------------------------------------------------


def test_smorest_serves_the_model_through_get_or_404(door: str) -> None:
    from flask_restful import Resource
    from flask_smorest import Api, Blueprint
    from marshmallow import Schema, fields

    app = door_app(__name__, door)
    app.config.update(
        SQLALCHEMY_DATABASE_URI="sqlite://",
        API_TITLE="Users",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
    )
    db = SQLAlchemy(app)

    class User(db.Model):  # type: ignore[name-defined, misc]
        id = db.Column(db.Integer, primary_key=True)
        username = db.Column(db.String(20), unique=True, nullable=False)
        email = db.Column(db.String(120), unique=True, nullable=False)
        password = db.Column(db.String(256), default="hash")

    class UserSchema(Schema):
        id = fields.Int(dump_only=True)
        username = fields.Str(required=True)
        email = fields.Email(required=True)

    blp = Blueprint("users", __name__, description="Operations on users")

    @blp.route("/user/<int:user_id>")
    class UserBluePrint(Resource):
        @blp.response(200, UserSchema)
        def get(self, user_id):  # type: ignore[no-untyped-def]
            # Smorest automatically turns the return object into JSON via UserSchema
            return User.query.get_or_404(user_id)

    Api(app).register_blueprint(blp)
    with app.app_context():
        db.create_all()
        db.session.add(User(username="dev_user", email="dev@example.com"))
        db.session.commit()

    client = app.test_client()
    found = client.get("/user/1")
    assert found.status_code == 200
    assert found.mimetype == "application/json"
    # Serialized by the schema: the password column is not in it.
    assert found.json == {"id": 1, "username": "dev_user", "email": "dev@example.com"}
    missing = client.get("/user/2")
    assert missing.status_code == 404
    assert missing.json["code"] == 404 and missing.json["status"] == "Not Found"
    assert client.delete("/user/1").status_code == 405
