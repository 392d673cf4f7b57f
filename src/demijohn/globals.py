"""The context-local proxies: ``current_app``, ``g``, ``request``, ``session``, ``websocket``.

Each active context lives in a :class:`contextvars.ContextVar`, so threads,
greenlets and asyncio tasks each see their own. The proxies are Werkzeug
:class:`~werkzeug.local.LocalProxy` objects bound to those variables (see
:mod:`demijohn._proxies` for their cheaper attribute reads): they are falsy
when unbound and offer ``_get_current_object()``, as extensions expect.
"""

from __future__ import annotations

import typing as t
from contextvars import ContextVar

from ._proxies import context_proxy

if t.TYPE_CHECKING:
    from .app import Flask
    from .ctx import AppContext, RequestContext, _AppCtxGlobals
    from .sessions import SessionMixin
    from .websockets import Websocket
    from .wrappers import Request


_no_app_msg = """\
Working outside of application context.

This typically means that you attempted to use functionality that needed
the current application. To solve this, set up an application context
with app.app_context(). See the documentation for more information.\
"""
_cv_app: ContextVar[AppContext] = ContextVar("flask.app_ctx")
app_ctx: AppContext = context_proxy(_cv_app, unbound_message=_no_app_msg)
current_app: Flask = context_proxy(_cv_app, "app", unbound_message=_no_app_msg)
g: _AppCtxGlobals = context_proxy(_cv_app, "g", unbound_message=_no_app_msg)

_no_req_msg = """\
Working outside of request context.

This typically means that you attempted to use functionality that needed
an active HTTP request. Consult the documentation on testing for
information about how to avoid this problem.\
"""
_cv_request: ContextVar[RequestContext] = ContextVar("flask.request_ctx")
request_ctx: RequestContext = context_proxy(_cv_request, unbound_message=_no_req_msg)
request: Request = context_proxy(_cv_request, "request", unbound_message=_no_req_msg)
session: SessionMixin = context_proxy(_cv_request, "session", unbound_message=_no_req_msg)


_no_websocket_msg = """\
Working outside of websocket context.

This typically means that you attempted to use functionality that needed
an active WebSocket connection, such as 'websocket.receive()', outside a
handler registered with '@app.websocket' (or its hooks). WebSocket
connections are served through the ASGI door only.\
"""
#: The connection being served, set for its handler and hooks (see :mod:`demijohn.websockets`).
_cv_websocket: ContextVar[Websocket] = ContextVar("flask.websocket")
websocket: Websocket = context_proxy(_cv_websocket, unbound_message=_no_websocket_msg)


def _get_request_ctx() -> RequestContext:
    """The active request context, raising what ``request_ctx`` would when there is none.

    The pipeline's own lookups go through here rather than the proxy, which
    costs several Python calls per attribute.
    """
    try:
        return _cv_request.get()
    except LookupError:
        raise RuntimeError(_no_req_msg) from None
