"""The ``admin`` blueprint, at ``/admin``: managing the catalogue.

Every admin page, including those of the nested ``admin.reports`` blueprint,
needs a login with the ``ADMIN_TOKEN``: that check is a ``before_request`` hook
of this blueprint, so it never runs for the catalog or the API.
"""

from __future__ import annotations

import hmac
import typing as t

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from ..store import store, validate_book
from .commands import import_books
from .reports import bp as reports_bp

bp = Blueprint(
    "admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static"
)
# Done here, once, at import: registering it again in the factory for every app
# would nest it twice and make the second app fail to register ``admin``.
bp.register_blueprint(reports_bp)
# The blueprint's CLI group is named after it: ``flask admin import-books FILE``.
bp.cli.add_command(import_books)

# What a visitor who is not logged in may still reach.
PUBLIC_ENDPOINTS = {"admin.login", "admin.static"}


@bp.before_request
def require_login() -> ResponseReturnValue | None:
    if request.endpoint in PUBLIC_ENDPOINTS or session.get("admin"):
        return None
    flash("Log in to manage the shelf.", "warning")
    return redirect(url_for("admin.login"))


@bp.after_request
def no_caching(response: Response) -> Response:
    # Admin pages show private state; catalog pages may be cached.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def inject_admin_section() -> dict[str, t.Any]:
    # Only the templates rendered by admin (and admin.reports) views see this.
    return {"admin_section": True}


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "POST":
        given = request.form.get("token", "").encode()
        expected = str(current_app.config["ADMIN_TOKEN"]).encode()
        if hmac.compare_digest(given, expected):
            session["admin"] = True
            flash("Welcome back.", "success")
            return redirect(url_for(".dashboard"))
        flash("That token is not right.", "error")
        return render_template("admin/login.html"), 401
    return render_template("admin/login.html")


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.pop("admin", None)
    flash("Logged out.", "success")
    return redirect(url_for("catalog.index"))


@bp.route("/")
def dashboard() -> str:
    return render_template("admin/dashboard.html", books=store.all())


@bp.route("/books/new", methods=["GET", "POST"])
def new_book() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    if request.method == "POST":
        book, errors = validate_book(request.form)
        if not errors:
            added = store.add(**book)
            flash(f"Added “{added['title']}”.", "success")
            return redirect(url_for(".dashboard"))
    status = 422 if errors else 200
    return render_template("admin/new_book.html", errors=errors, form=request.form), status


@bp.post("/books/<int:book_id>/delete")
def delete_book(book_id: int) -> ResponseReturnValue:
    if store.delete(book_id):
        flash(f"Removed book {book_id}.", "success")
    else:
        flash(f"There was no book {book_id}.", "error")
    return redirect(url_for(".dashboard"))
