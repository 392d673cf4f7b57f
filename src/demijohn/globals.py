"""The context-local proxies: ``current_app``, ``g``, ``request`` and ``session``.

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
    from .wrappers import Request


class _ContextProxy(LocalProxy[T]):
    """A :class:`~werkzeug.local.LocalProxy` whose attribute reads cost one call.

    ``request.form`` and ``g.user`` are read many times per request. The base
    class answers them through a descriptor that binds ``getattr`` with a
    :func:`functools.partial`; this plain ``__getattr__`` reads the attribute
    off the current object directly. Everything else (setting, deleting,
    operators, the unbound error) is the base class's.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._get_current_object(), name)


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
current_app: Flask = _ContextProxy(  # type: ignore[assignment]
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
request: Request = _ContextProxy(  # type: ignore[assignment]
    _cv_request, "request", unbound_message=_no_req_msg
)
session: SessionMixin = _ContextProxy(  # type: ignore[assignment]
    _cv_request, "session", unbound_message=_no_req_msg
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
