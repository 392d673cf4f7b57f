"""Sessions need no in-process state: a cookie from one process works in another."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
from servers import free_port, running_server

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


WORKER = textwrap.dedent(
    """
    import os, sys
    from werkzeug.serving import run_simple
    from demijohn import Flask, session

    app = Flask("worker")
    app.secret_key = os.environ["SHARED_SECRET"]

    @app.route("/count")
    def count():
        session["n"] = session.get("n", 0) + 1
        return f"{os.getpid()}:{session['n']}"

    @app.route("/ping")
    def ping():
        return "pong"

    run_simple("127.0.0.1", int(sys.argv[1]), app)
    """
)


def test_requests_alternating_between_two_server_processes(tmp_path: Path) -> None:
    # Two independent servers behind an imaginary round-robin balancer: the
    # session follows the client because it lives in the cookie alone.
    ports = [free_port(), free_port()]
    env = {"SHARED_SECRET": "shared-secret"}
    with contextlib.ExitStack() as stack:
        for port in ports:
            stack.enter_context(
                running_server(
                    [sys.executable, "-c", WORKER, str(port)],
                    probe_url=f"http://127.0.0.1:{port}/ping",
                    cwd=tmp_path,
                    env=env,
                )
            )
        cookie: str | None = None
        answers = []
        for i in range(4):
            headers = {"Cookie": f"session={cookie}"} if cookie else {}
            response = httpx.get(f"http://127.0.0.1:{ports[i % 2]}/count", headers=headers)
            assert response.status_code == 200
            cookie = response.cookies["session"]
            answers.append(response.text.split(":"))
    pids = [pid for pid, _ in answers]
    assert [n for _, n in answers] == ["1", "2", "3", "4"]
    assert pids[0] == pids[2] != pids[1] == pids[3]
