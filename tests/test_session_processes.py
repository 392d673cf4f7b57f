"""Sessions need no in-process state: a cookie from one process works in another."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from demijohn import Flask, session

WRITER = textwrap.dedent(
    """
    from demijohn import Flask, session

    app = Flask("writer")
    app.secret_key = "shared-secret"

    @app.route("/login")
    def login():
        session["user"] = "ada"
        session.permanent = True
        return "ok"

    client = app.test_client()
    client.get("/login")
    print(client.get_cookie("session").value)
    """
)


def test_cookie_written_by_another_process_is_read_here() -> None:
    cookie = subprocess.run(
        [sys.executable, "-c", WRITER], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    reader = Flask("reader")
    reader.secret_key = "shared-secret"
    reader.add_url_rule("/", "index", lambda: str(session.get("user")))
    client = reader.test_client()
    client.set_cookie("session", cookie)
    assert client.get("/").text == "ada"

    other_key = Flask("other")
    other_key.secret_key = "a-different-secret"
    other_key.add_url_rule("/", "index", lambda: str(session.get("user")))
    stranger = other_key.test_client()
    stranger.set_cookie("session", cookie)
    assert stranger.get("/").text == "None"  # not signed with this key: empty session
