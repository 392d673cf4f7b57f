"""Custom CLI commands: ``demijohn --app taskboard seed-db 20`` (or ``flask seed-db``)."""

from __future__ import annotations

import random
from datetime import timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from .extensions import db
from .models import STATUSES, Task, User, utcnow

#: Accounts the demo data belongs to; the welcome page tells visitors about them.
DEMO_USERS = ("alice", "bob", "carol")
DEMO_PASSWORD = "taskboard"

_VERBS = ["Write", "Review", "Fix", "Plan", "Ship", "Test", "Document", "Refactor", "Design"]
_THINGS = [
    "the login page",
    "the CSV export",
    "release notes",
    "the nginx config",
    "API pagination",
    "the onboarding email",
    "database backups",
    "the 404 page",
    "dark mode",
    "the board layout",
    "error reporting",
    "the Dockerfile",
]
_DETAILS = [
    "",
    "Pair with someone on this.",
    "See the notes from Monday's meeting.",
    "Low priority, but quick to do.",
    "Blocked until the staging server is back.",
]


def seed_demo_data(count: int, *, seed: int | None = None) -> int:
    """Create the demo users if missing and add ``count`` random tasks.

    Returns the number of tasks added. Runs inside an application context.
    """
    rng = random.Random(seed)
    users = []
    for name in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == name))
        if user is None:
            user = User(username=name)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
        users.append(user)
    # Every column gets its share, and the cards get ages from the last two
    # weeks, so a fresh board looks lived in.
    statuses = [list(STATUSES)[i % len(STATUSES)] for i in range(count)]
    rng.shuffle(statuses)
    now = utcnow()
    for status in statuses:
        created = now - timedelta(minutes=rng.randrange(60, 14 * 24 * 60))
        db.session.add(
            Task(
                title=f"{rng.choice(_VERBS)} {rng.choice(_THINGS)}",
                description=rng.choice(_DETAILS),
                status=status,
                author=rng.choice(users),
                created_at=created,
                updated_at=created + (now - created) * rng.random(),
            )
        )
    db.session.commit()
    return count


@click.command("seed-db")
@click.argument("count", type=click.IntRange(0, 10_000), default=20)
@click.option("--seed", type=int, default=None, help="Random seed, for repeatable data.")
@with_appcontext
def seed_db_command(count: int, seed: int | None) -> None:
    """Add COUNT random demo tasks (and the demo users alice, bob, carol)."""
    added = seed_demo_data(count, seed=seed)
    total = db.session.scalar(select(db.func.count(Task.id)))
    click.echo(f"Added {added} tasks; the board now has {total}.")
    click.echo(f"Demo users: {', '.join(DEMO_USERS)} (password: {DEMO_PASSWORD!r}).")
