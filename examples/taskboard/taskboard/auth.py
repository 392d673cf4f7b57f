"""The ``auth`` blueprint: register, log in (with "remember me") and log out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from .extensions import db
from .forms import LoginForm, RegistrationForm
from .models import User, utcnow

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _safe_next(target: str | None) -> str:
    """The ``next`` page if it stays on this site, else the board.

    Only a path is accepted: ``//evil.example`` or ``https://...`` would turn
    the login form into an open redirect.
    """
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return url_for("main.index")


def _remember_login(user: User) -> None:
    user.last_login_at = utcnow()
    # The client's address as the app sees it: behind a proxy this is only
    # right with ProxyFix configured (see PROXY_FIX in create_app).
    user.last_login_ip = request.remote_addr
    db.session.commit()


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response:
    """Create an account and log it in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegistrationForm()
    if form.validate_on_submit():
        user = User(username=form.username.data)
        user.set_password(form.password.data)
        db.session.add(user)
        db.session.commit()
        login_user(user)
        _remember_login(user)
        flash(f"Welcome, {user.username}! Your account is ready.", "success")
        return redirect(url_for("main.index"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    """Log in; "remember me" keeps the user logged in after the browser closes."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data))
        if user is None or not user.check_password(form.password.data):
            # One message for both cases: do not reveal which usernames exist.
            flash("Invalid username or password.", "error")
        else:
            login_user(user, remember=form.remember.data)
            _remember_login(user)
            flash(f"Logged in as {user.username}.", "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    """Log out (a POST with a CSRF token, so another site cannot log you out)."""
    logout_user()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))
