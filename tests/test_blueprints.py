"""Blueprints: registration, nesting, scoped hooks and handlers, setup state."""

from __future__ import annotations

import os

import pytest
from werkzeug.routing import Rule

import demijohn
from demijohn import Blueprint, request, url_for
from demijohn.testing import FlaskClient


def test_routes_endpoints_and_prefix(app: demijohn.Flask) -> None:
    bp = Blueprint("auth", __name__, url_prefix="/auth")

    @bp.route("/login")
    def login() -> str:
        return f"{request.endpoint} {request.blueprint} {url_for('.login')}"

    app.register_blueprint(bp)
    assert app.test_client().get("/auth/login").text == "auth.login auth /auth/login"
    assert "auth.login" in app.view_functions
    assert app.blueprints == {"auth": bp}


def test_register_with_options_and_twice_with_name(app: demijohn.Flask) -> None:
    bp = Blueprint("api", __name__)

    @bp.route("/ping")
    def ping() -> str:
        return request.endpoint or ""

    app.register_blueprint(bp, url_prefix="/v1")
    app.register_blueprint(bp, url_prefix="/v2", name="api_v2")
    with pytest.raises(ValueError, match="already registered for this blueprint"):
        app.register_blueprint(bp, url_prefix="/v3")
    other = Blueprint("api", __name__)
    with pytest.raises(ValueError, match="already registered for a different blueprint"):
        app.register_blueprint(other)
    client = app.test_client()
    assert client.get("/v1/ping").text == "api.ping"
    assert client.get("/v2/ping").text == "api_v2.ping"


def test_name_validation() -> None:
    with pytest.raises(ValueError, match="may not contain a dot"):
        Blueprint("a.b", __name__)
    with pytest.raises(ValueError, match="may not be empty"):
        Blueprint("", __name__)
    bp = Blueprint("ok", __name__)
    with pytest.raises(ValueError, match="'endpoint' may not contain a dot"):
        bp.add_url_rule("/", "a.b", lambda: "x")
    with pytest.raises(ValueError, match="Cannot register a blueprint on itself"):
        bp.register_blueprint(bp)


def test_nested_blueprints(app: demijohn.Flask) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child")
    grandchild = Blueprint("grandchild", __name__, url_prefix="/gc")
    calls: list[str] = []

    @parent.before_request
    def parent_before() -> None:
        calls.append("parent")

    @child.before_request
    def child_before() -> None:
        calls.append("child")

    @grandchild.route("/")
    def index() -> str:
        return f"{request.endpoint} {request.blueprints} {url_for('.index')}"

    @child.errorhandler(404)
    def child_404(e: Exception) -> tuple[str, int]:
        return "child 404", 404

    child.register_blueprint(grandchild)
    parent.register_blueprint(child)
    app.register_blueprint(parent)

    client = app.test_client()
    assert client.get("/parent/child/gc/").text == (
        "parent.child.grandchild.index"
        " ['parent.child.grandchild', 'parent.child', 'parent']"
        " /parent/child/gc/"
    )
    assert calls == ["parent", "child"]
    assert set(app.blueprints) == {"parent", "parent.child", "parent.child.grandchild"}


def test_nested_subdomains_combine(app: demijohn.Flask) -> None:
    app.config["SERVER_NAME"] = "example.test"
    app.subdomain_matching = True
    parent = Blueprint("parent", __name__, subdomain="api")
    child = Blueprint("child", __name__, subdomain="v1")

    @child.route("/")
    def index() -> str:
        return "v1 api"

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    resp = app.test_client().get("/", base_url="http://v1.api.example.test")
    assert resp.text == "v1 api"


def test_scoped_hooks_only_for_blueprint(app: demijohn.Flask) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")
    calls: list[str] = []

    @bp.before_request
    def before() -> None:
        calls.append("bp before")

    @bp.after_request
    def after(response: demijohn.Response) -> demijohn.Response:
        calls.append("bp after")
        return response

    @bp.teardown_request
    def teardown(exc: BaseException | None) -> None:
        calls.append("bp teardown")

    @bp.before_app_request
    def app_before() -> None:
        calls.append("app-wide before")

    @bp.route("/")
    def bp_index() -> str:
        return "bp"

    app.register_blueprint(bp)
    app.add_url_rule("/", "index", lambda: "app")
    client = app.test_client()
    client.get("/")
    assert calls == ["app-wide before"]
    calls.clear()
    client.get("/bp/")
    assert calls == ["app-wide before", "bp before", "bp after", "bp teardown"]


def test_blueprint_error_handlers(app: demijohn.Flask) -> None:
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.errorhandler(ValueError)
    def bp_value(e: ValueError) -> str:
        return "bp handled"

    @bp.app_errorhandler(KeyError)
    def app_key(e: KeyError) -> str:
        return "app-wide handled"

    @bp.route("/value")
    def bp_value_view() -> str:
        raise ValueError()

    app.register_blueprint(bp)
    app.add_url_rule("/value", "value", lambda: (_ for _ in ()).throw(ValueError()))
    app.add_url_rule("/key", "key", lambda: {}["x"])
    client = app.test_client()
    assert client.get("/bp/value").text == "bp handled"
    with pytest.raises(ValueError):
        client.get("/value")
    assert client.get("/key").text == "app-wide handled"


def test_blueprint_url_processors_and_defaults(app: demijohn.Flask) -> None:
    bp = Blueprint("lang", __name__, url_prefix="/<lang_code>")

    @bp.url_defaults
    def add_language_code(endpoint: str, values: dict[str, object]) -> None:
        values.setdefault("lang_code", demijohn.g.lang_code)

    @bp.url_value_preprocessor
    def pull_lang_code(endpoint: str | None, values: dict[str, object] | None) -> None:
        demijohn.g.lang_code = values.pop("lang_code") if values else None

    @bp.route("/")
    def index() -> str:
        return f"{demijohn.g.lang_code} {url_for('.index')}"

    app.register_blueprint(bp)
    assert app.test_client().get("/de/").text == "de /de/"


def test_url_defaults_option(app: demijohn.Flask) -> None:
    bp = Blueprint("pages", __name__, url_defaults={"lang": "en"})

    @bp.route("/<page>")
    def show(lang: str, page: str) -> str:
        return f"{lang}:{page}"

    app.register_blueprint(bp)
    # Registration-time defaults are merged with the blueprint's own.
    app.register_blueprint(bp, name="de", url_prefix="/de", url_defaults={"lang": "de"})
    client = app.test_client()
    assert client.get("/about").text == "en:about"
    assert client.get("/de/about").text == "de:about"


def test_record_and_setup_state(app: demijohn.Flask) -> None:
    bp = Blueprint("ext", __name__, url_prefix="/ext")
    states: list[demijohn.blueprints.BlueprintSetupState] = []
    bp.record(states.append)
    once: list[object] = []
    bp.record_once(once.append)
    app.register_blueprint(bp)
    app.register_blueprint(bp, name="ext2", url_prefix="/ext2")
    assert [s.url_prefix for s in states] == ["/ext", "/ext2"]
    assert [s.first_registration for s in states] == [True, False]
    assert states[0].app is app and states[0].blueprint is bp
    assert len(once) == 1

    state = states[0]
    state.add_url_rule("/direct", "direct", lambda: "direct")
    assert app.test_client().get("/ext/direct").text == "direct"
    assert "ext.direct" in app.view_functions


def test_setup_after_registration_is_refused(app: demijohn.Flask) -> None:
    bp = Blueprint("late", __name__)
    app.register_blueprint(bp)
    with pytest.raises(AssertionError, match="can no longer be called on the blueprint"):
        bp.before_request(lambda: None)


def test_app_template_helpers(app: demijohn.Flask) -> None:
    bp = Blueprint("tpl", __name__)

    @bp.app_template_filter()
    def shout(s: str) -> str:
        return s.upper()

    @bp.app_template_global("answer")
    def answer() -> int:
        return 42

    @bp.app_template_test()
    def even(n: int) -> bool:
        return n % 2 == 0

    @bp.app_context_processor
    def inject() -> dict[str, str]:
        return {"site": "demo"}

    app.register_blueprint(bp)
    with app.test_request_context():
        assert (
            demijohn.render_template_string(
                "{{ 'a'|shout }} {{ answer() }} {{ 4 is even }} {{ site }}"
            )
            == "A 42 True demo"
        )


def test_blueprint_context_processor_scoped(app: demijohn.Flask) -> None:
    bp = Blueprint("scoped", __name__, url_prefix="/s")

    @bp.context_processor
    def inject() -> dict[str, str]:
        return {"who": "blueprint"}

    @bp.route("/")
    def inside() -> str:
        return demijohn.render_template_string("{{ who|default('nobody') }}")

    app.register_blueprint(bp)
    app.add_url_rule(
        "/", "outside", lambda: demijohn.render_template_string("{{ who|default('nobody') }}")
    )
    client = app.test_client()
    assert client.get("/s/").text == "blueprint"
    assert client.get("/").text == "nobody"


def test_blueprint_static_and_templates(tmp_path: os.PathLike[str]) -> None:
    root = os.fspath(tmp_path)
    os.makedirs(os.path.join(root, "bp", "static"))
    os.makedirs(os.path.join(root, "bp", "templates"))
    os.makedirs(os.path.join(root, "templates"))
    with open(os.path.join(root, "bp", "static", "style.css"), "w") as f:
        f.write("body{}")
    with open(os.path.join(root, "bp", "templates", "page.html"), "w") as f:
        f.write("from blueprint")
    with open(os.path.join(root, "bp", "templates", "shared.html"), "w") as f:
        f.write("blueprint version")
    with open(os.path.join(root, "templates", "shared.html"), "w") as f:
        f.write("app version")

    app = demijohn.Flask("bp_static_app", root_path=root)
    bp = Blueprint(
        "admin",
        __name__,
        root_path=os.path.join(root, "bp"),
        static_folder="static",
        static_url_path="/admin-static",
        template_folder="templates",
    )
    bp.add_url_rule("/page", "page", lambda: demijohn.render_template("page.html"))
    bp.add_url_rule("/shared", "shared", lambda: demijohn.render_template("shared.html"))
    app.register_blueprint(bp, url_prefix="/admin")

    client = app.test_client()
    resp = client.get("/admin/admin-static/style.css")
    assert (resp.status_code, resp.data) == (200, b"body{}")
    resp.close()
    assert client.get("/admin/page").text == "from blueprint"
    assert client.get("/admin/shared").text == "app version"  # the app's folder wins
    with app.test_request_context():
        assert url_for("admin.static", filename="style.css") == "/admin/admin-static/style.css"


def test_cli_group_registration(app: demijohn.Flask) -> None:
    bp = Blueprint("auth", __name__)

    @bp.cli.command("reset")
    def reset() -> None:
        """Reset things."""

    app.register_blueprint(bp)
    assert "auth" in app.cli.commands
    assert "reset" in app.cli.commands["auth"].commands  # type: ignore[attr-defined]

    flat = Blueprint("flat", __name__, cli_group=None)

    @flat.cli.command("flatcmd")
    def flatcmd() -> None:
        """Flat."""

    app.register_blueprint(flat)
    assert "flatcmd" in app.cli.commands


# -- ``Blueprint.endpoint`` (issue 16) -------------------------------------------------
#
# The name is registered as given, not prefixed with the blueprint's.


def test_blueprint_endpoint_registers_the_name_as_given(
    app: demijohn.Flask, client: FlaskClient
) -> None:
    app.url_map.add(Rule("/x", endpoint="name"))
    bp = Blueprint("bp", __name__)

    @bp.endpoint("name")
    def view() -> str:
        return f"{request.endpoint} {request.blueprint} {url_for('name')}"

    app.register_blueprint(bp, url_prefix="/prefix")
    assert app.view_functions["name"] is view
    assert "bp.name" not in app.view_functions
    response = client.get("/x")
    assert response.status_code == 200
    assert response.text == "name None /x"
    # Only the rule added for it routes there; the prefix makes no route.
    assert client.get("/prefix/x").status_code == 404
    assert client.get("/prefix/name").status_code == 404


def test_blueprint_endpoint_is_recorded_once(app: demijohn.Flask, client: FlaskClient) -> None:
    app.url_map.add(Rule("/x", endpoint="name"))
    bp = Blueprint("bp", __name__)

    @bp.endpoint("name")
    def view() -> str:
        return "from the blueprint"

    app.register_blueprint(bp)

    def replacement() -> str:
        return "replaced on the app"

    app.view_functions["name"] = replacement
    # A second registration (another name) does not record it again.
    app.register_blueprint(bp, name="again")
    assert app.view_functions["name"] is replacement
    assert client.get("/x").text == "replaced on the app"


def test_blueprint_endpoint_after_registration_is_refused(app: demijohn.Flask) -> None:
    bp = Blueprint("bp", __name__)
    app.register_blueprint(bp)
    with pytest.raises(AssertionError, match="can no longer be called on the blueprint"):
        bp.endpoint("late")
