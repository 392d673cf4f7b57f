"""``BookStore``: the app's own tiny extension, written the ``init_app`` way.

The extension object is created once, at import time, without an app
(``store = BookStore()``); the factory binds it to each app it builds with
``store.init_app(app)``. Everything that belongs to one app (the database
file) lives in ``app.extensions["bookstore"]``, never on the extension object,
so two apps in one process never share data. Each app context opens at most one
SQLite connection, kept on ``g``, and closes it on teardown.
"""

from __future__ import annotations

import os
import sqlite3
import typing as t
from contextlib import closing
from dataclasses import dataclass

from flask import Flask, current_app, g

SCHEMA = """
CREATE TABLE IF NOT EXISTS book (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    year INTEGER
);
"""

# A new, empty catalogue starts with these, unless BOOKSTORE_SEED is false.
SEED_BOOKS = (
    ("Pride and Prejudice", "Jane Austen", 1813),
    ("Moby-Dick", "Herman Melville", 1851),
    ("The Left Hand of Darkness", "Ursula K. Le Guin", 1969),
)

FIELDS = ("title", "author", "year")


@dataclass(frozen=True)
class _State:
    """What the extension knows about one app."""

    database: str


class BookStore:
    """A small book catalogue kept in an SQLite file in the instance folder.

    Configuration: ``BOOKSTORE_DATABASE`` (a file name, relative to the
    instance folder; default ``bookshelf.sqlite``) and ``BOOKSTORE_SEED``
    (fill a new, empty catalogue with a few books; default true).
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        app.config.setdefault("BOOKSTORE_DATABASE", "bookshelf.sqlite")
        app.config.setdefault("BOOKSTORE_SEED", True)
        database = os.path.join(app.instance_path, app.config["BOOKSTORE_DATABASE"])
        os.makedirs(os.path.dirname(database), exist_ok=True)
        with closing(sqlite3.connect(database)) as connection, connection:
            connection.executescript(SCHEMA)
            empty = connection.execute("SELECT COUNT(*) FROM book").fetchone()[0] == 0
            if empty and app.config["BOOKSTORE_SEED"]:
                connection.executemany(
                    "INSERT INTO book (title, author, year) VALUES (?, ?, ?)", SEED_BOOKS
                )
        app.extensions["bookstore"] = _State(database)
        app.teardown_appcontext(self._close)

    @property
    def connection(self) -> sqlite3.Connection:
        """This app context's connection, opened on first use."""
        if "_bookstore" not in g:
            state: _State = current_app.extensions["bookstore"]
            connection = sqlite3.connect(state.database)
            connection.row_factory = sqlite3.Row
            g._bookstore = connection
        return t.cast(sqlite3.Connection, g._bookstore)

    def _close(self, exc: BaseException | None) -> None:
        connection = g.pop("_bookstore", None)
        if connection is not None:
            connection.close()

    def all(self, query: str | None = None) -> list[dict[str, t.Any]]:
        """Every book, by title; ``query`` matches title or author."""
        sql, args = "SELECT * FROM book", ()
        if query:
            sql += " WHERE title LIKE ?1 OR author LIKE ?1"
            args = (f"%{query}%",)
        rows = self.connection.execute(sql + " ORDER BY title COLLATE NOCASE, id", args)
        return [dict(row) for row in rows]

    def get(self, book_id: int) -> dict[str, t.Any] | None:
        row = self.connection.execute("SELECT * FROM book WHERE id = ?", (book_id,)).fetchone()
        return dict(row) if row is not None else None

    def count(self) -> int:
        return int(self.connection.execute("SELECT COUNT(*) FROM book").fetchone()[0])

    def add(self, title: str, author: str, year: int | None = None) -> dict[str, t.Any]:
        return self.add_many([{"title": title, "author": author, "year": year}])[0]

    def add_many(self, books: t.Iterable[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
        """Add all of ``books`` in one transaction: all of them or none."""
        connection = self.connection
        with connection:
            ids = [
                connection.execute(
                    "INSERT INTO book (title, author, year) VALUES (?, ?, ?)",
                    (book["title"], book["author"], book.get("year")),
                ).lastrowid
                for book in books
            ]
        return [t.cast(dict[str, t.Any], self.get(t.cast(int, book_id))) for book_id in ids]

    def replace(self, book_id: int, title: str, author: str, year: int | None) -> bool:
        """Overwrite a book; false if there is none with that id."""
        with self.connection as connection:
            cursor = connection.execute(
                "UPDATE book SET title = ?, author = ?, year = ? WHERE id = ?",
                (title, author, year, book_id),
            )
        return cursor.rowcount == 1

    def delete(self, book_id: int) -> bool:
        with self.connection as connection:
            cursor = connection.execute("DELETE FROM book WHERE id = ?", (book_id,))
        return cursor.rowcount == 1

    def authors(self) -> list[dict[str, t.Any]]:
        """Each author with the number of their books, most books first."""
        rows = self.connection.execute(
            "SELECT author, COUNT(*) AS books, MIN(year) AS first, MAX(year) AS last"
            " FROM book GROUP BY author ORDER BY books DESC, author"
        )
        return [dict(row) for row in rows]


store = BookStore()


def validate_book(data: t.Any) -> tuple[dict[str, t.Any], dict[str, str]]:
    """Check one book document (a JSON object or a form); return (book, errors).

    ``title`` and ``author`` are required non-empty strings, ``year`` an
    optional whole number; unknown fields are errors, so typos are not lost.
    """
    if not isinstance(data, t.Mapping):
        return {}, {"": "expected an object with title, author and year"}
    errors: dict[str, str] = {}
    book: dict[str, t.Any] = {}
    for name in ("title", "author"):
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[name] = "this field is required"
        elif not isinstance(value, str):
            errors[name] = "must be a string"
        elif len(value) > 200:
            errors[name] = "must be at most 200 characters"
        else:
            book[name] = value.strip()
    year = data.get("year")
    if isinstance(year, str):
        year = year.strip() or None
        if year is not None:
            year = int(year) if year.lstrip("-").isdigit() else year
    if year is None or (isinstance(year, int) and not isinstance(year, bool)):
        book["year"] = year
    else:
        errors["year"] = "must be a whole number"
    for name in data:
        if name not in FIELDS and name != "id":
            errors[name] = "unknown field"
    return book, errors
