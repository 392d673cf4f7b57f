"""Jinja integration: environment, loaders, render helpers, template registries, signals."""

from __future__ import annotations

import dataclasses
import logging
import os
import typing as t
import uuid
from datetime import date
from pathlib import Path

import pytest
from jinja2 import DictLoader, StrictUndefined, TemplateNotFound, TemplatesNotFound, UndefinedError
from markupsafe import Markup

from demijohn import (
    Blueprint,
    Flask,
    before_render_template,
    flash,
    g,
    get_template_attribute,
    render_template,
    render_template_string,
    session,
    stream_template,
    stream_template_string,
    template_rendered,
)
from demijohn.templating import DispatchingJinjaLoader, Environment
from demijohn.testing import FlaskClient

HINT = ". Set EXPLAIN_TEMPLATE_LOADING = True to log every attempt."


def write(folder: Path, name: str, source: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)


@pytest.fixture
def tapp(app: Flask, tmp_path: Path) -> Flask:
    """The conftest app (both doors) with a few templates in its folder."""
    write(tmp_path, "templates/page.html", "{{ value }}")
    write(tmp_path, "templates/page.txt", "{{ value }}")
    write(
        tmp_path, "templates/macros.html", "{% macro hello(name) %}Hello {{ name }}!{% endmacro %}"
    )
    write(tmp_path, "templates/auth/login.html", "login {{ value }}")
    return app


# -- environment ------------------------------------------------------------------


def test_one_environment_per_app(tmp_path: Path) -> None:
    first, second = Flask("first"), Flask("second")
    assert first.jinja_env is first.jinja_env
    assert first.jinja_env is not second.jinja_env
    assert isinstance(first.jinja_env, Environment)
    assert first.jinja_env.app is first  # type: ignore[attr-defined]
    first.add_template_filter(str.upper, "up")
    assert "up" in first.jinja_env.filters and "up" not in second.jinja_env.filters
    assert isinstance(first.jinja_env.loader, DispatchingJinjaLoader)
    for name in ("config", "request", "session", "g", "url_for", "get_flashed_messages"):
        assert name in first.jinja_env.globals


def test_jinja_options_and_environment_class(tmp_path: Path) -> None:
    class MyEnvironment(Environment):
        pass

    class Custom(Flask):
        jinja_environment = MyEnvironment
        jinja_options = {"trim_blocks": True, "undefined": StrictUndefined}

    app = Custom("custom", root_path=str(tmp_path))
    assert type(app.jinja_env) is MyEnvironment
    assert app.jinja_env.trim_blocks is True
    with app.app_context():
        assert render_template_string("{% if 1 %}\nx{% endif %}") == "x"
        with pytest.raises(UndefinedError, match="'missing' is undefined"):
            render_template_string("{{ missing }}")


def test_create_jinja_environment_can_be_extended(tmp_path: Path) -> None:
    class WithGlobals(Flask):
        def create_jinja_environment(self) -> Environment:
            env = super().create_jinja_environment()
            env.globals["site"] = "demo"
            return env

    app = WithGlobals("ext", root_path=str(tmp_path))
    with app.app_context():
        assert render_template_string("{{ site }} {{ config.DEBUG }}") == "demo False"


def test_custom_jinja_loader(tmp_path: Path) -> None:
    class FromMemory(Flask):
        @property
        def jinja_loader(self) -> DictLoader:  # type: ignore[override]
            return DictLoader({"mem.html": "from memory {{ n }}"})

    app = FromMemory("mem", root_path=str(tmp_path))
    with app.app_context():
        assert render_template("mem.html", n=1) == "from memory 1"
        with pytest.raises(TemplateNotFound) as info:
            render_template("nope.html")
    assert "DictLoader of application 'mem'" in str(info.value)


def test_default_loaders_follow_template_folder(tmp_path: Path) -> None:
    app = Flask("loaders", root_path=str(tmp_path))
    assert getattr(app.jinja_loader, "searchpath", None) == [str(tmp_path / "templates")]
    assert Flask("none", root_path=str(tmp_path), template_folder=None).jinja_loader is None
    bp = Blueprint("bp", __name__, root_path=str(tmp_path / "bp"), template_folder="tpl")
    assert getattr(bp.jinja_loader, "searchpath", None) == [str(tmp_path / "bp" / "tpl")]
    assert Blueprint("plain", __name__).jinja_loader is None


# -- autoescaping -------------------------------------------------------------------


def test_autoescape_by_extension(tapp: Flask) -> None:
    with tapp.test_request_context():
        assert render_template("page.html", value="<b>") == "&lt;b&gt;"
        assert render_template("page.txt", value="<b>") == "<b>"
        assert render_template_string("{{ value }}", value="<b>") == "&lt;b&gt;"
    for name in ("a.html", "a.htm", "a.xml", "a.xhtml", "a.svg", "dir/a.svg"):
        assert tapp.select_jinja_autoescape(name) is True
    for name in ("a.txt", "a.js", "a.jinja", "html", "a.html.txt"):
        assert tapp.select_jinja_autoescape(name) is False
    assert tapp.select_jinja_autoescape(None) is True  # string templates


def test_autoescape_for_a_custom_extension(tmp_path: Path) -> None:
    write(tmp_path, "templates/page.jinja", "{{ value }}")

    class JinjaIsHtml(Flask):
        def select_jinja_autoescape(self, filename: str | None) -> bool:
            return super().select_jinja_autoescape(filename) or (filename or "").endswith(".jinja")

    with Flask("plain", root_path=str(tmp_path)).app_context():
        assert render_template("page.jinja", value="<i>") == "<i>"
    with JinjaIsHtml("custom", root_path=str(tmp_path)).app_context():
        assert render_template("page.jinja", value="<i>") == "&lt;i&gt;"


def test_autoescape_block_and_markup(tapp: Flask) -> None:
    with tapp.app_context():
        assert (
            render_template_string(
                "{% autoescape false %}{{ v }}{% endautoescape %}|{{ v }}", v="<"
            )
            == "<|&lt;"
        )
        assert render_template_string("{{ v }}{{ v|safe }}", v=Markup("<b>")) == "<b><b>"
        assert render_template_string("{{ v|e }}", v="&") == "&amp;"


# -- the loader: search order, errors, explanations -------------------------------


def test_templates_in_subfolders(tapp: Flask) -> None:
    with tapp.app_context():
        assert render_template("auth/login.html", value="x") == "login x"
        with pytest.raises(TemplateNotFound):
            render_template("login.html")


def test_a_list_of_names_renders_the_first_that_exists(tapp: Flask) -> None:
    with tapp.test_request_context():
        assert render_template(["missing.html", "page.html"], value=1) == "1"
        assert render_template(["page.txt", "page.html"], value="<") == "<"
        template = tapp.jinja_env.get_template("page.html")
        assert render_template(template, value=2) == "2"
        assert render_template([template], value=3) == "3"


def test_template_not_found_names_the_template_and_folders(tapp: Flask, tmp_path: Path) -> None:
    tapp.register_blueprint(Blueprint("bp", __name__, template_folder=str(tmp_path / "bp_t")))
    with tapp.test_request_context(), pytest.raises(TemplateNotFound) as info:
        render_template("nope.html")
    assert info.value.name == "nope.html"
    assert info.value.templates == ["nope.html"]
    assert str(info.value) == (
        f"'nope.html' was not found; searched: {tmp_path / 'templates'},"
        f" {tmp_path / 'bp_t'} (does not exist){HINT}"
    )


def test_none_of_a_list_found_names_the_folders(tapp: Flask, tmp_path: Path) -> None:
    with tapp.app_context(), pytest.raises(TemplatesNotFound) as info:
        render_template(["a.html", "b.html"])
    assert info.value.templates == ["a.html", "b.html"]
    assert str(info.value) == (
        "none of the templates given were found: a.html, b.html;"
        f" searched: {tmp_path / 'templates'}{HINT}"
    )
    with tapp.app_context(), pytest.raises(TemplatesNotFound, match="empty list"):
        render_template([])


def test_missing_include_or_parent_names_the_folders(tapp: Flask, tmp_path: Path) -> None:
    write(tmp_path, "templates/child.html", "{% extends 'gone.html' %}")
    with tapp.app_context():
        with pytest.raises(TemplateNotFound, match=r"'gone\.html' was not found; searched: /"):
            render_template("child.html")
        with pytest.raises(TemplateNotFound, match=r"'inc\.html' was not found"):
            render_template_string("{% include 'inc.html' %}")
        assert render_template_string("{% include 'inc.html' ignore missing %}ok") == "ok"


def test_no_template_folder_anywhere(tmp_path: Path) -> None:
    app = Flask("bare", root_path=str(tmp_path), template_folder=None)
    with app.app_context(), pytest.raises(TemplateNotFound) as info:
        render_template("index.html")
    assert str(info.value) == (
        "'index.html' was not found; searched: nothing: neither the app nor any"
        " blueprint has a template folder"
    )


def test_missing_template_in_a_view_is_a_500(tapp: Flask, client: FlaskClient) -> None:
    tapp.add_url_rule("/", "index", lambda: render_template("nope.html"))
    tapp.testing = False
    tapp.logger.disabled = True  # the traceback would be logged
    assert client.get("/").status_code == 500


def test_explain_template_loading_logs_the_search(
    tapp: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, "bp_templates/page.html", "shadowed")
    bp = Blueprint("shop", __name__, template_folder=str(tmp_path / "bp_templates"))
    bp.add_url_rule("/missing", "missing", lambda: render_template("nope.html"))
    tapp.register_blueprint(bp)
    tapp.config["EXPLAIN_TEMPLATE_LOADING"] = True
    with caplog.at_level(logging.INFO, logger="test_app"):
        with tapp.test_request_context("/missing"), pytest.raises(TemplateNotFound) as info:
            render_template("nope.html")
        missing_log = caplog.text
        caplog.clear()
        with tapp.test_request_context():
            assert render_template("page.html", value=1) == "1"
        found_log = caplog.text
    assert HINT not in str(info.value)  # it is on already
    assert all(r.levelno == logging.INFO for r in caplog.records)
    assert "Locating template 'nope.html':" in missing_log
    assert "1: trying loader of application 'test_app'" in missing_log
    assert "2: trying loader of blueprint 'shop'" in missing_log
    assert f"- {tmp_path / 'templates'}" in missing_log  # the folders searched
    assert f"- {tmp_path / 'bp_templates'}" in missing_log
    assert missing_log.count("-> no match") == 2
    assert "Error: the template could not be found." in missing_log
    assert "belongs to the blueprint 'shop'" in missing_log
    assert f"-> found ('{tmp_path / 'templates' / 'page.html'}')" in found_log
    assert f"-> found ('{tmp_path / 'bp_templates' / 'page.html'}')" in found_log
    assert "Warning: multiple loaders returned a match for the template." in found_log


def test_explain_is_off_by_default(tapp: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), tapp.app_context():
        render_template("page.html", value=1)
    assert "Locating template" not in caplog.text


def test_app_templates_override_blueprint_templates(tmp_path: Path) -> None:
    write(tmp_path, "templates/shared.html", "app")
    write(tmp_path, "bp1/shared.html", "bp1")
    write(tmp_path, "bp1/only_bp1.html", "only bp1")
    write(tmp_path, "bp2/only_bp1.html", "bp2 shadowed")
    write(tmp_path, "bp2/only_bp2.html", "bp2")
    app = Flask("over", root_path=str(tmp_path))
    app.register_blueprint(Blueprint("bp1", __name__, template_folder=str(tmp_path / "bp1")))
    app.register_blueprint(Blueprint("bp2", __name__, template_folder=str(tmp_path / "bp2")))
    with app.test_request_context():
        assert render_template("shared.html") == "app"
        assert render_template("only_bp1.html") == "only bp1"  # registration order
        assert render_template("only_bp2.html") == "bp2"
    assert app.jinja_env.list_templates() == ["only_bp1.html", "only_bp2.html", "shared.html"]


def test_blueprint_template_folder_is_relative_to_the_blueprint(tmp_path: Path) -> None:
    write(tmp_path, "admin/templates/admin/index.html", "admin home")
    app = Flask("rel", root_path=str(tmp_path))
    admin = Blueprint(
        "admin", __name__, root_path=str(tmp_path / "admin"), template_folder="templates"
    )
    admin.add_url_rule("/admin", "index", lambda: render_template("admin/index.html"))
    app.register_blueprint(admin)
    assert app.test_client().get("/admin").text == "admin home"


def test_auto_reload_follows_debug(tmp_path: Path) -> None:
    app = Flask("reload", root_path=str(tmp_path))
    assert app.jinja_env.auto_reload is False
    app.debug = True
    assert app.jinja_env.auto_reload is True
    app.debug = False
    assert app.jinja_env.auto_reload is False
    pinned = Flask("pinned")
    pinned.config["TEMPLATES_AUTO_RELOAD"] = False
    pinned.debug = True
    assert pinned.jinja_env.auto_reload is False
    other = Flask("other")
    other.config["TEMPLATES_AUTO_RELOAD"] = True
    assert other.jinja_env.auto_reload is True


@pytest.mark.parametrize("auto_reload", [True, False])
def test_auto_reload_rereads_changed_templates(tmp_path: Path, auto_reload: bool) -> None:
    write(tmp_path, "templates/live.html", "old")
    app = Flask("live", root_path=str(tmp_path))
    app.config["TEMPLATES_AUTO_RELOAD"] = auto_reload
    with app.app_context():
        assert render_template("live.html") == "old"
        path = tmp_path / "templates" / "live.html"
        path.write_text("new")
        stat = path.stat()
        os.utime(path, (stat.st_atime, stat.st_mtime + 10))  # a visibly newer file
        assert render_template("live.html") == ("new" if auto_reload else "old")


# -- rendering helpers ----------------------------------------------------------------


def test_render_helpers_need_an_app_context() -> None:
    for call in (
        lambda: render_template("x.html"),
        lambda: render_template_string("x"),
        lambda: stream_template("x.html"),
        lambda: stream_template_string("x"),
        lambda: get_template_attribute("x.html", "y"),
    ):
        with pytest.raises(RuntimeError, match="Working outside of application context"):
            call()


def test_stream_template_inside_a_request(tapp: Flask, client: FlaskClient) -> None:
    @tapp.route("/")
    def index() -> t.Any:
        return stream_template_string(
            "{% for i in range(3) %}{{ i }}{{ request.args.sep }}{% endfor %}"
        )

    @tapp.route("/file")
    def from_file() -> t.Any:
        return stream_template("page.html", value="<x>")

    @tapp.route("/list")
    def from_list() -> t.Any:
        return stream_template(["missing.html", "auth/login.html"], value="y")

    assert client.get("/?sep=,").text == "0,1,2,"
    response = client.get("/file")
    assert response.text == "&lt;x&gt;"
    assert response.mimetype == "text/html"
    assert client.get("/list").text == "login y"


def test_stream_template_yields_pieces(tapp: Flask) -> None:
    with tapp.app_context():
        stream = stream_template_string("a{% for i in range(3) %}{{ i }}{% endfor %}b")
        pieces = list(stream)
        assert "".join(pieces) == "a012b"
        assert len(pieces) > 1
        # Outside a request nothing request-bound is needed.
        assert "".join(stream_template("page.html", value=5)) == "5"


def test_get_template_attribute(tapp: Flask, tmp_path: Path) -> None:
    write(tmp_path, "templates/exports.html", "{% set answer = 42 %}")
    with tapp.app_context():
        hello = get_template_attribute("macros.html", "hello")
        assert hello("<ada>") == Markup("Hello &lt;ada&gt;!")
        assert get_template_attribute("exports.html", "answer") == 42
        with pytest.raises(AttributeError, match="nope"):
            get_template_attribute("macros.html", "nope")
        with pytest.raises(TemplateNotFound):
            get_template_attribute("missing.html", "hello")


def test_template_error_propagates(tapp: Flask, client: FlaskClient) -> None:
    tapp.add_url_rule("/", "index", lambda: render_template_string("{{ 1 / 0 }}"))
    with pytest.raises(ZeroDivisionError):
        client.get("/")


# -- context -----------------------------------------------------------------------------


def test_context_has_request_session_g_config(tapp: Flask, client: FlaskClient) -> None:
    tapp.secret_key = "k"
    tapp.config["GREETING"] = "hi"

    @tapp.route("/")
    def index() -> str:
        g.who = "ada"
        session["n"] = 1
        flash("note")
        return render_template_string(
            "{{ config.GREETING }} {{ request.path }} {{ g.who }} {{ session.n }}"
            " {{ url_for('index', q=1) }} {{ get_flashed_messages() }}"
        )

    assert client.get("/").text == "hi / ada 1 /?q=1 [&#39;note&#39;]"
    with tapp.app_context():
        g.who = "app ctx"
        # No request: the request-bound names are falsy (printing one raises, as in Flask).
        out = render_template_string(
            "{{ config.GREETING }}{% if request %}!{% endif %}{% if session %}!{% endif %}"
            " {{ g.who }}"
        )
        assert out == "hi app ctx"
        with pytest.raises(RuntimeError, match="outside of request context"):
            render_template_string("{{ request.path }}")


def test_request_names_reach_imported_macros(tapp: Flask, tmp_path: Path) -> None:
    write(tmp_path, "templates/m.html", "{% macro where() %}{{ request.path }}{% endmacro %}")
    with tapp.test_request_context("/here"):
        imported = "{% from 'm.html' import where with context %}{{ where() }}"
        assert render_template_string(imported) == "/here"
        out = render_template_string("{% import 'm.html' as m with context %}{{ m.where() }}")
        assert out == "/here"


def test_context_processors_and_precedence(tapp: Flask, client: FlaskClient) -> None:
    @tapp.context_processor
    def site() -> dict[str, t.Any]:
        return {"site": "app", "who": "processor", "shout": lambda s: s.upper()}

    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.context_processor
    def local() -> dict[str, str]:
        return {"site": "bp"}

    @bp.app_context_processor
    def everywhere() -> dict[str, str]:
        return {"all": "yes"}

    @tapp.context_processor
    async def from_async() -> dict[str, str]:
        return {"async_value": "awaited"}

    source = "{{ site }} {{ who }} {{ all }} {{ shout('x') }} {{ async_value }}"
    bp.add_url_rule("/in", "in_bp", lambda: render_template_string(source))
    tapp.add_url_rule("/out", "out", lambda: render_template_string(source))
    tapp.add_url_rule("/mine", "mine", lambda: render_template_string(source, who="view"))
    tapp.register_blueprint(bp)
    # A blueprint's processors run only for its requests and override the app's.
    assert client.get("/bp/in").text == "bp processor yes X awaited"
    assert client.get("/out").text == "app processor yes X awaited"
    # Values given to render_template win over every processor.
    assert client.get("/mine").text == "app view yes X awaited"


def test_nested_blueprint_context_processors(tapp: Flask, client: FlaskClient) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")
    parent.context_processor(lambda: {"level": "parent", "p": 1})
    child.context_processor(lambda: {"level": "child"})
    child.add_url_rule("/", "x", lambda: render_template_string("{{ level }} {{ p }}"))
    parent.register_blueprint(child)
    tapp.register_blueprint(parent)
    assert client.get("/p/c/").text == "child 1"


def test_processors_run_per_render(tapp: Flask) -> None:
    calls: list[int] = []
    tapp.context_processor(lambda: {"n": calls.append(1) or len(calls)})
    with tapp.app_context():
        assert render_template_string("{{ n }}") == "1"
        assert render_template_string("{{ n }}") == "2"


# -- registries ----------------------------------------------------------------------------


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

    @tapp.template_test("big")
    def is_big(value: int) -> bool:
        return value > 100

    @tapp.template_global()
    def answer() -> int:
        return 42

    @tapp.template_global("pi")
    def get_pi() -> float:
        return 3.14

    tapp.add_template_filter(lambda v: f"[{v}]", "box")
    tapp.add_template_test(lambda v: v == 0, "zero")
    tapp.add_template_global(lambda: "added", "added")

    def named_by_function(v: str) -> str:
        return f"({v})"

    tapp.add_template_filter(named_by_function)

    bp = Blueprint("bp", __name__)
    bp.add_app_template_filter(lambda v: f"<{v}>", "angle")
    bp.add_app_template_test(lambda v: v is None, "nothing")
    bp.add_app_template_global(lambda: "bp-added", "bp_added")

    @bp.app_template_filter()
    def twice(v: str) -> str:
        return v * 2

    @bp.app_template_global("site")
    def site() -> str:
        return "demo"

    @bp.app_template_test("odd")
    def odd(value: int) -> bool:
        return value % 2 == 1

    with tapp.app_context():
        assert render_template_string("{{ 'ab'|reverse }}") == "ba"  # before registration
    tapp.register_blueprint(bp)
    with tapp.test_request_context():
        source = (
            "{{ 'abc'|reverse }} {{ 'x'|shout }} {{ 4 is even }} {{ 500 is big }} {{ answer() }}"
            " {{ pi() }} {{ 1|box }} {{ 0 is zero }} {{ added() }} {{ 'f'|named_by_function }}"
            " {{ 'a'|angle }} {{ none is nothing }} {{ bp_added() }} {{ 'o'|twice }}"
            " {{ site() }} {{ 3 is odd }}"
        )
        assert render_template_string(source) == (
            "cba X True True 42 3.14 [1] True added (f) &lt;a&gt; True bp-added oo demo True"
        )
    # The decorators give the function back unchanged.
    assert reverse("ab") == "ba" and twice("a") == "aa" and odd(1)


def test_blueprint_registries_apply_only_once_registered(tmp_path: Path) -> None:
    bp = Blueprint("late", __name__)
    bp.add_app_template_filter(str.title, "title_case")
    app = Flask("late_app", root_path=str(tmp_path))
    assert "title_case" not in app.jinja_env.filters
    app.register_blueprint(bp)
    assert app.jinja_env.filters["title_case"] is str.title


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_tojson_uses_the_app_json_provider_and_is_html_safe(tapp: Flask) -> None:
    value = {
        "html": "</script><script>alert('x')</script>",
        "amp": "a & b",
        "id": uuid.UUID(int=1),
        "day": date(2020, 1, 2),
        "point": Point(1, 2),
    }
    with tapp.app_context():
        out = render_template_string(
            "<script>const data = {{ value|tojson }};</script>", value=value
        )
        attr = render_template_string("<a data-v='{{ v|tojson }}'>", v="it's")
        indented = render_template_string("{{ v|tojson(indent=1) }}", v={"b": 1, "a": 2})
    inner = out[len("<script>const data = ") : -len(";</script>")]
    for char in "<>&'":
        assert char not in inner
    assert inner == (
        '{"amp": "a \\u0026 b", "day": "Thu, 02 Jan 2020 00:00:00 GMT",'
        ' "html": "\\u003c/script\\u003e\\u003cscript\\u003ealert(\\u0027x\\u0027)'
        '\\u003c/script\\u003e", "id": "00000000-0000-0000-0000-000000000001",'
        ' "point": {"x": 1, "y": 2}}'
    )
    assert attr == "<a data-v='\"it\\u0027s\"'>"
    assert indented == '{\n "a": 2,\n "b": 1\n}'


# -- signals ---------------------------------------------------------------------------------


def test_render_signals_with_flask_arguments(tapp: Flask) -> None:
    events: list[tuple[str, t.Any, str | None, dict[str, t.Any]]] = []

    def before(sender: t.Any, template: t.Any, context: dict[str, t.Any], **extra: t.Any) -> None:
        assert extra == {}
        events.append(("before", sender, template.name, dict(context)))

    def after(sender: t.Any, template: t.Any, context: dict[str, t.Any], **extra: t.Any) -> None:
        assert extra == {}
        events.append(("after", sender, template.name, dict(context)))

    with (
        before_render_template.connected_to(before, tapp),
        template_rendered.connected_to(after, tapp),
        tapp.test_request_context(),
    ):
        render_template("page.html", value=7)
        render_template_string("{{ value }}", value=8)
    assert [(e[0], e[2]) for e in events] == [
        ("before", "page.html"),
        ("after", "page.html"),
        ("before", None),
        ("after", None),
    ]
    assert all(e[1] is tapp for e in events)
    assert [e[3]["value"] for e in events] == [7, 7, 8, 8]
    assert {"request", "session", "g"} <= set(events[0][3])


def test_before_render_template_can_change_the_context(tapp: Flask) -> None:
    def inject(sender: Flask, template: t.Any, context: dict[str, t.Any], **extra: t.Any) -> None:
        context["value"] = "changed"

    with before_render_template.connected_to(inject, tapp), tapp.app_context():
        assert render_template("page.html", value="original") == "changed"


def test_stream_signals_wrap_the_whole_stream(tapp: Flask) -> None:
    events: list[str] = []

    def before(sender: Flask, **extra: t.Any) -> None:
        events.append("before")

    def after(sender: Flask, **extra: t.Any) -> None:
        events.append("after")

    with (
        before_render_template.connected_to(before, tapp),
        template_rendered.connected_to(after, tapp),
        tapp.app_context(),
    ):
        stream = stream_template("page.html", value=1)
        assert events == ["before"]
        assert "".join(stream) == "1"
        assert events == ["before", "after"]


def test_signals_of_another_app_are_not_received(tapp: Flask) -> None:
    received: list[object] = []
    other = Flask("other")
    with (
        template_rendered.connected_to(lambda s, **kw: received.append(s), other),
        tapp.app_context(),
    ):
        render_template_string("x")
    assert received == []
