"""What an application and a blueprint share, with no server behind it.

:class:`Scaffold` owns every registry a request (or a WebSocket connection)
may consult (views, hooks, error handlers, URL processors, context
processors) and the decorators that fill them. Registering does no IO and
needs no server: the request pipeline (:class:`demijohn.Flask`) reads the
registries while handling a request, :mod:`demijohn.websockets` while serving
a connection. What does IO (serving static files, opening resources) is
defined by the IO-level classes, :class:`demijohn.Flask` and
:class:`demijohn.Blueprint`.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import pathlib
import sys
import typing as t
from collections import defaultdict
from functools import update_wrapper
from inspect import CO_COROUTINE
from types import FunctionType

from jinja2 import BaseLoader, FileSystemLoader
from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.utils import cached_property

from .. import typing as ft
from ..globals import _cv_websocket
from ..helpers import get_root_path

# Keys of the per-scope registries: ``None`` is the app itself, a string is
# the (dotted) name of a blueprint.
_Key = ft.AppOrBlueprintKey

T_after_request = t.TypeVar("T_after_request", bound=ft.AfterRequestCallable[t.Any])
T_before_request = t.TypeVar("T_before_request", bound=ft.BeforeRequestCallable)
T_error_handler = t.TypeVar("T_error_handler", bound=ft.ErrorHandlerCallable)
T_teardown = t.TypeVar("T_teardown", bound=ft.TeardownCallable)
T_template_context_processor = t.TypeVar(
    "T_template_context_processor", bound=ft.TemplateContextProcessorCallable
)
T_url_defaults = t.TypeVar("T_url_defaults", bound=ft.URLDefaultCallable)
T_url_value_preprocessor = t.TypeVar(
    "T_url_value_preprocessor", bound=ft.URLValuePreprocessorCallable
)
T_route = t.TypeVar("T_route", bound=ft.RouteCallable)
#: A WebSocket handler: called with the URL's arguments, usually returns ``None``.
WebsocketHandler = t.Callable[..., t.Any]
#: Given the handshake's response (or ``None``), returns it or a replacement
#: (``async def`` functions too).
AfterWebsocketCallable = t.Callable[[t.Any], t.Any]
T_websocket = t.TypeVar("T_websocket", bound=WebsocketHandler)
T_after_websocket = t.TypeVar("T_after_websocket", bound=AfterWebsocketCallable)
F = t.TypeVar("F", bound=t.Callable[..., t.Any])

_sentinel = object()


def setupmethod(f: F) -> F:
    """Mark a method that may only run while the app or blueprint is being set up."""
    f_name = f.__name__

    def wrapper_func(self: Scaffold, *args: t.Any, **kwargs: t.Any) -> t.Any:
        self._check_setup_finished(f_name)
        return f(self, *args, **kwargs)

    return update_wrapper(wrapper_func, f)  # type: ignore[return-value]


#: Where a view runs under ASGI: ``True`` on the event loop for every
#: method (an ``async def`` view), or the methods a view class answers with
#: ``async def``. Synchronous views have no entry.
_OnLoop: t.TypeAlias = bool | frozenset[str]

#: The methods whose handlers a view class may define as ``async def``.
_CLASS_VIEW_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE")


def view_on_loop(view: t.Callable[..., t.Any]) -> _OnLoop:
    """Whether ``view`` is ``async def``; for a view class, for which methods it is."""
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        # Look through decorators (``functools.wraps``) for an async function.
        return inspect.iscoroutinefunction(inspect.unwrap(view))
    methods = set()
    for method in _CLASS_VIEW_METHODS:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        if inspect.iscoroutinefunction(handler or view_class.dispatch_request):
            methods.add(method)
    if len(methods) == len(_CLASS_VIEW_METHODS):
        return True
    return frozenset(methods)


class ViewFunctions(dict[str, t.Callable[..., t.Any]]):
    """``endpoint -> view function``, deciding once per view whether it is ``async def``.

    The ASGI door runs an ``async def`` endpoint's request on the event loop
    and any other in a worker thread; it asks :meth:`runs_on_loop`, which is a
    lookup: the decision is made when a view is stored (registered, or
    replaced by an extension), not per request.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__()
        #: endpoint -> where it runs, for the views that are not synchronous.
        self.on_loop: dict[str, _OnLoop] = {}
        #: The endpoints whose view is itself an ``async def`` function: calling
        #: it makes a coroutine, with no synchronous wrapper in between, so
        #: the ASGI door may await it directly. Each runs on the loop for
        #: every method (``on_loop`` is ``True`` for it).
        self.awaitable: set[str] = set()
        self.update(*args, **kwargs)

    def __setitem__(self, endpoint: str, view: t.Callable[..., t.Any]) -> None:
        super().__setitem__(endpoint, view)
        on_loop = view_on_loop(view)
        if on_loop:
            self.on_loop[endpoint] = on_loop
        else:
            self.on_loop.pop(endpoint, None)
        if on_loop is True and type(view) is FunctionType and view.__code__.co_flags & CO_COROUTINE:
            self.awaitable.add(endpoint)
        else:
            self.awaitable.discard(endpoint)

    def __delitem__(self, endpoint: str) -> None:
        super().__delitem__(endpoint)
        self.on_loop.pop(endpoint, None)
        self.awaitable.discard(endpoint)

    def update(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Store several views, each through :meth:`__setitem__`."""
        for endpoint, view in dict(*args, **kwargs).items():
            self[endpoint] = view

    def setdefault(self, endpoint: str, view: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        """Store ``view`` unless ``endpoint`` has one; return the endpoint's view."""
        if endpoint not in self:
            self[endpoint] = view
        return self[endpoint]

    def pop(self, endpoint: str, *default: t.Any) -> t.Any:
        """Remove ``endpoint`` and return its view (or ``default``)."""
        self.on_loop.pop(endpoint, None)
        self.awaitable.discard(endpoint)
        return super().pop(endpoint, *default)

    def popitem(self) -> tuple[str, t.Callable[..., t.Any]]:
        """Remove and return the last stored ``(endpoint, view)``."""
        endpoint, view = super().popitem()
        self.on_loop.pop(endpoint, None)
        self.awaitable.discard(endpoint)
        return endpoint, view

    def clear(self) -> None:
        """Remove every view."""
        super().clear()
        self.on_loop.clear()
        self.awaitable.clear()

    def runs_on_loop(self, endpoint: str, method: str) -> bool:
        """Whether a ``method`` request to ``endpoint`` runs on the event loop (ASGI)."""
        return _answers_on_loop(self.on_loop.get(endpoint, False), method)


def _answers_on_loop(on_loop: _OnLoop, method: str) -> bool:
    return on_loop is True or (bool(on_loop) and method in on_loop)  # type: ignore[operator]


def runs_on_loop(
    view_functions: t.Mapping[str, t.Callable[..., t.Any]], endpoint: str, method: str
) -> bool:
    """Whether a ``method`` request to ``endpoint`` runs on the event loop (ASGI).

    A lookup in a :class:`ViewFunctions` registry; a plain dict put in its
    place (by an extension) is asked at once.
    """
    if isinstance(view_functions, ViewFunctions):
        return view_functions.runs_on_loop(endpoint, method)
    view = view_functions.get(endpoint)
    return view is not None and _answers_on_loop(view_on_loop(view), method)


class Scaffold:
    """The registries and decorators common to an application and a blueprint.

    :param import_name: the name of the module or package defining the object,
        used to find ``root_path``.
    :param static_folder: folder of static files, relative to ``root_path``.
    :param static_url_path: URL prefix for static files; defaults to the
        static folder's name.
    :param template_folder: folder of templates, relative to ``root_path``.
    :param root_path: the folder that relative paths start from; found from
        ``import_name`` when not given.
    """

    #: The name the object is registered under; set by the subclass.
    name: str
    _static_folder: str | None = None
    _static_url_path: str | None = None

    def __init__(
        self,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        root_path: str | None = None,
    ) -> None:
        #: The name of the module or package this object belongs to.
        self.import_name = import_name
        self.static_folder = static_folder
        self.static_url_path = static_url_path
        #: The template folder, relative to ``root_path``, or ``None``.
        self.template_folder = template_folder
        if root_path is None:
            root_path = get_root_path(self.import_name)
        #: Absolute path of the folder relative resource paths start from.
        self.root_path = root_path

        # Imported here, not with this module: ``demijohn.cli`` loads
        # Werkzeug's development server, which registering routes never needs.
        from ..cli import AppGroup

        #: Click group for this object's CLI commands (``demijohn <cmd>``).
        self.cli: AppGroup = AppGroup()

        #: endpoint name -> view function, exactly as registered (a dict that
        #: also notes which views are ``async def``; see :class:`ViewFunctions`).
        self.view_functions: dict[str, ft.RouteCallable] = ViewFunctions()

        #: scope -> status code (or ``None`` for class handlers) -> exception
        #: class -> handler. Looked up most specific class first along the MRO.
        self.error_handler_spec: dict[
            _Key, dict[int | None, dict[type[Exception], ft.ErrorHandlerCallable]]
        ] = defaultdict(lambda: defaultdict(dict))

        #: scope -> functions run before the view; a non-``None`` return value
        #: stops the request and becomes the response.
        self.before_request_funcs: dict[_Key, list[ft.BeforeRequestCallable]] = defaultdict(list)
        #: scope -> functions given the response after the view, run in
        #: reverse order of registration; each returns a response.
        self.after_request_funcs: dict[_Key, list[ft.AfterRequestCallable[t.Any]]] = defaultdict(
            list
        )
        #: scope -> functions run when the request context is popped, with the
        #: unhandled exception or ``None``; run in reverse order.
        self.teardown_request_funcs: dict[_Key, list[ft.TeardownCallable]] = defaultdict(list)
        #: scope -> functions returning dicts merged into every template context.
        self.template_context_processors: dict[_Key, list[ft.TemplateContextProcessorCallable]] = (
            defaultdict(list)
        )
        #: scope -> functions called with ``(endpoint, view_args)`` before the
        #: ``before_request`` hooks; they may modify ``view_args`` in place.
        self.url_value_preprocessors: dict[_Key, list[ft.URLValuePreprocessorCallable]] = (
            defaultdict(list)
        )
        #: scope -> functions called with ``(endpoint, values)`` when building a
        #: URL; they may add missing values in place.
        self.url_default_functions: dict[_Key, list[ft.URLDefaultCallable]] = defaultdict(list)
        #: scope -> functions run before a WebSocket handler (after the URL
        #: value preprocessors); a non-``None`` return value refuses the
        #: handshake with that response.
        self.before_websocket_funcs: dict[_Key, list[ft.BeforeRequestCallable]] = defaultdict(list)
        #: scope -> functions given the handshake's response after the handler:
        #: ``None`` unless the handshake is being refused (a handler or hook
        #: returned a value, or an error before accepting). Run in reverse
        #: order of registration; each returns the response (or ``None``).
        self.after_websocket_funcs: dict[_Key, list[AfterWebsocketCallable]] = defaultdict(list)
        #: scope -> functions run when a WebSocket connection ends, with the
        #: exception that ended it (a client disconnect is
        #: :exc:`asyncio.CancelledError`) or ``None``; in reverse order, before
        #: the ``teardown_request`` functions.
        self.teardown_websocket_funcs: dict[_Key, list[ft.TeardownCallable]] = defaultdict(list)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    def _check_setup_finished(self, f_name: str) -> None:
        raise NotImplementedError

    # -- folders ------------------------------------------------------------

    @property
    def static_folder(self) -> str | None:
        """The absolute path of the static folder, or ``None``."""
        if self._static_folder is not None:
            return os.path.join(self.root_path, self._static_folder)
        return None

    @static_folder.setter
    def static_folder(self, value: str | os.PathLike[str] | None) -> None:
        if value is not None:
            value = os.fspath(value).rstrip(r"\/")
        self._static_folder = value

    @property
    def has_static_folder(self) -> bool:
        """Whether a static folder is configured."""
        return self._static_folder is not None

    @property
    def static_url_path(self) -> str | None:
        """The URL prefix of the static route, derived from the folder by default."""
        if self._static_url_path is not None:
            return self._static_url_path
        if self.static_folder is not None:
            basename = os.path.basename(self.static_folder)
            return f"/{basename}".rstrip("/")
        return None

    @static_url_path.setter
    def static_url_path(self, value: str | None) -> None:
        if value is not None:
            value = value.rstrip("/")
        self._static_url_path = value

    @cached_property
    def jinja_loader(self) -> BaseLoader | None:
        """A loader for :attr:`template_folder`, or ``None`` without one."""
        if self.template_folder is not None:
            return FileSystemLoader(os.path.join(self.root_path, self.template_folder))
        return None

    # -- routing ------------------------------------------------------------

    def _method_route(
        self, method: str, rule: str, options: dict[str, t.Any]
    ) -> t.Callable[[T_route], T_route]:
        if "methods" in options:
            raise TypeError("Use the 'route' decorator to use the 'methods' argument.")
        return self.route(rule, methods=[method], **options)

    @setupmethod
    def get(self, rule: str, **options: t.Any) -> t.Callable[[T_route], T_route]:
        """Shortcut for :meth:`route` with ``methods=["GET"]``."""
        return self._method_route("GET", rule, options)

    @setupmethod
    def post(self, rule: str, **options: t.Any) -> t.Callable[[T_route], T_route]:
        """Shortcut for :meth:`route` with ``methods=["POST"]``."""
        return self._method_route("POST", rule, options)

    @setupmethod
    def put(self, rule: str, **options: t.Any) -> t.Callable[[T_route], T_route]:
        """Shortcut for :meth:`route` with ``methods=["PUT"]``."""
        return self._method_route("PUT", rule, options)

    @setupmethod
    def delete(self, rule: str, **options: t.Any) -> t.Callable[[T_route], T_route]:
        """Shortcut for :meth:`route` with ``methods=["DELETE"]``."""
        return self._method_route("DELETE", rule, options)

    @setupmethod
    def patch(self, rule: str, **options: t.Any) -> t.Callable[[T_route], T_route]:
        """Shortcut for :meth:`route` with ``methods=["PATCH"]``."""
        return self._method_route("PATCH", rule, options)

    @setupmethod
    def route(self, rule: str, **options: t.Any) -> t.Callable[[T_route], T_route]:
        """Register the decorated function as the view for ``rule``.

        ``endpoint`` defaults to the function's name; other options go to
        :meth:`add_url_rule` and Werkzeug's :class:`~werkzeug.routing.Rule`
        (``methods``, ``defaults``, ``strict_slashes``, ``redirect_to``, ...).
        """

        def decorator(f: T_route) -> T_route:
            endpoint = options.pop("endpoint", None)
            self.add_url_rule(rule, endpoint, f, **options)
            return f

        return decorator

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ft.RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Register a URL rule (and optionally its view function)."""
        raise NotImplementedError

    @setupmethod
    def websocket(self, rule: str, **options: t.Any) -> t.Callable[[T_websocket], T_websocket]:
        """Register the decorated function as the WebSocket handler for ``rule``.

        The handler (``async def`` or ``def``) is called with the URL's
        arguments and talks to the client through :data:`~demijohn.websocket`;
        see :mod:`demijohn.websockets`. Options are those of :meth:`route`
        (``endpoint``, ``defaults``, ``subdomain``...), except ``methods``.
        """

        def decorator(f: T_websocket) -> T_websocket:
            endpoint = options.pop("endpoint", None)
            self.add_websocket(rule, endpoint, f, **options)
            return f

        return decorator

    @setupmethod
    def add_websocket(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: WebsocketHandler | None = None,
        **options: t.Any,
    ) -> None:
        """Register a WebSocket URL rule (and its handler), as :meth:`add_url_rule` does.

        The rule is a Werkzeug ``Rule(..., websocket=True)``: only WebSocket
        handshakes match it, and plain HTTP requests to it get a 400.
        """
        if view_func is not None and not isinstance(view_func, WebsocketView):
            view_func = WebsocketView(view_func)
        self.add_url_rule(
            rule, endpoint, view_func, provide_automatic_options=False, websocket=True, **options
        )

    @setupmethod
    def endpoint(self, endpoint: str) -> t.Callable[[F], F]:
        """Register the decorated function as the view for ``endpoint``."""

        def decorator(f: F) -> F:
            self.view_functions[endpoint] = f
            return f

        return decorator

    # -- request hooks --------------------------------------------------------

    @setupmethod
    def before_request(self, f: T_before_request) -> T_before_request:
        """Run ``f()`` before each request; a non-``None`` return ends the request."""
        self.before_request_funcs[None].append(f)
        return f

    @setupmethod
    def after_request(self, f: T_after_request) -> T_after_request:
        """Run ``f(response)`` after each request; it must return a response."""
        self.after_request_funcs[None].append(f)
        return f

    @setupmethod
    def teardown_request(self, f: T_teardown) -> T_teardown:
        """Run ``f(exc)`` when the request context is popped, even after errors."""
        self.teardown_request_funcs[None].append(f)
        return f

    @setupmethod
    def before_websocket(self, f: T_before_request) -> T_before_request:
        """Run ``f()`` before each WebSocket handler; a non-``None`` return refuses the handshake.

        With an ``async def`` handler, a synchronous hook runs on the event
        loop: there ``websocket`` methods return awaitables, so do socket IO
        from ``async def`` hooks.
        """
        self.before_websocket_funcs[None].append(f)
        return f

    @setupmethod
    def after_websocket(self, f: T_after_websocket) -> T_after_websocket:
        """Run ``f(response)`` after each WebSocket handler; it returns the response.

        ``response`` is ``None`` unless the handshake is being refused with it.
        """
        self.after_websocket_funcs[None].append(f)
        return f

    @setupmethod
    def teardown_websocket(self, f: T_teardown) -> T_teardown:
        """Run ``f(exc)`` when a WebSocket connection ends, even after errors."""
        self.teardown_websocket_funcs[None].append(f)
        return f

    @setupmethod
    def context_processor(self, f: T_template_context_processor) -> T_template_context_processor:
        """Merge the dict ``f()`` returns into every template's context."""
        self.template_context_processors[None].append(f)
        return f

    @setupmethod
    def url_value_preprocessor(self, f: T_url_value_preprocessor) -> T_url_value_preprocessor:
        """Call ``f(endpoint, view_args)`` before the ``before_request`` hooks."""
        self.url_value_preprocessors[None].append(f)
        return f

    @setupmethod
    def url_defaults(self, f: T_url_defaults) -> T_url_defaults:
        """Call ``f(endpoint, values)`` when building URLs, to fill in values."""
        self.url_default_functions[None].append(f)
        return f

    # -- error handlers -------------------------------------------------------

    @setupmethod
    def errorhandler(
        self, code_or_exception: type[Exception] | int
    ) -> t.Callable[[T_error_handler], T_error_handler]:
        """Register the decorated function for an HTTP status code or exception class."""

        def decorator(f: T_error_handler) -> T_error_handler:
            self.register_error_handler(code_or_exception, f)
            return f

        return decorator

    @setupmethod
    def register_error_handler(
        self, code_or_exception: type[Exception] | int, f: ft.ErrorHandlerCallable
    ) -> None:
        """Register ``f`` for an HTTP status code or exception class."""
        exc_class, code = self._get_exc_class_and_code(code_or_exception)
        self.error_handler_spec[None][code][exc_class] = f

    @staticmethod
    def _get_exc_class_and_code(
        exc_class_or_code: type[Exception] | int,
    ) -> tuple[type[Exception], int | None]:
        """The exception class and HTTP code (``None`` for non-HTTP errors) of a key."""
        exc_class: type[Exception]
        if isinstance(exc_class_or_code, int):
            try:
                exc_class = default_exceptions[exc_class_or_code]
            except KeyError:
                raise ValueError(
                    f"'{exc_class_or_code}' is not a recognized HTTP error code. Use a"
                    " subclass of HTTPException with that code instead."
                ) from None
        else:
            exc_class = exc_class_or_code

        if isinstance(exc_class, Exception):
            raise TypeError(
                f"{exc_class!r} is an instance, not a class. Handlers can only be"
                " registered for Exception classes or HTTP error codes."
            )
        if not isinstance(exc_class, type) or not issubclass(exc_class, Exception):
            name = getattr(exc_class, "__name__", repr(exc_class))
            raise ValueError(
                f"'{name}' is not a subclass of Exception. Handlers can only be"
                " registered for Exception classes or HTTP error codes."
            )
        if issubclass(exc_class, HTTPException):
            return exc_class, exc_class.code
        return exc_class, None


class WebsocketNeedsASGI(HTTPException):
    """A WebSocket handshake reached a WebSocket route through the WSGI door.

    WSGI cannot hand the connection over to the app, so the handler is not
    run; the client gets this 501 instead.
    """

    code = 501
    description = (
        "This URL serves WebSocket connections, which the app accepts through its"
        " ASGI door only. Serve it with an ASGI server (for example uvicorn)."
    )


class WebsocketView:
    """A WebSocket handler as stored in ``view_functions``.

    It calls the handler inside a WebSocket connection only. Elsewhere (a
    handshake through a WSGI server, which matches the route but has no
    socket to give) it raises :exc:`WebsocketNeedsASGI`. It compares equal
    to another wrapper of the same handler, so registering one handler for
    several rules works as it does for views.
    """

    def __init__(self, handler: WebsocketHandler) -> None:
        #: The function registered with :meth:`Scaffold.websocket`.
        self.handler = handler
        update_wrapper(self, handler)

    def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if _cv_websocket.get(None) is None:
            raise WebsocketNeedsASGI()
        return self.handler(*args, **kwargs)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WebsocketView):
            return bool(self.handler == other.handler)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.handler)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.handler!r}>"


def _endpoint_from_view_func(view_func: ft.RouteCallable | None) -> str:
    """The default endpoint for a view: the function's name."""
    assert view_func is not None, "expected view func if endpoint is not provided."
    return view_func.__name__


def _find_package_path(import_name: str) -> str:
    """The folder holding the top-level package or module of ``import_name``."""
    root_name = import_name.partition(".")[0]
    try:
        root_spec = importlib.util.find_spec(root_name)
    except (ImportError, ValueError):
        root_spec = None
    if root_spec is None:
        # Interactive sessions and ``__main__`` without a spec.
        return os.getcwd()

    locations = root_spec.submodule_search_locations
    if not locations:
        # A plain module: its folder holds it.
        return os.path.dirname(t.cast(str, root_spec.origin))
    if root_spec.origin not in (None, "namespace"):
        # A regular package: ``origin`` is ``pkg/__init__.py``.
        return os.path.dirname(os.path.dirname(root_spec.origin))
    # A namespace package spread over several folders: pick the portion that
    # holds the requested submodule.
    try:
        spec = importlib.util.find_spec(import_name)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        wanted = pathlib.Path(os.path.commonpath(list(spec.submodule_search_locations)))
        for location in locations:
            if wanted.is_relative_to(location):
                return os.path.dirname(location)
    return os.path.dirname(next(iter(locations)))


def find_package(import_name: str) -> tuple[str | None, str]:
    """Find where a package or module is installed.

    Returns ``(prefix, folder)``: ``prefix`` is the installation prefix
    (``sys.prefix`` or a virtualenv root) when the package is installed there,
    else ``None``; ``folder`` holds the package.
    """
    package_path = _find_package_path(import_name)
    py_prefix = os.path.abspath(sys.prefix)
    if pathlib.PurePath(package_path).is_relative_to(py_prefix):
        return py_prefix, package_path

    site_parent, site_folder = os.path.split(package_path)
    if site_folder.lower() == "site-packages":
        parent, folder = os.path.split(site_parent)
        # <prefix>/lib/site-packages (Windows) or <prefix>/lib/pythonX.Y/site-packages
        if folder.lower() == "lib":
            return parent, package_path
        if os.path.basename(parent).lower() == "lib":
            return os.path.dirname(parent), package_path
        return site_parent, package_path
    return None, package_path


__all__ = ["Scaffold", "WebsocketNeedsASGI", "WebsocketView", "find_package", "setupmethod"]
