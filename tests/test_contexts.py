"""Application and request contexts, ``g``, the context helpers, and the proxies' ``repr``."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from asgi_support import served_both_kinds, through

import demijohn
from demijohn import (
    after_this_request,
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
)
from demijohn.testing import FlaskClient


def test_outside_app_context_errors() -> None:
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        current_app.name  # noqa: B018
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        g.x  # noqa: B018
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        request.path  # noqa: B018
    with pytest.raises(RuntimeError, match="Working outside of request context"):
        session.get("x")
    assert not current_app
    assert not request


def test_app_context_binds_current_app_and_g(app: demijohn.Flask) -> None:
    assert not has_app_context()
    with app.app_context() as ctx:
        assert has_app_context()
        assert not has_request_context()
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
        assert ctx.app is app
        g.user = "ada"
        assert g.user == "ada"
        assert g.get("user") == "ada"
        assert g.get("missing", 1) == 1
        assert "user" in g
        assert list(g) == ["user"]
        assert g.setdefault("n", 5) == 5
        assert g.setdefault("n", 6) == 5
        assert g.pop("n") == 5
        assert g.pop("n", None) is None
        with pytest.raises(KeyError):
            g.pop("n")
        with pytest.raises(AttributeError):
            g.missing  # noqa: B018
        assert bool(g)  # truthy even with data removed
    assert not has_app_context()


def test_g_is_fresh_per_context(app: demijohn.Flask) -> None:
    with app.app_context():
        g.value = 1
    with app.app_context():
        assert "value" not in g


def test_nested_app_contexts_and_teardown_once(app: demijohn.Flask) -> None:
    calls: list[object] = []
    app.teardown_appcontext(calls.append)
    ctx = app.app_context()
    with ctx:
        with ctx:
            pass
        assert calls == []
    assert calls == [None]


def test_app_context_url_adapter_follows_server_name(app: demijohn.Flask) -> None:
    # Bound on first read: None without SERVER_NAME, a map bound to it with one.
    with app.app_context() as ctx:
        assert ctx.url_adapter is None
    app.config["SERVER_NAME"] = "example.test"
    with app.app_context() as ctx:
        adapter = ctx.url_adapter
        assert adapter is not None and adapter.server_name == "example.test"
        assert ctx.url_adapter is adapter  # bound once
        ctx.url_adapter = None  # still assignable, as in Flask
        assert ctx.url_adapter is None


def test_request_context_pushes_app_context(app: demijohn.Flask) -> None:
    with app.test_request_context("/path?x=1", method="POST"):
        assert has_request_context()
        assert has_app_context()
        assert request.path == "/path"
        assert request.args["x"] == "1"
        assert request.method == "POST"
        assert current_app._get_current_object() is app  # type: ignore[attr-defined]
    assert not has_app_context()


def test_request_context_reuses_active_app_context(app: demijohn.Flask) -> None:
    with app.app_context():
        g.shared = True
        with app.test_request_context():
            assert g.shared is True


def test_popping_wrong_context_is_an_error(app: demijohn.Flask) -> None:
    first = app.app_context()
    second = app.app_context()
    first.push()
    second.push()
    with pytest.raises(AssertionError, match="Popped wrong app context"):
        first.pop()
    # Clean up what the failed pop left behind.
    from demijohn.globals import _cv_app

    while _cv_app.get(None) is not None:
        _cv_app.get().pop()


def test_after_this_request(app: demijohn.Flask) -> None:
    @app.route("/")
    def index() -> str:
        @after_this_request
        def add_header(response: demijohn.Response) -> demijohn.Response:
            response.headers["X-Foo"] = "Parachute"
            return response

        return "ok"

    assert app.test_client().get("/").headers["X-Foo"] == "Parachute"
    with pytest.raises(RuntimeError, match="'after_this_request' can only be used"):
        after_this_request(lambda r: r)


def test_copy_current_request_context_in_thread(app: demijohn.Flask) -> None:
    seen: list[str] = []

    @app.route("/")
    def index() -> str:
        @copy_current_request_context
        def work() -> None:
            seen.append(request.args["who"])

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(timeout=5)
        return "ok"

    app.test_client().get("/?who=ada")
    assert seen == ["ada"]
    with pytest.raises(RuntimeError, match="can only be used when a request context is active"):
        copy_current_request_context(lambda: None)


def test_contexts_are_isolated_between_threads(app: demijohn.Flask) -> None:
    results: dict[str, bool] = {}

    def other_thread() -> None:
        results["app"] = has_app_context()
        results["request"] = has_request_context()

    with app.test_request_context():
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(timeout=5)
    assert results == {"app": False, "request": False}


def test_signals_for_app_context(app: demijohn.Flask) -> None:
    events: list[tuple[str, object]] = []

    def pushed(sender: object, **kw: object) -> None:
        events.append(("pushed", sender))

    def popped(sender: object, **kw: object) -> None:
        events.append(("popped", sender))

    def tearing(sender: object, **kw: object) -> None:
        events.append(("tearing", kw["exc"]))

    with (
        demijohn.appcontext_pushed.connected_to(pushed, app),
        demijohn.appcontext_popped.connected_to(popped, app),
        demijohn.appcontext_tearing_down.connected_to(tearing, app),
        app.app_context(),
    ):
        pass
    assert events == [("pushed", app), ("tearing", None), ("popped", app)]


def test_no_state_leaks_between_requests(app: demijohn.Flask) -> None:
    @app.route("/set")
    def set_value() -> str:
        g.value = "secret"
        return "set"

    @app.route("/get")
    def get_value() -> str:
        return g.get("value", "empty")

    client = app.test_client()
    assert client.get("/set").text == "set"
    assert client.get("/get").text == "empty"


def test_teardown_methods_replaced_after_requests_run(app: demijohn.Flask) -> None:
    # A context skips the teardown methods while they would do nothing; one
    # set on the app (or a function appended by hand) later must still run.
    client = served_both_kinds(app)
    paths = ("/async", "/sync")

    calls: list[str] = []
    request_teardown, app_teardown = app.do_teardown_request, app.do_teardown_appcontext

    def tear_down_request(exc: BaseException | None = None) -> None:
        calls.append(f"request {demijohn.request.path}")
        request_teardown(exc)

    def tear_down_app(exc: BaseException | None = None) -> None:
        calls.append(f"app {demijohn.current_app.name}")
        app_teardown(exc)

    app.do_teardown_request = tear_down_request  # type: ignore[method-assign]
    app.do_teardown_appcontext = tear_down_app  # type: ignore[method-assign]
    for path in paths:
        calls.clear()
        assert client.get(path).status_code == 200
        assert calls == [f"request {path}", f"app {app.name}"]
    del app.do_teardown_request, app.do_teardown_appcontext
    calls.clear()
    for path in paths:
        assert client.get(path).status_code == 200
    assert calls == []

    # Appended to the registries directly, as an extension might.
    app.teardown_request_funcs.setdefault(None, []).append(lambda exc: calls.append("request"))
    app.teardown_appcontext_funcs.append(lambda exc: calls.append("app"))
    for path in paths:
        calls.clear()
        assert client.get(path).status_code == 200
        assert calls == ["request", "app"]


def test_a_pop_in_an_except_block_tears_down_with_that_error(app: demijohn.Flask) -> None:
    # Only the app context has teardown functions: the request context skips
    # its own teardown, and still hands the error being handled on.
    seen: list[BaseException | None] = []
    app.teardown_appcontext(seen.append)
    ctx = app.test_request_context()
    ctx.push()
    error = ValueError("handled")
    try:
        raise error
    except ValueError:
        ctx.pop()
    assert seen == [error]
    assert not has_request_context() and not has_app_context()


def test_a_subclass_teardown_method_runs(tmp_path: Path, door: str) -> None:
    calls: list[object] = []

    class App(demijohn.Flask):
        def do_teardown_request(self, exc: BaseException | None = None) -> None:
            calls.append(("request", exc))
            super().do_teardown_request(exc)

        def do_teardown_appcontext(self, exc: BaseException | None = None) -> None:
            calls.append(("app", exc))
            super().do_teardown_appcontext(exc)

    app = through(App(__name__, root_path=str(tmp_path)), door)

    @app.route("/")
    async def index() -> str:
        return "ok"

    assert app.test_client().get("/").text == "ok"
    assert calls == [("request", None), ("app", None)]


# -- names: ``repr(g)`` under the ``flask`` alias, ``repr`` of the proxies (issue 16) ----


def test_g_repr_names_flask_under_the_alias(app: demijohn.Flask, client: FlaskClient) -> None:
    assert sys.modules["flask"] is demijohn  # conftest installed the alias

    @app.get("/")
    def index() -> str:
        return repr(g)

    assert client.get("/").text == "<flask.g of 'test_app'>"
    with app.app_context():
        assert repr(g) == "<flask.g of 'test_app'>"


def test_g_repr_names_demijohn_without_the_alias(
    app: demijohn.Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "flask")
    with app.app_context():
        assert repr(g) == "<demijohn.g of 'test_app'>"


def test_g_repr_quotes_the_name_as_flask_does(tmp_path: Path) -> None:
    # Flask puts the name between quotes as is (no ``repr`` escaping).
    app = demijohn.Flask("it's", root_path=str(tmp_path))
    with app.app_context():
        assert repr(g) == "<flask.g of 'it's'>"
    outside = demijohn.ctx._AppCtxGlobals()
    assert repr(outside).startswith("<demijohn.ctx._AppCtxGlobals object at 0x")


@pytest.mark.parametrize(
    "name", ["request", "session", "g", "current_app", "request_ctx", "app_ctx", "websocket"]
)
def test_unbound_proxies_read_as_werkzeugs(name: str) -> None:
    from demijohn import globals as proxies

    assert repr(getattr(proxies, name)) == "<LocalProxy unbound>"


def test_bound_proxies_read_as_their_object(app: demijohn.Flask, client: FlaskClient) -> None:
    app.secret_key = "regression-secret"

    @app.get("/here")
    def here() -> str:
        return "\n".join(
            [repr(request), repr(demijohn.current_app), repr(session), str(session.accessed)]
        )

    lines = client.get("/here?x=1").text.splitlines()
    assert lines == [
        "<Request 'http://localhost/here?x=1' [GET]>",
        "<Flask 'test_app'>",
        "<SecureCookieSession {}>",
        "False",
    ]


def test_hosts_are_judged_each_time_past_the_cache_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Host checks are remembered for a bounded number of hosts; later ones still count."""
    from demijohn import ctx as ctx_module

    monkeypatch.setattr(ctx_module, "_host_checks", {})
    app = demijohn.Flask(__name__)
    app.add_url_rule("/", "index", lambda: "ok")
    client = app.test_client()
    for number in range(ctx_module._MAX_CACHED_HOSTS + 20):
        assert client.get("/", headers={"Host": f"h{number}.test"}).status_code == 200
    assert len(ctx_module._host_checks) == ctx_module._MAX_CACHED_HOSTS
    # Past the bound, a malformed host is still refused and a good one served.
    assert client.get("/", headers={"Host": "bad\x01host"}).status_code == 400
    assert client.get("/", headers={"Host": "late.test"}).status_code == 200
    assert "late.test" not in ctx_module._host_checks
