"""Session cookies move between Flask and demijohn in both directions.

``tests/fixtures/flask_session_cookies.json`` holds cookies signed by the real
Flask (made by ``tools/make_flask_session_fixtures.py``). demijohn must read
each one back to the same Python value (Flask -> demijohn), and must write the
very same cookie for that value, byte for byte, when signing at the same second
(demijohn -> Flask: Flask necessarily reads a cookie identical to its own).
"""

from __future__ import annotations

import base64
import json
import typing as t
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from itsdangerous import TimestampSigner
from itsdangerous.encoding import base64_decode, bytes_to_int
from markupsafe import Markup

import demijohn
from demijohn.sessions import SecureCookieSession, SecureCookieSessionInterface

FIXTURE = Path(__file__).parent / "fixtures" / "flask_session_cookies.json"
DATA = json.loads(FIXTURE.read_text(encoding="utf-8"))
CASES = DATA["cases"]
# The cookies carry the time they were made; they must never expire here.
LONG_LIFETIME = timedelta(days=365 * 100)


def build(node: dict[str, t.Any]) -> t.Any:
    """Rebuild a value from the fixture's typed description."""
    ((kind, data),) = node.items()
    if kind == "json":
        return data
    if kind == "markup":
        return Markup(data)
    if kind == "bytes":
        return base64.b64decode(data)
    if kind == "tuple":
        return tuple(build(item) for item in data)
    if kind == "list":
        return [build(item) for item in data]
    if kind == "dict":
        return {key: build(item) for key, item in data}
    if kind == "uuid":
        return UUID(data)
    if kind == "datetime":
        return datetime.fromisoformat(data)
    raise AssertionError(f"unknown fixture node {kind!r}")


def assert_same(actual: t.Any, expected: t.Any, path: str = "session") -> None:
    """Equal values of exactly the same types, all the way down."""
    assert type(actual) is type(expected), f"{path}: {type(actual)} != {type(expected)}"
    if isinstance(expected, dict):
        assert set(actual) == set(expected), path
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, path
        if isinstance(expected, datetime):
            assert actual.utcoffset() == expected.utcoffset(), path


@pytest.fixture
def interop_app(app: demijohn.Flask) -> demijohn.Flask:
    app.secret_key = DATA["secret_key"]
    app.config["SECRET_KEY_FALLBACKS"] = [DATA["old_secret_key"]]
    app.permanent_session_lifetime = LONG_LIFETIME
    app.session_interface = SecureCookieSessionInterface()
    return app


def test_fixture_covers_every_tag() -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    for kind in ("tuple", "bytes", "markup", "uuid", "datetime", "dict", "list"):
        assert f'"{kind}"' in text
    payloads = [case["payload"] for case in CASES]
    assert any(p.startswith(".") for p in payloads), "no compressed payload"
    assert any(case["signed_with"] == "old" for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_demijohn_reads_flask_cookies(interop_app: demijohn.Flask, case: dict[str, t.Any]) -> None:
    request = interop_app.test_request_context(
        "/", headers={"Cookie": f"session={case['cookie']}"}
    ).request
    sess = interop_app.session_interface.open_session(interop_app, request)
    assert type(sess) is SecureCookieSession
    assert sess
    assert_same(dict(sess), build(case["session"]))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_demijohn_writes_flask_payloads(
    interop_app: demijohn.Flask, case: dict[str, t.Any]
) -> None:
    expected = build(case["session"])

    @interop_app.route("/")
    def store() -> str:
        demijohn.session.update(expected)
        return ""

    client = interop_app.test_client()
    assert client.get("/").status_code == 200
    cookie = client.get_cookie("session")
    assert cookie is not None
    # Everything before the timestamp and signature is the (maybe compressed) data.
    assert cookie.value.rsplit(".", 2)[0] == case["payload"]
    # And the cookie demijohn signed verifies with the current key alone.
    interop_app.config["SECRET_KEY_FALLBACKS"] = None
    request = interop_app.test_request_context(
        "/", headers={"Cookie": f"session={cookie.value}"}
    ).request
    assert_same(dict(interop_app.session_interface.open_session(interop_app, request)), expected)  # type: ignore[arg-type]


def test_old_key_cookie_needs_the_fallback(interop_app: demijohn.Flask) -> None:
    (case,) = [c for c in CASES if c["signed_with"] == "old"]
    interop_app.config["SECRET_KEY_FALLBACKS"] = None
    request = interop_app.test_request_context(
        "/", headers={"Cookie": f"session={case['cookie']}"}
    ).request
    assert dict(interop_app.session_interface.open_session(interop_app, request)) == {}  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_demijohn_cookie_is_byte_identical_to_flasks(
    interop_app: demijohn.Flask, case: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Signed at the same second with the same key, demijohn's cookie must be
    # exactly the one Flask set: Flask then necessarily accepts it.
    timestamp = bytes_to_int(base64_decode(case["cookie"].rsplit(".", 2)[1]))
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: timestamp)
    if case["signed_with"] == "old":
        interop_app.secret_key = DATA["old_secret_key"]
    expected = build(case["session"])

    @interop_app.route("/")
    def store() -> str:
        demijohn.session.update(expected)
        return ""

    client = interop_app.test_client()
    response = client.get("/")
    assert response.headers["Set-Cookie"].startswith(f"session={case['cookie']}; ")
