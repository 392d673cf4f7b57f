"""Routing: rules, methods, converters, automatic HEAD/OPTIONS, redirects, hosts, the index.

Bad ``Host`` headers and ``TRUSTED_HOSTS`` are checked on every routing path.
The map's dynamic-rule index (``IndexedMap.match_environ``) answers a request
without Werkzeug's matcher only when its answer is certain; the last part
compares it, path by path and method by method, with what Werkzeug matches on
the same map.
"""

from __future__ import annotations

import asyncio
import itertools
import typing as t
import uuid

import pytest
from asgi_support import call_asgi
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import BaseConverter, Rule
from werkzeug.routing.exceptions import RequestRedirect
from werkzeug.test import EnvironBuilder, run_wsgi_app

import demijohn
from demijohn import request
from demijohn.routing import IndexedMap


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


# -- bad ``Host`` headers and TRUSTED_HOSTS (issue 16) ---------------------------------
#
# A ``Host`` header no host name can hold is answered 400 on every routing path.


def _host_app(app: demijohn.Flask) -> list[str]:
    """Give ``app`` a static, a dynamic and a blueprint route; returns what was served."""
    served: list[str] = []

    @app.get("/")
    def index() -> str:
        served.append("index")
        return f"host={request.host}"

    @app.get("/items/<int:number>")
    def item(number: int) -> str:
        served.append(f"item {number}")
        return str(number)

    return served


def _send(app: demijohn.Flask, door: str, host: bytes, path: str) -> int:
    """Send ``GET path`` with this raw ``Host`` through ``door``; return the status."""
    if door == "wsgi":
        environ = EnvironBuilder(path=path).get_environ()
        # WSGI servers hand header bytes over decoded as latin-1 (PEP 3333).
        environ["HTTP_HOST"] = host.decode("latin-1")
        _, status, _ = run_wsgi_app(app, environ, buffered=True)
        return int(status[:3])
    scope: dict[str, t.Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", host), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    messages = asyncio.run(call_asgi(app, scope, b""))
    assert messages[0]["type"] == "http.response.start"
    return int(messages[0]["status"])


BAD_HOSTS = [
    pytest.param(b"exa\x01mple.com", id="control-char"),
    pytest.param(b"\xff.example", id="undecodable-byte"),
    pytest.param(b"example.com\x7f", id="delete-char"),
    pytest.param(b"exa\tmple.com", id="tab"),
    pytest.param("bücher.example".encode(), id="raw-utf8"),
]


@pytest.mark.parametrize("host", BAD_HOSTS)
def test_malformed_host_is_a_bad_request_on_every_routing_path(
    app: demijohn.Flask, door: str, host: bytes
) -> None:
    served = _host_app(app)
    # The indexed map is what gave a 404 (or a match) before the host was judged.
    assert isinstance(app.url_map, IndexedMap)
    # A static rule, a dynamic one, no rule (the index's certain 404), and a
    # non-ASCII path that only Werkzeug's matcher handles.
    for path in ("/", "/items/3", "/missing", "/caf\u00e9"):
        assert _send(app, door, host, path) == 400, path
    assert served == []
    # The same app serves well-formed hosts as usual afterwards.
    assert _send(app, door, b"example.com", "/") == 200
    assert _send(app, door, b"example.com", "/missing") == 404
    assert served == ["index"]


def test_odd_but_printable_host_is_served_as_werkzeug_does(app: demijohn.Flask, door: str) -> None:
    served = _host_app(app)
    # An underscore (a container's service name) is no valid host name, but
    # Werkzeug serves the request (with an empty ``request.host``): so do we.
    assert _send(app, door, b"my_service:8000", "/") == 200
    assert _send(app, door, b"my_service:8000", "/items/5") == 200
    assert served == ["index", "item 5"]


@pytest.mark.parametrize(
    ("host", "status"),
    [
        (b"example.com", 200),
        (b"example.com:8080", 200),  # the port is not part of the check
        (b"evil.com", 400),
        (b"sub.example.com", 400),
        (b"example.com.evil.com", 400),
        (b"exa\x01mple.com", 400),
    ],
)
def test_trusted_hosts_exact(app: demijohn.Flask, door: str, host: bytes, status: int) -> None:
    app.config["TRUSTED_HOSTS"] = ["example.com"]
    served = _host_app(app)
    assert _send(app, door, host, "/") == status
    assert _send(app, door, host, "/items/1") == status
    # No rule: a trusted host gets the 404, any other the 400 first.
    assert _send(app, door, host, "/missing") == (404 if status == 200 else 400)
    assert served == ([] if status == 400 else ["index", "item 1"])


@pytest.mark.parametrize(
    ("host", "status"),
    [
        (b"example.com", 200),
        (b"a.example.com", 200),
        (b"a.b.example.com:8443", 200),
        (b"badexample.com", 400),
        (b"example.com.evil.com", 400),
        (b"evil.com", 400),
    ],
)
def test_trusted_hosts_subdomains(app: demijohn.Flask, door: str, host: bytes, status: int) -> None:
    # A leading dot trusts the domain and all its subdomains, as in Werkzeug.
    app.config["TRUSTED_HOSTS"] = [".example.com"]
    _host_app(app)
    assert _send(app, door, host, "/") == status
    assert _send(app, door, host, "/items/2") == status


def test_trusted_hosts_through_the_test_client(app: demijohn.Flask) -> None:
    app.config["TRUSTED_HOSTS"] = ["example.com"]
    _host_app(app)
    client = app.test_client()
    assert client.get("/", base_url="http://example.com").text == "host=example.com"
    assert client.get("/", base_url="http://evil.com").status_code == 400
    assert client.get("/", base_url="http://localhost").status_code == 400


# -- the dynamic-rule index gives Werkzeug's own answer, or none at all ----------------


def rules() -> list[Rule]:
    """The map under test, new objects each time (a rule belongs to one map)."""
    return [
        Rule("/user/<int:user_id>/post/<slug>", endpoint="post"),
        Rule("/user/<int:user_id>", endpoint="user_by_id"),
        Rule("/user/me", endpoint="me"),
        Rule("/user/<name>/", endpoint="user_by_name"),
        Rule("/item/<int:item_id>/part<int:n>", endpoint="part"),
        Rule("/page-<int:n>.html", endpoint="page"),
        Rule("/files/<path:p>", endpoint="files"),
        Rule("/<lang>/about", endpoint="about"),
        Rule("/uuid/<uuid:u>", endpoint="uuid"),
        Rule("/f/<float:x>", endpoint="float"),
        Rule("/signed/<int(signed=True):n>", endpoint="signed"),
        Rule("/any/<any(a, b, c):which>", endpoint="any"),
        Rule("/len/<string(length=2):code>", endpoint="len"),
        Rule("/min/<int(min=10):n>", endpoint="min"),
        Rule("/post-only/<int:n>", endpoint="post_only", methods=["POST"]),
        Rule("/dup/<a>", endpoint="dup_a"),
        Rule("/dup/<int:b>", endpoint="dup_b"),
        Rule("/x/<a>/", endpoint="x_slash"),
        Rule("/x/<int:b>", endpoint="x_int"),
        Rule("/", endpoint="index"),
        Rule("/about/", endpoint="about_page"),
    ]


PATHS = [
    "/user/5/post/abc",
    "/user/5",
    "/user/05",
    "/user/me",
    "/user/bob",
    "/user/bob/",
    "/user/5/",
    "/item/3/part7",
    "/item/3/partx",
    "/page-3.html",
    "/page-x.html",
    "/files/a/b/c.txt",
    "/files/a/",
    "/files/",
    "/en/about",
    "/en/about/",
    f"/uuid/{uuid.UUID(int=7)}",
    "/uuid/not-a-uuid",
    "/f/1.5",
    "/f/1",
    "/signed/-3",
    "/signed/3",
    "/any/b",
    "/any/d",
    "/len/ab",
    "/len/abc",
    "/min/5",
    "/min/15",
    "/post-only/1",
    "/dup/1",
    "/dup/x",
    "/x/1",
    "/x/y",
    "/x/y/",
    "/about",
    "/about/",
    "/",
    "",
    "//user/5",
    "/user//5",
    "/nope",
    "/nope/",
]

# Short paths built from pieces that the rules above react to, to reach
# combinations nobody would think of writing down.
PIECES = ["user", "5", "-3", "me", "post", "abc", "1.5", "about", "x", ""]
GENERATED = [
    "/" + "/".join(parts) for n in (1, 2, 3, 4) for parts in itertools.product(PIECES, repeat=n)
]

METHODS = ["GET", "POST", "HEAD", "OPTIONS", "DELETE"]


def werkzeug_answer(url_map: IndexedMap, path: str, method: str) -> t.Any:
    try:
        rule, values = url_map.bind("localhost").match(path, method, return_rule=True)
    except (HTTPException, RequestRedirect) as e:
        return type(e)
    return rule, values


def match(url_map: IndexedMap, path: str, method: str) -> t.Any:
    """The indexes' answer for a request to ``path`` with ``method``."""
    return url_map.match_environ({"PATH_INFO": path, "REQUEST_METHOD": method})


def make_map(extra: t.Sequence[Rule] = (), **options: t.Any) -> IndexedMap:
    url_map = IndexedMap(**options)
    for rule in [*rules(), *extra]:
        url_map.add(rule)
    return url_map


def compare(url_map: IndexedMap, paths: list[str]) -> int:
    """Assert every answer of the index is Werkzeug's; return how many it gave."""
    answered = 0
    for path, method in itertools.product(paths, METHODS):
        try:
            ours = match(url_map, path, method)
        except NotFound:
            ours = NotFound
        if ours is None:
            continue
        answered += 1
        theirs = werkzeug_answer(url_map, path, method)
        if ours is NotFound:
            assert theirs is NotFound, (path, method, theirs)
            continue
        assert isinstance(theirs, tuple), (path, method, ours, theirs)
        assert ours[0] is theirs[0], (path, method)
        assert ours[1] == theirs[1] and [type(v) for v in ours[1].values()] == [
            type(v) for v in theirs[1].values()
        ], (path, method)
    return answered


def test_every_answer_is_werkzeugs() -> None:
    url_map = make_map()
    answered = compare(url_map, PATHS + GENERATED)
    # ...and it does answer the plain cases: not a test that passes by saying nothing.
    assert answered > 100
    for path, endpoint, values in [
        ("/user/5/post/abc", "post", {"user_id": 5, "slug": "abc"}),
        ("/item/3/part7", "part", {"item_id": 3, "n": 7}),
        ("/files/a/b/c.txt", "files", {"p": "a/b/c.txt"}),
        (f"/uuid/{uuid.UUID(int=7)}", "uuid", {"u": uuid.UUID(int=7)}),
        ("/signed/-3", "signed", {"n": -3}),
        ("/any/b", "any", {"which": "b"}),
    ]:
        found = match(url_map, path, "GET")
        assert found is not None, path
        assert (found[0].endpoint, found[1]) == (endpoint, values)


@pytest.mark.parametrize(
    ("path", "method", "why"),
    [
        ("/dup/1", "GET", "two rules match: Werkzeug's order decides"),
        ("/x/1", "GET", "a strict-slash rule matches with a slash added"),
        ("/user/bob", "GET", "Werkzeug redirects to /user/bob/"),
        ("/min/5", "GET", "the converter rejects the value"),
        ("/post-only/1", "GET", "the method is not allowed: 405"),
        ("//user/5", "GET", "merged slashes redirect"),
        ("", "GET", "the empty path"),
    ],
)
def test_leaves_the_uncertain_to_werkzeug(path: str, method: str, why: str) -> None:
    assert match(make_map(), path, method) is None, why


class Custom(BaseConverter):
    regex = "[a-z]+"


@pytest.mark.parametrize(
    "odd_rule",
    [
        Rule("/d/<int:n>", endpoint="d", defaults={"n": 1}),
        Rule("/r/<int:n>", endpoint="r", redirect_to="/elsewhere"),
        Rule("/s/<int:n>", endpoint="s", subdomain="api"),
        Rule("/w/<int:n>", endpoint="w", websocket=True),
        Rule("/loose/<int:n>/", endpoint="loose", strict_slashes=False),
        Rule("/c/<custom:c>", endpoint="c"),
        Rule("/p/<path:p>/tail", endpoint="p"),
        Rule("/e/<string(minlength=0):e>", endpoint="e"),
        Rule("/b/<int:n>", endpoint="b", build_only=True),
    ],
    ids=lambda rule: rule.endpoint,
)
def test_a_map_with_any_unusual_rule_is_left_to_werkzeug(odd_rule: Rule) -> None:
    url_map = make_map([odd_rule], converters={"custom": Custom})
    assert match(url_map, "/user/5/post/abc", "GET") is None


@pytest.mark.parametrize("path", ["/nope", "/nope/deeper", "/user/5/post", "/item/3", "/files"])
def test_a_path_no_rule_can_match_is_a_404(path: str) -> None:
    url_map = make_map()
    with pytest.raises(NotFound):
        match(url_map, path, "GET")
    assert werkzeug_answer(url_map, path, "GET") is NotFound


def test_the_index_follows_new_rules() -> None:
    url_map = make_map()
    with pytest.raises(NotFound):
        match(url_map, "/late/3", "GET")
    url_map.add(Rule("/late/<int:n>", endpoint="late"))
    found = match(url_map, "/late/3", "GET")
    assert found is not None and found[0].endpoint == "late"
    url_map.add(Rule("/late/<name>", endpoint="late_name"))
    assert compare(url_map, ["/late/3", "/late/x"]) >= 1


def test_views_get_their_arguments(app: demijohn.Flask) -> None:
    @app.route("/user/<int:user_id>/post/<slug>")
    def post(user_id: int, slug: str) -> str:
        # url_for still binds the map when the index matched the request.
        return f"{user_id!r} {slug} {demijohn.url_for('post', user_id=user_id, slug='x')}"

    @app.route("/user/<int:user_id>/post/<slug>", methods=["DELETE"], endpoint="delete_post")
    def delete_post(user_id: int, slug: str) -> tuple[str, int]:
        return "", 204

    client = app.test_client()
    assert client.get("/user/7/post/hello").text == "7 hello /user/7/post/x"
    assert client.delete("/user/7/post/hello").status_code == 204
    assert client.put("/user/7/post/hello").status_code == 405
    assert client.get("/user/x/post/hello").status_code == 404
    options = client.options("/user/7/post/hello")
    assert set(options.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "DELETE"}
