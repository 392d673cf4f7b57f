"""The application without a server: :class:`App`.

Everything an application is before a request arrives lives here: the
configuration, the registries (URL rules, views, hooks, error handlers,
blueprints, extensions, the lifespan hooks), the Jinja setup, the pieces of
URL building and error handling that read only those registries. None of it
serves: the request pipeline and the WSGI and ASGI doors are
:class:`demijohn.Flask`'s, a subclass. Another subclass may bring doors of its
own (as Quart does on Flask's ``App``).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import typing as t
from datetime import timedelta
from itertools import chain

from werkzeug.datastructures import ImmutableDict
from werkzeug.exceptions import Aborter, BadRequest, BadRequestKeyError
from werkzeug.routing import BuildError, Map, Rule
from werkzeug.utils import cached_property
from werkzeug.wrappers import Response as BaseResponse

from .. import typing as ft
from ..config import Config, ConfigAttribute
from ..ctx import _AppCtxGlobals, escape_line_breaks
from ..helpers import _split_blueprint_path, get_debug_flag
from ..json.provider import DefaultJSONProvider, JSONProvider
from ..logging import create_logger
from ..routing import IndexedMap
from ..templating import DispatchingJinjaLoader, Environment, _default_template_ctx_processor
from ..wrappers import redirect_response
from .scaffold import Scaffold, _endpoint_from_view_func, find_package, setupmethod

if t.TYPE_CHECKING:
    from ..serving import ServingHook, WhileServingHook
    from ..wrappers import Request, Response
    from .blueprints import Blueprint

T_shell_context_processor = t.TypeVar(
    "T_shell_context_processor", bound=ft.ShellContextProcessorCallable
)
T_teardown = t.TypeVar("T_teardown", bound=ft.TeardownCallable)
T_template_filter = t.TypeVar("T_template_filter", bound=ft.TemplateFilterCallable)
T_template_global = t.TypeVar("T_template_global", bound=ft.TemplateGlobalCallable)
T_template_test = t.TypeVar("T_template_test", bound=ft.TemplateTestCallable)


def _make_timedelta(value: timedelta | int | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=value)


# ``< int:post_id>``: a space after ``<`` (and before a converter's arguments)
# as the guide's examples print them. Werkzeug rejects such a rule as malformed,
# so accepting it changes nothing for rules that work in Flask.
_SPACED_PLACEHOLDER = re.compile(r"<\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?=[(:>])")


def _tidy_rule_placeholders(rule: str) -> str:
    return _SPACED_PLACEHOLDER.sub(r"<\1", rule)


class App(Scaffold):
    """An application's configuration and registries, with no server behind it.

    :class:`demijohn.Flask` is the application class to use: it adds the
    request pipeline, the WSGI and ASGI doors and file IO. Subclass this one
    to bring other doors. The parameters are :class:`~demijohn.Flask`'s; the
    static route (``static_folder``, ``static_url_path``, ``static_host``) is
    added by the subclass that serves files.
    """

    #: The class of request objects; set by the subclass that makes them.
    request_class: type[Request]
    #: The class of response objects (:meth:`redirect` makes one); set by the
    #: subclass.
    response_class: type[Response]
    #: The class of :attr:`aborter`, which :func:`abort` raises through.
    aborter_class = Aborter
    #: The Jinja environment class used by :attr:`jinja_env`.
    jinja_environment = Environment
    #: The class of :data:`g`.
    app_ctx_globals_class = _AppCtxGlobals
    #: The class of :attr:`config`.
    config_class = Config
    #: The testing flag (``TESTING``): exceptions propagate to the test client.
    testing = ConfigAttribute[bool]("TESTING")
    #: The key used to sign sessions (``SECRET_KEY``).
    secret_key = ConfigAttribute[str | bytes | None]("SECRET_KEY")
    #: How long a permanent session lives (``PERMANENT_SESSION_LIFETIME``).
    permanent_session_lifetime = ConfigAttribute[timedelta](
        "PERMANENT_SESSION_LIFETIME",
        get_converter=_make_timedelta,  # type: ignore[arg-type]
    )
    #: The JSON provider class; an instance is :attr:`json`.
    json_provider_class: type[JSONProvider] = DefaultJSONProvider
    #: Options for the Jinja environment, read when it is created.
    jinja_options: dict[str, t.Any] = {}
    #: The class of URL rules.
    url_rule_class = Rule
    #: The class of :attr:`url_map`.
    url_map_class: type[Map] = IndexedMap

    #: The configuration every app starts with (Flask 3.1's keys).
    default_config = ImmutableDict(
        {
            "DEBUG": None,
            "TESTING": False,
            "PROPAGATE_EXCEPTIONS": None,
            "SECRET_KEY": None,
            "SECRET_KEY_FALLBACKS": None,
            "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
            "USE_X_SENDFILE": False,
            "TRUSTED_HOSTS": None,
            "SERVER_NAME": None,
            "APPLICATION_ROOT": "/",
            "SESSION_COOKIE_NAME": "session",
            "SESSION_COOKIE_DOMAIN": None,
            "SESSION_COOKIE_PATH": None,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SECURE": False,
            "SESSION_COOKIE_PARTITIONED": False,
            "SESSION_COOKIE_SAMESITE": None,
            "SESSION_REFRESH_EACH_REQUEST": True,
            "MAX_CONTENT_LENGTH": None,
            "MAX_FORM_MEMORY_SIZE": 500_000,
            "MAX_FORM_PARTS": 1_000,
            "SEND_FILE_MAX_AGE_DEFAULT": None,
            "TRAP_BAD_REQUEST_ERRORS": None,
            "TRAP_HTTP_EXCEPTIONS": False,
            "EXPLAIN_TEMPLATE_LOADING": False,
            "PREFERRED_URL_SCHEME": "http",
            "TEMPLATES_AUTO_RELOAD": None,
            # demijohn: version static URLs by mtime (None: in debug mode only).
            "STATIC_URL_VERSIONING": None,
            "MAX_COOKIE_SIZE": 4093,
            "PROVIDE_AUTOMATIC_OPTIONS": True,
            # Quart's key: how long stopping waits for background tasks, in
            # seconds (None: as long as they take); see demijohn.serving.
            "BACKGROUND_TASK_SHUTDOWN_TIMEOUT": 5,
        }
    )

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
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        if instance_path is None:
            instance_path = self.auto_find_instance_path()
        elif not os.path.isabs(instance_path):
            raise ValueError(
                "If an instance path is provided it must be absolute."
                " A relative path was given instead."
            )
        #: The instance folder: for files not under version control (secrets,
        #: the SQLite database). Not created automatically.
        self.instance_path = instance_path
        #: The configuration dict (:class:`~demijohn.config.Config`).
        self.config = self.make_config(instance_relative_config)
        #: Raises the HTTP exception for a status code (used by :func:`abort`).
        self.aborter = self.make_aborter()
        #: The JSON provider: ``app.json.dumps``, ``loads``, ``response``.
        # The provider (like the logger and the template loader below) reads
        # only what App has, though its hint names Flask.
        self.json: JSONProvider = self.json_provider_class(self)
        #: Called as ``handler(error, endpoint, values)`` when ``url_for``
        #: fails; a non-``None`` return is used as the URL.
        self.url_build_error_handlers: list[
            t.Callable[[Exception, str, dict[str, t.Any]], str]
        ] = []
        #: Functions called with the exception (or ``None``) when an app
        #: context is popped, in reverse order.
        self.teardown_appcontext_funcs: list[ft.TeardownCallable] = []
        #: Functions whose returned dicts populate ``demijohn shell``.
        self.shell_context_processors: list[ft.ShellContextProcessorCallable] = []
        #: Registered blueprints by (dotted) name, in registration order.
        self.blueprints: dict[str, Blueprint] = {}
        #: Extension state by extension name (``app.extensions["sqlalchemy"]``).
        self.extensions: dict[str, t.Any] = {}
        #: The Werkzeug :class:`~werkzeug.routing.Map` of URL rules.
        self.url_map = self.url_map_class(host_matching=host_matching)
        self.subdomain_matching = subdomain_matching
        self._got_first_request = False

        self.template_context_processors[None].append(_default_template_ctx_processor)
        self.cli.name = self.name

        #: ``before_serving`` functions (no arguments, sync or ``async def``),
        #: run in order before this process serves (see :mod:`demijohn.serving`).
        self.before_serving_funcs: list[ServingHook] = []
        #: ``after_serving`` functions (no arguments, sync or ``async def``),
        #: run in order when this process stops serving.
        self.after_serving_funcs: list[ServingHook] = []
        #: ``while_serving`` generator functions (sync or async): each is run to
        #: its ``yield`` with the start and past it at the stop (last first).
        self.while_serving_funcs: list[WhileServingHook] = []

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_first_request:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called"
                " on the application. It has already handled its first"
                " request, any changes will not be applied"
                " consistently.\n"
                "Make sure all imports, decorators, functions, etc."
                " needed to set up the application are done before"
                " running it."
            )

    # -- identity, configuration, logging -----------------------------------

    @cached_property
    def name(self) -> str:
        """The app's name: the import name, or the script's name for ``__main__``."""
        if self.import_name == "__main__":
            filename: str | None = getattr(sys.modules["__main__"], "__file__", None)
            if filename is None:
                return "__main__"
            return os.path.splitext(os.path.basename(filename))[0]
        return self.import_name

    @cached_property
    def logger(self) -> logging.Logger:
        """The app's :class:`logging.Logger`, named after :attr:`name`."""
        return create_logger(self)

    @property
    def debug(self) -> bool:
        """Debug mode (``DEBUG``): the debugger, the reloader, template reloading."""
        return bool(self.config["DEBUG"])

    @debug.setter
    def debug(self, value: bool) -> None:
        self.config["DEBUG"] = value
        if self.config["TEMPLATES_AUTO_RELOAD"] is None and "jinja_env" in self.__dict__:
            self.jinja_env.auto_reload = value

    def make_config(self, instance_relative: bool = False) -> Config:
        """Create :attr:`config`, seeded with :attr:`default_config`."""
        root_path = self.instance_path if instance_relative else self.root_path
        defaults = dict(self.default_config)
        defaults["DEBUG"] = get_debug_flag()
        return self.config_class(root_path, defaults)

    def make_aborter(self) -> Aborter:
        """Create :attr:`aborter` from :attr:`aborter_class`."""
        return self.aborter_class()

    def auto_find_instance_path(self) -> str:
        """The default instance folder.

        ``instance`` beside the app's module or package, or
        ``<prefix>/var/<name>-instance`` for an installed package.
        """
        prefix, package_path = find_package(self.import_name)
        if prefix is None:
            return os.path.join(package_path, "instance")
        return os.path.join(prefix, "var", f"{self.name}-instance")

    # -- templates ------------------------------------------------------------

    @cached_property
    def jinja_env(self) -> Environment:
        """The Jinja environment, created on first use."""
        return self.create_jinja_environment()

    def create_jinja_environment(self) -> Environment:
        """Create the Jinja environment; the subclass that renders templates defines it."""
        raise NotImplementedError

    def create_global_jinja_loader(self) -> DispatchingJinjaLoader:
        """The loader that searches the app's templates, then each blueprint's."""
        return DispatchingJinjaLoader(self)

    def select_jinja_autoescape(self, filename: str | None) -> bool:
        """Whether to autoescape a template: string templates and HTML/XML/SVG files."""
        if filename is None:
            return True
        return filename.endswith((".html", ".htm", ".xml", ".xhtml", ".svg"))

    @setupmethod
    def template_filter(
        self, name: str | None = None
    ) -> t.Callable[[T_template_filter], T_template_filter]:
        """Register the decorated function as a Jinja filter (default: its name)."""

        def decorator(f: T_template_filter) -> T_template_filter:
            self.add_template_filter(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_filter(self, f: ft.TemplateFilterCallable, name: str | None = None) -> None:
        """Register ``f`` as a Jinja filter."""
        self.jinja_env.filters[name or f.__name__] = f

    @setupmethod
    def template_test(
        self, name: str | None = None
    ) -> t.Callable[[T_template_test], T_template_test]:
        """Register the decorated function as a Jinja test (default: its name)."""

        def decorator(f: T_template_test) -> T_template_test:
            self.add_template_test(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_test(self, f: ft.TemplateTestCallable, name: str | None = None) -> None:
        """Register ``f`` as a Jinja test."""
        self.jinja_env.tests[name or f.__name__] = f

    @setupmethod
    def template_global(
        self, name: str | None = None
    ) -> t.Callable[[T_template_global], T_template_global]:
        """Register the decorated function as a Jinja global (default: its name)."""

        def decorator(f: T_template_global) -> T_template_global:
            self.add_template_global(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_template_global(self, f: ft.TemplateGlobalCallable, name: str | None = None) -> None:
        """Register ``f`` as a Jinja global."""
        self.jinja_env.globals[name or f.__name__] = f

    # -- registration -----------------------------------------------------------

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ft.RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Register a URL rule, and ``view_func`` for its endpoint.

        ``methods`` defaults to ``view_func.methods`` or ``("GET",)``; ``HEAD``
        follows ``GET`` and ``OPTIONS`` is answered automatically unless
        ``provide_automatic_options`` (or the view's attribute of that name, or
        ``PROVIDE_AUTOMATIC_OPTIONS``) says otherwise. Other options go to
        :attr:`url_rule_class`.
        """
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)
        options["endpoint"] = endpoint

        methods = options.pop("methods", None)
        if methods is None:
            methods = getattr(view_func, "methods", None) or ("GET",)
        if isinstance(methods, str):
            raise TypeError(
                "Allowed methods must be a list of strings, for"
                ' example: @app.route(..., methods=["POST"])'
            )
        methods = {method.upper() for method in methods}
        required_methods = set(getattr(view_func, "required_methods", ()))

        if provide_automatic_options is None:
            provide_automatic_options = getattr(view_func, "provide_automatic_options", None)
        if provide_automatic_options is None:
            provide_automatic_options = (
                "OPTIONS" not in methods and self.config["PROVIDE_AUTOMATIC_OPTIONS"]
            )
            if provide_automatic_options:
                required_methods.add("OPTIONS")

        if "< " in rule:
            rule = _tidy_rule_placeholders(rule)
        rule_obj = self.url_rule_class(rule, methods=methods | required_methods, **options)
        rule_obj.provide_automatic_options = provide_automatic_options  # type: ignore[attr-defined]
        self.url_map.add(rule_obj)

        if view_func is not None:
            existing = self.view_functions.get(endpoint)
            if existing is not None and existing != view_func:
                raise AssertionError(
                    "View function mapping is overwriting an existing"
                    f" endpoint function: {endpoint}"
                )
            self.view_functions[endpoint] = view_func

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: t.Any) -> None:
        """Register a blueprint's routes, hooks and handlers on the app.

        Options (``url_prefix``, ``subdomain``, ``url_defaults``, ``name``,
        ``cli_group``) override the blueprint's own for this registration.
        """
        blueprint.register(self, options)

    def iter_blueprints(self) -> t.ValuesView[Blueprint]:
        """The registered blueprints, in registration order."""
        return self.blueprints.values()

    @setupmethod
    def shell_context_processor(self, f: T_shell_context_processor) -> T_shell_context_processor:
        """Add the dict ``f()`` returns to the ``demijohn shell`` namespace."""
        self.shell_context_processors.append(f)
        return f

    @setupmethod
    def teardown_appcontext(self, f: T_teardown) -> T_teardown:
        """Run ``f(exc)`` whenever an app context is popped."""
        self.teardown_appcontext_funcs.append(f)
        return f

    # -- serving: lifespan hooks (Quart's API) ----------------------------------

    # The decorators' types: what is decorated comes back unchanged.
    _T_serving = t.TypeVar("_T_serving", bound=t.Callable[[], t.Any])
    _T_while_serving = t.TypeVar(
        "_T_while_serving", bound=t.Callable[[], t.Iterator[t.Any] | t.AsyncIterator[t.Any]]
    )

    @setupmethod
    def before_serving(self, f: _T_serving) -> _T_serving:
        """Run ``f()`` (sync or ``async def``) before this process serves its first request.

        Under ASGI at the lifespan startup (a failure stops the server, with
        the error's text); under WSGI right before the process's first
        request. It runs in an app context of its own: ``g`` set there is not
        seen by requests.
        """
        self.before_serving_funcs.append(f)
        return f

    @setupmethod
    def after_serving(self, f: _T_serving) -> _T_serving:
        """Run ``f()`` (sync or ``async def``) when this process stops serving.

        Under ASGI at the lifespan shutdown; under WSGI at interpreter exit.
        """
        self.after_serving_funcs.append(f)
        return f

    @setupmethod
    def while_serving(self, f: _T_while_serving) -> _T_while_serving:
        """Run the generator function ``f`` (sync or async) around serving.

        Its code up to the ``yield`` runs with the ``before_serving`` functions,
        the rest when serving stops (before ``after_serving``); it must yield
        exactly once.
        """
        self.while_serving_funcs.append(f)
        return f

    # -- URLs -------------------------------------------------------------------

    def inject_url_defaults(self, endpoint: str, values: dict[str, t.Any]) -> None:
        """Run the ``url_defaults`` functions for ``endpoint``'s scopes on ``values``."""
        names: t.Iterable[str | None] = (None,)
        if "." in endpoint:
            names = chain(names, reversed(_split_blueprint_path(endpoint.rpartition(".")[0])))
        for name in names:
            if name in self.url_default_functions:
                for func in self.url_default_functions[name]:
                    func(endpoint, values)

    def handle_url_build_error(
        self, error: BuildError, endpoint: str, values: dict[str, t.Any]
    ) -> str:
        """Try :attr:`url_build_error_handlers`; re-raise ``error`` if none answers."""
        for handler in self.url_build_error_handlers:
            try:
                rv = handler(error, endpoint, values)
            except BuildError as e:
                # The handler may raise a more precise error for the next one.
                error = e
            else:
                if rv is not None:
                    return rv
        if error is sys.exc_info()[1]:
            raise
        raise error

    def redirect(self, location: str, code: int = 302) -> BaseResponse:
        """A redirect response using :attr:`response_class`."""
        # A location taken from the request may hold CR or LF, which a header
        # refuses (a 500): escape them as the Location header is escaped anyway.
        location = escape_line_breaks(location)
        return redirect_response(self.response_class, location, code)

    # -- errors -----------------------------------------------------------------

    def _find_error_handler(
        self, e: Exception, blueprints: list[str]
    ) -> ft.ErrorHandlerCallable | None:
        """The handler for ``e``: by code, then by class; innermost blueprint first."""
        exc_class, code = self._get_exc_class_and_code(type(e))
        names = (*blueprints, None)
        spec = self.error_handler_spec
        for c in (code, None) if code is not None else (None,):
            for name in names:
                scope = spec.get(name)
                if not scope:
                    continue
                handler_map = scope.get(c)
                if not handler_map:
                    continue
                for cls in exc_class.__mro__:
                    handler = handler_map.get(cls)
                    if handler is not None:
                        return handler
        return None

    def trap_http_exception(self, e: Exception) -> bool:
        """Whether an HTTP exception should be raised like any other error.

        Governed by ``TRAP_HTTP_EXCEPTIONS`` and ``TRAP_BAD_REQUEST_ERRORS``
        (the latter defaults to trapping missing-key errors in debug mode).
        """
        if self.config["TRAP_HTTP_EXCEPTIONS"]:
            return True
        trap_bad_request = self.config["TRAP_BAD_REQUEST_ERRORS"]
        if trap_bad_request is None and self.debug and isinstance(e, BadRequestKeyError):
            return True
        if trap_bad_request:
            return isinstance(e, BadRequest)
        return False

    def should_ignore_error(self, error: BaseException | None) -> bool:
        """Whether teardown should see ``error`` as ``None``; never, by default."""
        return False


__all__ = ["App"]
