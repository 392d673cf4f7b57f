"""Taskboard: a small team task board, written as an ordinary Flask application.

``create_app`` is the application factory: ``flask --app taskboard run`` (or
``demijohn --app taskboard run``) finds it by name. On the first start it creates
the SQLite database in the instance folder from the committed migrations and
fills it with demo data, so there is no setup step.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import typing as t
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import csrf, db, login_manager, migrate
from .models import STATUSES

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locking, one process at a time
    fcntl = None  # type: ignore[assignment]

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_app(
    test_config: t.Mapping[str, t.Any] | None = None, *, instance_path: str | None = None
) -> Flask:
    """Build and configure the application.

    Configuration, later sources winning: the defaults below, then
    ``instance/config.py``, then ``FLASK_*`` environment variables (e.g.
    ``FLASK_SECRET_KEY``, ``FLASK_PROXY_FIX=1``); tests pass ``test_config``
    instead of the last two. ``TASKBOARD_INSTANCE_PATH`` moves the instance
    folder (the database and a generated secret key live there).
    """
    app = Flask(
        __name__,
        instance_path=instance_path or os.environ.get("TASKBOARD_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    app.config.from_mapping(
        SECRET_KEY=None,
        SQLALCHEMY_DATABASE_URI=None,
        # Fill a brand-new database with demo users and this many tasks.
        SEED_DEMO_DATA=True,
        SEED_TASKS=20,
        # How many proxies (nginx, a load balancer) sit in front of the app and
        # set X-Forwarded-*; 0 trusts none of those headers.
        PROXY_FIX=0,
        REMEMBER_COOKIE_DURATION=timedelta(days=30),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SAMESITE="Lax",
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
    else:
        app.config.from_mapping(test_config)

    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        database = os.path.join(app.instance_path, "taskboard.sqlite")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"

    if app.config["PROXY_FIX"]:
        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"

    from . import api, auth, main
    from .commands import seed_db_command
    from .errors import register_error_handlers
    from .services import init_services

    app.register_blueprint(auth.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(api.bp)
    register_error_handlers(app)
    app.cli.add_command(seed_db_command)
    # Redis sessions, cache and rate limit, Celery: only those configured.
    init_services(app)

    @app.context_processor
    def inject_globals() -> dict[str, t.Any]:
        return {
            "app_name": "Taskboard",
            "statuses": STATUSES,
            "current_year": datetime.now(UTC).year,
        }

    # Several server processes may start at once (gunicorn workers): one at a
    # time creates the secret key and the database; the others then find them.
    with _instance_lock(app):
        if not app.config["SECRET_KEY"]:
            app.config["SECRET_KEY"] = _instance_secret_key(app)
        with app.app_context():
            _create_database_if_missing(app)
    return app


@contextlib.contextmanager
def _instance_lock(app: Flask) -> t.Iterator[None]:
    with open(os.path.join(app.instance_path, ".startup.lock"), "a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _instance_secret_key(app: Flask) -> str:
    """A random key kept in ``instance/secret_key``, made on the first start.

    Every worker process reads the same file, so a session signed by one is
    valid in the others, and restarts do not log everyone out. Production can
    set ``FLASK_SECRET_KEY`` instead.
    """
    path = os.path.join(app.instance_path, "secret_key")
    try:
        with open(path, encoding="ascii") as f:
            key = f.read().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key


def _create_database_if_missing(app: Flask) -> None:
    """Apply the migrations to a new database and seed it; leave others alone.

    An existing database is upgraded with ``demijohn db upgrade`` (Flask-Migrate)
    as part of a deployment, not behind the operator's back on every start.
    """
    if sa.inspect(db.engine).has_table("alembic_version"):
        return
    # quiet=1: env.py then leaves the host's logging configuration alone.
    upgrade(directory=str(MIGRATIONS), x_arg=["quiet=1"])
    if app.config["SEED_DEMO_DATA"]:
        from .commands import seed_demo_data

        seed_demo_data(int(app.config["SEED_TASKS"]), seed=2026)
    app.logger.info("Created the database %s", db.engine.url)
