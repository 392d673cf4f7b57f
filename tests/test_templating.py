"""Jinja integration: environment, loaders, render helpers, template registries, signals."""

from __future__ import annotations

import logging
import typing as t
from pathlib import Path

import pytest
from jinja2 import TemplateNotFound

from demijohn import (
    Blueprint,
    Flask,
    before_render_template,
    get_template_attribute,
    render_template,
    render_template_string,
    stream_template,
    stream_template_string,
    template_rendered,
)


def write(folder: Path, name: str, source: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


@pytest.fixture
def tapp(tmp_path: Path) -> Flask:
    write(tmp_path, "templates/page.html", "{{ value }}")
    write(tmp_path, "templates/page.txt", "{{ value }}")
    write(
        tmp_path, "templates/macros.html", "{% macro hello(name) %}Hello {{ name }}!{% endmacro %}"
    )
    return Flask("tapp", root_path=str(tmp_path))


def test_autoescape_by_extension(tapp: Flask) -> None:
    with tapp.test_request_context():
        assert render_template("page.html", value="<b>") == "&lt;b&gt;"
        assert render_template("page.txt", value="<b>") == "<b>"
        assert render_template_string("{{ value }}", value="<b>") == "&lt;b&gt;"
    for name in ("a.html", "a.htm", "a.xml", "a.xhtml", "a.svg"):
        assert tapp.select_jinja_autoescape(name) is True
    assert tapp.select_jinja_autoescape("a.txt") is False


def test_a_list_of_names_renders_the_first_that_exists(tapp: Flask) -> None:
    with tapp.test_request_context():
        assert render_template(["missing.html", "page.html"], value=1) == "1"


def test_template_not_found_names_the_template_and_folders(tapp: Flask, tmp_path: Path) -> None:
    tapp.register_blueprint(Blueprint("bp", __name__, template_folder=str(tmp_path / "bp_t")))
    with tapp.test_request_context(), pytest.raises(TemplateNotFound) as info:
        render_template("nope.html")
    assert info.value.name == "nope.html"
    assert str(info.value) == (
        f"'nope.html' was not found; searched: {tmp_path / 'templates'}, {tmp_path / 'bp_t'}"
    )


def test_explain_template_loading_logs_the_search(
    tapp: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bp = Blueprint("shop", __name__, template_folder=str(tmp_path / "bp_templates"))
    tapp.register_blueprint(bp)
    tapp.config["EXPLAIN_TEMPLATE_LOADING"] = True
    with tapp.test_request_context(), caplog.at_level(logging.INFO, logger="tapp"):
        with pytest.raises(TemplateNotFound):
            render_template("nope.html")
        render_template("page.html", value=1)
    assert "Locating template 'nope.html'" in caplog.text
    assert "trying loader of application 'tapp'" in caplog.text
    assert "trying loader of blueprint 'shop'" in caplog.text
    assert str(tmp_path / "templates") in caplog.text  # the folders searched
    assert "Error: the template could not be found." in caplog.text
    assert "-> found" in caplog.text


def test_app_templates_override_blueprint_templates(tmp_path: Path) -> None:
    write(tmp_path, "templates/shared.html", "app")
    write(tmp_path, "bp1/shared.html", "bp1")
    write(tmp_path, "bp1/only_bp1.html", "only bp1")
    write(tmp_path, "bp2/only_bp1.html", "bp2 shadowed")
    app = Flask("over", root_path=str(tmp_path))
    app.register_blueprint(Blueprint("bp1", __name__, template_folder=str(tmp_path / "bp1")))
    app.register_blueprint(Blueprint("bp2", __name__, template_folder=str(tmp_path / "bp2")))
    with app.test_request_context():
        assert render_template("shared.html") == "app"
        assert render_template("only_bp1.html") == "only bp1"  # registration order
    assert set(app.jinja_env.list_templates()) == {"shared.html", "only_bp1.html"}


def test_stream_template_inside_a_request(tapp: Flask) -> None:
    @tapp.route("/")
    def index() -> t.Any:

        return stream_template_string(
            "{% for i in range(3) %}{{ i }}{{ request.args.sep }}{% endfor %}"
        )

    @tapp.route("/file")
    def from_file() -> t.Any:
        return stream_template("page.html", value="<x>")

    client = tapp.test_client()
    assert client.get("/?sep=,").text == "0,1,2,"
    assert client.get("/file").text == "&lt;x&gt;"
    assert index is not None


def test_get_template_attribute(tapp: Flask) -> None:
    with tapp.app_context():
        hello = get_template_attribute("macros.html", "hello")
        assert hello("ada") == "Hello ada!"


def test_template_filters_tests_and_globals(tapp: Flask) -> None:
    @tapp.template_filter()
    def reverse(value: str) -> str:
        return value[::-1]

    @tapp.template_filter("shout")
    def make_loud(value: str) -> str:
        return value.upper()

    @tapp.template_test()
    def even(value: int) -> bool:
        return value % 2 == 0

    @tapp.template_global()
    def answer() -> int:
        return 42

    tapp.add_template_filter(lambda v: f"[{v}]", "box")
    bp = Blueprint("bp", __name__)
    bp.add_app_template_filter(lambda v: f"<{v}>", "angle")

    @bp.app_template_global("site")
    def site() -> str:
        return "demo"

    @bp.app_template_test("odd")
    def odd(value: int) -> bool:
        return value % 2 == 1

    tapp.register_blueprint(bp)
    with tapp.test_request_context():
        source = (
            "{{ 'abc'|reverse }} {{ 'x'|shout }} {{ 4 is even }} {{ answer() }} {{ 1|box }}"
            " {{ 'a'|angle }} {{ site() }} {{ 3 is odd }}"
        )
        assert render_template_string(source) == "cba X True 42 [1] &lt;a&gt; demo True"


def test_context_has_request_session_g_config(tapp: Flask) -> None:
    tapp.secret_key = "k"
    tapp.config["GREETING"] = "hi"

    @tapp.route("/")
    def index() -> str:
        from demijohn import g, session

        g.who = "ada"
        session["n"] = 1
        return render_template_string(
            "{{ config.GREETING }} {{ request.path }} {{ g.who }} {{ session.n }}"
            " {{ url_for('index') }} {{ get_flashed_messages() }}"
        )

    assert tapp.test_client().get("/").text == "hi / ada 1 / []"
    with tapp.app_context():
        # No request: the request-bound names are falsy (printing one raises, as in Flask).
        assert render_template_string("{{ config.GREETING }}{% if request %}!{% endif %}") == "hi"


def test_blueprint_context_processor_only_for_its_requests(tapp: Flask) -> None:
    bp = Blueprint("bp", __name__)

    @bp.context_processor
    def local() -> dict[str, str]:
        return {"where": "bp"}

    @bp.app_context_processor
    def everywhere() -> dict[str, str]:
        return {"all": "yes"}

    bp.add_url_rule("/in", "in_bp", lambda: render_template_string("{{ where }} {{ all }}"))
    tapp.add_url_rule("/out", "out", lambda: render_template_string("{{ where }} {{ all }}"))
    tapp.register_blueprint(bp)
    client = tapp.test_client()
    assert client.get("/in").text == "bp yes"
    assert client.get("/out").text == " yes"


def test_render_signals_with_flask_arguments(tapp: Flask) -> None:
    events: list[tuple[str, t.Any, str | None, dict[str, t.Any]]] = []

    def before(sender: t.Any, template: t.Any, context: dict[str, t.Any], **extra: t.Any) -> None:
        events.append(("before", sender, template.name, dict(context)))

    def after(sender: t.Any, template: t.Any, context: dict[str, t.Any], **extra: t.Any) -> None:
        events.append(("after", sender, template.name, dict(context)))

    with (
        before_render_template.connected_to(before, tapp),
        template_rendered.connected_to(after, tapp),
        tapp.test_request_context(),
    ):
        render_template("page.html", value=7)
    assert [e[0] for e in events] == ["before", "after"]
    assert all(e[1] is tapp and e[2] == "page.html" and e[3]["value"] == 7 for e in events)
    assert "request" in events[0][3] and "g" in events[0][3]


def test_auto_reload_follows_debug(tapp: Flask) -> None:
    assert tapp.jinja_env.auto_reload is False
    tapp.debug = True
    assert tapp.jinja_env.auto_reload is True
    other = Flask("other")
    other.config["TEMPLATES_AUTO_RELOAD"] = True
    assert other.jinja_env.auto_reload is True


def test_jinja_options_and_environment(tmp_path: Path) -> None:
    class Custom(Flask):
        jinja_options = {"trim_blocks": True}

    app = Custom("custom", root_path=str(tmp_path))
    assert app.jinja_env.trim_blocks is True
    assert app.jinja_env.app is app  # type: ignore[attr-defined]
    assert app.jinja_env.policies["json.dumps_function"] == app.json.dumps
