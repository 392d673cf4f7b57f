"""The WSGI entry point for production servers: ``gunicorn wsgi:app``.

The one line that differs from a Flask project: ``install_as_flask()`` runs
before the first ``import flask``, so the app and its extensions get demijohn.
The ``demijohn`` command does this by itself; a WSGI server needs it here.
"""

import demijohn

demijohn.install_as_flask()

from taskboard import create_app  # noqa: E402

app = create_app()
