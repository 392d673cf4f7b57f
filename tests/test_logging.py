"""``app.logger``."""

from __future__ import annotations

import io
import logging

import demijohn
from demijohn.logging import default_handler, has_level_handler


def test_logger_named_after_app(app: demijohn.Flask) -> None:
    assert app.logger.name == "test_app"


def test_debug_level_in_debug_mode(tmp_path: object) -> None:
    app = demijohn.Flask("debug_logger_app", static_folder=None)
    app.debug = True
    assert app.logger.level == logging.DEBUG
    quiet = demijohn.Flask("quiet_logger_app", static_folder=None)
    assert quiet.logger.level == logging.NOTSET


def test_default_handler_writes_to_wsgi_errors(app: demijohn.Flask) -> None:
    stream = io.StringIO()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "to the server log", None, None)
    with app.test_request_context(errors_stream=stream):
        default_handler.handle(record)
    assert "to the server log" in stream.getvalue()


def test_default_handler_added_only_when_needed() -> None:
    logger = logging.getLogger("lonely_app_logger")
    logger.propagate = False
    try:
        assert not has_level_handler(logger)
        app = demijohn.Flask("lonely_app_logger", static_folder=None)
        assert default_handler in app.logger.handlers
    finally:
        logger.handlers.clear()
        logger.propagate = True


def test_unhandled_exception_logged(app: demijohn.Flask) -> None:
    app.config["TESTING"] = False
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    app.logger.addHandler(handler)
    try:
        app.add_url_rule("/", "index", lambda: 1 / 0)
        app.test_client().get("/")
    finally:
        app.logger.removeHandler(handler)
    assert records[0].getMessage() == "Exception on / [GET]"
    assert records[0].exc_info is not None
    assert records[0].exc_info[0] is ZeroDivisionError
