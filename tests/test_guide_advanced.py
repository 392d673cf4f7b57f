"""Guide, "Advanced Features": what the other tests/test_guide_*.py files do not run.

Run elsewhere: the error pages, custom exceptions and abort()
(test_guide_error_pages), the custom CLI commands (test_guide_cli), the signal
examples and asyncio.gather (test_guide_signals_async), the Celery example with
eager tasks (test_background). Here: "Running Async Flask" under uvicorn and the
"Blocking the Event Loop" warning, the built-in signals table and "signals can
only observe", and the Celery example with a real worker beside the app.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import textwrap
import time
import typing as t
from pathlib import Path

import httpx
import pytest
from asgi_support import through
from flask import (
    Flask,
    appcontext_tearing_down,
    got_request_exception,
    render_template_string,
    request,
    request_finished,
    request_started,
    template_rendered,
)
from servers import free_port, running_server

MYAPP = textwrap.dedent(
    """
    import demijohn; demijohn.install_as_flask()  # the one line a Flask app adds

    import asyncio
    import os
    import pathlib
    import sys
    import time

    from flask import Flask

    app = Flask(__name__)
    # Test device, not the guide's: the views log what they do, in the order
    # the server does it, so the test reads the order off the server.
    EVENTS = pathlib.Path(os.environ["EVENTS_FILE"])

    def log(event):
        with EVENTS.open("a") as events:
            events.write(event + "\\n")

    async def call_api(name):
        await asyncio.sleep(0.5)
        return name

    @app.route("/aggregate")
    async def aggregate():
        return {"results": await asyncio.gather(call_api("weather"), call_api("news"))}

    @app.route("/nap/<float:seconds>")
    async def nap(seconds):
        log("nap started")
        await asyncio.sleep(seconds)
        log("nap ended")
        return "napped"

    @app.route("/block/<float:seconds>")
    async def block(seconds):
        log("block started")
        time.sleep(seconds)  # the warning's mistake
        log("block ended")
        return "blocked"

    @app.route("/ping")
    async def ping():
        log("ping")
        return "pong"

    @app.route("/modules")
    def modules():
        return {"asgiref": "asgiref" in sys.modules}
    """
)


async def server_order(base: str, slow: str, events: Path) -> list[str]:
    """Start ``slow``, send ``/ping`` once it runs; return what the server did since.

    The order is read from the server's log, not from which response the client
    saw first: two responses written a microsecond apart reach the client in
    either order. ``/ping`` is sent only once ``slow`` has logged its start, so
    it is certainly running, however loaded the machine.
    """
    name = slow.split("/")[1]
    events.write_text("")  # forget the readiness probes
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        first = asyncio.create_task(client.get(slow))
        deadline = time.monotonic() + 5
        while f"{name} started" not in events.read_text() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert f"{name} started" in events.read_text(), f"{slow} never started"
        responses = await asyncio.gather(client.get("/ping"), first)
    assert [response.status_code for response in responses] == [200, 200]
    return events.read_text().split("\n")[:-1]


def test_running_async_flask_with_uvicorn(tmp_path: Path) -> None:
    (tmp_path / "myapp.py").write_text(MYAPP)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # uvicorn myapp:app (bound to 127.0.0.1 for the test)
    command = [sys.executable, "-m", "uvicorn", "myapp:app", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    events = tmp_path / "events"
    env = {"PYTHONPATH": str(tmp_path), "EVENTS_FILE": str(events)}
    with running_server(command, probe_url=f"{base}/ping", cwd=tmp_path, env=env):
        started = time.monotonic()
        aggregate = httpx.get(f"{base}/aggregate", timeout=10)
        assert aggregate.json() == {"results": ["weather", "news"]}
        # Both calls were in flight together (one after the other would take 1 s).
        assert time.monotonic() - started < 0.9
        # No adapter: demijohn serves async views without asgiref.
        assert httpx.get(f"{base}/modules", timeout=10).json() == {"asgiref": False}

        # Awaiting lets other requests through...
        assert asyncio.run(server_order(base, "/nap/1.5", events)) == [
            "nap started",
            "ping",
            "nap ended",
        ]
        # ...a blocking call in an async view holds them all up.
        assert asyncio.run(server_order(base, "/block/1.0", events)) == [
            "block started",
            "block ended",
            "ping",
        ]


@pytest.fixture(autouse=True)
def _restore_logger() -> t.Iterator[None]:
    # Tests of 500s silence the app's logger, which is global by name.
    yield
    logging.getLogger(__name__).disabled = False


def door_app(door: str) -> Flask:
    app = Flask(__name__)
    through(app, door)
    return app


def test_the_core_built_in_signals(door: str) -> None:
    app = door_app(door)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.logger.disabled = True
    events: list[str] = []

    def on_template(sender: Flask, template: t.Any, context: dict[str, t.Any], **extra: t.Any):  # type: ignore[no-untyped-def]
        events.append(f"template_rendered {context['name']}")

    def on_started(sender: Flask, **extra: t.Any) -> None:
        events.append(f"request_started {request.path}")

    def on_finished(sender: Flask, response: t.Any, **extra: t.Any) -> None:
        events.append(f"request_finished {response.status_code}")

    def on_exception(sender: Flask, exception: BaseException, **extra: t.Any) -> None:
        events.append(f"got_request_exception {exception!r}")

    def on_teardown(sender: Flask, exc: BaseException | None = None, **extra: t.Any) -> None:
        events.append(f"appcontext_tearing_down {exc!r}")

    @app.route("/")
    def index() -> str:
        events.append("view")
        return render_template_string("Hi {{ name }}", name="ada")

    @app.route("/crash")
    def crash() -> str:
        raise ValueError("boom")

    receivers = [
        (template_rendered, on_template),
        (request_started, on_started),
        (request_finished, on_finished),
        (got_request_exception, on_exception),
        (appcontext_tearing_down, on_teardown),
    ]
    for signal, receiver in receivers:
        signal.connect(receiver, app)
    try:
        client = app.test_client()
        assert client.get("/").text == "Hi ada"
        assert events == [
            "request_started /",
            "view",
            "template_rendered ada",
            "request_finished 200",
            "appcontext_tearing_down None",
        ]
        events.clear()
        assert client.get("/crash").status_code == 500
        assert events == [
            "request_started /crash",
            "got_request_exception ValueError('boom')",
            "request_finished 500",
            # As in Flask, the teardown hears of the exception the 500 was made for.
            "appcontext_tearing_down ValueError('boom')",
        ]
        # connected for this app only: another app's requests are not seen.
        events.clear()
        other = door_app(door)
        other.add_url_rule("/", "index", lambda: "other")
        assert other.test_client().get("/").text == "other"
        assert events == []
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver, app)


def test_signals_can_only_observe(door: str) -> None:
    # "Hooks can modify the response or abort the request; signals can only observe."
    app = door_app(door)

    def try_to_answer(sender: Flask, **extra: t.Any) -> str:
        return "from the signal"

    @app.before_request
    def hook() -> str | None:
        return "from the hook" if request.args.get("hook") else None

    app.add_url_rule("/", "index", lambda: "from the view")
    request_started.connect(try_to_answer, app)
    try:
        client = app.test_client()
        assert client.get("/").text == "from the view"
        assert client.get("/?hook=1").text == "from the hook"
    finally:
        request_started.disconnect(try_to_answer, app)


def test_celery_task_runs_in_a_real_worker(door: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from celery import Celery
    from celery.contrib.testing.app import setup_default_app
    from celery.contrib.testing.worker import start_worker

    app = door_app(door)
    printed: list[str] = []
    monkeypatch.setattr("builtins.print", lambda *args: printed.append(" ".join(args)))
    # The guide's 10 s "long task" takes 1 s here.
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: real_sleep(seconds / 10))

    # Initialize Celery
    celery = Celery("tasks", broker="redis://localhost:6379/0")
    # No Redis here: the in-memory broker and results, served by a worker thread.
    celery.conf.update(
        broker_url="memory://",
        result_backend="cache+memory://",
        broker_transport_options={"polling_interval": 0.05},
    )

    # Celery's own test helper: the state this app leaves behind is undone after.
    with setup_default_app(celery):

        @celery.task
        def send_async_email(email_address):  # type: ignore[no-untyped-def]
            # This logic runs in the background worker
            print(f"Sending heavy email to {email_address}...")
            # simulate long task
            import time

            time.sleep(10)
            return "Email Sent!"

        queued: list[t.Any] = []

        @app.route("/signup", methods=["POST"])
        def signup():  # type: ignore[no-untyped-def]
            email = request.form["email"]
            # .delay() tells Celery to put this in the Redis queue
            queued.append(send_async_email.delay(email))

            return "Welcome! Check your email in a few moments."

        with start_worker(celery, pool="solo", perform_ping_check=False):
            response = app.test_client().post("/signup", data={"email": "ada@example.com"})
            assert response.text == "Welcome! Check your email in a few moments."
            # The response did not wait for the task.
            assert not queued[0].ready()
            assert queued[0].get(timeout=20) == "Email Sent!"
            assert printed == ["Sending heavy email to ada@example.com..."]
            # A form without the field: a 400, and nothing is queued.
            assert app.test_client().post("/signup", data={}).status_code == 400
            assert len(queued) == 1
