"""The context-local proxies: ``current_app``, ``g``, ``request``, ``session``, ``websocket``.

Each active context lives in a :class:`contextvars.ContextVar`, so threads,
greenlets and asyncio tasks each see their own. The proxies are Werkzeug
:class:`~werkzeug.local.LocalProxy` objects bound to those variables: they are
falsy when unbound and offer ``_get_current_object()``, as extensions expect.
"""

from __future__ import annotations

import typing as t
from contextvars import ContextVar

from werkzeug.local import LocalProxy

T = t.TypeVar("T")

if t.TYPE_CHECKING:
    from .app import Flask
    from .ctx import AppContext, RequestContext, _AppCtxGlobals
    from .sessions import SessionMixin
    from .websockets import Websocket
    from .wrappers import Request


class _ContextProxy(LocalProxy[T]):
    """A :class:`~werkzeug.local.LocalProxy` whose attribute reads cost less.

    ``request.form`` and ``current_app.config`` are read many times per
    request. The base class answers them through a descriptor that binds
    ``getattr`` with a :func:`functools.partial`; this plain ``__getattr__``
    reads the attribute off the current object directly, and the names of the
    proxied class (see :func:`forward_attributes`) skip even that.
    Everything else (setting, deleting, operators, the unbound error) is the
    base class's.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._get_current_object(), name)

    def __repr__(self) -> str:
        # The bound object's repr, as the base class gives; unbound, the base
        # class would name this subclass: read as Werkzeug's own proxy does.
        try:
            obj = self._get_current_object()
        except RuntimeError:
            return "<LocalProxy unbound>"
        return repr(obj)


class _Forward:
    """One attribute of the proxied object, as a descriptor on the proxy's class.

    Python 3.11 looks an attribute up on the instance first, and only then
    calls ``__getattr__``, building and discarding an AttributeError between
    the two; a descriptor on the class is found at once.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __get__(self, proxy: LocalProxy[t.Any] | None, owner: type | None = None) -> t.Any:
        if proxy is None:
            return self
        return getattr(proxy._get_current_object(), self._name)


def forward_attributes(proxy: object, cls: type, *instance_names: str) -> None:
    """Give ``proxy`` a :class:`_Forward` for each public attribute name of ``cls``.

    ``instance_names`` are the attributes ``cls`` sets in ``__init__``, which
    ``dir(cls)`` cannot see. Called once, where ``cls`` is defined. Other
    names (a subclass's own, one added later) still go through
    ``__getattr__``, and a forwarded name that the current object lacks
    raises AttributeError as before.
    """
    proxy_class = type(proxy)
    for name in (*dir(cls), *instance_names):
        if not name.startswith("_") and not hasattr(proxy_class, name):
            setattr(proxy_class, name, _Forward(name))


# One class per proxy whose names are forwarded, so that each carries only
# the names of what it proxies.


class _AppProxy(_ContextProxy[T]):
    """The class of ``current_app``: forwards :class:`~demijohn.Flask`'s names."""

    __slots__ = ()


class _RequestProxy(_ContextProxy[T]):
    """The class of ``request``: forwards :class:`~demijohn.Request`'s names."""

    __slots__ = ()


class _SessionProxy(_ContextProxy[T]):
    """The class of ``session``: forwards the cookie session's names."""

    __slots__ = ()


_no_app_msg = """\
Working outside of application context.

This typically means that you attempted to use functionality that needed
the current application. To solve this, set up an application context
with app.app_context(). See the documentation for more information.\
"""
_cv_app: ContextVar[AppContext] = ContextVar("flask.app_ctx")
app_ctx: AppContext = _ContextProxy(  # type: ignore[assignment]
    _cv_app, unbound_message=_no_app_msg
)
current_app: Flask = _AppProxy(  # type: ignore[assignment]
    _cv_app, "app", unbound_message=_no_app_msg
)
g: _AppCtxGlobals = _ContextProxy(  # type: ignore[assignment]
    _cv_app, "g", unbound_message=_no_app_msg
)

_no_req_msg = """\
Working outside of request context.

This typically means that you attempted to use functionality that needed
an active HTTP request. Consult the documentation on testing for
information about how to avoid this problem.\
"""
_cv_request: ContextVar[RequestContext] = ContextVar("flask.request_ctx")
request_ctx: RequestContext = _ContextProxy(  # type: ignore[assignment]
    _cv_request, unbound_message=_no_req_msg
)
request: Request = _RequestProxy(  # type: ignore[assignment]
    _cv_request, "request", unbound_message=_no_req_msg
)
session: SessionMixin = _SessionProxy(  # type: ignore[assignment]
    _cv_request, "session", unbound_message=_no_req_msg
)


_no_websocket_msg = """\
Working outside of websocket context.

This typically means that you attempted to use functionality that needed
an active WebSocket connection, such as 'websocket.receive()', outside a
handler registered with '@app.websocket' (or its hooks). WebSocket
connections are served through the ASGI door only.\
"""
#: The connection being served, set for its handler and hooks (see :mod:`demijohn.websockets`).
_cv_websocket: ContextVar[Websocket] = ContextVar("flask.websocket")
websocket: Websocket = _ContextProxy(  # type: ignore[assignment]
    _cv_websocket, unbound_message=_no_websocket_msg
)


def _get_request_ctx() -> RequestContext:
    """The active request context, raising what ``request_ctx`` would when there is none.

    The pipeline's own lookups go through here rather than the proxy, which
    costs several Python calls per attribute.
    """
    try:
        return _cv_request.get()
    except LookupError:
        raise RuntimeError(_no_req_msg) from None
