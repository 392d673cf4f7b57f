"""The extension tests run against demijohn, never against a real Flask."""

from __future__ import annotations

import importlib.metadata
import sys

import pytest

import demijohn


def test_the_real_flask_distribution_is_not_installed() -> None:
    # Listings come from what is on disk; the alias's in-process metadata
    # finder (see tests/test_alias.py) never appears in them.
    names = {(dist.metadata["Name"] or "").lower() for dist in importlib.metadata.distributions()}
    assert "flask" not in names
    assert "demijohn" in names
    # What extensions see when they ask by name: the API level, no files.
    flask_dist = importlib.metadata.distribution("flask")
    assert flask_dist.version == demijohn.FLASK_API_VERSION
    assert flask_dist.files is None


def test_flask_is_demijohn() -> None:
    import flask
    import flask.json.provider
    import flask.sessions

    assert flask.Flask is demijohn.Flask
    assert sys.modules["flask"] is demijohn
    assert flask.sessions.SecureCookieSessionInterface is (
        demijohn.sessions.SecureCookieSessionInterface
    )
    assert flask.__version__ == demijohn.FLASK_API_VERSION


@pytest.mark.parametrize(
    "distribution",
    [
        "Flask-SQLAlchemy",
        "Flask-Migrate",
        "Flask-Login",
        "Flask-WTF",
        "flask-cors",
        "flask-smorest",
        "Flask-RESTful",
        "flask-talisman",
    ],
)
def test_each_extension_is_installed_and_imports(distribution: str) -> None:
    # requirements/extensions.txt is what scripts/_venv.sh installs with --no-deps.
    assert importlib.metadata.version(distribution)
