"""The application class: :class:`Flask`, the request pipeline and its two doors.

:class:`~demijohn.sansio.app.App` holds the configuration and the registries;
:class:`Flask` adds what serves requests. One pipeline for both doors: push
the contexts (session opened, URL matched), ``request_started``, URL value
preprocessors, ``before_request`` hooks, the view, return-value conversion,
``after_request`` hooks, save the session, ``request_finished``, teardown,
pop. It works on a WSGI environ: :meth:`Flask.wsgi_app` runs it for WSGI, and
``demijohn.asgi`` runs the same steps for ASGI on an environ made from the
scope.
"""

from __future__ import annotations

import collections.abc as cabc
import inspect
import os
import sys
import typing as t
import weakref
from contextlib import suppress
from functools import update_wrapper
from inspect import CO_ASYNC_GENERATOR, CO_COROUTINE, CO_GENERATOR, CO_ITERABLE_COROUTINE
from itertools import chain
from types import FunctionType, TracebackType
from urllib.parse import quote as _url_quote

import click
from werkzeug.datastructures import Headers
from werkzeug.exceptions import (
    BadRequestKeyError,
    HTTPException,
    InternalServerError,
)
from werkzeug.routing import BuildError, MapAdapter, RequestRedirect, Rule
from werkzeug.routing.exceptions import RoutingException
from werkzeug.wrappers import Response as BaseResponse

from . import cli
from . import typing as ft
from ._overrides import overrides
from ._shortcuts.cpython import is_marked_coroutine_function, mark_coroutine_function
from .blueprints import ServesFiles
from .ctx import AppContext, RequestContext
from .globals import (
    _cv_app,
    _cv_request,
    _get_request_ctx,
    g,
    request,
    request_ctx,
    session,
)
from .helpers import (
    _static_url_version,
    get_debug_flag,
    get_flashed_messages,
    get_load_dotenv,
)
from .routing import IndexedMap
from .sansio.app import App
from .sansio.scaffold import Scaffold
from .sessions import SecureCookieSessionInterface, SessionInterface
from .signals import (
    appcontext_tearing_down,
    got_request_exception,
    request_finished,
    request_started,
    request_tearing_down,
)
from .templating import Environment, weak_method
from .wrappers import Request, Response, buffered_response, error_response

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .asgi import Receive, Scope, Send
    from .testing import FlaskClient, FlaskCliRunner

R = t.TypeVar("R")


# Characters left unquoted in a URL fragment.
_ANCHOR_SAFE = "%!#$&'()*+,/:;=?@"

#: Bounds ``Flask._sync_wrappers``: registered functions are few; functions
#: made on the fly must not pile up.
_SYNC_WRAPPER_CACHE_SIZE = 256


def _sync_wrapper(
    func: t.Callable[..., t.Coroutine[t.Any, t.Any, t.Any]],
) -> t.Callable[..., t.Any]:
    from . import _async

    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return _async.run_sync(func(*args, **kwargs))
        except BaseException as e:
            _clear_plumbing_frames(e.__traceback__)
            raise

    return update_wrapper(wrapper, func)


def _clear_plumbing_frames(tb: TracebackType | None) -> None:
    """Clear the locals of the event loop's frames between a sync wrapper and its coroutine.

    The loop running the coroutine holds its task in a local (asyncio's
    ``run_until_complete`` too) and the task holds the exception: a cycle
    through the traceback that keeps the request and the app alive until
    the collector runs. Only those frames (``demijohn._async``, ``asyncio``)
    are cleared; the clearing stops at the first other one (the view's).
    """
    tb = tb.tb_next if tb is not None else None  # the wrapper's frame still runs
    while tb is not None:
        frame = tb.tb_frame
        module = frame.f_globals.get("__name__", "")
        if module != "demijohn._async" and not module.startswith("asyncio."):
            return
        if not frame.f_code.co_flags & _GENERATOR_FLAGS:  # a suspended one would be closed
            with suppress(RuntimeError):  # still executing: nothing to clear
                frame.clear()
        tb = tb.tb_next


_GENERATOR_FLAGS = CO_COROUTINE | CO_GENERATOR | CO_ASYNC_GENERATOR | CO_ITERABLE_COROUTINE


#: The methods through which the pipeline calls a view. The ASGI door awaits
#: an ``async def`` view itself only while none of them is replaced, on the
#: class or the instance (an extension may patch ``dispatch_request``).
VIEW_CALLERS = (
    "run_pipeline",
    "full_dispatch_request",
    "dispatch_request",
    "ensure_sync",
    "async_to_sync",
)
#: The methods whose replacement (see :meth:`Flask._note_replacements`) changes
#: the path a request takes through the doors and the contexts.
_WATCHED_METHODS = frozenset(
    (
        *VIEW_CALLERS,
        "asgi_app",
        "wsgi_app",
        "request_context",
        "do_teardown_request",
        "do_teardown_appcontext",
    )
)


#: The ASGI door's entry, imported with the first ASGI call: it brings
#: asyncio, greenlet and a thread pool, which a WSGI worker never loads
#: (about 3 MiB of resident memory per worker).
_serve_asgi: t.Callable[[Flask, Scope, Receive, Send], t.Awaitable[None]] | None = None
#: Its HTTP server, which ``__call__`` calls without the choice by scope type.
_serve_http: t.Callable[[Flask, Scope, Receive, Send], t.Awaitable[None]] | None = None


def _asgi_entry() -> t.Callable[[Flask, Scope, Receive, Send], t.Awaitable[None]]:
    global _serve_asgi, _serve_http
    if _serve_asgi is None:
        from .asgi import asgi_app, serve_http

        _serve_asgi, _serve_http = asgi_app, serve_http
    return _serve_asgi


class Flask(ServesFiles, App):
    """The application: :class:`~demijohn.sansio.app.App`'s registries, served.

    It adds the request pipeline and file IO, and it is the WSGI application
    (``app(environ, start_response)``) and the ASGI application
    (``app(scope, receive, send)``) at once.

    :param import_name: the name of the application's module or package,
        usually ``__name__``; it locates ``root_path``, templates and static files.
    :param static_url_path: URL prefix of the static route (default
        ``/<static_folder>``).
    :param static_folder: folder of static files, relative to ``root_path``;
        ``None`` disables the static route.
    :param static_host: the host of the static route, with ``host_matching``.
    :param host_matching: match URL rules by ``host`` too.
    :param subdomain_matching: match the subdomain against ``SERVER_NAME``.
    :param template_folder: folder of templates, relative to ``root_path``.
    :param instance_path: absolute path of the instance folder.
    :param instance_relative_config: resolve config file names against the
        instance folder instead of ``root_path``.
    :param root_path: the app's folder, when it cannot be derived.
    """

    #: The class of :attr:`request` objects.
    request_class: type[Request] = Request
    #: The class of response objects made from view return values.
    response_class: type[Response] = Response
    #: The test client class; :class:`~demijohn.testing.FlaskClient` if ``None``.
    test_client_class: type[FlaskClient] | None = None
    #: The CLI runner class; :class:`~demijohn.testing.FlaskCliRunner` if ``None``.
    test_cli_runner_class: type[FlaskCliRunner] | None = None
    #: The session interface; a signed cookie by default.
    session_interface: SessionInterface = SecureCookieSessionInterface()

    def __init__(
        self,
        import_name: str,
        static_url_path: str | None = None,
        static_folder: str | os.PathLike[str] | None = "static",
        static_host: str | None = None,
        host_matching: bool = False,
        subdomain_matching: bool = False,
        template_folder: str | os.PathLike[str] | None = "templates",
        instance_path: str | None = None,
        instance_relative_config: bool = False,
        root_path: str | None = None,
    ) -> None:
        super().__init__(
            import_name=import_name,
            static_url_path=static_url_path,
            static_folder=static_folder,
            static_host=static_host,
            host_matching=host_matching,
            subdomain_matching=subdomain_matching,
            template_folder=template_folder,
            instance_path=instance_path,
            instance_relative_config=instance_relative_config,
            root_path=root_path,
        )
        # A subclass that binds the map its own way must see every request.
        self._default_url_adapter = not overrides(self, Flask, "create_url_adapter")
        self._note_replacements()
        # Coroutine function -> its sync wrapper; see ``async_to_sync``.
        self._sync_wrappers: dict[t.Callable[..., t.Any], t.Callable[..., t.Any]] = {}

        if self.has_static_folder:
            assert bool(static_host) == host_matching, (
                "Invalid static_host/host_matching combination"
            )
            # A weak reference, so the rule's view does not keep the app alive.
            self_ref = weakref.ref(self)
            self.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                endpoint="static",
                host=static_host,
                view_func=lambda **kw: self_ref().send_static_file(**kw),  # type: ignore[union-attr]
            )

        from .serving import ServingState

        # This process's serving state, and the flag the request pipeline
        # checks: true once this process has started serving.
        self._serving = ServingState()
        self._serving_started = False

    # -- replaced methods -------------------------------------------------------

    # What :meth:`_note_replacements` found, read by the doors on every request.
    # ``__call__`` skips :meth:`asgi_app` unless it is replaced.
    _own_asgi_app: bool
    # The ASGI door serves HTTP through ``wsgi_app`` when it is set on the
    # instance: WSGI middleware (``ProxyFix``, the debugger) wraps every request.
    _wsgi_app_wrapped: bool
    # The ASGI door builds its own request context (for a request built from
    # the scope) only while :meth:`request_context` is ours.
    _request_context_replaced: bool
    # The ASGI door may await an ``async def`` view itself only while the
    # methods that would otherwise call it are these (:data:`VIEW_CALLERS`),
    # and no hook or handler is ``async def`` (``_awaits_views``, decided
    # after the first request).
    _plain_pipeline: bool
    _awaits_views: bool | None
    # The contexts skip the teardown methods when they would do nothing.
    _teardown_replaced: bool

    def _note_replacements(self) -> None:
        """Record which pipeline methods the class or the instance replaces.

        Run once the app is made, and again whenever one of them is set on
        (or deleted from) the instance: extensions patch some
        (``app.wsgi_app = ProxyFix(app.wsgi_app)``, Flask-DebugToolbar's
        ``dispatch_request``). So a request reads these flags instead of
        looking for each name in the instance dict.
        """
        set_flag = super().__setattr__
        set_flag("_own_asgi_app", not overrides(self, Flask, "asgi_app"))
        set_flag("_wsgi_app_wrapped", "wsgi_app" in self.__dict__)
        set_flag("_request_context_replaced", overrides(self, Flask, "request_context"))
        set_flag("_plain_pipeline", not overrides(self, Flask, *VIEW_CALLERS))
        set_flag("_awaits_views", None)
        set_flag(
            "_teardown_replaced",
            overrides(self, Flask, "do_teardown_request", "do_teardown_appcontext"),
        )

    def __setattr__(self, name: str, value: t.Any) -> None:
        super().__setattr__(name, value)
        if name in _WATCHED_METHODS:
            self._note_replacements()

    def __delattr__(self, name: str) -> None:
        super().__delattr__(name)
        if name in _WATCHED_METHODS:
            self._note_replacements()

    # -- files ------------------------------------------------------------------

    def open_instance_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = "utf-8"
    ) -> t.IO[t.AnyStr]:
        """Open a file in the instance folder; unlike resources, it may be written."""
        path = os.path.join(self.instance_path, resource)
        if "b" in mode:
            return open(path, mode)
        return open(path, mode, encoding=encoding)

    # -- templates ------------------------------------------------------------

    def create_jinja_environment(self) -> Environment:
        """Create the Jinja environment from :attr:`jinja_options` and the app."""
        options = dict(self.jinja_options)
        if "autoescape" not in options:
            options["autoescape"] = weak_method(self.select_jinja_autoescape)
        if "auto_reload" not in options:
            auto_reload = self.config["TEMPLATES_AUTO_RELOAD"]
            if auto_reload is None:
                auto_reload = self.debug
            options["auto_reload"] = auto_reload
        env = self.jinja_environment(self, **options)
        env.globals.update(
            url_for=weak_method(self.url_for),
            get_flashed_messages=get_flashed_messages,
            config=self.config,
            request=request,
            session=session,
            g=g,
        )
        env.policies["json.dumps_function"] = self.json.dumps
        return env

    def update_template_context(self, context: dict[str, t.Any]) -> None:
        """Add the context processors' values; values already in ``context`` win."""
        names: t.Iterable[str | None] = (None,)
        ctx = _cv_request.get(None)
        if ctx is not None:
            names = chain(names, reversed(ctx.request.blueprints))
        original = context.copy()
        for name in names:
            if name in self.template_context_processors:
                for func in self.template_context_processors[name]:
                    context.update(self.ensure_sync(func)())
        context.update(original)

    # -- serving: background tasks and the lifespan (Quart's API) ---------------

    def add_background_task(
        self, func: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any
    ) -> None:
        """Run ``func(*args, **kwargs)`` (sync or ``async def``) in the background.

        It runs in an app context of its own (``current_app`` and a fresh ``g``).

        During a request it starts once the response has been sent; anywhere
        else at once. Stopping the app waits for running tasks up to
        ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT`` seconds; errors are logged.
        """
        from .serving import add_background_task

        add_background_task(self, func, *args, **kwargs)

    async def startup(self) -> None:
        """Start serving: run the ``before_serving`` and ``while_serving`` hooks.

        The ASGI lifespan startup calls it; so can tests and embedders.
        """
        from .serving import startup

        await startup(self)

    async def shutdown(self) -> None:
        """Stop serving: wait for background tasks, then run the stopping hooks.

        The ASGI lifespan shutdown calls it; so can tests and embedders.
        """
        from .serving import shutdown

        await shutdown(self)

    def make_shell_context(self) -> dict[str, t.Any]:
        """The namespace of ``demijohn shell``: ``app``, ``g`` and the processors' values."""
        namespace: dict[str, t.Any] = {"app": self, "g": g}
        for processor in self.shell_context_processors:
            namespace.update(processor())
        return namespace

    # -- URLs -------------------------------------------------------------------

    def _binds_url_adapter_lazily(self) -> bool:
        """Whether a request context may bind the URL map on first use instead of at once.

        Only when binding cannot fail or depend on the host (no
        ``TRUSTED_HOSTS``, ``SERVER_NAME``, host or subdomain matching), the
        map can match static rules itself, and ``create_url_adapter`` is ours.
        """
        config = self.config
        return (
            self._default_url_adapter
            and config["TRUSTED_HOSTS"] is None
            and config["SERVER_NAME"] is None
            and not self.subdomain_matching
            and isinstance(self.url_map, IndexedMap)
            and not self.url_map.host_matching
        )

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Bind :attr:`url_map` for a request, or for ``SERVER_NAME`` without one.

        Outside a request, returns ``None`` unless ``SERVER_NAME`` is set.
        ``TRUSTED_HOSTS`` is enforced here (a 400 for other hosts).
        """
        config = self.config
        if request is not None:
            trusted_hosts = config["TRUSTED_HOSTS"]
            if trusted_hosts is not None:
                request.trusted_hosts = trusted_hosts
                # Reading ``host`` validates it against the trusted list.
                request.host  # noqa: B018
            subdomain = None
            server_name = config["SERVER_NAME"]
            if self.url_map.host_matching:
                server_name = None
            elif not self.subdomain_matching:
                # Without subdomain matching, any host reaches the default
                # subdomain's rules, whatever SERVER_NAME says.
                subdomain = self.url_map.default_subdomain or ""
            return self.url_map.bind_to_environ(
                request.environ, server_name=server_name, subdomain=subdomain
            )
        if config["SERVER_NAME"] is not None:
            return self.url_map.bind(
                config["SERVER_NAME"],
                script_name=config["APPLICATION_ROOT"],
                url_scheme=config["PREFERRED_URL_SCHEME"],
            )
        return None

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: t.Any,
    ) -> str:
        """Build the URL for ``endpoint``; see :func:`demijohn.url_for`.

        Inside a request, URLs are relative unless ``_external``; outside one
        they are external and need ``SERVER_NAME``.
        """
        req_ctx = _cv_request.get(None)
        if req_ctx is not None:
            url_adapter = req_ctx.url_adapter
            if endpoint[:1] == ".":
                blueprint_name = req_ctx.request.blueprint
                if blueprint_name is not None:
                    endpoint = f"{blueprint_name}{endpoint}"
                else:
                    endpoint = endpoint[1:]
            if _external is None:
                _external = _scheme is not None
        else:
            app_ctx = _cv_app.get(None)
            # ``==``, not ``is``: the Jinja ``url_for`` calls this with a weak
            # proxy of the app as ``self`` (which equals the app).
            if app_ctx is not None and app_ctx.app == self:
                url_adapter = app_ctx.url_adapter
            else:
                url_adapter = self.create_url_adapter(None)
            if url_adapter is None:
                raise RuntimeError(
                    "Unable to build URLs outside an active request"
                    " without 'SERVER_NAME' configured. Also configure"
                    " 'APPLICATION_ROOT' and 'PREFERRED_URL_SCHEME' as"
                    " needed."
                )
            if _external is None:
                _external = True

        if _scheme is not None and not _external:
            raise ValueError("When specifying '_scheme', '_external' must be True.")

        self.inject_url_defaults(endpoint, values)
        if (endpoint == "static" or endpoint.endswith(".static")) and "filename" in values:
            self._add_static_version(endpoint, values)
        try:
            rv = url_adapter.build(  # type: ignore[union-attr]
                endpoint,
                values,
                method=_method,
                url_scheme=_scheme,
                force_external=_external,
            )
        except BuildError as error:
            values.update(_anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external)
            return self.handle_url_build_error(error, endpoint, values)

        if _anchor is not None:
            rv = f"{rv}#{_url_quote(_anchor, safe=_ANCHOR_SAFE)}"
        return rv

    def _add_static_version(self, endpoint: str, values: dict[str, t.Any]) -> None:
        """Cache busting: add ``v=<mtime>`` to a static file's URL, in debug mode by default.

        ``STATIC_URL_VERSIONING`` turns it on (``True``) or off (``False``)
        whatever the debug mode; ``None`` follows :attr:`debug`. A file that
        does not exist (or a name escaping the folder) gets no version; an
        explicit ``v`` is kept.
        """
        enabled = self.config["STATIC_URL_VERSIONING"]
        if enabled is None:
            enabled = self.debug
        if not enabled or "v" in values:
            return
        filename = values["filename"]
        if not isinstance(filename, str):
            return
        owner: Scaffold = self
        if endpoint != "static":
            blueprint = self.blueprints.get(endpoint.rpartition(".")[0])
            if blueprint is None:
                return
            owner = blueprint
        folder = owner.static_folder
        if folder is None:
            return
        version = _static_url_version(folder, filename)
        if version is not None:
            values["v"] = version

    # -- async ------------------------------------------------------------------

    def ensure_sync(self, func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        """Return ``func`` callable from sync code: coroutine functions are wrapped."""
        # A plain function is the common case, and its code flags tell at
        # once (unless marked with inspect.markcoroutinefunction, 3.12+);
        # anything else (partials, methods, callables) gets the full check.
        if type(func) is FunctionType:
            if func.__code__.co_flags & CO_COROUTINE:
                return self.async_to_sync(func)
            if not is_marked_coroutine_function(func):
                return func
        if inspect.iscoroutinefunction(func):
            return self.async_to_sync(func)
        return func

    def async_to_sync(
        self, func: t.Callable[..., t.Coroutine[t.Any, t.Any, t.Any]]
    ) -> t.Callable[..., t.Any]:
        """Wrap a coroutine function to run on this thread's reusable event loop.

        Override to run coroutines differently (e.g. with asgiref).
        """

        # The pipeline asks for the view's and each hook's wrapper on every
        # request; plain functions (what is registered) get theirs once.
        if type(func) is not FunctionType:
            return _sync_wrapper(func)
        cache = self._sync_wrappers
        wrapper = cache.get(func)
        if wrapper is None:
            if len(cache) >= _SYNC_WRAPPER_CACHE_SIZE:
                cache.clear()
            wrapper = cache[func] = _sync_wrapper(func)
        return wrapper

    # -- the request pipeline -------------------------------------------------

    def app_context(self) -> AppContext:
        """A new application context, for ``with app.app_context():``."""
        return AppContext(self)

    def request_context(self, environ: WSGIEnvironment) -> RequestContext:
        """A new request context for a WSGI environ."""
        return RequestContext(self, environ)

    def test_request_context(self, *args: t.Any, **kwargs: t.Any) -> RequestContext:
        """A request context for a request built from the arguments.

        Takes the same arguments as :class:`werkzeug.test.EnvironBuilder`
        (``path``, ``method``, ``data``, ``json``, ``headers``, ...).
        """
        from .testing import EnvironBuilder

        builder = EnvironBuilder(self, *args, **kwargs)
        try:
            return self.request_context(builder.get_environ())
        finally:
            builder.close()

    def test_client(self, use_cookies: bool = True, **kwargs: t.Any) -> FlaskClient:
        """A test client for the app (``with`` keeps the last request's context)."""
        cls = self.test_client_class
        if cls is None:
            from .testing import FlaskClient

            cls = FlaskClient
        return cls(self, self.response_class, use_cookies=use_cookies, **kwargs)

    def test_cli_runner(self, **kwargs: t.Any) -> FlaskCliRunner:
        """A Click runner invoking the app's CLI commands without discovery."""
        cls = self.test_cli_runner_class
        if cls is None:
            from .testing import FlaskCliRunner

            cls = FlaskCliRunner
        return cls(self, **kwargs)

    def preprocess_request(self) -> ft.ResponseReturnValue | None:
        """Run URL value preprocessors, then ``before_request`` hooks.

        The app's run first, then each blueprint's from the outside in. The
        first hook returning a value ends the request with it.
        """
        url_value_preprocessors = self.url_value_preprocessors
        before_request_funcs = self.before_request_funcs
        if not url_value_preprocessors and not before_request_funcs:
            return None
        req = _get_request_ctx().request
        names: tuple[str | None, ...] = (None, *reversed(req.blueprints))
        for name in names:
            if name in url_value_preprocessors:
                for url_func in url_value_preprocessors[name]:
                    url_func(req.endpoint, req.view_args)
        for name in names:
            if name in before_request_funcs:
                for before_func in before_request_funcs[name]:
                    rv = self.ensure_sync(before_func)()
                    if rv is not None:
                        return rv  # type: ignore[no-any-return]
        return None

    def raise_routing_exception(self, request: Request) -> t.NoReturn:
        """Raise the routing error (404, 405, redirect) stored on the request.

        In debug mode a redirect that would drop a form body raises
        :class:`~demijohn.debughelpers.FormDataRoutingRedirect` instead.
        """
        exc = t.cast(HTTPException, request.routing_exception)
        if (
            not self.debug
            or not isinstance(exc, RequestRedirect)
            or exc.code in {307, 308}
            or request.method in {"GET", "HEAD", "OPTIONS"}
        ):
            raise exc
        from .debughelpers import FormDataRoutingRedirect

        raise FormDataRoutingRedirect(request)

    def dispatch_request(self) -> ft.ResponseReturnValue:
        """Call the matched view (or answer ``OPTIONS``) and return its value."""
        req = _get_request_ctx().request
        if req.routing_exception is not None:
            self.raise_routing_exception(req)
        rule: Rule = req.url_rule  # type: ignore[assignment]
        if req.method == "OPTIONS" and getattr(rule, "provide_automatic_options", False):
            return self.make_default_options_response()
        view_args: dict[str, t.Any] = req.view_args  # type: ignore[assignment]
        return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)  # type: ignore[no-any-return]

    def full_dispatch_request(self) -> Response:
        """Dispatch with hooks and user error handling, then finalize."""
        if not self._got_first_request:  # (a write per request would run ``__setattr__``)
            self._got_first_request = True
        try:
            if request_started.receivers:
                request_started.send(self, _async_wrapper=self.ensure_sync)
            rv = self.preprocess_request()
            if rv is None:
                rv = self.dispatch_request()
        except Exception as e:
            # Not through ``rv``: this frame is in ``e``'s traceback, and a local
            # holding ``e`` (an unhandled HTTPException is its own response)
            # would be a cycle keeping the request and the app alive.
            return self.finalize_request(self.handle_user_exception(e))
        return self.finalize_request(rv)

    def finalize_request(
        self,
        rv: ft.ResponseReturnValue | HTTPException,
        from_error_handler: bool = False,
    ) -> Response:
        """Make the response, run ``after_request`` processing, send ``request_finished``.

        For an error handler's response, a failure here is logged rather than
        raised, so the error response still goes out.
        """
        response = self.make_response(rv)
        try:
            response = self.process_response(response)
            if request_finished.receivers:
                request_finished.send(self, _async_wrapper=self.ensure_sync, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def make_default_options_response(self) -> Response:
        """The automatic ``OPTIONS`` answer: an empty response with ``Allow``."""
        adapter = t.cast(MapAdapter, request_ctx.url_adapter)
        rv = self.response_class()
        rv.allow.update(adapter.allowed_methods())
        return rv

    def process_response(self, response: Response) -> Response:
        """Run ``after_this_request`` and ``after_request`` functions, then save the session."""
        ctx = _get_request_ctx()
        for func in ctx._after_request_functions:
            response = self.ensure_sync(func)(response)
        after_request_funcs = self.after_request_funcs
        if after_request_funcs:
            for name in chain(ctx.request.blueprints, (None,)):
                if name in after_request_funcs:
                    for func in reversed(after_request_funcs[name]):
                        response = self.ensure_sync(func)(response)
        interface = self.session_interface
        current_session = ctx.session_to_save()
        if current_session is not None and not interface.is_null_session(current_session):
            interface.save_session(self, current_session, response)
        return response

    def do_teardown_request(self, exc: BaseException | None = None) -> None:
        """Run the ``teardown_request`` functions and send ``request_tearing_down``.

        Teardown functions should not raise. If one does, the others still
        run (each releases its own resources) and the signal is still sent;
        then the first error propagates, as it would in Flask.
        """
        failure: Exception | None = None
        teardown_request_funcs = self.teardown_request_funcs
        if teardown_request_funcs:
            for name in chain(_get_request_ctx().request.blueprints, (None,)):
                if name in teardown_request_funcs:
                    for func in reversed(teardown_request_funcs[name]):
                        try:
                            self.ensure_sync(func)(exc)
                        except Exception as e:
                            failure = failure or e
        if request_tearing_down.receivers:
            request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)
        if failure is not None:
            raise failure

    def do_teardown_appcontext(self, exc: BaseException | None = None) -> None:
        """Run the ``teardown_appcontext`` functions and send ``appcontext_tearing_down``.

        As with :meth:`do_teardown_request`, a failing function does not stop
        the others; the first error propagates once all have run.
        """
        failure: Exception | None = None
        if self.teardown_appcontext_funcs:
            for func in reversed(self.teardown_appcontext_funcs):
                try:
                    self.ensure_sync(func)(exc)
                except Exception as e:
                    failure = failure or e
        if appcontext_tearing_down.receivers:
            appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)
        if failure is not None:
            raise failure

    # -- errors -----------------------------------------------------------------

    def handle_http_exception(self, e: HTTPException) -> HTTPException | ft.ResponseReturnValue:
        """Answer an HTTP exception with its registered handler, or the exception itself.

        Routing redirects and code-less exceptions are never given to handlers.
        """
        if e.code is None or isinstance(e, RoutingException):
            return e
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            return e
        return self.ensure_sync(handler)(e)  # type: ignore[no-any-return]

    def handle_user_exception(self, e: Exception) -> HTTPException | ft.ResponseReturnValue:
        """Handle an exception raised while dispatching; re-raise it when unhandled."""
        if isinstance(e, BadRequestKeyError) and (
            self.debug or self.config["TRAP_BAD_REQUEST_ERRORS"]
        ):
            e.show_exception = True
        if isinstance(e, HTTPException) and not self.trap_http_exception(e):
            return self.handle_http_exception(e)
        handler = self._find_error_handler(e, request.blueprints)
        if handler is None:
            raise
        return self.ensure_sync(handler)(e)  # type: ignore[no-any-return]

    def handle_exception(self, e: Exception) -> Response:
        """Turn an unhandled exception into a 500 response.

        Sends ``got_request_exception``; re-raises when exceptions propagate
        (``PROPAGATE_EXCEPTIONS``, testing or debug mode); otherwise logs it and
        answers with the 500 handler's response, whose ``original_exception``
        is ``e``. A failing 500 handler still yields a plain 500.
        """
        exc_info = sys.exc_info()
        if got_request_exception.receivers:
            got_request_exception.send(self, _async_wrapper=self.ensure_sync, exception=e)
        propagate = self.config["PROPAGATE_EXCEPTIONS"]
        if propagate is None:
            propagate = self.testing or self.debug
        if propagate:
            if exc_info[1] is e:
                raise
            raise e

        self.log_exception(exc_info)
        server_error: InternalServerError | ft.ResponseReturnValue
        server_error = InternalServerError(original_exception=e)
        handler = self._find_error_handler(server_error, request.blueprints)
        if handler is not None:
            try:
                server_error = self.ensure_sync(handler)(server_error)
            except Exception:
                self.log_exception(sys.exc_info())
                server_error = InternalServerError(original_exception=e)
        return self.finalize_request(server_error, from_error_handler=True)

    def log_exception(
        self,
        exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        """Log an unhandled exception with its traceback on :attr:`logger`."""
        self.logger.error(f"Exception on {request.path} [{request.method}]", exc_info=exc_info)

    # -- return values ----------------------------------------------------------

    def make_response(self, rv: ft.ResponseReturnValue | HTTPException) -> Response:
        """Convert a view's return value into a :attr:`response_class` instance.

        Accepts ``str``/``bytes`` (the body), ``dict``/``list`` (JSON),
        iterators and generators (streamed), response objects and WSGI
        callables, and tuples ``(body, status)``, ``(body, headers)`` or
        ``(body, status, headers)``.
        """
        response_class = self.response_class
        # The common cases first: they need none of the checks below.
        rv_type = type(rv)
        if rv_type is response_class:
            return rv  # type: ignore[return-value]
        if rv_type is str or rv_type is bytes:
            return buffered_response(response_class, rv)  # type: ignore[arg-type]
        if rv_type is dict:
            return self.json.response(rv)

        status = headers = None
        if isinstance(rv, tuple):
            length = len(rv)
            if length == 3:
                rv, status, headers = rv  # type: ignore[misc]
            elif length == 2:
                if isinstance(rv[1], (Headers, dict, tuple, list)):
                    rv, headers = rv
                else:
                    rv, status = rv  # type: ignore[assignment,misc]
            else:
                raise TypeError(
                    "The view function did not return a valid response tuple."
                    " The tuple must have the form (body, status, headers),"
                    " (body, status), or (body, headers)."
                )

        if rv is None:
            raise TypeError(
                f"The view function for {request.endpoint!r} did not"
                " return a valid response. The function either returned"
                " None or ended without a return statement."
            )

        if not isinstance(rv, response_class):
            if (type(rv) is str or type(rv) is bytes) and (status is None or type(status) is int):
                rv = buffered_response(response_class, rv, status=status, headers=headers)
                status = headers = None
            elif isinstance(rv, (str, bytes, bytearray, cabc.Iterator, cabc.AsyncIterator)):
                # Status and headers go to the constructor, so a streamed body
                # is never buffered to apply them. An async iterator is
                # iterated by each door its own way (see Response.iter_encoded).
                rv = response_class(rv, status=status, headers=headers)  # type: ignore[arg-type]
                status = headers = None
            elif isinstance(rv, (dict, list)):
                rv = self.json.response(rv)
            elif isinstance(rv, HTTPException):
                # An error page: ask the exception for its response instead of
                # running it as a WSGI app through a test harness (same result).
                rv = error_response(response_class, rv, request.environ)
            elif isinstance(rv, BaseResponse) or callable(rv):
                try:
                    rv = response_class.force_type(rv, request.environ)  # type: ignore[arg-type]
                except TypeError as e:
                    raise TypeError(
                        f"{e}\nThe view function for {request.endpoint!r} did not"
                        " return a valid response. The return type must be a"
                        " string, dict, list, tuple with headers or status,"
                        " Response instance, or WSGI callable, but it was a"
                        f" {type(rv).__name__}."
                    ).with_traceback(sys.exc_info()[2]) from None
            else:
                raise TypeError(
                    f"The view function for {request.endpoint!r} did not"
                    " return a valid response. The return type must be a"
                    " string, dict, list, tuple with headers or status,"
                    " Response instance, or WSGI callable, but it was a"
                    f" {type(rv).__name__}."
                )

        response = t.cast(Response, rv)
        if status is not None:
            if isinstance(status, (str, bytes, bytearray)):
                response.status = status
            else:
                response.status_code = int(status)
        if headers:
            response.headers.update(headers)
        return response

    # -- the WSGI door ------------------------------------------------------------

    def run_pipeline(self, ctx: RequestContext, respond: t.Callable[[Request, Response], R]) -> R:
        """Serve the request of ``ctx``: the pipeline both doors share.

        Pushes ``ctx``, dispatches with hooks and error handling, and hands the
        request and the response to ``respond`` while the contexts are still
        pushed; then pops them, running teardown. Returns what ``respond``
        returned: the WSGI body iterable, or the ASGI door's parts.
        """
        if not self._serving_started:
            # ``before_serving`` hooks, once per process, where no ASGI
            # lifespan ran them (WSGI servers, ``--lifespan off``).
            from .serving import ensure_started

            ensure_started(self)
        error: BaseException | None = None
        try:
            try:
                ctx.push()
                response = self.full_dispatch_request()
            except Exception as e:
                error = e
                response = self.handle_exception(e)
            except:
                error = sys.exc_info()[1]
                raise
            return self._hand_over(ctx, response, respond)
        finally:
            self._end_request(ctx, error)
            error = None  # this frame is in its traceback: holding it would be a cycle

    def _hand_over(
        self,
        ctx: RequestContext,
        response: Response,
        respond: t.Callable[[Request, Response], R],
    ) -> R:
        """The pipeline's last step with the contexts pushed: hand ``response`` to the door."""
        tasks = ctx._background_tasks
        if tasks:
            from .serving import start_background_tasks

            # Closing the response is each door's "the last byte is sent".
            response.call_on_close(lambda: start_background_tasks(self, tasks))
        return respond(ctx.request, response)

    def _end_request(self, ctx: RequestContext, error: BaseException | None) -> None:
        """Pop ``ctx`` (running teardown) after the pipeline, however it ended."""
        # (Only the WSGI test client sets it, in an environ it made.)
        environ = ctx.request.__dict__.get("environ")
        preserve = None if environ is None else environ.get("werkzeug.debug.preserve_context")
        if preserve is not None:
            preserve(_cv_app.get())
            preserve(_cv_request.get())
        if error is not None and self.should_ignore_error(error):
            error = None
        ctx.pop(error)

    def wsgi_app(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> cabc.Iterable[bytes]:
        """The WSGI application proper; wrap it with middleware, not ``__call__``::

        app.wsgi_app = ProxyFix(app.wsgi_app)
        """
        ctx = self.request_context(environ)
        return self.run_pipeline(ctx, lambda _, response: response(environ, start_response))

    def __call__(self, environ: t.Any, start_response: t.Any = None, send: t.Any = None) -> t.Any:
        """Serve WSGI as ``app(environ, start_response)`` and ASGI as ``app(scope, receive, send)``.

        The door is chosen by the number of arguments; each goes through its
        replaceable entry (:meth:`wsgi_app`, :meth:`asgi_app`), so middleware
        set on either wraps every request. ``app(scope)`` alone is the ASGI 2
        form, which returns the coroutine function to call with ``(receive, send)``.
        """
        if send is None and start_response is not None:
            return self.wsgi_app(environ, start_response)
        if send is None:
            scope = environ
            return lambda receive, send: self.asgi_app(scope, receive, send)
        if self._own_asgi_app:
            # What :meth:`asgi_app` awaits, without its frame around it.
            if _serve_http is not None and environ["type"] == "http":
                return _serve_http(self, environ, start_response, send)
            return (_serve_asgi or _asgi_entry())(self, environ, start_response, send)
        return self.asgi_app(environ, start_response, send)

    async def asgi_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI application proper; wrap it with ASGI middleware, not ``__call__``::

            app.asgi_app = SomeASGIMiddleware(app.asgi_app)

        A coroutine function, so servers that detect ASGI by the callable's
        type (hypercorn) can be pointed at ``app:app.asgi_app``.
        """
        await (_serve_asgi or _asgi_entry())(self, scope, receive, send)

    # -- serving ----------------------------------------------------------------

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        debug: bool | None = None,
        load_dotenv: bool = True,
        **options: t.Any,
    ) -> None:
        """Serve the app with Werkzeug's development server (not for production).

        :param host: the interface to bind, ``127.0.0.1`` by default.
        :param port: the port, 5000 by default (or ``SERVER_NAME``'s).
        :param debug: turn debug mode on or off (reloader and debugger).
        :param load_dotenv: load ``.env`` and ``.flaskenv`` first.
        :param options: passed to :func:`werkzeug.serving.run_simple`
            (``use_reloader``, ``use_debugger``, ``threaded``, ``ssl_context``...).
        """
        if os.environ.get("FLASK_RUN_FROM_CLI") == "true":
            from werkzeug.serving import is_running_from_reloader

            if not is_running_from_reloader():
                click.secho(
                    " * Ignoring a call to 'app.run()' that would block"
                    " the current 'demijohn' CLI command.\n"
                    "   Only call 'app.run()' in an 'if __name__ =="
                    ' "__main__"\' guard.',
                    fg="red",
                )
            return

        if get_load_dotenv(load_dotenv):
            cli.load_dotenv()
            if "FLASK_DEBUG" in os.environ:
                self.debug = get_debug_flag()
        if debug is not None:
            self.debug = bool(debug)

        server_name = self.config.get("SERVER_NAME")
        sn_host = sn_port = None
        if server_name:
            sn_host, _, sn_port = server_name.partition(":")
        if not host:
            host = sn_host or "127.0.0.1"
        if port or port == 0:
            port = int(port)
        elif sn_port:
            port = int(sn_port)
        else:
            port = 5000

        options.setdefault("use_reloader", self.debug)
        options.setdefault("use_debugger", self.debug)
        options.setdefault("threaded", True)
        cli.show_server_banner(self.debug, self.name)
        cli._warn_if_debugger_exposed(host, options["use_debugger"])

        from werkzeug.serving import run_simple

        try:
            run_simple(host, port, self, **options)
        finally:
            # Allow setup methods again if the server is restarted in-process.
            self._got_first_request = False


# ``Flask.__call__`` serves both doors, so it is a plain function, and a server
# that looks for a coroutine function (uvicorn: ``app:app``, hypercorn on
# Python 3.12+) would otherwise take the app for ASGI 2 (one wrapper more per
# request) or for WSGI. The markers only change what such checks answer.
mark_coroutine_function(Flask.__call__)
