"""Request hooks, error handlers and the order Flask runs them in."""

from __future__ import annotations

import logging

import pytest
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, InternalServerError

import demijohn
from demijohn import abort, g, request


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
