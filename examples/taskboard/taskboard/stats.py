"""The ``stats`` blueprint: team statistics, the page worth caching.

Every figure is an aggregate over all the tasks, so the page costs the same
however few of them changed; it is computed through ``services.cached``, once
per ``STATS_CACHE_SECONDS`` for all the hosts when Flask-Caching is on Redis.
The page says which host computed it and when, so a visitor (and the cluster
test) can tell a cached page from a fresh one.
"""

from __future__ import annotations

import os
import typing as t
from datetime import UTC, datetime

from flask import Blueprint, render_template
from flask_login import login_required
from sqlalchemy import func, select

from .extensions import db
from .models import STATUSES, Task, User, utcnow
from .services import cached, node_name

bp = Blueprint("stats", __name__)


def compute_team_stats() -> dict[str, t.Any]:
    """Counts per column and per member, the oldest open task, and who computed them."""
    per_status = dict(
        db.session.execute(select(Task.status, func.count(Task.id)).group_by(Task.status)).all()
    )
    rows = db.session.execute(
        select(User.username, Task.status, func.count(Task.id))
        .join(Task.author)
        .group_by(User.username, Task.status)
        .order_by(User.username)
    ).all()
    members: dict[str, dict[str, int]] = {}
    for username, status, count in rows:
        members.setdefault(username, dict.fromkeys(STATUSES, 0))[status] = count
    oldest_open = db.session.scalar(select(func.min(Task.created_at)).where(Task.status != "done"))
    return {
        "per_status": {status: per_status.get(status, 0) for status in STATUSES},
        "total": sum(per_status.values()),
        "members": members,
        "oldest_open_days": (utcnow() - oldest_open).days if oldest_open else None,
        "computed_by": f"{node_name()} (pid {os.getpid()})",
        "computed_at": datetime.now(UTC).isoformat(timespec="microseconds"),
    }


@bp.get("/stats")
@login_required
def team_stats() -> str:
    """The statistics page (the same for every member, so one cache entry serves all)."""
    figures = cached("team-stats", compute_team_stats)
    return render_template("stats.html", figures=figures)
