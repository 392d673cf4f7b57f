"""Guide, "Advanced Features": every example, with its ``from flask import`` lines.

Custom Error Pages, custom exceptions and ``abort()`` (the templates they
render are written into the app's template folder), the signal examples and
the built-in signals table, Async Support (``asyncio.gather``, "Running Async
Flask" under uvicorn, the "Blocking the Event Loop" warning) and the Celery
example with a real worker beside the app. Every in-process test runs through
both doors (the ``door`` fixture). Run elsewhere: the custom CLI commands
(test_guide_cli.py) and the Celery example with eager tasks
(tests/test_background_tasks.py).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import textwrap
import time
import typing as t
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from asgi_support import door_app
from blinker import Namespace
from flask import (
    Blueprint,
    Flask,
    abort,
    appcontext_tearing_down,
    current_app,
    got_request_exception,
    render_template,
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


def test_the_core_built_in_signals(door: str) -> None:
    app = door_app(__name__, door)
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
        other = door_app(__name__, door)
        other.add_url_rule("/", "index", lambda: "other")
        assert other.test_client().get("/").text == "other"
        assert events == []
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver, app)


def test_signals_can_only_observe(door: str) -> None:
    # "Hooks can modify the response or abort the request; signals can only observe."
    app = door_app(__name__, door)

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

    app = door_app(__name__, door)
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


# -- Custom Error Pages, custom exceptions, abort() -----------------------------------


ERROR_TEMPLATES = {
    "errors/404.html": "<h1>Page not found</h1><a href='/'>Home</a>",
    "errors/500.html": "<h1>Something broke</h1><a href='/'>Home</a>",
    "profile.html": "<p>{{ user }}</p>",
}


def make_app(tmp_path: Path, door: str) -> Flask:
    for name, source in ERROR_TEMPLATES.items():
        path = tmp_path / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return door_app(__name__, door, root_path=str(tmp_path))


def test_implementation_example_custom_error_pages(tmp_path: Path, door: str) -> None:
    app = make_app(tmp_path, door)
    # Unhandled exceptions reach the 500 handler only outside testing/debug,
    # which re-raise them (PROPAGATE_EXCEPTIONS) as Flask does.
    app.logger.disabled = True

    @app.errorhandler(404)
    def page_not_found(e):  # type: ignore[no-untyped-def]
        # 'e' is the error object
        # Important: Return the status code as the second value
        return render_template("errors/404.html"), 404

    @app.errorhandler(500)
    def internal_server_error(e):  # type: ignore[no-untyped-def]
        return render_template("errors/500.html"), 500

    @app.route("/crash")
    def crash() -> str:
        raise KeyError("secret_database_column")

    client = app.test_client()
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    assert missing.mimetype == "text/html"

    crashed = client.get("/crash")
    assert crashed.status_code == 500
    assert "Something broke" in crashed.text
    # "Don't Leak Information": the traceback is not in the page.
    assert "secret_database_column" not in crashed.text
    app.logger.disabled = False


def test_handling_custom_exceptions(tmp_path: Path, door: str) -> None:
    app = make_app(tmp_path, door)

    class InsufficientFunds(Exception):
        pass

    @app.errorhandler(InsufficientFunds)
    def handle_low_balance(e):  # type: ignore[no-untyped-def]
        return {"error": "Your balance is too low"}, 400

    @app.route("/withdraw")
    def withdraw() -> str:
        raise InsufficientFunds()

    response = app.test_client().get("/withdraw")
    assert response.status_code == 400
    assert response.json == {"error": "Your balance is too low"}


def test_global_vs_blueprint_error_handlers(tmp_path: Path, door: str) -> None:
    app = make_app(tmp_path, door)
    shop = Blueprint("shop", __name__, url_prefix="/shop")
    admin = Blueprint("admin", __name__, url_prefix="/admin")

    class OutOfStock(Exception):
        pass

    @shop.errorhandler(OutOfStock)
    def shop_only(e):  # type: ignore[no-untyped-def]
        return "shop handler", 409

    @admin.app_errorhandler(403)
    def forbidden_everywhere(e):  # type: ignore[no-untyped-def]
        return "global 403 from a blueprint", 403

    @app.errorhandler(OutOfStock)
    def app_wide(e):  # type: ignore[no-untyped-def]
        return "app handler", 410

    @shop.route("/buy")
    def buy() -> str:
        raise OutOfStock()

    @admin.route("/buy")
    def admin_buy() -> str:
        raise OutOfStock()

    @app.route("/secret")
    def secret() -> str:
        abort(403)

    app.register_blueprint(shop)
    app.register_blueprint(admin)
    client = app.test_client()
    # The blueprint's handler wins for its own routes only.
    assert (client.get("/shop/buy").text, client.get("/shop/buy").status_code) == (
        "shop handler",
        409,
    )
    assert client.get("/admin/buy").status_code == 410
    # app_errorhandler acts for routes outside the blueprint too.
    assert client.get("/secret").text == "global 403 from a blueprint"


def test_the_abort_function(tmp_path: Path, door: str) -> None:
    app = make_app(tmp_path, door)
    users = {"1": "ada"}

    class User:
        class query:
            @staticmethod
            def get(id: str) -> str | None:
                return users.get(id)

    @app.errorhandler(404)
    def page_not_found(e):  # type: ignore[no-untyped-def]
        return render_template("errors/404.html"), 404

    @app.route("/user/<id>")
    def get_user(id):  # type: ignore[no-untyped-def]
        user = User.query.get(id)
        if user is None:
            # This immediately stops the view and calls the 404 handler
            abort(404)
        return render_template("profile.html", user=user)

    client = app.test_client()
    assert client.get("/user/1").text == "<p>ada</p>"
    missing = client.get("/user/2")
    assert (missing.status_code, "Page not found" in missing.text) == (404, True)


def test_a_broken_500_handler_falls_back_to_the_hardcoded_error(
    tmp_path: Path, door: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path, door)

    @app.errorhandler(500)
    def internal_server_error(e):  # type: ignore[no-untyped-def]
        return render_template("errors/missing-500.html"), 500

    @app.route("/")
    def index() -> str:
        raise RuntimeError("original failure")

    with caplog.at_level(logging.ERROR, logger=app.name):
        response = app.test_client().get("/")
    assert response.status_code == 500
    assert "Internal Server Error" in response.text
    assert "original failure" in caplog.text


# -- Signals and Async Support ----------------------------------------------------------


def test_subscribing_to_template_rendered(door: str, capsys: pytest.CaptureFixture[str]) -> None:
    app = door_app(__name__, door)

    def log_template_rendering(sender, template, context, **extra):  # type: ignore[no-untyped-def]
        # sender is the Flask app instance
        print(f"Rendering template: {template.name} with context {context}")

    # Connecting the subscriber to the signal
    template_rendered.connect(log_template_rendering, app)
    try:
        app.add_url_rule("/", "index", lambda: render_template_string("{{ x }}", x=1))
        assert app.test_client().get("/").text == "1"
    finally:
        template_rendered.disconnect(log_template_rendering, app)
    out = capsys.readouterr().out
    assert out.startswith("Rendering template: None with context {")
    assert "'x': 1" in out


def test_creating_custom_signals(door: str, capsys: pytest.CaptureFixture[str]) -> None:
    app = door_app(__name__, door)
    new_user = SimpleNamespace(email="ada@example.com")

    # 1. Define a namespace for your app
    my_signals = Namespace()

    # 2. Create a specific signal
    user_registered = my_signals.signal("user-registered")

    # 3. Emit the signal in your view
    @app.route("/register", methods=["POST"])
    def register():  # type: ignore[no-untyped-def]
        # ... registration logic ...
        user_registered.send(current_app._get_current_object(), user=new_user)
        return "Welcome!"

    # 4. Subscribe elsewhere (e.g., in a notification module)
    @user_registered.connect_via(app)
    def send_welcome_email(sender, user, **extra):  # type: ignore[no-untyped-def]
        print(f"Sending welcome email to {user.email}")

    assert app.test_client().post("/register").text == "Welcome!"
    assert capsys.readouterr().out == "Sending welcome email to ada@example.com\n"
    # connect_via(app): another app's sends are not received.
    user_registered.send(Flask("other"), user=new_user)
    assert capsys.readouterr().out == ""


def test_calling_multiple_apis_with_gather(door: str) -> None:
    app = door_app(__name__, door)
    order: list[str] = []

    async def call_api(name: str, delay: float) -> dict[str, t.Any]:
        order.append(f"start {name}")
        await asyncio.sleep(delay)
        order.append(f"end {name}")
        return {"api": name}

    @app.route("/aggregate")
    async def aggregate() -> dict[str, t.Any]:
        results = await asyncio.gather(call_api("slow", 0.03), call_api("fast", 0.0))
        return {"results": results}

    response = app.test_client().get("/aggregate")
    assert response.json == {"results": [{"api": "slow"}, {"api": "fast"}]}
    # Both calls were in flight together: the fast one finished first.
    assert order == ["start slow", "start fast", "end fast", "end slow"]
