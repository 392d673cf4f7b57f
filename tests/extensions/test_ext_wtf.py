"""Flask-WTF on demijohn: the guide's RegistrationForm, CSRF, files."""

from __future__ import annotations

import io
import re
import typing as t

import pytest
from asgi_support import through
from flask import Flask, flash, get_flashed_messages, redirect, render_template_string, url_for
from flask_wtf import CSRFProtect, FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
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


class AvatarForm(FlaskForm):
    avatar = FileField("Avatar", validators=[FileRequired(), FileAllowed(["png", "jpg"])])


REGISTER_HTML = """
<form method="POST" action="">
    {{ form.hidden_tag() }}
    <div>
        {{ form.username.label }}
        {{ form.username(class="form-control") }}
        {% for error in form.username.errors %}
            <span style="color: red;">[{{ error }}]</span>
        {% endfor %}
    </div>
    <div>{{ form.submit() }}</div>
</form>
"""


@pytest.fixture
def app(door: str) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test-secret"
    through(app, door)
    csrf = CSRFProtect(app)

    @app.route("/")
    def home() -> str:
        return " ".join(get_flashed_messages())

    @app.route("/register", methods=["GET", "POST"])
    def register() -> t.Any:
        form = RegistrationForm()
        if form.validate_on_submit():
            flash(f"Account created for {form.username.data}!", "success")
            return redirect(url_for("home"))
        return render_template_string(REGISTER_HTML, form=form)

    @app.post("/api/ping")
    def ping() -> str:
        return "pong"

    @app.post("/webhook")
    @csrf.exempt
    def webhook() -> str:
        return "hooked"

    @app.route("/avatar", methods=["GET", "POST"])
    def avatar() -> t.Any:
        form = AvatarForm()
        if form.validate_on_submit():
            return f"saved {form.avatar.data.filename}"
        return {"errors": form.errors}, 400

    return app


def csrf_token(client: t.Any) -> str:
    page = client.get("/register").text
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


VALID = {
    "username": "ada",
    "email": "ada@example.com",
    "password": "pw",
    "confirm_password": "pw",
}


def test_register_renders_hidden_tag_and_validates(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/register").text
    assert 'name="csrf_token"' in page
    assert 'class="form-control"' in page
    token = csrf_token(client)
    response = client.post("/register", data={**VALID, "csrf_token": token})
    assert (response.status_code, response.location) == (302, "/")
    assert client.get("/").text == "Account created for ada!"


def test_validation_errors_are_shown_next_to_fields(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client)
    bad = {**VALID, "username": "a", "csrf_token": token}
    page = client.post("/register", data=bad)
    assert page.status_code == 200
    assert "[Field must be between 2 and 20 characters long.]" in page.text
    assert 'value="a"' in page.text  # input preserved
    mismatch = client.post(
        "/register", data={**VALID, "confirm_password": "other", "csrf_token": token}
    )
    assert mismatch.status_code == 200  # not redirected: EqualTo failed


def test_csrf_protect_rejects_a_post_without_a_token(app: Flask) -> None:
    client = app.test_client()
    client.get("/register")
    response = client.post("/register", data=VALID)
    assert response.status_code == 400
    assert "The CSRF token is missing." in response.text
    assert client.post("/api/ping").status_code == 400
    bad_token = client.post("/api/ping", headers={"X-CSRFToken": "forged"})
    assert bad_token.status_code == 400


def test_csrf_token_in_a_header(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client)
    assert client.post("/api/ping", headers={"X-CSRFToken": token}).text == "pong"


def test_exempt_view(app: Flask) -> None:
    assert app.test_client().post("/webhook").text == "hooked"


def test_csrf_disabled_in_tests(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/register", data=VALID)
    assert response.status_code == 302


def test_file_field_with_file_allowed(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    ok = client.post("/avatar", data={"avatar": (io.BytesIO(b"\x89PNG"), "me.png")})
    assert ok.text == "saved me.png"
    wrong = client.post("/avatar", data={"avatar": (io.BytesIO(b"MZ"), "tool.exe")})
    assert wrong.status_code == 400
    assert "File does not have an approved extension" in str(wrong.json)
    missing = client.post("/avatar", data={})
    assert missing.status_code == 400
