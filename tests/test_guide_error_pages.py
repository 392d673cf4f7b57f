"""Guide, "Advanced Features": Custom Error Pages, custom exceptions, abort().

Each example is the guide's code with its ``from flask import`` lines; the
templates it renders are written into the app's template folder. Every test
runs through both doors (the ``door`` fixture).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from asgi_support import through
from flask import Blueprint, Flask, abort, render_template

ERROR_TEMPLATES = {
    "errors/404.html": "<h1>Page not found</h1><a href='/'>Home</a>",
    "errors/500.html": "<h1>Something broke</h1><a href='/'>Home</a>",
    "profile.html": "<p>{{ user }}</p>",
}


def make_app(tmp_path: Path, door: str) -> Flask:
    for name, source in ERROR_TEMPLATES.items():
        path = tmp_path / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    app = Flask(__name__, root_path=str(tmp_path))
    through(app, door)
    return app


def test_implementation_example_custom_error_pages(tmp_path: Path, door: str) -> None:
    app = make_app(tmp_path, door)
    # Unhandled exceptions reach the 500 handler only outside testing/debug,
    # which re-raise them (PROPAGATE_EXCEPTIONS) as Flask does.
    app.logger.disabled = True

    @app.errorhandler(404)
    def page_not_found(e):  # type: ignore[no-untyped-def]
        # 'e' is the error object
        # Important: Return the status code as the second value
        return render_template("errors/404.html"), 404

    @app.errorhandler(500)
    def internal_server_error(e):  # type: ignore[no-untyped-def]
        return render_template("errors/500.html"), 500

    @app.route("/crash")
    def crash() -> str:
        raise KeyError("secret_database_column")

    client = app.test_client()
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    assert missing.mimetype == "text/html"

    crashed = client.get("/crash")
    assert crashed.status_code == 500
    assert "Something broke" in crashed.text
    # "Don't Leak Information": the traceback is not in the page.
    assert "secret_database_column" not in crashed.text
    app.logger.disabled = False


def test_handling_custom_exceptions(tmp_path: Path, door: str) -> None:
    app = make_app(tmp_path, door)

    class InsufficientFunds(Exception):
        pass

    @app.errorhandler(InsufficientFunds)
    def handle_low_balance(e):  # type: ignore[no-untyped-def]
        return {"error": "Your balance is too low"}, 400

    @app.route("/withdraw")
    def withdraw() -> str:
        raise InsufficientFunds()

    response = app.test_client().get("/withdraw")
    assert response.status_code == 400
    assert response.json == {"error": "Your balance is too low"}


def test_global_vs_blueprint_error_handlers(tmp_path: Path, door: str) -> None:
    app = make_app(tmp_path, door)
    shop = Blueprint("shop", __name__, url_prefix="/shop")
    admin = Blueprint("admin", __name__, url_prefix="/admin")

    class OutOfStock(Exception):
        pass

    @shop.errorhandler(OutOfStock)
    def shop_only(e):  # type: ignore[no-untyped-def]
        return "shop handler", 409

    @admin.app_errorhandler(403)
    def forbidden_everywhere(e):  # type: ignore[no-untyped-def]
        return "global 403 from a blueprint", 403

    @app.errorhandler(OutOfStock)
    def app_wide(e):  # type: ignore[no-untyped-def]
        return "app handler", 410

    @shop.route("/buy")
    def buy() -> str:
        raise OutOfStock()

    @admin.route("/buy")
    def admin_buy() -> str:
        raise OutOfStock()

    @app.route("/secret")
    def secret() -> str:
        abort(403)

    app.register_blueprint(shop)
    app.register_blueprint(admin)
    client = app.test_client()
    # The blueprint's handler wins for its own routes only.
    assert (client.get("/shop/buy").text, client.get("/shop/buy").status_code) == (
        "shop handler",
        409,
    )
    assert client.get("/admin/buy").status_code == 410
    # app_errorhandler acts for routes outside the blueprint too.
    assert client.get("/secret").text == "global 403 from a blueprint"


def test_the_abort_function(tmp_path: Path, door: str) -> None:
    app = make_app(tmp_path, door)
    users = {"1": "ada"}

    class User:
        class query:
            @staticmethod
            def get(id: str) -> str | None:
                return users.get(id)

    @app.errorhandler(404)
    def page_not_found(e):  # type: ignore[no-untyped-def]
        return render_template("errors/404.html"), 404

    @app.route("/user/<id>")
    def get_user(id):  # type: ignore[no-untyped-def]
        user = User.query.get(id)
        if user is None:
            # This immediately stops the view and calls the 404 handler
            abort(404)
        return render_template("profile.html", user=user)

    client = app.test_client()
    assert client.get("/user/1").text == "<p>ada</p>"
    missing = client.get("/user/2")
    assert (missing.status_code, "Page not found" in missing.text) == (404, True)


def test_a_broken_500_handler_falls_back_to_the_hardcoded_error(
    tmp_path: Path, door: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path, door)

    @app.errorhandler(500)
    def internal_server_error(e):  # type: ignore[no-untyped-def]
        return render_template("errors/missing-500.html"), 500

    @app.route("/")
    def index() -> str:
        raise RuntimeError("original failure")

    with caplog.at_level(logging.ERROR, logger=app.name):
        response = app.test_client().get("/")
    assert response.status_code == 500
    assert "Internal Server Error" in response.text
    assert "original failure" in caplog.text
