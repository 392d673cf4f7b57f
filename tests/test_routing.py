"""Routing: rules, methods, converters, automatic HEAD/OPTIONS, redirects."""

from __future__ import annotations

import uuid

import pytest
from werkzeug.routing import BaseConverter

import demijohn


def test_route_and_shortcuts(app: demijohn.Flask) -> None:
    @app.route("/")
    def index() -> str:
        return "index"

    @app.get("/item")
    def get_item() -> str:
        return "got"

    @app.post("/item")
    def post_item() -> str:
        return "posted"

    @app.put("/item")
    def put_item() -> str:
        return "put"

    @app.patch("/item")
    def patch_item() -> str:
        return "patched"

    @app.delete("/item")
    def delete_item() -> str:
        return "deleted"

    client = app.test_client()
    assert client.get("/").text == "index"
    assert client.get("/item").text == "got"
    assert client.post("/item").text == "posted"
    assert client.put("/item").text == "put"
    assert client.patch("/item").text == "patched"
    assert client.delete("/item").text == "deleted"


def test_shortcut_rejects_methods(app: demijohn.Flask) -> None:
    with pytest.raises(TypeError, match="Use the 'route' decorator"):
        app.get("/", methods=["POST"])


def test_methods_must_be_a_list(app: demijohn.Flask) -> None:
    with pytest.raises(TypeError, match="Allowed methods must be a list of strings"):
        app.add_url_rule("/", "x", lambda: "x", methods="POST")


def test_405_lists_allowed_methods(app: demijohn.Flask) -> None:
    @app.route("/login", methods=["GET", "POST"])
    def login() -> str:
        return "ok"

    resp = app.test_client().delete("/login")
    assert resp.status_code == 405
    assert set(resp.allow) == {"GET", "HEAD", "POST", "OPTIONS"}


def test_404_for_unknown_url(client: demijohn.testing.FlaskClient) -> None:
    resp = client.get("/nope")
    assert resp.status_code == 404
    assert b"Not Found" in resp.data


def test_automatic_head_and_options(app: demijohn.Flask) -> None:
    @app.route("/")
    def index() -> str:
        return "hello"

    client = app.test_client()
    head = client.head("/")
    assert head.status_code == 200
    assert head.data == b""
    assert head.content_length == 5
    options = client.options("/")
    assert options.status_code == 200
    assert set(options.allow) == {"GET", "HEAD", "OPTIONS"}
    assert options.data == b""


def test_automatic_options_can_be_disabled(app: demijohn.Flask) -> None:
    def index() -> str:
        return "hello"

    index.provide_automatic_options = False  # type: ignore[attr-defined]
    app.add_url_rule("/", view_func=index)
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.add_url_rule("/b", "b", lambda: "b")
    client = app.test_client()
    assert client.options("/").status_code == 405
    assert client.options("/b").status_code == 405


def test_explicit_options_handler(app: demijohn.Flask) -> None:
    @app.route("/", methods=["OPTIONS"])
    def options() -> str:
        return "custom"

    assert app.test_client().options("/").text == "custom"


def test_required_methods_attribute(app: demijohn.Flask) -> None:
    def view() -> str:
        return "x"

    view.required_methods = ["POST"]  # type: ignore[attr-defined]
    app.add_url_rule("/", view_func=view)
    assert app.test_client().post("/").text == "x"


def test_strict_slashes_redirect_is_308(app: demijohn.Flask) -> None:
    @app.route("/projects/")
    def projects() -> str:
        return "projects"

    @app.route("/about")
    def about() -> str:
        return "about"

    client = app.test_client()
    resp = client.get("/projects")
    assert resp.status_code == 308
    assert resp.location.endswith("/projects/")
    assert client.get("/projects", follow_redirects=True).text == "projects"
    assert client.get("/about/").status_code == 404


def test_strict_slashes_false(app: demijohn.Flask) -> None:
    @app.route("/x", strict_slashes=False)
    def x() -> str:
        return "x"

    client = app.test_client()
    assert client.get("/x/").text == "x"
    assert client.get("/x").text == "x"


def test_converters(app: demijohn.Flask) -> None:
    @app.route("/user/<username>")
    def user(username: str) -> str:
        return f"user {username}"

    @app.route("/post/<int:post_id>")
    def post(post_id: int) -> str:
        return f"post {post_id + 1}"

    @app.route("/temp/<float(signed=True):deg>")
    def temp(deg: float) -> str:
        return f"temp {deg}"

    @app.route("/offset/<int(signed=True):n>")
    def offset(n: int) -> str:
        return f"offset {n}"

    @app.route("/path/<path:subpath>")
    def path(subpath: str) -> str:
        return f"path {subpath}"

    @app.route("/id/<uuid:ident>")
    def ident(ident: uuid.UUID) -> str:
        return f"uuid {ident.hex}"

    @app.route("/lang/<any(en, fr):lang>")
    def lang(lang: str) -> str:
        return f"lang {lang}"

    client = app.test_client()
    assert client.get("/user/ada").text == "user ada"
    assert client.get("/post/41").text == "post 42"
    assert client.get("/post/x").status_code == 404
    assert client.get("/post/-1").status_code == 404
    assert client.get("/offset/-3").text == "offset -3"
    assert client.get("/temp/-2.5").text == "temp -2.5"
    assert client.get("/path/a/b/c").text == "path a/b/c"
    value = uuid.uuid4()
    assert client.get(f"/id/{value}").text == f"uuid {value.hex}"
    assert client.get("/id/not-a-uuid").status_code == 404
    assert client.get("/lang/fr").text == "lang fr"
    assert client.get("/lang/de").status_code == 404


def test_specific_rules_win_over_variables(app: demijohn.Flask) -> None:
    @app.route("/<name>")
    def greet(name: str) -> str:
        return f"hi {name}"

    @app.route("/about")
    def about() -> str:
        return "about"

    client = app.test_client()
    assert client.get("/about").text == "about"
    assert client.get("/bob").text == "hi bob"


def test_custom_converter(app: demijohn.Flask) -> None:
    class ListConverter(BaseConverter):
        def to_python(self, value: str) -> list[str]:
            return value.split("+")

        def to_url(self, value: list[str]) -> str:
            return "+".join(value)

    app.url_map.converters["list"] = ListConverter

    @app.route("/tags/<list:tags>")
    def tags(tags: list[str]) -> dict[str, list[str]]:
        return {"tags": tags}

    assert app.test_client().get("/tags/a+b").json == {"tags": ["a", "b"]}
    with app.test_request_context():
        assert demijohn.url_for("tags", tags=["x", "y"]) == "/tags/x+y"


def test_several_rules_one_view_and_defaults(app: demijohn.Flask) -> None:
    @app.route("/users/", defaults={"page": 1})
    @app.route("/users/page/<int:page>")
    def users(page: int) -> str:
        return f"page {page}"

    client = app.test_client()
    assert client.get("/users/").text == "page 1"
    assert client.get("/users/page/3").text == "page 3"


def test_redirect_to_option(app: demijohn.Flask) -> None:
    app.add_url_rule("/old", "old", redirect_to="/new")

    @app.route("/new")
    def new() -> str:
        return "new"

    resp = app.test_client().get("/old")
    assert resp.status_code == 308
    assert resp.location.endswith("/new")


def test_endpoint_clash_is_an_error(app: demijohn.Flask) -> None:
    @app.route("/a")
    def view() -> str:
        return "a"

    def other() -> str:
        return "b"

    with pytest.raises(AssertionError, match="overwriting an existing endpoint function: view"):
        app.add_url_rule("/b", "view", other)
    # The same function under a second rule is fine.
    app.add_url_rule("/c", "view", view)
    assert app.test_client().get("/c").text == "a"


def test_endpoint_decorator(app: demijohn.Flask) -> None:
    app.add_url_rule("/", "home")

    @app.endpoint("home")
    def home() -> str:
        return "home"

    assert app.test_client().get("/").text == "home"


def test_subdomain_and_host_matching(tmp_path: object) -> None:
    app = demijohn.Flask("sub", subdomain_matching=True, static_folder=None)
    app.config["SERVER_NAME"] = "example.test"

    @app.route("/", subdomain="<user>")
    def profile(user: str) -> str:
        return f"profile {user}"

    client = app.test_client()
    assert client.get("/", base_url="http://ada.example.test").text == "profile ada"

    hosts = demijohn.Flask("hosts", host_matching=True, static_folder=None)

    @hosts.route("/", host="api.example.test")
    def api() -> str:
        return "api"

    client = hosts.test_client()
    assert client.get("/", base_url="http://api.example.test").text == "api"
    assert client.get("/", base_url="http://www.example.test").status_code == 404


def test_setup_after_first_request_is_refused(app: demijohn.Flask) -> None:
    @app.route("/")
    def index() -> str:
        return "x"

    app.test_client().get("/")
    with pytest.raises(AssertionError, match="can no longer be called on the application"):

        @app.route("/late")
        def late() -> str:
            return "late"


def test_trusted_hosts(app: demijohn.Flask) -> None:
    app.config["TRUSTED_HOSTS"] = ["good.test"]

    @app.route("/")
    def index() -> str:
        return "ok"

    client = app.test_client()
    assert client.get("/", base_url="http://good.test").status_code == 200
    assert client.get("/", base_url="http://evil.test").status_code == 400
