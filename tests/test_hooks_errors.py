"""Request hooks and error handlers: the order Flask runs them in, and an exception in each.

The second part raises in every kind of hook in turn and checks for a clean
answer, each teardown run once, and a sound next request.
"""

from __future__ import annotations

import asyncio
import io
import logging
import typing as t

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, InternalServerError
from werkzeug.test import encode_multipart

import demijohn
from demijohn import (
    abort,
    g,
    render_template_string,
    request,
    session,
    stream_with_context,
    url_for,
)
from demijohn.globals import _cv_app, _cv_request
from demijohn.json.provider import DefaultJSONProvider
from demijohn.sessions import SecureCookieSessionInterface


def test_hook_order(app: demijohn.Flask) -> None:
    calls: list[str] = []

    @app.url_value_preprocessor
    def pre(endpoint: str | None, values: dict[str, object] | None) -> None:
        calls.append(f"url_value_preprocessor {endpoint}")

    @app.before_request
    def before1() -> None:
        calls.append("before1")

    @app.before_request
    def before2() -> None:
        calls.append("before2")

    @app.after_request
    def after1(response: demijohn.Response) -> demijohn.Response:
        calls.append("after1")
        return response

    @app.after_request
    def after2(response: demijohn.Response) -> demijohn.Response:
        calls.append("after2")
        return response

    @app.teardown_request
    def teardown1(exc: BaseException | None) -> None:
        calls.append(f"teardown1 {exc}")

    @app.teardown_request
    def teardown2(exc: BaseException | None) -> None:
        calls.append(f"teardown2 {exc}")

    @app.teardown_appcontext
    def teardown_app(exc: BaseException | None) -> None:
        calls.append(f"teardown_appcontext {exc}")

    @app.route("/")
    def index() -> str:
        calls.append("view")
        return "ok"

    app.test_client().get("/")
    assert calls == [
        "url_value_preprocessor index",
        "before1",
        "before2",
        "view",
        "after2",
        "after1",
        "teardown2 None",
        "teardown1 None",
        "teardown_appcontext None",
    ]


def test_before_request_short_circuits(app: demijohn.Flask) -> None:
    calls: list[str] = []

    @app.before_request
    def gate() -> str | None:
        if request.args.get("blocked"):
            return "blocked"
        return None

    @app.after_request
    def after(response: demijohn.Response) -> demijohn.Response:
        calls.append("after")
        return response

    @app.route("/")
    def index() -> str:
        calls.append("view")
        return "view"

    client = app.test_client()
    assert client.get("/?blocked=1").text == "blocked"
    assert calls == ["after"]
    assert client.get("/").text == "view"


def test_after_request_can_replace_response(app: demijohn.Flask) -> None:
    @app.after_request
    def replace(response: demijohn.Response) -> demijohn.Response:
        return demijohn.Response("replaced", status=202)

    app.add_url_rule("/", "index", lambda: "original")
    resp = app.test_client().get("/")
    assert (resp.status_code, resp.text) == (202, "replaced")


def test_teardown_receives_exception_and_always_runs(app: demijohn.Flask) -> None:
    app.config["TESTING"] = False
    app.logger.disabled = True
    seen: list[object] = []
    app.teardown_request(seen.append)
    app.teardown_appcontext(seen.append)

    @app.route("/")
    def index() -> str:
        raise ValueError("boom")

    resp = app.test_client().get("/")
    assert resp.status_code == 500
    assert [type(x) for x in seen] == [ValueError, ValueError]


def test_error_handler_by_code(app: demijohn.Flask) -> None:
    @app.errorhandler(404)
    def not_found(e: HTTPException) -> tuple[str, int]:
        return f"custom {e.code}", 404

    resp = app.test_client().get("/missing")
    assert (resp.status_code, resp.text) == (404, "custom 404")


def test_error_handler_by_exception_class_mro(app: demijohn.Flask) -> None:
    class AppError(Exception):
        pass

    class NotAllowed(AppError):
        pass

    @app.errorhandler(AppError)
    def app_error(e: AppError) -> tuple[str, int]:
        return f"app error {type(e).__name__}", 400

    @app.errorhandler(LookupError)
    def lookup(e: LookupError) -> tuple[str, int]:
        return "lookup", 404

    @app.route("/specific")
    def specific() -> str:
        raise NotAllowed()

    @app.route("/key")
    def key() -> str:
        raise KeyError("x")

    client = app.test_client()
    assert client.get("/specific").text == "app error NotAllowed"
    assert client.get("/key").text == "lookup"


def test_most_specific_handler_wins(app: demijohn.Flask) -> None:
    @app.errorhandler(HTTPException)
    def any_http(e: HTTPException) -> tuple[str, int]:
        return "generic", e.code or 500

    @app.errorhandler(Forbidden)
    def forbidden(e: Forbidden) -> tuple[str, int]:
        return "forbidden", 403

    app.add_url_rule("/f", "f", lambda: abort(403))
    app.add_url_rule("/b", "b", lambda: abort(400))
    client = app.test_client()
    assert client.get("/f").text == "forbidden"
    assert client.get("/b").text == "generic"
    assert client.get("/nope").text == "generic"


def test_register_error_handler_errors(app: demijohn.Flask) -> None:
    with pytest.raises(ValueError, match="not a recognized HTTP error code"):
        app.register_error_handler(999, lambda e: "x")
    with pytest.raises(TypeError, match="is an instance, not a class"):
        app.register_error_handler(ValueError(), lambda e: "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not a subclass of Exception"):
        app.register_error_handler(int, lambda e: "x")  # type: ignore[arg-type]


def test_unhandled_exception_is_500_with_original(
    app: demijohn.Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["TESTING"] = False
    captured: list[BaseException | None] = []

    @app.errorhandler(500)
    def server_error(e: InternalServerError) -> tuple[str, int]:
        captured.append(e.original_exception)
        return "sorry", 500

    @app.route("/")
    def index() -> str:
        raise RuntimeError("kaput")

    with caplog.at_level(logging.ERROR, logger=app.name):
        resp = app.test_client().get("/")
    assert (resp.status_code, resp.text) == (500, "sorry")
    assert isinstance(captured[0], RuntimeError)
    assert "Exception on / [GET]" in caplog.text
    assert "kaput" in caplog.text  # the traceback is logged


def test_http_exception_handler_gets_internal_server_error(app: demijohn.Flask) -> None:
    app.config["TESTING"] = False
    app.logger.disabled = True

    @app.errorhandler(HTTPException)
    def handler(e: HTTPException) -> tuple[str, int]:
        return type(e).__name__, e.code or 500

    app.add_url_rule("/", "index", lambda: 1 / 0)
    assert app.test_client().get("/").text == "InternalServerError"


def test_plain_500_without_handler(app: demijohn.Flask) -> None:
    app.config["TESTING"] = False
    app.logger.disabled = True
    app.add_url_rule("/", "index", lambda: 1 / 0)
    resp = app.test_client().get("/")
    assert resp.status_code == 500
    assert b"Internal Server Error" in resp.data


def test_failing_error_handler_still_gives_500(app: demijohn.Flask) -> None:
    app.config["TESTING"] = False
    app.logger.disabled = True

    @app.errorhandler(500)
    def broken(e: Exception) -> str:
        raise RuntimeError("handler broke")

    app.add_url_rule("/", "index", lambda: 1 / 0)
    client = app.test_client()
    resp = client.get("/")
    assert resp.status_code == 500
    # The app keeps serving after the failure.
    assert client.get("/missing").status_code == 404


def test_failing_after_request_in_error_path_is_logged(app: demijohn.Flask) -> None:
    app.config["TESTING"] = False
    app.logger.disabled = True

    @app.after_request
    def broken(response: demijohn.Response) -> demijohn.Response:
        if response.status_code == 500:
            raise RuntimeError("after broke")
        return response

    app.add_url_rule("/", "index", lambda: 1 / 0)
    assert app.test_client().get("/").status_code == 500


def test_propagate_exceptions(app: demijohn.Flask) -> None:
    app.add_url_rule("/", "index", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        app.test_client().get("/")  # TESTING=True propagates
    app.config["TESTING"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(ZeroDivisionError):
        app.test_client().get("/")


def test_got_request_exception_signal(app: demijohn.Flask) -> None:
    app.config["TESTING"] = False
    app.logger.disabled = True
    seen: list[BaseException] = []

    def record(sender: demijohn.Flask, exception: BaseException, **kw: object) -> None:
        seen.append(exception)

    app.add_url_rule("/", "index", lambda: 1 / 0)
    with demijohn.got_request_exception.connected_to(record, app):
        app.test_client().get("/")
    assert isinstance(seen[0], ZeroDivisionError)


def test_trap_http_exceptions(app: demijohn.Flask) -> None:
    app.config["TRAP_HTTP_EXCEPTIONS"] = True
    app.add_url_rule("/", "index", lambda: abort(404))
    with pytest.raises(HTTPException):
        app.test_client().get("/")


def test_trap_bad_request_errors(app: demijohn.Flask) -> None:
    app.add_url_rule("/", "index", lambda: request.form["x"], methods=["POST"])
    app.config["TRAP_BAD_REQUEST_ERRORS"] = True
    with pytest.raises(BadRequest):
        app.test_client().post("/")
    app.config["TRAP_BAD_REQUEST_ERRORS"] = False
    assert app.test_client().post("/").status_code == 400


def test_key_error_detail_in_debug(app: demijohn.Flask) -> None:
    app.config["TESTING"] = False
    app.config["TRAP_BAD_REQUEST_ERRORS"] = False
    app.debug = True
    app.add_url_rule("/", "index", lambda: request.args["needed"])
    resp = app.test_client().get("/")
    assert resp.status_code == 400
    assert b"needed" in resp.data


def test_error_handler_cannot_recover_context(app: demijohn.Flask) -> None:
    app.config["TESTING"] = False

    @app.errorhandler(ValueError)
    def handle(e: ValueError) -> str:
        return f"handled with g={g.get('marker')}"

    @app.route("/")
    def index() -> str:
        g.marker = "set"
        raise ValueError()

    assert app.test_client().get("/").text == "handled with g=set"


# -- an exception in every kind of hook ------------------------------------------------
#
# Each test registers one faulting hook on an app whose other hooks count
# what runs, sends one request that makes the hook raise, then one that does
# not. With ``PROPAGATE_EXCEPTIONS`` off (as in production):
#
# * the faulting request gets a 500 page, or a body cut short where the
#   fault came after the first chunk was sent; an exception in a teardown
#   function escapes to the server, as in Flask, which answers 500 itself
#   (tests/test_disconnects.py checks that through real servers);
# * each ``teardown_request`` and ``teardown_appcontext`` function runs
#   exactly once, even the ones registered next to a failing one;
# * no context is left pushed;
# * the next request on the same app answers correctly, with a fresh ``g``
#   and the session the client was actually given.
#
# Hooks are plain or ``async def`` functions (which both doors run too), and
# the view is either; the kinds Flask calls without ``ensure_sync`` (URL
# value preprocessors, URL defaults, session saving, the JSON provider) are
# tried with plain hooks only.


#: Kinds whose hook may be ``async def``: name -> whether the faulting
#: request still gets a response (``False``: the exception reaches the server).
ASYNC_CAPABLE = [
    "before_request",
    "after_request",
    "teardown_request",
    "teardown_appcontext",
    "context_processor",
    "error_handler",
    "500_handler",
    "stream",
    "stream_with_context",
]
SYNC_ONLY = ["url_value_preprocessor", "url_defaults", "session_save", "json_provider"]

#: (hooks async, view async)
MODES = {
    "sync": (False, False),
    "async-hooks": (True, False),
    "async": (True, True),
    "async-view": (False, True),
}

CASES = [
    *((kind, mode) for kind in ASYNC_CAPABLE for mode in ("sync", "async-hooks", "async")),
    *((kind, mode) for kind in SYNC_ONLY for mode in ("sync", "async-view")),
]

#: The faults raised after the view changed the session and before the
#: response was made: the 500 response still saves it (as Flask does).
#: Not with a faulting JSON provider: the session cookie is serialized with
#: it too (``current_app.json``), as in Flask.
SESSION_SAVED_WITH_500 = {"url_defaults", "context_processor", "error_handler", "500_handler"}

#: Faults that escape the app: the test client raises them (both doors).
ESCAPING = {"teardown_request", "teardown_appcontext"}
#: Faults after the headers went out: the body is cut short.
MID_BODY = {"stream", "stream_with_context"}


class Fault(Exception):
    """What every faulting hook raises."""


def _maybe_async(fn: t.Callable[..., t.Any], make_async: bool) -> t.Callable[..., t.Any]:
    """``fn`` itself, or an ``async def`` doing the same after one turn of the loop."""
    if not make_async:
        return fn

    async def hook(*args: t.Any) -> t.Any:
        await asyncio.sleep(0)
        return fn(*args)

    hook.__name__ = fn.__name__
    return hook


def _fault(kind: str) -> t.NoReturn:
    raise Fault(f"{kind} fault")


def _assert_no_context() -> None:
    assert _cv_request.get(None) is None
    assert _cv_app.get(None) is None


def build(app: demijohn.Flask, kind: str, mode: str) -> list[str]:
    """Set up ``app`` with the counting hooks and the faulting ``kind``; return the call log."""
    async_hooks, async_view = MODES[mode]
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.secret_key = "faults"
    calls: list[str] = []
    hook = _maybe_async

    @app.url_value_preprocessor
    def mark(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
        g.faulting = request.path == "/fault"

    # Registered first, so they run last: a faulting teardown registered
    # below runs before them, and they must run anyway.
    def count_request(exc: BaseException | None) -> None:
        calls.append(f"teardown_request {type(exc).__name__}")

    def count_appcontext(exc: BaseException | None) -> None:
        calls.append(f"teardown_appcontext {type(exc).__name__}")

    app.teardown_request(hook(count_request, async_hooks))
    app.teardown_appcontext(hook(count_appcontext, async_hooks))

    @app.context_processor
    def marker() -> dict[str, str]:
        return {"marker": "rendered"}

    if kind == "before_request":

        def before() -> None:
            if g.faulting:
                _fault(kind)

        app.before_request(hook(before, async_hooks))
    elif kind == "after_request":

        def after(response: demijohn.Response) -> demijohn.Response:
            if g.faulting:
                _fault(kind)
            return response

        app.after_request(hook(after, async_hooks))
    elif kind == "teardown_request":

        def failing_teardown(exc: BaseException | None) -> None:
            calls.append("failing teardown_request")
            if g.faulting:
                _fault(kind)

        app.teardown_request(hook(failing_teardown, async_hooks))
    elif kind == "teardown_appcontext":

        def failing_teardown_app(exc: BaseException | None) -> None:
            calls.append("failing teardown_appcontext")
            if g.faulting:
                _fault(kind)

        app.teardown_appcontext(hook(failing_teardown_app, async_hooks))
    elif kind == "context_processor":

        def processor() -> dict[str, str]:
            if g.faulting:
                _fault(kind)
            return {}

        app.context_processor(hook(processor, async_hooks))
    elif kind == "error_handler":

        def on_lookup_error(e: LookupError) -> str:
            _fault(kind)

        app.register_error_handler(LookupError, hook(on_lookup_error, async_hooks))
    elif kind == "500_handler":

        def on_500(e: Exception) -> str:
            _fault(kind)

        app.register_error_handler(500, hook(on_500, async_hooks))
    elif kind == "url_value_preprocessor":

        @app.url_value_preprocessor
        def preprocess(endpoint: str | None, values: dict[str, t.Any] | None) -> None:
            if g.faulting:
                _fault(kind)
    elif kind == "url_defaults":

        @app.url_defaults
        def defaults(endpoint: str, values: dict[str, t.Any]) -> None:
            if g.faulting:
                _fault(kind)
    elif kind == "session_save":

        class FaultySessions(SecureCookieSessionInterface):
            def save_session(self, app: t.Any, session: t.Any, response: t.Any) -> None:
                if g.faulting:
                    _fault(kind)
                super().save_session(app, session, response)

        app.session_interface = FaultySessions()
    elif kind == "json_provider":

        class FaultyJSON(DefaultJSONProvider):
            def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
                if g.get("faulting"):
                    _fault(kind)
                return super().dumps(obj, **kwargs)

        app.json = FaultyJSON(app)

    def page() -> t.Any:
        if kind in MID_BODY and g.faulting:
            return streamed()
        session["n"] = session.get("n", 0) + 1
        url = url_for("page")
        rendered = render_template_string("{{ marker }}")
        if g.faulting:
            g.leftover = True
            if kind == "error_handler":
                raise LookupError("handled by a faulting handler")
            if kind == "500_handler":
                raise ValueError("unhandled")
        return {"n": session["n"], "g": sorted(vars(g)), "url": url, "rendered": rendered}

    def streamed() -> t.Any:
        if async_hooks:

            async def agen() -> t.AsyncIterator[bytes]:
                yield b"first chunk"
                await asyncio.sleep(0)
                _fault(kind)

            body: t.Any = agen()
        else:

            def gen() -> t.Iterator[bytes]:
                yield b"first chunk"
                _fault(kind)

            body = gen()
        return stream_with_context(body) if kind == "stream_with_context" else body

    if async_view:

        async def async_page() -> t.Any:
            await asyncio.sleep(0)
            return page()

        app.add_url_rule("/ok", "page", async_page)
        app.add_url_rule("/fault", "fault", async_page)
    else:
        app.add_url_rule("/ok", "page", page)
        app.add_url_rule("/fault", "fault", page)
    return calls


@pytest.mark.parametrize(("kind", "mode"), CASES)
def test_fault_in_a_hook(
    app: demijohn.Flask, kind: str, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One request faults in ``kind``; each teardown runs once; the next request is sound."""
    calls = build(app, kind, mode)
    client = app.test_client()

    first = client.get("/ok")
    assert first.status_code == 200
    assert first.json == {"n": 1, "g": ["faulting"], "url": "/ok", "rendered": "rendered"}
    _assert_no_context()
    calls.clear()

    caplog.set_level(logging.CRITICAL + 1, logger=app.logger.name)
    if kind in ESCAPING:
        # As in Flask: a teardown function's exception is not the request's
        # error; it reaches the server (the ASGI door answers 500 first).
        with pytest.raises(Fault, match=kind):
            client.get("/fault")
    elif kind in MID_BODY:
        with pytest.raises(Fault, match=kind):
            faulty = client.get("/fault")
            assert faulty.status_code == 200
            faulty.get_data()
    else:
        faulty = client.get("/fault")
        assert faulty.status_code == 500
        assert b"Internal Server Error" in faulty.data
    _assert_no_context()

    # Each teardown function ran exactly once, the failing one included.
    failing = [c for c in calls if c.startswith("failing")]
    assert len(failing) == (1 if kind in ESCAPING else 0)
    counted = sorted(c.split()[0] for c in calls if not c.startswith("failing"))
    assert counted == ["teardown_appcontext", "teardown_request"], calls

    after = client.get("/ok")
    expected_n = 3 if kind in SESSION_SAVED_WITH_500 else 2
    assert after.status_code == 200, after.data
    assert after.json == {"n": expected_n, "g": ["faulting"], "url": "/ok", "rendered": "rendered"}
    _assert_no_context()


def test_teardown_sees_the_request_error_once(app: demijohn.Flask) -> None:
    """The error a hook raised is what each teardown function receives, once."""
    build(app, "before_request", "sync")
    seen: list[str] = []

    @app.teardown_request
    def record(exc: BaseException | None) -> None:
        seen.append(repr(exc))

    app.test_client().get("/fault")
    assert seen == ["Fault('before_request fault')"]


@pytest.mark.parametrize("kind", ["teardown_request", "teardown_appcontext"])
def test_failing_teardown_still_closes_the_request(app: demijohn.Flask, kind: str) -> None:
    """Uploaded files are closed even when a teardown function raises."""
    build(app, kind, "sync")
    uploads: list[FileStorage] = []

    @app.post("/fault/upload")
    def upload() -> str:
        g.faulting = True
        uploads.append(request.files["file"])
        return "stored"

    # Past 500 kB, Werkzeug spools the uploaded file to a temporary file.
    # The body is given as bytes: the test client does not close an input
    # stream of its own when the app raises.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(b"x" * 1_000_000), "a.bin")})
    with pytest.raises(Fault):
        app.test_client().post(
            "/fault/upload",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
    assert len(uploads) == 1
    assert not isinstance(uploads[0].stream, io.BytesIO)
    assert uploads[0].stream.closed
    _assert_no_context()


def test_all_teardowns_run_when_several_fail(app: demijohn.Flask) -> None:
    """Two failing teardown functions of each kind: all run, then an error escapes."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    calls: list[str] = []

    for name in ("one", "two"):

        def failing_request(exc: BaseException | None, name: str = name) -> None:
            calls.append(f"request {name}")
            raise Fault(f"request {name}")

        def failing_app(exc: BaseException | None, name: str = name) -> None:
            calls.append(f"app {name}")
            raise Fault(f"app {name}")

        app.teardown_request(failing_request)
        app.teardown_appcontext(failing_app)

    @app.route("/")
    def index() -> str:
        return "ok"

    # Teardown functions run in reverse order of registration. The app
    # context is popped after the request's teardown failed, so its error
    # is the one that escapes, with the request's as its context.
    with pytest.raises(Fault, match="app two") as raised:
        app.test_client().get("/")
    assert repr(raised.value.__context__) == "Fault('request two')"
    assert calls == ["request two", "request one", "app two", "app one"]
    _assert_no_context()


def test_fault_in_a_hook_with_propagation_still_pops(app: demijohn.Flask) -> None:
    """With exceptions propagating (testing), a hook's error reaches the test, contexts popped."""
    calls = build(app, "after_request", "sync")
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(Fault):
        app.test_client().get("/fault")
    _assert_no_context()
    assert sorted(calls) == ["teardown_appcontext Fault", "teardown_request Fault"]
    assert app.test_client().get("/ok").json["n"] == 1
