"""``flask admin import-books FILE``: add the books of a JSON file to the catalogue."""

from __future__ import annotations

import json
import typing as t

import click
from flask.cli import with_appcontext

from ..store import store, validate_book


@click.command("import-books")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--dry-run", is_flag=True, help="Check the file, change nothing.")
# add_command() does not wrap a command the way bp.cli.command() does: the app
# context the store needs comes from here (the flask command itself would push
# one, but app.test_cli_runner() invokes app.cli directly).
@with_appcontext
def import_books(file: t.TextIO, dry_run: bool) -> None:
    """Import FILE, a JSON list of {"title", "author", "year"} objects.

    The file is checked completely first: if any entry is wrong, nothing is
    imported.
    """
    try:
        data = json.load(file)
    except ValueError as error:
        raise click.ClickException(f"{file.name} is not JSON: {error}") from error
    if not isinstance(data, list):
        raise click.ClickException(f"{file.name} must hold a JSON list of books.")
    books, problems = [], []
    for number, entry in enumerate(data, start=1):
        book, errors = validate_book(entry)
        books.append(book)
        problems.extend(
            f"book {number}: {field + ': ' if field else ''}{message}"
            for field, message in errors.items()
        )
    if problems:
        raise click.ClickException("nothing imported:\n  " + "\n  ".join(problems))
    if dry_run:
        click.echo(f"{len(books)} books would be imported.")
        return
    store.add_many(books)
    click.echo(f"Imported {len(books)} books; the shelf now has {store.count()}.")
