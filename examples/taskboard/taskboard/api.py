"""The ``api`` blueprint: a JSON API under ``/api/v1`` built from class-based views.

Clients authenticate with the same session as the web pages (log in first);
state-changing requests send the CSRF token in an ``X-CSRFToken`` header, which
``CSRFProtect`` accepts. Every error, including 404/405 and CSRF failures,
comes back as JSON with the right status code.
"""

from __future__ import annotations

import functools
import typing as t

from flask import Blueprint, abort, jsonify, request, url_for
from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response

from .extensions import db
from .forms import TaskForm
from .models import STATUSES, Task, User

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def json_error(status: int, message: str, **extra: t.Any) -> Response:
    """A JSON error body: ``{"error": {"status", "name", "message", ...}}``."""
    body = {"status": status, "name": HTTP_STATUS_CODES.get(status, "Error"), "message": message}
    response = jsonify(error={**body, **extra})
    response.status_code = status
    return response


@bp.errorhandler(HTTPException)
def handle_http_error(error: HTTPException) -> Response:
    """Errors raised by the API's views (and CSRF failures) become JSON."""
    response = json_error(error.code or 500, error.description or "")
    if error.code == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def api_login_required(view: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """Like ``login_required``, but a 401 JSON error instead of a redirect."""

    @functools.wraps(view)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        if not current_user.is_authenticated:
            abort(401, description="Log in first (POST /auth/login), then send the session cookie.")
        return view(*args, **kwargs)

    return wrapper


def task_to_json(task: Task) -> dict[str, t.Any]:
    """The API's representation of a task."""
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "author": task.author.username,
        "created_at": task.created_at.isoformat(timespec="seconds") + "Z",
        "updated_at": task.updated_at.isoformat(timespec="seconds") + "Z",
        # _external: behind a proxy this needs ProxyFix to name the public host.
        "url": url_for("api.task", task_id=task.id, _external=True),
    }


def _validated(data: dict[str, t.Any]) -> dict[str, t.Any]:
    """Check a task document with the same form the HTML pages use."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        abort(400, description="Send a JSON object (Content-Type: application/json).")
    unknown = sorted(set(payload) - {"title", "description", "status"})
    if unknown:
        abort(400, description=f"Unknown fields: {', '.join(unknown)}.")
    merged = {**data, **{key: value for key, value in payload.items() if value is not None}}
    # The form's CSRF check is off here: CSRFProtect already checked the header.
    form = TaskForm(
        formdata=MultiDict({k: str(v) for k, v in merged.items()}), meta={"csrf": False}
    )
    if not form.validate():
        raise _ValidationFailed(form.errors)
    return {
        "title": form.title.data,
        "description": form.description.data or "",
        "status": form.status.data,
    }


class _ValidationFailed(Exception):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(fields)
        self.fields = fields


@bp.errorhandler(_ValidationFailed)
def handle_validation_failed(error: _ValidationFailed) -> Response:
    """422 with the per-field messages, as the HTML form shows them."""
    return json_error(422, "The task is not valid.", fields=error.fields)


class TaskListAPI(MethodView):
    """``/api/v1/tasks``: list (``?status=todo``) and create."""

    init_every_request = False
    decorators = [api_login_required]

    def get(self) -> Response:
        query = select(Task).order_by(Task.id)
        status = request.args.get("status")
        if status is not None:
            if status not in STATUSES:
                abort(400, description=f"status must be one of: {', '.join(STATUSES)}.")
            query = query.where(Task.status == status)
        tasks = [task_to_json(task) for task in db.session.scalars(query)]
        return jsonify(tasks=tasks, count=len(tasks))

    def post(self) -> tuple[Response, int, dict[str, str]]:
        fields = _validated({"status": "todo"})
        task = Task(author=current_user._get_current_object(), **fields)
        db.session.add(task)
        db.session.commit()
        document = task_to_json(task)
        return jsonify(document), 201, {"Location": document["url"]}


class TaskAPI(MethodView):
    """``/api/v1/tasks/<id>``: read, update (PATCH/PUT) and delete one task."""

    init_every_request = False
    decorators = [api_login_required]

    def _task(self, task_id: int) -> Task:
        return db.get_or_404(Task, task_id, description=f"There is no task #{task_id}.")

    def get(self, task_id: int) -> Response:
        return jsonify(task_to_json(self._task(task_id)))

    def patch(self, task_id: int) -> Response:
        task = self._task(task_id)
        current = {"title": task.title, "description": task.description, "status": task.status}
        for key, value in _validated(current).items():
            setattr(task, key, value)
        db.session.commit()
        return jsonify(task_to_json(task))

    put = patch

    def delete(self, task_id: int) -> tuple[str, int]:
        task = self._task(task_id)
        if task.author_id != current_user.id:
            abort(403, description="Only the author of a task can delete it.")
        db.session.delete(task)
        db.session.commit()
        return "", 204


@bp.get("/")
def index() -> Response:
    """What the API offers, and some numbers about the board."""
    by_status = dict(
        db.session.execute(select(Task.status, func.count(Task.id)).group_by(Task.status)).all()
    )
    return jsonify(
        version=1,
        endpoints={
            "tasks": url_for("api.tasks", _external=True),
            "me": url_for("api.me", _external=True),
        },
        counts={status: by_status.get(status, 0) for status in STATUSES},
    )


@bp.get("/me")
@api_login_required
def me() -> Response:
    """The logged-in user, with where and when they last logged in."""
    user: User = current_user._get_current_object()
    return jsonify(
        username=user.username,
        tasks=len(user.tasks),
        last_login_at=user.last_login_at.isoformat(timespec="seconds") + "Z"
        if user.last_login_at
        else None,
        last_login_ip=user.last_login_ip,
        remote_addr=request.remote_addr,
    )


bp.add_url_rule("/tasks", view_func=TaskListAPI.as_view("tasks"))
bp.add_url_rule("/tasks/<int:task_id>", view_func=TaskAPI.as_view("task"))
