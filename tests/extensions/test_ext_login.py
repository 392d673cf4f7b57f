"""Flask-Login on demijohn: the guide's login flow, remember-me, fresh logins."""

from __future__ import annotations

import typing as t

import pytest
from asgi_support import through
from flask import Flask, flash, redirect, render_template_string, request, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    fresh_login_required,
    login_required,
    login_user,
    logout_user,
)
from werkzeug.security import check_password_hash, generate_password_hash


class User(UserMixin):
    def __init__(self, id: int, username: str, password: str) -> None:
        self.id = id
        self.username = username
        self.password = generate_password_hash(password)


USERS = {1: User(1, "ada", "correct horse")}


@pytest.fixture
def app(door: str) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "login-secret"
    through(app, door)
    login_manager = LoginManager(app)
    login_manager.login_view = "login"  # Redirects here if @login_required fails
    login_manager.refresh_view = "login"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return USERS.get(int(user_id))

    @app.route("/")
    def home() -> str:
        return render_template_string(
            "{% if current_user.is_authenticated %}Hi {{ current_user.username }}"
            "{% else %}Anonymous{% endif %}"
        )

    @app.route("/login", methods=["GET", "POST"])
    def login() -> t.Any:
        if request.method == "GET":
            return "login page"
        user = next((u for u in USERS.values() if u.username == request.form["username"]), None)
        if user and check_password_hash(user.password, request.form["password"]):
            login_user(user, remember=request.form.get("remember") == "y")
            return redirect(request.args.get("next") or url_for("account"))
        flash("Login Unsuccessful", "danger")
        return "bad credentials", 401

    @app.route("/account")
    @login_required
    def account() -> str:
        return f"Hello, {current_user.username}!"

    @app.route("/change-password")
    @fresh_login_required
    def change_password() -> str:
        return "fresh enough"

    @app.route("/logout")
    def logout() -> t.Any:
        logout_user()
        return redirect(url_for("home"))

    return app


def test_login_required_redirects_with_next(app: Flask) -> None:
    response = app.test_client().get("/account")
    assert response.status_code == 302
    assert response.location == "/login?next=%2Faccount"


def test_login_then_account_then_logout(app: Flask) -> None:
    client = app.test_client()
    wrong = client.post("/login", data={"username": "ada", "password": "nope"})
    assert wrong.status_code == 401
    ok = client.post("/login?next=/account", data={"username": "ada", "password": "correct horse"})
    assert (ok.status_code, ok.location) == (302, "/account")
    assert client.get("/account").text == "Hello, ada!"
    assert client.get("/").text == "Hi ada"  # current_user in templates
    assert client.get("/logout").location == "/"
    assert client.get("/").text == "Anonymous"
    assert client.get("/account").status_code == 302


def test_remember_cookie_restores_the_user_without_a_session(app: Flask) -> None:
    client = app.test_client()
    client.post("/login", data={"username": "ada", "password": "correct horse", "remember": "y"})
    assert client.get_cookie("remember_token") is not None
    client.delete_cookie("session")  # the browser was closed
    assert client.get("/account").text == "Hello, ada!"
    # Restored from the cookie, the login is not fresh.
    stale = client.get("/change-password")
    assert stale.status_code == 302 and stale.location.startswith("/login")


def test_without_remember_the_session_is_all_there_is(app: Flask) -> None:
    client = app.test_client()
    client.post("/login", data={"username": "ada", "password": "correct horse"})
    assert client.get("/change-password").text == "fresh enough"
    assert client.get_cookie("remember_token") is None
    client.delete_cookie("session")
    assert client.get("/account").status_code == 302


def test_a_tampered_remember_cookie_is_ignored(app: Flask) -> None:
    client = app.test_client()
    client.set_cookie("remember_token", "1|forged-signature")
    assert client.get("/account").status_code == 302
