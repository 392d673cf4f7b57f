"""Write tests/fixtures/flask_session_cookies.json: session cookies signed by the real Flask.

Run with a Python that has Flask installed (not the project's virtualenv)::

    python3 tools/make_flask_session_fixtures.py

Each case records the session value (described in plain JSON, see
``describe``), the cookie Flask set for it, and the cookie's payload (the part
before the timestamp and signature). ``tests/test_sessions.py`` checks
that demijohn reads the cookies back to the same values and produces the same
payloads. The cookies carry the time they were made: tests read them with a
long session lifetime.
"""

from __future__ import annotations

import base64
import json
import sys
import typing as t
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from uuid import UUID

import flask
from markupsafe import Markup

if flask.__name__ != "flask" or "demijohn" in (flask.__file__ or ""):
    sys.exit("This script needs the real Flask, not demijohn's alias.")

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "flask_session_cookies.json"

SECRET_KEY = "interop-secret-key"
OLD_SECRET_KEY = "interop-old-secret-key"
SAMPLE_UUID = UUID("12345678-1234-5678-1234-567812345678")

# (name, session contents, signing key)
CASES: list[tuple[str, dict[str, t.Any], str]] = [
    (
        "plain",
        {"user_id": 42, "name": "alice", "admin": False, "score": 1.5, "nothing": None},
        SECRET_KEY,
    ),
    ("key_order_permanent", {"zeta": 1, "alpha": 2, "Mid": 3, "_permanent": True}, SECRET_KEY),
    ("tuple", {"t": (1, "two", (3, 4)), "empty": (), "single": ("x",)}, SECRET_KEY),
    ("bytes", {"b": b"\x00\xffbinary\n", "empty": b"", "text": "plain"}, SECRET_KEY),
    ("datetime", {"when": datetime(2024, 2, 29, 13, 45, 6, tzinfo=UTC)}, SECRET_KEY),
    ("uuid", {"id": SAMPLE_UUID}, SECRET_KEY),
    ("markup", {"html": Markup("<b>bold</b> &amp; co"), "plain": "<i>not markup</i>"}, SECRET_KEY),
    (
        "nested",
        {
            "outer": {
                "inner": {"list": [1, (2, 3), {"b": b"x"}], "uuid": SAMPLE_UUID},
                "z": {"when": datetime(2000, 1, 1, tzinfo=UTC)},
            }
        },
        SECRET_KEY,
    ),
    (
        "tag_like_keys",
        {
            "looks_like_tuple": {" t": [1, 2]},
            "looks_like_di": {" di": "x"},
            "looks_like_bytes": {" b": (b"\x01",)},
            "two_keys": {" t": 1, " b": 2},
            "untagged_space_key": {" x": 1},
        },
        SECRET_KEY,
    ),
    ("session_is_tag_like", {" t": "value"}, SECRET_KEY),
    ("lists", {"items": [[], [1, [2, [3]]], ["a", None, True, -7, 2.25]]}, SECRET_KEY),
    (
        "unicode",
        {
            "msg": "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001f40d",
            "\u043a\u043b\u044e\u0447": "\u0437\u043d\u0430\u0447\u0435\u043d\u0438\u0435",
        },
        SECRET_KEY,
    ),
    ("flashes", {"_flashes": [("message", "Saved!"), ("error", "Oops")]}, SECRET_KEY),
    ("compressed", {"blob": "spam " * 100}, SECRET_KEY),
    ("fallback_key", {"signed_with": "the old key"}, OLD_SECRET_KEY),
]


def describe(value: t.Any) -> dict[str, t.Any]:
    """Describe a session value as JSON, keeping the exact Python type.

    Every node is a one-key object naming the type, so tuples, bytes and
    Markup are told apart from lists and plain strings.
    """
    if isinstance(value, Markup):
        return {"markup": str(value)}
    if isinstance(value, bool | int | float | str) or value is None:
        return {"json": value}
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple):
        return {"tuple": [describe(v) for v in value]}
    if isinstance(value, list):
        return {"list": [describe(v) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[k, describe(v)] for k, v in value.items()]}
    if isinstance(value, UUID):
        return {"uuid": str(value)}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    raise TypeError(f"cannot describe {type(value).__name__}")


def flask_cookie(contents: dict[str, t.Any], key: str) -> str:
    """The session cookie a Flask app sets after a view stores ``contents``."""
    app = flask.Flask(__name__)
    app.secret_key = key

    @app.route("/")
    def store() -> str:
        flask.session.update(contents)
        return ""

    client = app.test_client()
    response = client.get("/")
    assert response.status_code == 200, response.status
    cookie = client.get_cookie("session")
    assert cookie is not None, "Flask did not set a session cookie"
    return cookie.value


def main() -> None:
    cases = []
    for name, contents, key in CASES:
        cookie = flask_cookie(contents, key)
        cases.append(
            {
                "name": name,
                "session": describe(contents),
                "signed_with": "old" if key == OLD_SECRET_KEY else "current",
                "cookie": cookie,
                "payload": cookie.rsplit(".", 2)[0],
            }
        )
    document = {
        "generator": (
            f"tools/make_flask_session_fixtures.py with Flask {version('flask')},"
            f" itsdangerous {version('itsdangerous')}"
        ),
        "secret_key": SECRET_KEY,
        "old_secret_key": OLD_SECRET_KEY,
        "cases": cases,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {OUTPUT}")


if __name__ == "__main__":
    main()
