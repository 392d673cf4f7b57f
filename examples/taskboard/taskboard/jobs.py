"""Background jobs with Celery: the CSV export, written to a file by a worker.

Loaded only when ``CELERY`` is configured (see ``services``). A view enqueues
the job and sends the browser to a page that polls its state; the worker (any
machine reading the same broker) writes the file into ``EXPORT_FOLDER`` and
the result backend holds its name, so whichever host answers the poll can
report it and serve the download. With several machines the export folder
must be shared (a network volume, or object storage in its place).

The worker's entry point is ``celery_worker.py`` beside ``wsgi.py``::

    celery -A celery_worker worker --loglevel INFO
"""

from __future__ import annotations

import csv
import os
import typing as t

from celery import Celery, Task, shared_task
from celery.result import AsyncResult
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    send_from_directory,
    session,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from .extensions import db
from .main import CSV_COLUMNS, csv_row
from .models import Task as BoardTask

bp = Blueprint("jobs", __name__, url_prefix="/exports")

#: The session remembers this many of the user's latest exports (the ids are
#: what lets them see a job's state: nobody else's).
KEEP_EXPORTS = 10


def init_app(app: Flask) -> Celery:
    """Tie a Celery app to ``app`` (every task runs in its app context) and add the views."""

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    settings = {
        # The export page reads the state, so keep results and report STARTED.
        "task_ignore_result": False,
        "task_track_started": True,
        "result_expires": 24 * 3600,
        # Enqueueing while the broker restarts waits a few seconds for it.
        "task_publish_retry_policy": {
            "max_retries": 6,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        "broker_connection_retry_on_startup": True,
        **app.config["CELERY"],
    }
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        settings.setdefault("broker_url", redis_url)
        settings.setdefault("result_backend", redis_url)
    celery_app = Celery(app.import_name, task_cls=FlaskTask)
    celery_app.config_from_object(settings)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    app.register_blueprint(bp)
    return celery_app


@shared_task(bind=True)
def export_tasks_csv(self: Task, user_id: int) -> dict[str, t.Any]:
    """Write every task to ``EXPORT_FOLDER/tasks-<job id>.csv``; return its name and size."""
    folder = current_app.config["EXPORT_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    name = f"tasks-{self.request.id}.csv"
    partial = os.path.join(folder, f".{name}.part")
    rows = 0
    with open(partial, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        query = select(BoardTask).order_by(BoardTask.id).execution_options(yield_per=100)
        for task in db.session.scalars(query):
            writer.writerow(csv_row(task))
            rows += 1
    # Appears whole or not at all, for a host serving the folder meanwhile.
    os.replace(partial, os.path.join(folder, name))
    return {
        "file": name,
        "rows": rows,
        "requested_by": user_id,
        "worker": self.request.hostname,
        "worker_pid": os.getpid(),
    }


def _own_job(job_id: str) -> AsyncResult:
    if job_id not in session.get("exports", []):
        abort(404, description="There is no such export of yours.")
    return AsyncResult(job_id, app=current_app.extensions["celery"])


def _job_state(job_id: str) -> dict[str, t.Any]:
    result = _own_job(job_id)
    state: dict[str, t.Any] = {"id": job_id, "state": result.state}
    if result.successful():
        state["result"] = result.result
        state["download"] = url_for("jobs.download", job_id=job_id)
    elif result.failed():
        state["error"] = str(result.result)
    return state


@bp.post("")
@login_required
def start() -> Response:
    """Enqueue an export of every task and show its page."""
    job = export_tasks_csv.delay(current_user.id)
    session["exports"] = [*session.get("exports", []), job.id][-KEEP_EXPORTS:]
    return redirect(url_for("jobs.status", job_id=job.id))


@bp.get("/<job_id>")
@login_required
def status(job_id: str) -> str:
    """The export's page; it polls ``status.json`` until the file is ready."""
    return render_template("jobs/export.html", job=_job_state(job_id))


@bp.get("/<job_id>/status.json")
@login_required
def status_json(job_id: str) -> Response:
    """The export's state: PENDING, STARTED, SUCCESS (with the file) or FAILURE."""
    return jsonify(_job_state(job_id))


@bp.get("/<job_id>/download")
@login_required
def download(job_id: str) -> Response:
    """The finished CSV file."""
    result = _own_job(job_id)
    if not result.successful():
        abort(404, description="That export is not ready.")
    return send_from_directory(
        current_app.config["EXPORT_FOLDER"],
        result.result["file"],
        mimetype="text/csv",
        as_attachment=True,
        download_name="tasks.csv",
    )
