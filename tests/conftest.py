"""Shared fixtures: a fresh app per test and its test client."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from asgi_support import through

import demijohn

# The guide's examples import ``flask``; every test module sees demijohn there.
demijohn.install_as_flask()


@pytest.fixture(autouse=True)
def _clean_environment() -> Iterator[None]:
    # A developer's FLASK_* variables must not change what tests observe,
    # and those the code under test sets (FLASK_DEBUG, FLASK_RUN_FROM_CLI
    # from the CLI, dotenv files) must not reach the next test. Not built on
    # ``monkeypatch``: this fixture is set up first and so torn down last,
    # after a test's own monkeypatch undo, which would otherwise restore a
    # value the CLI had set before the test patched the same variable.
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("FLASK_")}
    yield
    for key in list(os.environ):
        if key.startswith("FLASK_"):
            del os.environ[key]
    os.environ.update(saved)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test built on the ``app`` fixture runs through both doors: its test
    # client speaks WSGI in one run and ASGI in the other. Tests of what only
    # the WSGI door has (``with client:`` keeping the context, per-thread loops)
    # are marked ``wsgi_only``.
    if "door" in metafunc.fixturenames:
        only_wsgi = metafunc.definition.get_closest_marker("wsgi_only") is not None
        metafunc.parametrize("door", ["wsgi"] if only_wsgi else ["wsgi", "asgi"])


@pytest.fixture
def app(tmp_path: os.PathLike[str], door: str) -> Iterator[demijohn.Flask]:
    """A bare app rooted in a temporary folder, tested through ``door``."""
    app = demijohn.Flask("test_app", root_path=os.fspath(tmp_path))
    app.config["TESTING"] = True
    through(app, door)
    yield app
    # Loggers are process-global by name: undo what a test did to this one.
    logger = logging.getLogger("test_app")
    logger.disabled = False
    logger.setLevel(logging.NOTSET)


@pytest.fixture
def client(app: demijohn.Flask) -> demijohn.testing.FlaskClient:
    return app.test_client()


@pytest.fixture(autouse=True)
def _no_context_leak() -> object:
    # Every test must leave no app or request context behind.
    yield
    from demijohn.globals import _cv_app, _cv_request

    assert _cv_request.get(None) is None, "request context leaked"
    assert _cv_app.get(None) is None, "app context leaked"
