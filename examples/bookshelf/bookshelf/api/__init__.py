"""The ``api`` blueprint, at ``/api``: the catalogue as JSON, from class-based views.

| method           | URL                  | view                          |
|------------------|----------------------|-------------------------------|
| GET              | /api/                | this API's HTML documentation |
| GET, POST        | /api/books           | ``BookList`` (list, create)   |
| GET, PUT, DELETE | /api/books/<id>      | ``BookItem`` (read, replace, delete) |

Errors are JSON: ``{"error": {"code", "name", "message"}}``, plus ``"fields"``
(field name -> problem) for a 422 on a document that is not a valid book.
"""

from __future__ import annotations

import typing as t

from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from werkzeug.exceptions import HTTPException

from ..store import store, validate_book

bp = Blueprint(
    "api", __name__, url_prefix="/api", template_folder="templates", static_folder="static"
)


class InvalidBook(Exception):
    """A request document that is JSON, but not a valid book: a 422."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields)
        self.fields = fields


def json_error(error: HTTPException) -> Response:
    """The JSON form of an HTTP error, keeping its headers (``Allow`` on a 405)."""
    response = error.get_response()
    body = jsonify(error={"code": error.code, "name": error.name, "message": error.description})
    response.set_data(body.get_data())
    response.content_type = "application/json"
    return t.cast(Response, response)


@bp.errorhandler(HTTPException)
def handle_http_error(error: HTTPException) -> Response:
    return json_error(error)


@bp.errorhandler(InvalidBook)
def handle_invalid_book(error: InvalidBook) -> ResponseReturnValue:
    body = {
        "code": 422,
        "name": "Unprocessable Entity",
        "message": "The book is not valid.",
        "fields": error.fields,
    }
    return jsonify(error=body), 422


def book_json(book: dict[str, t.Any]) -> dict[str, t.Any]:
    return {**book, "url": url_for(".book", book_id=book["id"])}


def book_from_request() -> dict[str, t.Any]:
    """The request's JSON document as a valid book, or the right 4xx error.

    ``get_json()`` raises 415 for a body that is not declared JSON and 400 for
    one that does not parse; both reach ``handle_http_error``.
    """
    data = request.get_json()
    if not isinstance(data, dict):
        abort(400, description='Send one JSON object: {"title", "author", "year"}.')
    book, errors = validate_book(data)
    if errors:
        raise InvalidBook(errors)
    return book


class BookList(MethodView):
    init_every_request = False

    def get(self) -> ResponseReturnValue:
        books = store.all(request.args.get("q"))
        return {"count": len(books), "books": [book_json(book) for book in books]}

    def post(self) -> ResponseReturnValue:
        book = store.add(**book_from_request())
        return book_json(book), 201, {"Location": url_for(".book", book_id=book["id"])}


class BookItem(MethodView):
    init_every_request = False

    def _get_or_404(self, book_id: int) -> dict[str, t.Any]:
        book = store.get(book_id)
        if book is None:
            abort(404, description=f"No book with id {book_id}.")
        return book

    def get(self, book_id: int) -> ResponseReturnValue:
        return book_json(self._get_or_404(book_id))

    def put(self, book_id: int) -> ResponseReturnValue:
        self._get_or_404(book_id)
        store.replace(book_id, **book_from_request())
        return book_json(self._get_or_404(book_id))

    def delete(self, book_id: int) -> ResponseReturnValue:
        self._get_or_404(book_id)
        store.delete(book_id)
        return "", 204


bp.add_url_rule("/books", view_func=BookList.as_view("books"), methods=["GET", "POST"])
bp.add_url_rule(
    "/books/<int:book_id>", view_func=BookItem.as_view("book"), methods=["GET", "PUT", "DELETE"]
)


@bp.route("/")
def index() -> str:
    return render_template("api/index.html")
