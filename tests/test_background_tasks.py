"""Background work: ``app.add_background_task``, and Celery as the guide and the docs use it.

Background tasks (Quart's ``app.add_background_task``) through both doors with
the test client, under ASGI on one long-lived loop with the lifespan protocol
(where shutdown waits for the tasks), at interpreter exit in a subprocess, and
in a real gunicorn. Then the guide's Celery example and the recipe in
docs/background-tasks.md.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import textwrap
import threading
import time
import typing as t
from pathlib import Path

import httpx
import pytest
from asgi_support import Lifespan, call_asgi, http_get
from celery import Celery, Task, shared_task
from servers import free_port, running_server

from demijohn import (
    Flask,
    copy_current_request_context,
    current_app,
    g,
    has_request_context,
    request,
)
from demijohn.testing import FlaskClient

BIN = Path(sys.executable).parent


@pytest.fixture
def served_app(tmp_path: Path) -> t.Iterator[Flask]:
    """An app served in process through its ASGI door, lifespan included."""
    app = Flask("tasks_app", root_path=str(tmp_path))
    yield app
    logger = logging.getLogger("tasks_app")
    logger.disabled = False
    logger.setLevel(logging.NOTSET)


def task_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("Exception in background")]


def abandoned(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "abandoned" in r.getMessage()]


# -- through the test client, both doors ------------------------------------------------


def test_a_task_starts_once_the_response_has_been_sent(app: Flask, client: FlaskClient) -> None:
    body_sent = threading.Event()
    finished = threading.Event()
    seen: dict[str, t.Any] = {}

    def task(number: int, *, word: str) -> None:
        seen.update(
            number=number,
            word=word,
            body_sent=body_sent.is_set(),
            app=current_app._get_current_object(),  # type: ignore[attr-defined]
            g=sorted(g),
            request=has_request_context(),
        )
        finished.set()

    @app.route("/")
    def index() -> t.Iterator[str]:
        g.user = "ann"
        app.add_background_task(task, 42, word="hi")

        def body() -> t.Iterator[str]:
            yield "queued"
            body_sent.set()

        return body()

    response = client.get("/")
    assert response.text == "queued"
    response.close()
    assert finished.wait(10)
    # Its own app context: the app, a fresh g, no request.
    assert seen == {
        "number": 42,
        "word": "hi",
        "body_sent": True,
        "app": app,
        "g": [],
        "request": False,
    }


@pytest.mark.wsgi_only
def test_under_wsgi_tasks_start_when_the_server_closes_the_response(
    app: Flask, client: FlaskClient
) -> None:
    started = threading.Event()

    @app.route("/")
    def index() -> str:
        app.add_background_task(started.set)
        return "queued"

    response = client.get("/")
    assert response.text == "queued"
    assert not started.is_set()
    response.close()
    assert started.wait(10)


@pytest.mark.wsgi_only
def test_an_async_task_under_wsgi_runs_in_a_thread_of_its_own(
    app: Flask, client: FlaskClient
) -> None:
    finished = threading.Event()
    seen: dict[str, t.Any] = {}

    async def task() -> None:
        await asyncio.sleep(0.01)
        seen["thread"] = threading.current_thread()
        seen["app"] = current_app._get_current_object()  # type: ignore[attr-defined]
        finished.set()

    @app.route("/")
    async def index() -> str:
        app.add_background_task(task)
        return "queued"

    client.get("/").close()
    assert finished.wait(10)
    assert seen["app"] is app
    assert seen["thread"] is not threading.current_thread()


def test_a_failing_task_is_logged_and_later_requests_are_fine(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    done = threading.Event()

    def broken() -> None:
        raise ValueError("no mail server")

    @app.route("/fail")
    def fail() -> str:
        app.add_background_task(broken)
        app.add_background_task(done.set)
        return "queued"

    client.get("/fail").close()
    assert done.wait(10)
    # The failing task ran first in its own thread; give its log a moment.
    deadline = time.monotonic() + 10
    while not task_errors(caplog) and time.monotonic() < deadline:
        time.sleep(0.01)
    [record] = task_errors(caplog)
    assert record.name == "test_app"
    assert record.getMessage().endswith(".broken'")
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "no mail server"

    done.clear()
    response = client.get("/fail")
    assert response.status_code == 200
    response.close()
    assert done.wait(10)


def test_outside_a_request_a_task_starts_at_once(app: Flask) -> None:
    finished = threading.Event()
    seen: list[object] = []

    def task() -> None:
        seen.append(current_app._get_current_object())  # type: ignore[attr-defined]
        finished.set()

    app.add_background_task(task)
    assert finished.wait(10)
    assert seen == [app]


def test_a_cli_command_starts_its_task_at_once(app: Flask) -> None:
    finished = threading.Event()

    @app.cli.command("notify")
    def notify() -> None:
        app.add_background_task(finished.set)

    result = app.test_cli_runner().invoke(args=["notify"])
    assert result.exit_code == 0, result.output
    assert finished.wait(10)


# -- ASGI, on one long-lived loop with the lifespan protocol ------------------------------


@pytest.mark.parametrize("view", ["sync", "async"])
def test_under_asgi_async_tasks_run_on_the_loop_and_shutdown_waits(
    served_app: Flask, view: str
) -> None:
    app = served_app
    ran: dict[str, int] = {}

    async def async_task() -> None:
        await asyncio.sleep(0.05)
        ran["async"] = threading.get_ident()

    def sync_task() -> None:
        time.sleep(0.05)
        ran["sync"] = threading.get_ident()

    def queue_both() -> str:
        app.add_background_task(async_task)
        app.add_background_task(sync_task)
        return "queued"

    if view == "sync":
        app.route("/")(queue_both)
    else:

        @app.route("/")
        async def index() -> str:
            return queue_both()

    async def serve() -> tuple[int, dict[str, t.Any]]:
        lifespan = Lifespan(app)
        await lifespan.ask("startup")
        sent = await call_asgi(app, http_get("/"), b"")
        assert sent[1]["body"] == b"queued"
        answer = await lifespan.ask("shutdown")
        await lifespan.ended()
        return threading.get_ident(), answer

    loop_thread, answer = asyncio.run(serve())
    assert answer == {"type": "lifespan.shutdown.complete"}
    # Both finished before the shutdown completed.
    assert ran["async"] == loop_thread
    assert ran["sync"] != loop_thread


def test_a_task_added_by_before_serving_starts_at_once(served_app: Flask) -> None:
    app = served_app
    events: list[str] = []

    async def warm_cache() -> None:
        await asyncio.sleep(0.05)
        events.append("cache warm")

    @app.before_serving
    def start() -> None:
        app.add_background_task(warm_cache)
        events.append("started")

    async def serve() -> None:
        await app.startup()
        await app.shutdown()

    asyncio.run(serve())
    assert events == ["started", "cache warm"]


def test_tasks_still_running_after_the_timeout_are_abandoned_and_logged(
    served_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app = served_app
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 0.2
    release = threading.Event()
    outcome: list[str] = []

    def stuck_in_thread() -> None:
        release.wait(10)

    async def stuck_on_loop() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    @app.route("/")
    async def index() -> str:
        app.add_background_task(stuck_in_thread)
        app.add_background_task(stuck_on_loop)
        return "queued"

    async def serve() -> dict[str, t.Any]:
        lifespan = Lifespan(app)
        await lifespan.ask("startup")
        await call_asgi(app, http_get("/"), b"")
        answer = await lifespan.ask("shutdown")
        await lifespan.ended()
        await asyncio.sleep(0)  # the cancellation reaches the task
        return answer

    try:
        assert asyncio.run(serve()) == {"type": "lifespan.shutdown.complete"}
    finally:
        release.set()
    in_thread, on_loop = sorted(abandoned(caplog))
    assert "stuck_in_thread' was still running at shutdown" in in_thread
    assert "its thread keeps running" in in_thread
    assert "stuck_on_loop' was still running at shutdown" in on_loop
    assert "(cancelled)" in on_loop
    assert outcome == ["cancelled"]


def test_shutdown_logs_a_failing_async_task(
    served_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app = served_app

    async def broken() -> None:
        await asyncio.sleep(0)
        raise KeyError("missing")

    @app.route("/")
    async def index() -> str:
        app.add_background_task(broken)
        return "queued"

    async def serve() -> dict[str, t.Any]:
        lifespan = Lifespan(app)
        await lifespan.ask("startup")
        await call_asgi(app, http_get("/"), b"")
        answer = await lifespan.ask("shutdown")
        await lifespan.ended()
        return answer

    assert asyncio.run(serve()) == {"type": "lifespan.shutdown.complete"}
    [record] = task_errors(caplog)
    assert record.getMessage().endswith(".broken'")
    assert isinstance(record.exc_info[1], KeyError)  # type: ignore[index]


# -- WSGI: at interpreter exit ------------------------------------------------------------

EXIT_SCRIPT = textwrap.dedent(
    """
    import threading, time
    from demijohn import Flask

    app = Flask("script")
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 1

    def slow_mail():
        time.sleep(0.2)
        print("mail sent", flush=True)

    def stuck():
        threading.Event().wait()

    @app.route("/")
    def index():
        app.add_background_task(slow_mail)
        return "queued"

    app.test_client().get("/").close()
    app.add_background_task(stuck)
    print("script ends", flush=True)
    """
)


def test_interpreter_exit_waits_for_tasks_up_to_the_timeout(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(EXIT_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "script ends\nmail sent\n"
    assert "stuck' was still running at shutdown" in done.stderr
    assert "abandoned" in done.stderr


# -- a real gunicorn ----------------------------------------------------------------------

GUNICORN_APP = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from demijohn import Flask

    app = Flask(__name__)
    WORK = Path(os.environ["WORK_DIR"])

    def report(name):
        # Waits (bounded) for the test's go-ahead, so it demonstrably runs
        # after the response reached the client.
        for _ in range(500):
            if (WORK / "go").exists():
                break
            time.sleep(0.02)
        (WORK / name).write_text(str(os.getpid()))

    def broken():
        raise RuntimeError("report generator crashed")

    @app.route("/report/<name>")
    def start_report(name):
        app.add_background_task(report, name)
        return "queued"

    @app.route("/broken")
    def start_broken():
        app.add_background_task(broken)
        return "queued"

    @app.route("/")
    def index():
        return "ok"
    """
)


def test_gunicorn_runs_tasks_after_the_response(tmp_path: Path) -> None:
    (tmp_path / "taskapp.py").write_text(GUNICORN_APP)
    work = tmp_path / "work"
    work.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_server(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "taskapp:app"],
        probe_url=f"{base}/",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "WORK_DIR": str(work)},
    ) as proc:
        response = httpx.get(f"{base}/report/weekly", timeout=5)
        assert response.text == "queued"
        assert not (work / "weekly").exists()
        (work / "go").touch()
        deadline = time.monotonic() + 10
        while not (work / "weekly").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert (work / "weekly").exists()

        assert httpx.get(f"{base}/broken", timeout=5).text == "queued"
        assert httpx.get(f"{base}/", timeout=5).text == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    output = "".join(log.read_text() for log in tmp_path.glob("server-*.log"))
    assert "Exception in background task" in output
    assert "RuntimeError: report generator crashed" in output
    assert "Traceback" in output


# -- Celery: the guide's example and the recipe in docs/background-tasks.md ------------
#
# Celery runs its tasks eagerly here (``task_always_eager``): no broker, same
# process, but the task still runs outside the request, as in a worker.


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


@shared_task
def send_welcome_email(user_id: int) -> str:
    # A worker has no request, but the recipe gives it the app context.
    return f"{current_app.config['MAIL_SENDER']} -> user {user_id}"


@pytest.fixture
def recipe_app() -> Flask:
    app = Flask(__name__)
    app.testing = True
    app.config.update(
        MAIL_SENDER="noreply@example.com",
        CELERY={"task_always_eager": True, "task_eager_propagates": True},
    )
    celery_init_app(app)
    return app


def test_recipe_runs_tasks_inside_the_app_context(recipe_app: Flask) -> None:
    @recipe_app.post("/signup/<int:user_id>")
    def signup(user_id: int) -> str:
        result = send_welcome_email.delay(user_id)
        return str(result.get())

    response = recipe_app.test_client().post("/signup/7")
    assert response.text == "noreply@example.com -> user 7"
    # Outside any request or context, the task still finds the app.
    assert send_welcome_email.delay(8).get() == "noreply@example.com -> user 8"


def test_the_guides_celery_example(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Flask(__name__)
    sent: list[str] = []

    # Initialize Celery
    celery = Celery("tasks", broker="redis://localhost:6379/0")
    # The test runs the task in-process instead of through Redis.
    celery.conf.update(task_always_eager=True, task_eager_propagates=True)

    @celery.task
    def send_async_email(email_address):  # type: ignore[no-untyped-def]
        # This logic runs in the background worker
        sent.append(f"Sending heavy email to {email_address}...")
        # simulate long task (skipped here)
        return "Email Sent!"

    @app.route("/signup", methods=["POST"])
    def signup():  # type: ignore[no-untyped-def]
        email = request.form["email"]
        # .delay() tells Celery to put this in the Redis queue
        send_async_email.delay(email)

        return "Welcome! Check your email in a few moments."

    response = app.test_client().post("/signup", data={"email": "ada@example.com"})
    assert response.text == "Welcome! Check your email in a few moments."
    assert sent == ["Sending heavy email to ada@example.com..."]
    assert app.test_client().post("/signup", data={}).status_code == 400


def test_the_no_context_trap(recipe_app: Flask) -> None:
    # "They do not have access to request, session, or g."
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        current_app.config  # noqa: B018
    with recipe_app.app_context():
        g.job = "manual push"
        assert current_app.config["MAIL_SENDER"] == "noreply@example.com"


def test_copy_current_request_context_into_a_thread() -> None:
    app = Flask(__name__)
    seen: list[str] = []

    @app.route("/")
    def index() -> str:
        @copy_current_request_context
        def job() -> None:
            seen.append(request.args["who"])

        worker = threading.Thread(target=job)
        worker.start()
        worker.join(10)
        return "queued"

    assert app.test_client().get("/?who=ada").text == "queued"
    assert seen == ["ada"]
