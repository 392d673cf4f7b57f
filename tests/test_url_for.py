"""URL building: ``url_for`` inside and outside requests, defaults, errors."""

from __future__ import annotations

import pytest
from werkzeug.routing import BuildError

import demijohn
from demijohn import url_for


@pytest.fixture
def routed(app: demijohn.Flask) -> demijohn.Flask:
    @app.route("/")
    def index() -> str:
        return "index"

    @app.route("/user/<username>")
    def profile(username: str) -> str:
        return username

    @app.route("/edit", methods=["POST"])
    def edit_post() -> str:
        return "post"

    @app.route("/edit", methods=["GET"], endpoint="edit_get")
    def edit_get() -> str:
        return "get"

    return app


def test_basic_building(routed: demijohn.Flask) -> None:
    with routed.test_request_context():
        assert url_for("index") == "/"
        assert url_for("profile", username="John Doe") == "/user/John%20Doe"
        assert url_for("index", page=2, q="a b") == "/?page=2&q=a+b"
        assert url_for("index", _anchor="top section") == "/#top%20section"
        assert url_for("index", _external=True) == "http://localhost/"
        assert url_for("index", _scheme="https", _external=True) == "https://localhost/"
        assert url_for("index", _scheme="https") == "https://localhost/"
        assert url_for("edit_post", _method="POST") == "/edit"


def test_scheme_requires_external(routed: demijohn.Flask) -> None:
    with (
        routed.test_request_context(),
        pytest.raises(ValueError, match="'_external' must be True"),
    ):
        url_for("index", _scheme="https", _external=False)


def test_build_error_names_what_is_missing(routed: demijohn.Flask) -> None:
    with routed.test_request_context():
        with pytest.raises(BuildError) as info:
            url_for("profile")
        assert "username" in str(info.value)
        with pytest.raises(BuildError, match="nowhere"):
            url_for("nowhere")


def test_outside_request_needs_server_name(routed: demijohn.Flask) -> None:
    with routed.app_context(), pytest.raises(RuntimeError, match="SERVER_NAME"):
        url_for("index")
    routed.config.update(
        SERVER_NAME="example.test", APPLICATION_ROOT="/app", PREFERRED_URL_SCHEME="https"
    )
    with routed.app_context():
        assert url_for("profile", username="x") == "https://example.test/app/user/x"


def test_url_defaults_and_value_preprocessor(app: demijohn.Flask) -> None:
    @app.url_defaults
    def add_lang(endpoint: str, values: dict[str, object]) -> None:
        if "lang_code" in values or not app.url_map.is_endpoint_expecting(endpoint, "lang_code"):
            return
        values["lang_code"] = demijohn.g.get("lang_code", "en")

    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, object] | None) -> None:
        demijohn.g.lang_code = values.pop("lang_code", None) if values else None

    @app.route("/<lang_code>/about")
    def about() -> str:
        return f"{demijohn.g.lang_code} {url_for('about')}"

    assert app.test_client().get("/fr/about").text == "fr /fr/about"


def test_url_build_error_handlers(routed: demijohn.Flask) -> None:
    def fallback(error: Exception, endpoint: str, values: dict[str, object]) -> str | None:
        if endpoint == "external":
            return "https://elsewhere.test/"
        return None

    routed.url_build_error_handlers.append(fallback)
    with routed.test_request_context():
        assert url_for("external") == "https://elsewhere.test/"
        with pytest.raises(BuildError):
            url_for("still_missing")


def test_url_for_in_template_and_app_method(routed: demijohn.Flask) -> None:
    with routed.test_request_context():
        assert routed.url_for("profile", username="a") == "/user/a"
        assert (
            demijohn.render_template_string("{{ url_for('profile', username='b') }}") == "/user/b"
        )


def test_script_root_is_respected(routed: demijohn.Flask) -> None:
    with routed.test_request_context(base_url="http://localhost/prefix"):
        assert url_for("index") == "/prefix/"
