"""The ASGI entry point for ASGI servers: ``uvicorn asgi:app`` or ``hypercorn asgi:app``.

As in ``wsgi.py``, ``install_as_flask()`` runs before the first ``import
flask``, so the app and its extensions get demijohn.
"""

import demijohn

demijohn.install_as_flask()

from taskboard import create_app  # noqa: E402

flask_app = create_app()


# A coroutine function is what every ASGI server takes for ASGI 3: given
# ``flask_app`` itself hypercorn would serve it as WSGI, and given the bound
# method ``flask_app.asgi_app`` uvicorn would call it as ASGI 2.
async def app(scope, receive, send):
    await flask_app.asgi_app(scope, receive, send)
