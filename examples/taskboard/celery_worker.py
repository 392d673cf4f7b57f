"""The Celery worker's entry point: ``celery -A celery_worker worker``.

Like ``wsgi.py`` it installs the flask alias first and builds the app with
``create_app()``, configured the same way (``FLASK_CELERY``, ``FLASK_REDIS_URL``,
the database URL...), so the tasks run with the web hosts' settings, inside
the app context. ``celery`` finds the Celery app under this module's
``celery`` attribute.
"""

import demijohn

demijohn.install_as_flask()

from taskboard import create_app  # noqa: E402
from taskboard.extensions import db  # noqa: E402

flask_app = create_app()
if "celery" not in flask_app.extensions:
    raise SystemExit("Celery is not configured: set FLASK_CELERY (see docs/deployment.md).")
celery = flask_app.extensions["celery"]

# create_app() may have opened a database connection (to check the schema);
# the prefork pool forks after this point, and a connection must never be
# shared between processes: close the pool's so that each child opens its own.
with flask_app.app_context():
    db.engine.dispose()
