"""The ``catalog`` blueprint: the public pages, at the root of the site.

It also registers what every page of the app uses: the ``shelf_name``
template variable and the ``pluralize`` filter (``app_context_processor`` and
``app_template_filter`` reach the templates of every blueprint, not only this
one's).
"""

from __future__ import annotations

import typing as t

from flask import Blueprint, abort, current_app, render_template, request

from ..store import store

# Without a url_prefix, the default static URL (/static) would collide with the
# app's own static folder, so this blueprint serves its files elsewhere.
bp = Blueprint(
    "catalog",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/catalog/static",
)


@bp.app_context_processor
def inject_shelf_name() -> dict[str, t.Any]:
    return {"shelf_name": current_app.config["SHELF_NAME"]}


@bp.app_template_filter("pluralize")
def pluralize(count: int, singular: str, plural: str | None = None) -> str:
    """``{{ 3|pluralize("book") }}`` -> ``3 books``."""
    word = singular if count == 1 else (plural or singular + "s")
    return f"{count} {word}"


@bp.route("/")
def index() -> str:
    query = request.args.get("q", "").strip()
    return render_template("catalog/index.html", books=store.all(query), query=query)


@bp.route("/books/<int:book_id>")
def book(book_id: int) -> str:
    found = store.get(book_id)
    if found is None:
        abort(404, description=f"There is no book number {book_id} on this shelf.")
    return render_template("catalog/book.html", book=found)


@bp.route("/about")
def about() -> str:
    # The blueprint ships a generic catalog/about.html; the app's templates
    # folder has its own catalog/about.html, which wins.
    return render_template("catalog/about.html", count=store.count())
