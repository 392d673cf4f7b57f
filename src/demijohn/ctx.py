"""Application and request contexts.

A context is pushed by setting its :class:`~contextvars.ContextVar` and popped
by resetting the token that push returned, so nesting, threads, greenlets and
asyncio tasks all see the right object without a stack of our own.
"""

from __future__ import annotations

import sys
import typing as t
from functools import cached_property, update_wrapper
from types import TracebackType

from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import RequestRedirect

from .globals import _cv_app, _cv_request
from .sessions import opens_on_first_use
from .signals import appcontext_popped, appcontext_pushed, pipeline_receivers
from .wrappers import scope_header, scope_routing_input

if t.TYPE_CHECKING:
    from contextvars import Token

    from _typeshed.wsgi import WSGIEnvironment
    from werkzeug.routing import MapAdapter

    from .app import Flask
    from .sessions import SessionMixin
    from .wrappers import Request

_sentinel = object()
F = t.TypeVar("F", bound=t.Callable[..., t.Any])
#: This package's import name (``demijohn``).
_PACKAGE = __name__.partition(".")[0]


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
            # Named as the app's code imports it: ``flask.g`` under the alias.
            package = "flask" if sys.modules.get("flask") is sys.modules[_PACKAGE] else _PACKAGE
            return f"<{package}.g of '{ctx.app.name}'>"
        return object.__repr__(self)


#: A context's ``_url_adapter`` before the map is bound (``None`` means binding failed).
_UNBOUND = object()


class AppContext:
    """The application context: makes ``current_app`` and ``g`` available.

    It is pushed for every request, for CLI commands, and explicitly with
    ``with app.app_context():``. Each push of a new object gets a fresh ``g``.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._cv_tokens: list[Token[AppContext]] = []

    @cached_property
    def g(self) -> _AppCtxGlobals:
        """This context's :data:`~demijohn.g`: one per context, made on first use.

        Most requests never touch it. Once made (or assigned) it is a plain
        attribute.
        """
        return self.app.app_ctx_globals_class()

    #: The URL map bound without a request, once :attr:`url_adapter` is read.
    _url_adapter: MapAdapter | object | None = _UNBOUND

    @property
    def url_adapter(self) -> MapAdapter | None:
        """The URL map bound for building URLs outside a request (``None`` without ``SERVER_NAME``).

        Bound on first use: during a request the request's own adapter builds URLs.
        """
        adapter = self._url_adapter
        if adapter is _UNBOUND:
            adapter = self._url_adapter = self.app.create_url_adapter(None)
        return adapter  # type: ignore[return-value]

    @url_adapter.setter
    def url_adapter(self, value: MapAdapter | None) -> None:
        self._url_adapter = value

    def push(self) -> None:
        """Bind this context to the current execution context."""
        self._cv_tokens.append(_cv_app.set(self))
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Unbind this context; the outermost pop runs the teardown functions."""
        try:
            app = self.app
            # Skipped where it would do nothing (most apps, most requests).
            if len(self._cv_tokens) == 1 and (
                app.teardown_appcontext_funcs
                or app._teardown_replaced
                or not (pipeline_receivers.none_known or pipeline_receivers.none_connected())
            ):
                if exc is _sentinel:
                    exc = sys.exc_info()[1]
                app.do_teardown_appcontext(exc)
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


def _host_binds(host: str | None) -> bool:
    """Whether binding the URL map to a request with this Host header certainly succeeds.

    Werkzeug answers 400 (``BadHost``) when IDNA cannot encode the host: an
    empty label, one longer than 63 characters, non-ASCII text nameprep
    refuses. A short ASCII host without an empty label always binds; any
    other is bound before matching, so it fails as it would in Flask instead
    of reaching the view with no URL adapter for ``url_for``.
    """
    return host is None or (
        len(host) < 64 and host.isascii() and host[:1] != "." and ".." not in host
    )


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
        environ: WSGIEnvironment | None,
        request: Request | None = None,
        session: SessionMixin | None = None,
    ) -> None:
        self.app = app
        if request is None:
            request = app.request_class(environ)  # type: ignore[arg-type]
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
        if self._session_pending:
            self._open_session()
        return self._session  # type: ignore[return-value]

    @session.setter
    def session(self, value: SessionMixin) -> None:
        self._session_pending = False
        self._session = value

    #: Whether opening the session waits for its first use (see
    #: :func:`~demijohn.sessions.opens_on_first_use`).
    _session_pending: bool = False

    def _open_session(self) -> None:
        self._session_pending = False
        interface = self.app.session_interface
        session = interface.open_session(self.app, self.request)
        if session is None:
            session = interface.make_null_session(self.app)
        self._session = session

    def session_to_save(self) -> SessionMixin | None:
        """The session the response saves; ``None`` when saving it would do nothing.

        That is a session never opened, for a request without the session
        cookie. One never opened for a request with the cookie is opened now,
        so that saving it refreshes the cookie as it would have anyway.
        """
        if self._session_pending:
            request = self.request
            environ = request.__dict__.get("environ")
            if environ is not None:
                has_cookie = "HTTP_COOKIE" in environ
            else:  # a request built from an ASGI scope: it is not made yet
                has_cookie = scope_header(request, b"cookie") is not None
            if not has_cookie:
                return None
            app = self.app
            if app.session_interface.get_cookie_name(app) not in request.cookies:
                return None
        return self.session

    def copy(self) -> RequestContext:
        """A new context for the same request object and session.

        Used to hand the current request to a greenlet or thread.
        """
        return self.__class__(
            self.app, self.request.environ, request=self.request, session=self.session
        )

    def match_request(self) -> None:
        """Match the URL, storing the rule and arguments or the routing exception."""
        self._matched = True
        request = self.request
        # A request built from an ASGI scope has no environ until read: the
        # scope answers instead (``Request``).
        environ = request.__dict__.get("environ")
        # (The scope's raw bytes are checked as they are, without decoding.)
        host: str | bytes | None = (
            environ.get("HTTP_HOST") if environ is not None else scope_header(request, b"host")
        )
        malformed, binds = _host_checks.get(host) or _check_host(host)
        if request.routing_exception is None and malformed:
            # Checked before either routing path, so that neither answers
            # (a 404, a match) for a request no host could have been sent.
            request.routing_exception = BadRequest("The 'Host' header is not valid.")
            return
        if self._url_adapter is _UNBOUND and binds:
            # The map's indexes answer where Werkzeug's answer is certain
            # (routing.py), without binding the map to the request.
            url_map = self.app.url_map
            try:
                if environ is not None:
                    found = url_map.match_environ(environ)  # type: ignore[attr-defined]
                else:
                    path, method = scope_routing_input(request)
                    found = url_map.match_path(path, method)  # type: ignore[attr-defined]
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
            if isinstance(e, RequestRedirect):
                # The redirect copies the query string as the client sent it:
                # a raw CR or LF there would make the Location header refuse
                # the URL (a 500). Escaped as the header is escaped anyway.
                e.new_url = escape_line_breaks(e.new_url)
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
            if opens_on_first_use(self.app.session_interface):
                self._session_pending = True
            else:
                self._open_session()

        if not self._matched:
            self.match_request()

    def pop(self, exc: BaseException | None = _sentinel) -> None:  # type: ignore[assignment]
        """Unbind this context; the outermost pop runs the request teardown first.

        While a stream holds the request open (:func:`~demijohn.stream_with_context`),
        the outermost pop only unbinds it: the teardown waits for the stream's end.
        """
        clear_request = len(self._cv_tokens) == 1
        if clear_request and self._stream_holds:
            self._defer_teardown()
            return
        try:
            if clear_request:
                if exc is _sentinel:
                    exc = sys.exc_info()[1]  # (what the app context's pop sees too)
                app = self.app
                try:
                    # Skipped where it would do nothing (most apps, most requests).
                    if (
                        app.teardown_request_funcs
                        or app._teardown_replaced
                        or not (
                            pipeline_receivers.none_known or pipeline_receivers.none_connected()
                        )
                    ):
                        app.do_teardown_request(exc)
                finally:
                    # Even after a failing teardown function: uploaded files
                    # spooled to disk must not outlive the request.
                    self.request.close()
        finally:
            ctx = _cv_request.get()
            token, app_ctx = self._cv_tokens.pop()
            _cv_request.reset(token)
            if clear_request:
                # Break the environ -> request reference cycle Werkzeug keeps
                # (an environ not made yet holds nothing).
                environ = ctx.request.__dict__.get("environ")
                if environ is not None:
                    environ["werkzeug.request"] = None
                if ctx.request.routing_exception is not None:
                    _drop_tracebacks(ctx.request.routing_exception)
            if app_ctx is not None:
                app_ctx.pop(exc)
        if ctx is not self:
            raise AssertionError(f"Popped wrong request context. ({ctx!r} instead of {self!r})")

    # -- streamed responses: held open past the pipeline's pop -----------------

    #: Streams (``stream_with_context``) holding the request open.
    _stream_holds: int = 0
    #: The app context current when a stream was made: current again around its steps.
    _stream_app_ctx: AppContext | None = None
    #: Whether the outermost pop came while streams held the request: the
    #: teardown is then the last stream's to run.
    _teardown_deferred: bool = False
    #: The app context this context had pushed, unbound by that deferred pop.
    _deferred_app_ctx: AppContext | None = None

    def _hold_for_stream(self) -> None:
        """Keep the request open (no teardown) until :meth:`_release_stream`.

        Called while this context is current. Nothing is left bound to the
        caller's context: each step of the stream binds the request again
        (:meth:`_enter_for_stream`), wherever it runs (a worker thread, a
        task, the garbage collector closing a dropped stream).
        """
        self._stream_holds += 1
        self._stream_app_ctx = _cv_app.get(None)

    def _enter_for_stream(self) -> tuple[Token[AppContext], Token[RequestContext]]:
        """Bind this request and its app context for one step of a stream (no hooks run)."""
        return _cv_app.set(self._stream_app_ctx), _cv_request.set(self)  # type: ignore[arg-type]

    @staticmethod
    def _leave_for_stream(tokens: tuple[Token[AppContext], Token[RequestContext]]) -> None:
        """Undo :meth:`_enter_for_stream`."""
        _cv_request.reset(tokens[1])
        _cv_app.reset(tokens[0])

    def _defer_teardown(self) -> None:
        """The outermost pop while streams hold the request: unbind, tear down later."""
        token, app_ctx = self._cv_tokens.pop()
        _cv_request.reset(token)
        if app_ctx is not None:
            # Unbound without its pop: its teardown too waits for the stream.
            _cv_app.reset(app_ctx._cv_tokens.pop())
        self._deferred_app_ctx = app_ctx
        self._teardown_deferred = True

    def _release_stream(self, exc: BaseException | None) -> None:
        """A stream is done (finished, failed, closed or dropped): the last one tears down.

        The teardown runs here, in whatever context the stream ended in, with
        the request and its app context bound for it and unbound after.
        ``exc`` is what ended the stream (``GeneratorExit`` when it was
        closed early), as the teardown functions see it.
        """
        self._stream_holds -= 1
        if self._stream_holds or not self._teardown_deferred:
            return  # another stream holds it, or the pipeline's pop is still to come
        self._teardown_deferred = False
        app_ctx = self._deferred_app_ctx
        self._deferred_app_ctx = None
        outer = None
        if app_ctx is not None:
            app_ctx._cv_tokens.append(_cv_app.set(app_ctx))
        else:
            # The request ran in an app context it did not push: current again
            # for the teardown functions, and no more after.
            outer = _cv_app.set(self._stream_app_ctx)  # type: ignore[arg-type]
        self._cv_tokens.append((_cv_request.set(self), app_ctx))
        try:
            self.pop(exc)
        finally:
            if outer is not None:
                _cv_app.reset(outer)

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


def _host_is_malformed(host: str | None) -> bool:
    """Whether the ``Host`` header holds what no host name can.

    That is a control character, or a byte outside ASCII (an undecodable
    name: IDNs travel as punycode). RFC 9112 asks for a 400 then. Other odd
    hosts (an underscore, say) are left to Werkzeug, which reads them as an
    empty ``request.host`` and serves the request.
    """
    return host is not None and not (host.isascii() and host.isprintable())


#: ``Host`` header -> (:func:`_host_is_malformed`, :func:`_host_binds`), for
#: the hosts seen so far: a server is reached by a few. Hosts are the
#: client's to choose: past the bound, they are checked each time. A header
#: is a key as the environ has it (text) or as an ASGI scope has it (bytes,
#: which the environ decodes as latin-1, one to one).
_host_checks: dict[str | bytes | None, tuple[bool, bool]] = {}
_MAX_CACHED_HOSTS = 512


def _check_host(host: str | bytes | None) -> tuple[bool, bool]:
    text = host.decode("latin-1") if isinstance(host, bytes) else host
    checks = (_host_is_malformed(text), _host_binds(text))
    if len(_host_checks) < _MAX_CACHED_HOSTS:
        _host_checks[host] = checks
    return checks


def escape_line_breaks(url: str) -> str:
    """``url`` with CR and LF percent-encoded, fit for a ``Location`` header.

    A location built from what a client sent may hold them; the header would
    refuse the value (a 500), and escaping is what the header does to other
    unsafe characters anyway.
    """
    return url.replace("\r", "%0D").replace("\n", "%0A")


def _drop_tracebacks(exc: BaseException) -> None:
    """Drop the tracebacks of a finished request's routing exception and its chain.

    Their frames hold the request, which holds the exception: a cycle keeping
    the request, the app and every caller's frame alive until the cyclic
    collector runs. The exception objects themselves stay.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__


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
