"""Bookshelf: a small library catalogue, written as an ordinary Flask application.

``create_app`` is the application factory that ``flask --app bookshelf run``
(or ``demijohn --app examples/bookshelf/bookshelf run``) finds by name. The
app is put together from three blueprints, each a subpackage with its own
templates and static files:

- ``catalog`` at ``/``: the public pages (the list, one book, about);
- ``admin`` at ``/admin``: log in with the admin token, add and remove books;
  it contains the nested blueprint ``admin.reports`` at ``/admin/reports``,
  and the ``admin import-books FILE`` command;
- ``api`` at ``/api``: a JSON API built from class-based views.

The books live in an SQLite file in the instance folder, through the app's
own small extension (``store.py``).
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from .store import store


def create_app(
    test_config: t.Mapping[str, t.Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    """Build and configure one application.

    Configuration, later sources winning: the defaults below, then
    ``config.py`` in the instance folder (if there is one), then
    ``test_config``. The instance folder is ``instance/`` beside the package,
    unless ``instance_path`` or the ``BOOKSHELF_INSTANCE_PATH`` environment
    variable names another one.
    """
    app = Flask(
        __name__,
        instance_path=instance_path or os.environ.get("BOOKSHELF_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    app.config.from_mapping(
        SECRET_KEY="dev",
        SHELF_NAME="The Bookshelf",
        # The password of the admin pages: set a real one in instance/config.py.
        ADMIN_TOKEN="letmein",
    )
    app.config.from_pyfile("config.py", silent=True)
    if test_config is not None:
        app.config.from_mapping(test_config)

    store.init_app(app)

    from . import admin, api, catalog

    app.register_blueprint(catalog.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def routing_error(error: HTTPException) -> t.Any:
        # A URL that matches no rule belongs to no blueprint, so the api
        # blueprint's own JSON handler never sees it: answer for it here.
        if request.path == "/api" or request.path.startswith("/api/"):
            return api.json_error(error)
        # get_headers() keeps what the error needs, such as Allow on a 405.
        return render_template("error.html", error=error), error.code, error.get_headers()

    return app
