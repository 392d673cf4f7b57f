"""The map's dynamic-rule index gives Werkzeug's own answer, or none at all.

``IndexedMap.match_environ`` answers a request without Werkzeug's matcher only
when its answer is certain; these tests compare it, path by path and method by
method, with what Werkzeug matches on the same map.
"""

from __future__ import annotations

import itertools
import typing as t
import uuid

import pytest
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import BaseConverter, Rule
from werkzeug.routing.exceptions import RequestRedirect

import demijohn
from demijohn.routing import IndexedMap


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
