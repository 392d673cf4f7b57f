"""The Blinker signals Flask sends, under Flask's names.

Every signal is sent with the application as sender. Senders in the request
pipeline check ``signal.receivers`` first, so an unconnected signal costs one
attribute lookup per request.
"""

from __future__ import annotations

from blinker import Namespace

__all__ = [
    "Namespace",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_request_exception",
    "message_flashed",
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
