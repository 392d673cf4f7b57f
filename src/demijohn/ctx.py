"""Application and request contexts.

A context is pushed by setting its :class:`~contextvars.ContextVar` and popped
by resetting the token that push returned, so nesting, threads, greenlets and
asyncio tasks all see the right object without a stack of our own.
"""

from __future__ import annotations

import sys
import typing as t
from functools import update_wrapper
from types import TracebackType

from werkzeug.exceptions import HTTPException

from .globals import _cv_app, _cv_request
from .signals import appcontext_popped, appcontext_pushed

if t.TYPE_CHECKING:
    from contextvars import Token

    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.routing import MapAdapter

    from .app import Flask
    from .sessions import SessionMixin
    from .wrappers import Request

_sentinel = object()
F = t.TypeVar("F", bound=t.Callable[..., t.Any])


class _AppCtxGlobals:
    """The namespace behind :data:`~demijohn.g`: plain attributes for one app context.

    It is deliberately truthy even when empty and keeps its data in
    ``__dict__``, which extensions rely on.
    """

    def get(self, name: str, default: t.Any | None = None) -> t.Any:
        """Return the attribute ``name``, or ``default`` if it is not set."""
        return self.__dict__.get(name, default)

    def pop(self, name: str, default: t.Any = _sentinel) -> t.Any:
        """Remove and return the attribute ``name``.

        Raises :exc:`KeyError` when it is not set and no ``default`` is given.
        """
        if default is _sentinel:
            return self.__dict__.pop(name)
        return self.__dict__.pop(name, default)

    def setdefault(self, name: str, default: t.Any = None) -> t.Any:
        """Return the attribute ``name``, setting it to ``default`` first if missing."""
        return self.__dict__.setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__

    def __iter__(self) -> t.Iterator[str]:
        return iter(self.__dict__)

    def __repr__(self) -> str:
        ctx = _cv_app.get(None)
        if ctx is not None:
            return f"<demijohn.g of {ctx.app.name!r}>"
        return object.__repr__(self)


class AppContext:
    """The application context: makes ``current_app`` and ``g`` available.

    It is pushed for every request, for CLI commands, and explicitly with
    ``with app.app_context():``. Each push of a new object gets a fresh ``g``.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.url_adapter: MapAdapter | None = app.create_url_adapter(None)
        self.g: _AppCtxGlobals = app.app_ctx_globals_class()
        self._cv_tokens: list[Token[AppContext]] = []

    def push(self) -> None:
        """Bind this context to the current execution context."""
        self._cv_tokens.append(_cv_app.set(self))
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Unbind this context; the outermost pop runs the teardown functions."""
        try:
            if len(self._cv_tokens) == 1:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            ctx = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())
        if ctx is not self:
            raise AssertionError(f"Popped wrong app context. ({ctx!r} instead of {self!r})")
        if appcontext_popped.receivers:
            appcontext_popped.send(self.app, _async_wrapper=self.app.ensure_sync)

    def __enter__(self) -> AppContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.app.name!r}>"


#: ``RequestContext._url_adapter`` before the map is bound (``None`` means binding failed).
_UNBOUND = object()


class RequestContext:
    """The request context: makes ``request`` and ``session`` available.

    Pushing it also pushes an app context when none for this app is active,
    opens the session and matches the URL, in that order (a custom session
    interface may depend on running before routing).
    """

    #: Static-file versions looked up by ``url_for`` during this request,
    #: per (folder, filename); made on first use (``helpers._static_url_version``).
    _static_versions: dict[tuple[str, str], int | None] | None = None
    #: Functions ``app.add_background_task`` queued during this request, as
    #: ``(func, args, kwargs)``; started once the response has been sent.
    _background_tasks: (
        list[tuple[t.Callable[..., t.Any], tuple[t.Any, ...], dict[str, t.Any]]] | None
    ) = None
    #: Whether the URL was matched already (the ASGI door matches before
    #: pushing, to choose where the request runs); pushing then does not again.
    _matched: bool = False

    def __init__(
        self,
        app: Flask,
        environ: WSGIEnvironment,
        request: Request | None = None,
        session: SessionMixin | None = None,
    ) -> None:
        self.app = app
        if request is None:
            request = app.request_class(environ)
        self.request: Request = request
        self._url_adapter: MapAdapter | object | None = _UNBOUND
        if not app._binds_url_adapter_lazily():
            self._bind_url_adapter()
        #: Flashed messages read during this request, once loaded.
        self.flashes: list[tuple[str, str]] | None = None
        # ``_session`` is the backing field extensions (Flask-SocketIO) write to.
        self._session: SessionMixin | None = session
        self._after_request_functions: list[t.Callable[[t.Any], t.Any]] = []
        self._cv_tokens: list[tuple[Token[RequestContext], AppContext | None]] = []

    def _bind_url_adapter(self) -> MapAdapter | None:
        self._url_adapter = None
        try:
            self._url_adapter = self.app.create_url_adapter(self.request)
        except HTTPException as e:
            self.request.routing_exception = e
        return self._url_adapter

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL map bound to this request (``None`` if binding failed).

        With a plain configuration it is bound on first use: a request that
        matched a static rule and builds no URL never needs it.
        """
        adapter = self._url_adapter
        if adapter is _UNBOUND:
            return self._bind_url_adapter()
        return adapter  # type: ignore[return-value]

    @url_adapter.setter
    def url_adapter(self, value: MapAdapter | None) -> None:
        self._url_adapter = value

    @property
    def session(self) -> SessionMixin:
        """The session opened for this request (a null session without a secret key)."""
        return self._session  # type: ignore[return-value]

    @session.setter
    def session(self, value: SessionMixin) -> None:
        self._session = value

    def copy(self) -> RequestContext:
        """A new context for the same request object and session.

        Used to hand the current request to a greenlet or thread.
        """
        return self.__class__(
            self.app, self.request.environ, request=self.request, session=self._session
        )

    def match_request(self) -> None:
        """Match the URL, storing the rule and arguments or the routing exception."""
        self._matched = True
        request = self.request
        if self._url_adapter is _UNBOUND:
            # The map's indexes answer where Werkzeug's answer is certain
            # (routing.py), without binding the map to the request.
            try:
                found = self.app.url_map.match_environ(request.environ)  # type: ignore[attr-defined]
            except HTTPException as e:
                request.routing_exception = e
                return
            if found is not None:
                request.url_rule, request.view_args = found
                return
        adapter = self.url_adapter
        if adapter is None:
            return
        try:
            rule, args = adapter.match(return_rule=True)
        except HTTPException as e:
            self.request.routing_exception = e
        else:
            self.request.url_rule = rule
            self.request.view_args = dict(args)

    def push(self) -> None:
        """Bind this context (and an app context when needed), open the session, match."""
        app_ctx = _cv_app.get(None)
        if app_ctx is None or app_ctx.app is not self.app:
            app_ctx = self.app.app_context()
            app_ctx.push()
        else:
            app_ctx = None
        self._cv_tokens.append((_cv_request.set(self), app_ctx))

        if self._session is None:
            interface = self.app.session_interface
            self._session = interface.open_session(self.app, self.request)
            if self._session is None:
                self._session = interface.make_null_session(self.app)

        if not self._matched:
            self.match_request()

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Unbind this context; the outermost pop runs the request teardown first."""
        clear_request = len(self._cv_tokens) == 1
        try:
            if clear_request:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_request(exc)
                self.request.close()
        finally:
            ctx = _cv_request.get()
            token, app_ctx = self._cv_tokens.pop()
            _cv_request.reset(token)
            if clear_request:
                # Break the environ -> request reference cycle Werkzeug keeps.
                ctx.request.environ["werkzeug.request"] = None
            if app_ctx is not None:
                app_ctx.pop(exc)
        if ctx is not self:
            raise AssertionError(f"Popped wrong request context. ({ctx!r} instead of {self!r})")

    def __enter__(self) -> RequestContext:
        self.push()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.pop(exc_value)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.request.url!r}"
            f" [{self.request.method}] of {self.app.name}>"
        )


def after_this_request(f: F) -> F:
    """Run ``f(response)`` after the current request, before ``after_request`` hooks.

    It must return a response object (the same or a new one).
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'after_this_request' can only be used when a request"
            " context is active, such as in a view function."
        )
    ctx._after_request_functions.append(f)
    return f


def copy_current_request_context(f: F) -> F:
    """Decorate ``f`` so it runs inside a copy of the current request context.

    The copy is taken when decorating, so the function can run later in a
    greenlet or thread and still see ``request`` and ``session``.
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'copy_current_request_context' can only be used when a"
            " request context is active, such as in a view function."
        )
    copied = ctx.copy()

    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        with copied:
            return copied.app.ensure_sync(f)(*args, **kwargs)

    return update_wrapper(wrapper, f)  # type: ignore[return-value]


def has_request_context() -> bool:
    """Whether a request context is active (``request`` and ``session`` usable)."""
    return _cv_request.get(None) is not None


def has_app_context() -> bool:
    """Whether an application context is active (``current_app`` and ``g`` usable)."""
    return _cv_app.get(None) is not None
