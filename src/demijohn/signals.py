"""The Blinker signals Flask sends, under Flask's names.

Every signal is sent with the application as sender. Senders in the request
pipeline check ``signal.receivers`` first, so an unconnected signal costs one
attribute lookup per request; while none of them has a receiver at all
(:data:`pipeline_receivers`), the pipeline skips even those.
"""

from __future__ import annotations

import threading
import typing as t

from blinker import Namespace, Signal

__all__ = [
    "Namespace",
    "ReceiverWatch",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_request_exception",
    "message_flashed",
    "pipeline_receivers",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "template_rendered",
]

_signals = Namespace()

#: Sent after a template was rendered, with ``template`` and ``context``.
template_rendered = _signals.signal("template-rendered")
#: Sent before a template is rendered, with ``template`` and ``context``.
before_render_template = _signals.signal("before-render-template")
#: Sent when request handling starts, before the ``before_request`` hooks.
request_started = _signals.signal("request-started")
#: Sent with the final ``response`` before it is handed to the server.
request_finished = _signals.signal("request-finished")
#: Sent during request teardown, with the ``exc`` that ended it (or ``None``).
request_tearing_down = _signals.signal("request-tearing-down")
#: Sent with the ``exception`` when an unhandled exception reaches the app.
got_request_exception = _signals.signal("got-request-exception")
#: Sent during app context teardown, with the ``exc`` (or ``None``).
appcontext_tearing_down = _signals.signal("appcontext-tearing-down")
#: Sent when an application context is pushed.
appcontext_pushed = _signals.signal("appcontext-pushed")
#: Sent when an application context is popped.
appcontext_popped = _signals.signal("appcontext-popped")
#: Sent by :func:`~demijohn.flash` with ``message`` and ``category``.
message_flashed = _signals.signal("message-flashed")


class ReceiverWatch:
    """Whether none of some signals has a receiver, known without asking each of them.

    Once a check has found none, :attr:`none_known` stays true until a
    receiver connects to one of them (Blinker's ``receiver_connected``). A
    receiver that disconnects only makes it true again at the next check.
    A hot path reads :attr:`none_known` first and calls
    :meth:`none_connected` only when it is false.
    """

    def __init__(self, signals: t.Iterable[Signal]) -> None:
        self.signals = tuple(signals)
        #: True when no signal had a receiver at the last check, and none
        #: has connected since.
        self.none_known = False
        # Orders a check against a connect in another thread: Blinker adds
        # the receiver before it reports it, so a check either sees the
        # receiver or is followed by the reset.
        self._lock = threading.Lock()
        for signal in self.signals:
            signal.receiver_connected.connect(self._connected, weak=False)

    def _connected(self, signal: Signal, /, **kwargs: t.Any) -> None:
        # (Positional-only: Blinker passes the receiver's own ``sender`` by keyword.)
        with self._lock:
            self.none_known = False

    def none_connected(self) -> bool:
        """Whether no signal has a receiver; asks each only when not known."""
        if self.none_known:
            return True
        with self._lock:
            self.none_known = not any(signal.receivers for signal in self.signals)
            return self.none_known


#: The signals the request pipeline sends. While none has a receiver, the
#: contexts skip the teardown methods that would do nothing, and the ASGI
#: door may await an ``async def`` view itself (a receiver may be ``async
#: def``: only a bridge greenlet can wait for one).
pipeline_receivers = ReceiverWatch(
    (
        request_started,
        request_finished,
        got_request_exception,
        request_tearing_down,
        appcontext_pushed,
        appcontext_popped,
        appcontext_tearing_down,
    )
)
