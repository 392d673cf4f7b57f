"""Background work: the guide's Celery example and the recipe in docs/background-tasks.md.

Celery runs its tasks eagerly here (``task_always_eager``): no broker, same process,
but the task still runs outside the request, as in a worker.
"""

from __future__ import annotations

import threading
import typing as t

import pytest
from celery import Celery, Task, shared_task
from flask import (
    Flask,
    copy_current_request_context,
    current_app,
    g,
    request,
)


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
def app() -> Flask:
    app = Flask(__name__)
    app.testing = True
    app.config.update(
        MAIL_SENDER="noreply@example.com",
        CELERY={"task_always_eager": True, "task_eager_propagates": True},
    )
    celery_init_app(app)
    return app


def test_recipe_runs_tasks_inside_the_app_context(app: Flask) -> None:
    @app.post("/signup/<int:user_id>")
    def signup(user_id: int) -> str:
        result = send_welcome_email.delay(user_id)
        return str(result.get())

    response = app.test_client().post("/signup/7")
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


def test_the_no_context_trap(app: Flask) -> None:
    # "They do not have access to request, session, or g."
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        current_app.config  # noqa: B018
    with app.app_context():
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
