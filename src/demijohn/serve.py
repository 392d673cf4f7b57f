"""One entry point for every server: ``demijohn.serve:app`` (ASGI) and ``demijohn.serve:wsgi``.

Point any server at this module instead of writing an entry module of your
own; it finds the app the way the ``demijohn`` command does::

    FLASK_APP='taskboard:create_app()' uvicorn demijohn.serve:app
    FLASK_APP=taskboard hypercorn demijohn.serve:app
    FLASK_APP=taskboard granian --interface asgi demijohn.serve:app
    FLASK_APP=taskboard gunicorn demijohn.serve:wsgi

Loading the app, in this order:

1. the flask alias is installed (:func:`demijohn.install_as_flask`), so the app
   and its extensions get demijohn from ``import flask``;
2. ``.flaskenv`` then ``.env`` are loaded (with python-dotenv; variables already
   in the environment win, ``FLASK_SKIP_DOTENV=1`` skips them);
3. the app is found from ``FLASK_APP`` in every form ``--app`` takes
   (``module``, ``module:name``, ``module:create_app('dev')``, a file or package
   path), otherwise from ``wsgi.py`` or ``app.py`` in the current folder.
   ``FLASK_DEBUG`` sets ``app.debug``; the interactive debugger is never added.

When: importing this module loads nothing, and each process loads the app
once (every worker process of a server loads its own).

* ``app`` is an ``async def`` function, which every ASGI server takes for
  ASGI 3 (uvicorn takes a bound method for ASGI 2, hypercorn an object whose
  ``__call__`` is not a coroutine function for WSGI). It is defined here rather
  than produced on lookup because hypercorn finds it by evaluating the name in
  the module's namespace, which a module ``__getattr__`` does not reach. It
  loads the app when the server starts the ASGI lifespan protocol, so a
  broken app fails the server's startup (``lifespan.startup.failed``, with the
  traceback) instead of answering every request with an error; a server that
  runs no lifespan loads it at the first request.
* ``wsgi`` is the app object itself, loaded when a WSGI server looks the name
  up at startup (through the module ``__getattr__``).
"""

from __future__ import annotations

import os
import threading
import traceback
import typing as t

if t.TYPE_CHECKING:
    from .app import Flask
    from .asgi import Receive, Scope, Send

_lock = threading.Lock()
_loaded: Flask | None = None


def load_app() -> Flask:
    """The app this module serves: found and loaded on the first call, the same one after."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = _find_app()
        return _loaded


def _find_app() -> Flask:
    from ._alias import install_as_flask

    # First of all: the dotenv files may name a module that imports flask.
    install_as_flask()

    from .cli import ScriptInfo, load_dotenv
    from .helpers import get_load_dotenv

    if get_load_dotenv():
        load_dotenv()
    return ScriptInfo(app_import_path=os.environ.get("FLASK_APP") or None).load_app()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI 3 application: the loaded app's ``asgi_app``."""
    if _loaded is None and scope["type"] == "lifespan":
        try:
            load_app()
        except Exception:
            await _fail_startup(receive, send, traceback.format_exc())
            return
    flask_app = _loaded if _loaded is not None else load_app()
    await flask_app.asgi_app(scope, receive, send)


async def _fail_startup(receive: Receive, send: Send, reason: str) -> None:
    # The server waits for an answer to its startup message; this one makes it
    # stop and show the reason.
    await receive()
    await send({"type": "lifespan.startup.failed", "message": reason})


def __getattr__(name: str) -> Flask:
    if name == "wsgi":
        return load_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
