"""Many threads through one app: each request sees only its own request, ``g`` and session.

Sixteen client threads, each with its own token and its own cookie jar,
send requests that put the token in ``g`` (from a ``before_request`` hook
and from the view), in the session (with a per-client counter) and in the
query string and form; the view sleeps a little so requests interleave,
then echoes what it sees, and an ``after_request`` hook echoes ``g`` in a
header. Any crosstalk between concurrent requests shows as another
client's token, or a counter out of step.

Driven (a) through the test client (one client per thread, one shared
app, both doors), (b) through the threaded development server
(``werkzeug.serving.make_server(threaded=True)`` in a thread), gunicorn's
``gthread`` worker and uvicorn (the ASGI door's worker threads).
"""

from __future__ import annotations

import sys
import textwrap
import threading
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from servers import free_port, running_server
from werkzeug.serving import make_server

import demijohn

THREADS = 16
#: Requests per thread: 16 x 13 = 208 per run.
REQUESTS = 13
#: The bound of the whole run, in seconds.
WAIT = 60.0

APP = textwrap.dedent(
    """
    import asyncio
    import time

    from demijohn import Flask, g, request, session

    def register(app):
        app.secret_key = "thread-safety"

        @app.before_request
        def before():
            g.before = request.headers["X-Token"]

        @app.after_request
        def after(response):
            response.headers["X-Echo"] = f"{g.before}/{g.token}"
            return response

        def seen(token):
            return {
                "token": token,
                "g": g.token,
                "before": g.before,
                "session": session["token"],
                "count": session["count"],
                "query": request.args["q"],
                "form": request.form["f"],
            }

        def start(token):
            g.token = token
            session["token"] = token
            session["count"] = session.get("count", 0) + 1

        @app.post("/sync/<token>")
        def sync_echo(token):
            start(token)
            time.sleep(0.002)
            return seen(token)

        @app.post("/async/<token>")
        async def async_echo(token):
            start(token)
            await asyncio.sleep(0.002)
            return seen(token)

    app = Flask(__name__)
    register(app)
    """
)


def _register(app: demijohn.Flask) -> None:
    namespace: dict[str, t.Any] = {"__name__": "thread_safety_app"}
    exec(APP, namespace)
    namespace["register"](app)


Post = t.Callable[[str, dict[str, str], dict[str, str], dict[str, str]], tuple[int, t.Any, str]]


def hammer(new_client: t.Callable[[], t.ContextManager[Post]]) -> None:
    """Run THREADS clients of REQUESTS requests each; check every answer is the client's own."""
    problems: list[str] = []
    start = threading.Barrier(THREADS, timeout=WAIT)

    def client_thread(number: int) -> int:
        with new_client() as post:
            start.wait()
            for i in range(REQUESTS):
                token = f"c{number}-r{i}"
                kind = "async" if (number + i) % 2 else "sync"
                status, body, echo = post(
                    f"/{kind}/{token}", {"q": token}, {"f": token}, {"X-Token": token}
                )
                expected = {
                    "token": token,
                    "g": token,
                    "before": token,
                    "session": token,
                    "count": i + 1,
                    "query": token,
                    "form": token,
                }
                if status != 200 or body != expected or echo != f"{token}/{token}":
                    problems.append(f"{token}: {status} {body} {echo}")
        return REQUESTS

    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(client_thread, n) for n in range(THREADS)]
        done = sum(f.result(timeout=WAIT) for f in futures)
    assert problems == []
    assert done == THREADS * REQUESTS >= 200
    assert time.monotonic() - started < WAIT


def test_test_clients_in_threads(app: demijohn.Flask) -> None:
    _register(app)

    class Client:
        def __enter__(self) -> Post:
            client = app.test_client()

            def post(
                path: str, query: dict[str, str], form: dict[str, str], headers: dict[str, str]
            ) -> tuple[int, t.Any, str]:
                response = client.post(path, query_string=query, data=form, headers=headers)
                return response.status_code, response.json, response.headers["X-Echo"]

            return post

        def __exit__(self, *exc: object) -> None:
            pass

    hammer(Client)


def _http_clients(base: str) -> t.Callable[[], t.ContextManager[Post]]:
    class Client:
        def __enter__(self) -> Post:
            self.client = httpx.Client(base_url=base, timeout=WAIT)

            def post(
                path: str, query: dict[str, str], form: dict[str, str], headers: dict[str, str]
            ) -> tuple[int, t.Any, str]:
                response = self.client.post(path, params=query, data=form, headers=headers)
                return response.status_code, response.json(), response.headers["X-Echo"]

            return post

        def __exit__(self, *exc: object) -> None:
            self.client.close()

    return Client


def test_threaded_dev_server() -> None:
    app = demijohn.Flask("thread_safety")
    _register(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        hammer(_http_clients(f"http://127.0.0.1:{server.server_port}"))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert not thread.is_alive()


BIN = Path(sys.executable).parent
SERVERS = {
    "gunicorn-gthread": [
        str(BIN / "gunicorn"),
        "--no-control-socket",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        "8",
    ],
    "uvicorn": [sys.executable, "-m", "uvicorn", "--no-access-log"],
}


@pytest.mark.parametrize("name", list(SERVERS))
def test_threaded_servers(name: str, tmp_path: Path) -> None:
    (tmp_path / "thread_safety_app.py").write_text(APP)
    port = free_port()
    if name == "uvicorn":
        bind = ["--host", "127.0.0.1", "--port", str(port)]
    else:
        bind = ["--bind", f"127.0.0.1:{port}", f"--worker-tmp-dir={tmp_path}"]
    base = f"http://127.0.0.1:{port}"
    with running_server(
        [*SERVERS[name], *bind, "thread_safety_app:app"],
        # Any answer means it is up (a GET on a POST route: 405).
        probe_url=f"{base}/sync/probe",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
    ):
        hammer(_http_clients(base))
