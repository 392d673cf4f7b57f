"""The ``main`` blueprint: the board, task pages and the CSV export."""

from __future__ import annotations

import csv
import io
import typing as t
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import func, select

from .extensions import db
from .forms import TaskForm
from .models import STATUSES, Task, User, utcnow

bp = Blueprint("main", __name__)


@bp.app_template_filter("ago")
def ago(value: datetime | None) -> str:
    """``{{ task.updated_at|ago }}``: "just now", "5 min ago", "3 days ago"."""
    if value is None:
        return "never"
    seconds = int((utcnow() - value).total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= size:
            count = seconds // size
            plural = "s" if count > 1 and unit != "min" else ""
            return f"{count} {unit}{plural} ago"
    return "just now"


@bp.get("/")
def index() -> str:
    """The board for members; a short introduction for everyone else."""
    if not current_user.is_authenticated:
        counts = {
            "users": db.session.scalar(select(func.count(User.id))),
            "tasks": db.session.scalar(select(func.count(Task.id))),
        }
        return render_template("main/welcome.html", counts=counts)
    query = select(Task).order_by(Task.updated_at.desc(), Task.id.desc())
    mine = request.args.get("mine") == "1"
    if mine:
        query = query.where(Task.author_id == current_user.id)
    columns: dict[str, list[Task]] = {status: [] for status in STATUSES}
    for task in db.session.scalars(query):
        columns.setdefault(task.status, []).append(task)
    return render_template("main/board.html", columns=columns, mine=mine)


@bp.route("/tasks/new", methods=["GET", "POST"])
@login_required
def new_task() -> t.Any:
    """Add a card to the board."""
    form = TaskForm(status=request.args.get("status", "todo"))
    if form.validate_on_submit():
        task = Task(author=current_user._get_current_object())
        form.populate_obj(task)
        db.session.add(task)
        db.session.commit()
        flash(f"Task “{task.title}” created.", "success")
        return redirect(url_for("main.index"))
    return render_template("main/task_form.html", form=form, task=None)


def _get_task(task_id: int) -> Task:
    return db.get_or_404(Task, task_id, description=f"There is no task #{task_id}.")


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@login_required
def edit_task(task_id: int) -> t.Any:
    """Change a card's title, description or column."""
    task = _get_task(task_id)
    form = TaskForm(obj=task)
    if form.validate_on_submit():
        form.populate_obj(task)
        db.session.commit()
        flash(f"Task “{task.title}” updated.", "success")
        return redirect(url_for("main.index"))
    return render_template("main/task_form.html", form=form, task=task)


@bp.post("/tasks/<int:task_id>/move")
@login_required
def move_task(task_id: int) -> t.Any:
    """Move a card to another column (the arrow buttons on the board)."""
    task = _get_task(task_id)
    status = request.form.get("status", "")
    if status not in STATUSES:
        abort(400, description=f"Unknown column {status!r}.")
    task.status = status
    db.session.commit()
    flash(f"Moved “{task.title}” to {STATUSES[status]}.", "info")
    return redirect(url_for("main.index"))


@bp.post("/tasks/<int:task_id>/delete")
@login_required
def delete_task(task_id: int) -> t.Any:
    """Delete a card; only its author may."""
    task = _get_task(task_id)
    if task.author_id != current_user.id:
        abort(403, description="Only the author of a task can delete it.")
    db.session.delete(task)
    db.session.commit()
    flash(f"Task “{task.title}” deleted.", "info")
    return redirect(url_for("main.index"))


CSV_COLUMNS = ["id", "title", "status", "author", "created_at", "updated_at", "description"]


def csv_row(task: Task) -> list[t.Any]:
    """A task as a row under :data:`CSV_COLUMNS` (the export view and the Celery job)."""
    return [
        task.id,
        task.title,
        task.status,
        task.author.username,
        task.created_at.isoformat(timespec="seconds"),
        task.updated_at.isoformat(timespec="seconds"),
        task.description,
    ]


@bp.get("/export.csv")
@login_required
def export_csv() -> Response:
    """Every task as CSV, streamed row by row instead of built in memory."""

    def rows() -> t.Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)

        def flush() -> str:
            text = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            return text

        writer.writerow(CSV_COLUMNS)
        yield flush()
        query = select(Task).join(Task.author).order_by(Task.id).execution_options(yield_per=100)
        for task in db.session.scalars(query):
            writer.writerow(csv_row(task))
            yield flush()

    # stream_with_context keeps the request (and so the database session)
    # alive while the generator runs after the view has returned.
    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=tasks.csv"},
    )
