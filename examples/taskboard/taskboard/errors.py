"""Application-wide error pages: HTML for the site, JSON under ``/api/``."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from . import api
from .extensions import db


def _wants_json() -> bool:
    # Routing errors (404, 405) happen before a blueprint is known, so the
    # API's own error handler never sees them: decide by the URL instead.
    return request.blueprint == "api" or request.path.startswith(api.bp.url_prefix or "/api")


def register_error_handlers(app: Flask) -> None:
    """Install the custom 404 and 500 pages and JSON errors for the API."""

    @app.errorhandler(404)
    def not_found(error: HTTPException) -> tuple[str, int] | Response:
        if _wants_json():
            return api.handle_http_error(error)
        return render_template("errors/404.html", error=error), 404

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError) -> tuple[str, int] | Response:
        # The failed request may have left the session mid-transaction.
        db.session.rollback()
        if _wants_json():
            return api.json_error(500, "Something went wrong on our side.")
        return render_template("errors/500.html"), 500

    @app.errorhandler(HTTPException)
    def other_http_error(error: HTTPException) -> HTTPException | Response:
        if _wants_json():
            return api.handle_http_error(error)
        return error
