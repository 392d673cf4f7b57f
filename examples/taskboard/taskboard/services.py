"""Optional services for running the demo on several hosts at once.

One process on one machine needs none of this: sessions are signed cookies,
the team statistics are computed on every visit, login attempts are not
counted and the CSV export streams from the request. Several hosts behind a
load balancer need state they all share, so each service below is switched on
by configuration, and its package is imported only then:

- ``SESSION_TYPE = "redis"`` (Flask-Session): the session lives in Redis and
  the cookie holds only its id;
- ``CACHE_TYPE = "RedisCache"`` (Flask-Caching): the statistics page is
  computed once for every host;
- ``LOGIN_RATE_LIMIT = "5 per minute"`` (Flask-Limiter): failed logins per
  client address, counted in Redis;
- ``CELERY = {"broker_url": ..., "result_backend": ...}`` (Celery): the CSV
  export runs in a worker.

``REDIS_URL`` is the default server for all four (Flask-Session's
``SESSION_REDIS``, Flask-Caching's ``CACHE_REDIS_URL``, Flask-Limiter's
``RATELIMIT_STORAGE_URI``, Celery's broker and result backend), each of which
can still be set on its own. ``scripts/cluster`` sets them all; see "More than
one machine" in docs/deployment.md.
"""

from __future__ import annotations

import os
import socket
import typing as t

from flask import Flask, current_app

#: Where ``init_services`` keeps the Flask-Caching object (``None`` without one).
CACHE_EXTENSION = "taskboard.cache"

_T = t.TypeVar("_T")


def init_services(app: Flask) -> None:
    """Switch on the services that ``app.config`` asks for, and only those."""
    config = app.config
    config.setdefault("NODE_NAME", None)
    config.setdefault("REDIS_URL", None)
    config.setdefault("LOGIN_RATE_LIMIT", None)
    config.setdefault("CELERY", None)
    config.setdefault("EXPORT_FOLDER", os.path.join(app.instance_path, "exports"))
    config.setdefault("STATS_CACHE_SECONDS", 60)

    from . import stats

    app.register_blueprint(stats.bp)

    if config.get("SESSION_TYPE"):
        _init_sessions(app)
    if config.get("CACHE_TYPE") and config["CACHE_TYPE"] not in ("null", "NullCache"):
        _init_cache(app)
    if config["LOGIN_RATE_LIMIT"]:
        _init_limiter(app)
    if config["CELERY"]:
        from . import jobs

        jobs.init_app(app)

    @app.context_processor
    def inject_services() -> dict[str, t.Any]:
        return {"background_exports": "celery" in app.extensions}


def node_name() -> str:
    """Which host this is: ``NODE_NAME`` (set per host), else the machine's name."""
    return str(current_app.config.get("NODE_NAME") or socket.gethostname())


def redis_options() -> dict[str, t.Any]:
    """Keyword arguments for every Redis client the app makes.

    A Redis restart takes a fraction of a second; retrying for a few seconds
    with a growing pause turns it into a slow request instead of an error page.
    """
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError, TimeoutError
    from redis.retry import Retry

    return {
        # 0.1, 0.2, 0.4, then 0.5 s pauses: about 4 s in all before giving up.
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 10),
        "retry_on_error": [ConnectionError, TimeoutError],
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "health_check_interval": 15,
    }


def _redis_url(app: Flask, setting: str) -> str:
    url = app.config.get(setting) or app.config["REDIS_URL"]
    if not url:
        raise RuntimeError(f"{setting} or REDIS_URL must name the Redis server to use.")
    return str(url)


def _init_sessions(app: Flask) -> None:
    # Server-side sessions: the cookie carries a random id, the data stays in
    # Redis, so every host sees the same session and logging out ends it
    # everywhere (a signed cookie stays valid until it expires).
    from flask_session import Session

    if app.config["SESSION_TYPE"] == "redis" and app.config.get("SESSION_REDIS") is None:
        import redis

        url = _redis_url(app, "SESSION_REDIS_URL")
        app.config["SESSION_REDIS"] = redis.Redis.from_url(url, **redis_options())
    Session(app)


def _init_cache(app: Flask) -> None:
    from flask_caching import Cache

    config = app.config
    if config["CACHE_TYPE"] in ("redis", "RedisCache"):
        config.setdefault("CACHE_REDIS_URL", _redis_url(app, "CACHE_REDIS_URL"))
        config.setdefault("CACHE_OPTIONS", redis_options())
    config.setdefault("CACHE_KEY_PREFIX", "taskboard:")
    config.setdefault("CACHE_DEFAULT_TIMEOUT", config["STATS_CACHE_SECONDS"])
    app.extensions[CACHE_EXTENSION] = Cache(app)


def cached(key: str, compute: t.Callable[[], _T]) -> _T:
    """``compute()``, through the shared cache when there is one.

    With Flask-Caching on Redis the first host to miss computes the value and
    every host reuses it for ``STATS_CACHE_SECONDS``. If the cache cannot be
    reached, Flask-Caching logs it and computes anyway.
    """
    cache = current_app.extensions.get(CACHE_EXTENSION)
    if cache is None:
        return compute()
    timeout = int(current_app.config["STATS_CACHE_SECONDS"])
    return t.cast(_T, cache.cached(timeout=timeout, key_prefix=key)(compute)())


def _init_limiter(app: Flask) -> None:
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    config = app.config
    if config.get("RATELIMIT_STORAGE_URI") is None:
        if config["REDIS_URL"]:
            config["RATELIMIT_STORAGE_URI"] = config["REDIS_URL"]
            config.setdefault("RATELIMIT_STORAGE_OPTIONS", redis_options())
        else:
            # Counted per process: fine for one, useless behind a load balancer.
            config["RATELIMIT_STORAGE_URI"] = "memory://"
    # If Redis is away for longer than the retries, count in memory meanwhile
    # rather than refusing every login.
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    # The key is the client's address: behind a proxy, request.remote_addr is
    # only the client's with PROXY_FIX set to the number of proxies.
    limiter = Limiter(get_remote_address, app=app, default_limits=[])
    login = app.view_functions["auth.login"]
    app.view_functions["auth.login"] = limiter.limit(
        config["LOGIN_RATE_LIMIT"],
        methods=["POST"],
        # Only failed attempts count: a successful login redirects.
        deduct_when=lambda response: response.status_code != 302,
        error_message="Too many failed logins from your address; try again later.",
    )(login)
