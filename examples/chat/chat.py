"""A one-room chat over WebSockets: every message goes to everyone connected.

Run it from this folder with ``uvicorn --factory chat:create_app`` or
``demijohn --app chat run`` (see README.md). One process only: the
broadcaster lives in the process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import typing as t

from demijohn import Flask, redirect, render_template, request, session, url_for, websocket

#: Messages a client may fall behind by; past that it misses messages.
BACKLOG = 100
#: Longest name and message kept, in characters.
MAX_NAME = 30
MAX_TEXT = 500


class Broadcaster:
    """Fans each published message out to every subscriber's queue.

    A subscriber is one connected client: an :class:`asyncio.Queue` and the
    event loop it belongs to. Delivery goes through that loop's
    ``call_soon_threadsafe``, so :meth:`publish` may be called from any thread
    or loop: a ``def`` view runs in a worker thread, and the test client gives
    each WebSocket connection a loop of its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[t.Any]]] = set()

    def __len__(self) -> int:
        return len(self._subscribers)

    @contextlib.contextmanager
    def subscribe(self) -> t.Iterator[asyncio.Queue[t.Any]]:
        """A queue receiving every message published while the block runs."""
        queue: asyncio.Queue[t.Any] = asyncio.Queue(BACKLOG)
        subscriber = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.add(subscriber)
        try:
            yield queue
        finally:
            with self._lock:
                self._subscribers.discard(subscriber)

    def publish(self, message: t.Any) -> None:
        """Hand ``message`` to every subscriber (without waiting for any of them)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            # A loop closed meanwhile: that client has gone.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_offer, queue, message)


def _offer(queue: asyncio.Queue[t.Any], message: t.Any) -> None:
    # A client too slow to keep up misses messages rather than holding up the others.
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(message)


def create_app(test_config: dict[str, t.Any] | None = None) -> Flask:
    """The chat app: the page at ``/``, the WebSocket at ``/ws``."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "dev"  # set FLASK_SECRET_KEY in production
    app.config.from_prefixed_env()
    if test_config:
        app.config.update(test_config)
    broadcaster = app.extensions["chat"] = Broadcaster()

    @app.get("/")
    def index() -> str:
        return render_template("index.html", name=session.get("name"))

    @app.post("/")
    def set_name() -> t.Any:
        name = request.form.get("name", "").strip()[:MAX_NAME]
        if name:
            session["name"] = name
        return redirect(url_for("index"))

    @app.websocket("/ws")
    async def chat() -> None:
        # ``?name=`` (handy for scripts and tests), else the name the page saved.
        name = websocket.args.get("name", "").strip()[:MAX_NAME]
        name = name or session.get("name") or "anonymous"
        with broadcaster.subscribe() as inbox:
            await websocket.accept()
            sender = asyncio.create_task(_forward(inbox))
            broadcaster.publish({"event": "join", "user": name})
            try:
                while True:
                    data = await websocket.receive()
                    text = data.strip()[:MAX_TEXT] if isinstance(data, str) else ""
                    if text:
                        broadcaster.publish({"event": "message", "user": name, "text": text})
            finally:
                # Reached on a disconnect too: the handler is cancelled while it waits.
                sender.cancel()
                broadcaster.publish({"event": "leave", "user": name})

    return app


async def _forward(inbox: asyncio.Queue[t.Any]) -> None:
    """Send this client everything published, in order."""
    while True:
        await websocket.send_json(await inbox.get())
