"""Blueprints: groups of routes, hooks and handlers registered on an app later.

A blueprint records what it is told (through the same decorators as the app,
from :class:`~demijohn.sansio.scaffold.Scaffold`) and replays it on each app
it is registered with, under its name and URL prefix. Recording and replaying
need no server; the IO-level :class:`demijohn.Blueprint` adds serving the
blueprint's static files and opening its resources.
"""

from __future__ import annotations

import os
import typing as t
from collections import defaultdict
from functools import update_wrapper

from .. import typing as ft
from .scaffold import F, Scaffold, T_after_websocket, _endpoint_from_view_func, setupmethod

if t.TYPE_CHECKING:
    from .app import App

DeferredSetupFunction = t.Callable[["BlueprintSetupState"], None]
T_after_request = t.TypeVar("T_after_request", bound=ft.AfterRequestCallable[t.Any])
T_before_request = t.TypeVar("T_before_request", bound=ft.BeforeRequestCallable)
T_error_handler = t.TypeVar("T_error_handler", bound=ft.ErrorHandlerCallable)
T_teardown = t.TypeVar("T_teardown", bound=ft.TeardownCallable)
T_template_context_processor = t.TypeVar(
    "T_template_context_processor", bound=ft.TemplateContextProcessorCallable
)
T_template_filter = t.TypeVar("T_template_filter", bound=ft.TemplateFilterCallable)
T_template_global = t.TypeVar("T_template_global", bound=ft.TemplateGlobalCallable)
T_template_test = t.TypeVar("T_template_test", bound=ft.TemplateTestCallable)
T_url_defaults = t.TypeVar("T_url_defaults", bound=ft.URLDefaultCallable)
T_url_value_preprocessor = t.TypeVar(
    "T_url_value_preprocessor", bound=ft.URLValuePreprocessorCallable
)
T_serving = t.TypeVar("T_serving", bound=t.Callable[[], t.Any])
T_while_serving = t.TypeVar(
    "T_while_serving", bound=t.Callable[[], t.Iterator[t.Any] | t.AsyncIterator[t.Any]]
)

# Marks "no cli_group given": commands go in a group named after the blueprint.
_sentinel: t.Any = object()


class BlueprintSetupState:
    """What one registration of a blueprint on an app means.

    Deferred functions recorded with :meth:`Blueprint.record` receive it; its
    :meth:`add_url_rule` applies the registration's prefix, subdomain, name and
    URL defaults.
    """

    def __init__(
        self,
        blueprint: Blueprint,
        app: App,
        options: t.Any,
        first_registration: bool,
    ) -> None:
        #: The app the blueprint is being registered on.
        self.app = app
        #: The blueprint being registered.
        self.blueprint = blueprint
        #: The options given to :meth:`App.register_blueprint`.
        self.options = options
        #: Whether this is the blueprint's first registration on the app.
        self.first_registration = first_registration

        subdomain = self.options.get("subdomain")
        if subdomain is None:
            subdomain = self.blueprint.subdomain
        #: The subdomain the routes are registered for.
        self.subdomain: str | None = subdomain

        url_prefix = self.options.get("url_prefix")
        if url_prefix is None:
            url_prefix = self.blueprint.url_prefix
        #: The URL prefix of the routes.
        self.url_prefix: str | None = url_prefix

        #: The name this registration uses (``name=`` or the blueprint's).
        self.name: str = self.options.get("name", blueprint.name)
        #: The dotted names of the parent blueprints, for nested blueprints.
        self.name_prefix: str = self.options.get("name_prefix", "")

        #: Default view arguments for every route of this registration.
        self.url_defaults: dict[str, t.Any] = dict(self.blueprint.url_values_defaults)
        self.url_defaults.update(self.options.get("url_defaults", ()))

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ft.RouteCallable | None = None,
        **options: t.Any,
    ) -> None:
        """Register a blueprint route on the app, prefixed and namespaced."""
        if self.url_prefix is not None:
            if rule:
                rule = "/".join((self.url_prefix.rstrip("/"), rule.lstrip("/")))
            else:
                rule = self.url_prefix
        options.setdefault("subdomain", self.subdomain)
        if endpoint is None:
            endpoint = _endpoint_from_view_func(view_func)
        defaults = self.url_defaults
        if "defaults" in options:
            defaults = dict(defaults, **options.pop("defaults"))
        self.app.add_url_rule(
            rule,
            f"{self.name_prefix}.{self.name}.{endpoint}".lstrip("."),
            view_func,
            defaults=defaults,
            **options,
        )


class Blueprint(Scaffold):
    """A reusable group of routes, templates, static files, hooks and commands.

    Everything registered on it is replayed on the app by
    :meth:`App.register_blueprint`: endpoints become ``"<name>.<endpoint>"``
    and hooks and error handlers apply to this blueprint's requests only
    (use the ``app_*`` variants for app-wide ones).

    :param name: the blueprint's name, part of every endpoint; no dots.
    :param import_name: usually ``__name__``; locates ``root_path``.
    :param static_folder: folder of the blueprint's static files.
    :param static_url_path: URL of the static route (default: the folder's name).
    :param template_folder: folder of templates, searched after the app's.
    :param url_prefix: prefix of every route of the blueprint.
    :param subdomain: subdomain the routes match, by default.
    :param url_defaults: default view arguments for every route.
    :param root_path: the blueprint's folder, when it cannot be derived.
    :param cli_group: the name of the blueprint's CLI group; ``None`` puts its
        commands directly on the app's CLI.
    """

    _got_registered_once = False

    def __init__(
        self,
        name: str,
        import_name: str,
        static_folder: str | os.PathLike[str] | None = None,
        static_url_path: str | None = None,
        template_folder: str | os.PathLike[str] | None = None,
        url_prefix: str | None = None,
        subdomain: str | None = None,
        url_defaults: dict[str, t.Any] | None = None,
        root_path: str | None = None,
        cli_group: str | None = _sentinel,
    ) -> None:
        super().__init__(
            import_name=import_name,
            static_folder=static_folder,
            static_url_path=static_url_path,
            template_folder=template_folder,
            root_path=root_path,
        )
        if not name:
            raise ValueError("'name' may not be empty.")
        if "." in name:
            raise ValueError("'name' may not contain a dot '.' character.")
        self.name = name
        self.url_prefix = url_prefix
        self.subdomain = subdomain
        #: Functions called with a :class:`BlueprintSetupState` on registration.
        self.deferred_functions: list[DeferredSetupFunction] = []
        self.url_values_defaults: dict[str, t.Any] = url_defaults or {}
        self.cli_group = cli_group
        self._blueprints: list[tuple[Blueprint, dict[str, t.Any]]] = []

    def _check_setup_finished(self, f_name: str) -> None:
        if self._got_registered_once:
            raise AssertionError(
                f"The setup method '{f_name}' can no longer be called on the blueprint"
                f" '{self.name}'. It has already been registered at least once, any"
                " changes will not be applied consistently.\n"
                "Make sure all imports, decorators, functions, etc. needed to set up"
                " the blueprint are done before registering it."
            )

    @setupmethod
    def record(self, func: DeferredSetupFunction) -> None:
        """Call ``func(state)`` each time the blueprint is registered on an app."""
        self.deferred_functions.append(func)

    @setupmethod
    def record_once(self, func: DeferredSetupFunction) -> None:
        """Call ``func(state)`` on the blueprint's first registration on an app only."""

        def wrapper(state: BlueprintSetupState) -> None:
            if state.first_registration:
                func(state)

        self.record(update_wrapper(wrapper, func))

    def make_setup_state(
        self, app: App, options: dict[str, t.Any], first_registration: bool = False
    ) -> BlueprintSetupState:
        """Create the state passed to deferred functions; override to customise."""
        return BlueprintSetupState(self, app, options, first_registration)

    @setupmethod
    def register_blueprint(self, blueprint: Blueprint, **options: t.Any) -> None:
        """Nest ``blueprint`` in this one; it is registered with this one.

        Names, URL prefixes and subdomains combine with this blueprint's.
        """
        if blueprint is self:
            raise ValueError("Cannot register a blueprint on itself")
        self._blueprints.append((blueprint, options))

    def register(self, app: App, options: dict[str, t.Any]) -> None:
        """Replay the blueprint on ``app``; called by :meth:`App.register_blueprint`."""
        name_prefix = options.get("name_prefix", "")
        self_name = options.get("name", self.name)
        name = f"{name_prefix}.{self_name}".lstrip(".")

        if name in app.blueprints:
            which = "this" if app.blueprints[name] is self else "a different"
            existing_at = f" '{name}'" if self_name != name else ""
            raise ValueError(
                f"The name '{self_name}' is already registered for"
                f" {which} blueprint{existing_at}. Use 'name=' to"
                " provide a unique name."
            )

        first_bp_registration = not any(bp is self for bp in app.blueprints.values())
        app.blueprints[name] = self
        self._got_registered_once = True
        state = self.make_setup_state(app, options, first_bp_registration)

        if self.has_static_folder:
            state.add_url_rule(
                f"{self.static_url_path}/<path:filename>",
                # Defined by the IO-level Blueprint (demijohn.blueprints).
                view_func=self.send_static_file,  # type: ignore[attr-defined]
                endpoint="static",
            )

        # Each registration name gets its own copy of the hooks and handlers.
        self._merge_blueprint_funcs(app, name)

        for deferred in self.deferred_functions:
            deferred(state)

        self._register_cli(app, name, options)

        for blueprint, bp_options in self._blueprints:
            blueprint.register(app, self._child_options(state, blueprint, bp_options, name))

    def _register_cli(self, app: App, name: str, options: dict[str, t.Any]) -> None:
        if not self.cli.commands:
            return
        group = options.get("cli_group", self.cli_group)
        if group is None:
            app.cli.commands.update(self.cli.commands)
            return
        self.cli.name = name if group is _sentinel else group
        app.cli.add_command(self.cli)

    @staticmethod
    def _child_options(
        state: BlueprintSetupState,
        child: Blueprint,
        options: dict[str, t.Any],
        name: str,
    ) -> dict[str, t.Any]:
        """A nested blueprint's options: prefix and subdomain joined with the parent's."""
        options = options.copy()

        subdomain = options.get("subdomain")
        if subdomain is None:
            subdomain = child.subdomain
        if state.subdomain is not None and subdomain is not None:
            options["subdomain"] = f"{subdomain}.{state.subdomain}"
        elif subdomain is not None:
            options["subdomain"] = subdomain
        elif state.subdomain is not None:
            options["subdomain"] = state.subdomain

        url_prefix = options.get("url_prefix")
        if url_prefix is None:
            url_prefix = child.url_prefix
        if state.url_prefix is not None and url_prefix is not None:
            options["url_prefix"] = f"{state.url_prefix.rstrip('/')}/{url_prefix.lstrip('/')}"
        elif url_prefix is not None:
            options["url_prefix"] = url_prefix
        elif state.url_prefix is not None:
            options["url_prefix"] = state.url_prefix

        options["name_prefix"] = name
        return options

    def _merge_blueprint_funcs(self, app: App, name: str) -> None:
        def scoped(key: str | None) -> str:
            return name if key is None else f"{name}.{key}"

        for key, by_code in self.error_handler_spec.items():
            app.error_handler_spec[scoped(key)] = defaultdict(
                dict, {code: dict(handlers) for code, handlers in by_code.items()}
            )

        for endpoint, func in self.view_functions.items():
            app.view_functions[f"{name}.{endpoint}"] = func

        registries: tuple[tuple[dict[t.Any, list[t.Any]], dict[t.Any, list[t.Any]]], ...] = (
            (self.before_request_funcs, app.before_request_funcs),
            (self.after_request_funcs, app.after_request_funcs),
            (self.teardown_request_funcs, app.teardown_request_funcs),
            (self.url_default_functions, app.url_default_functions),
            (self.url_value_preprocessors, app.url_value_preprocessors),
            (self.template_context_processors, app.template_context_processors),
            (self.before_websocket_funcs, app.before_websocket_funcs),
            (self.after_websocket_funcs, app.after_websocket_funcs),
            (self.teardown_websocket_funcs, app.teardown_websocket_funcs),
        )
        for own, target in registries:
            for key, funcs in own.items():
                target[scoped(key)].extend(funcs)

    @setupmethod
    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: ft.RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: t.Any,
    ) -> None:
        """Record a URL rule, registered on the app as ``"<name>.<endpoint>"``."""
        if endpoint and "." in endpoint:
            raise ValueError("'endpoint' may not contain a dot '.' character.")
        if view_func is not None and "." in getattr(view_func, "__name__", ""):
            raise ValueError("'view_func' name may not contain a dot '.' character.")
        self.record(
            lambda s: s.add_url_rule(
                rule,
                endpoint,
                view_func,
                provide_automatic_options=provide_automatic_options,
                **options,
            )
        )

    @setupmethod
    def endpoint(self, endpoint: str) -> t.Callable[[F], F]:
        """Register the decorated function on the app as the view for ``endpoint``.

        The name is used as given, not prefixed with the blueprint's: the
        function serves rules added for that endpoint elsewhere (say with
        ``app.url_map.add``). It is recorded once, on the first registration.
        """

        def decorator(f: F) -> F:
            def register_endpoint(state: BlueprintSetupState) -> None:
                state.app.view_functions[endpoint] = f

            self.record_once(register_endpoint)
            return f

        return decorator

    # -- app-wide registrations ---------------------------------------------------

    @setupmethod
    def app_template_filter(
        self, name: str | None = None
    ) -> t.Callable[[T_template_filter], T_template_filter]:
        """Register the decorated function as an app-wide Jinja filter."""

        def decorator(f: T_template_filter) -> T_template_filter:
            self.add_app_template_filter(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_app_template_filter(
        self, f: ft.TemplateFilterCallable, name: str | None = None
    ) -> None:
        """Register ``f`` as an app-wide Jinja filter."""
        self.record_once(lambda s: s.app.add_template_filter(f, name=name))

    @setupmethod
    def app_template_test(
        self, name: str | None = None
    ) -> t.Callable[[T_template_test], T_template_test]:
        """Register the decorated function as an app-wide Jinja test."""

        def decorator(f: T_template_test) -> T_template_test:
            self.add_app_template_test(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_app_template_test(self, f: ft.TemplateTestCallable, name: str | None = None) -> None:
        """Register ``f`` as an app-wide Jinja test."""
        self.record_once(lambda s: s.app.add_template_test(f, name=name))

    @setupmethod
    def app_template_global(
        self, name: str | None = None
    ) -> t.Callable[[T_template_global], T_template_global]:
        """Register the decorated function as an app-wide Jinja global."""

        def decorator(f: T_template_global) -> T_template_global:
            self.add_app_template_global(f, name=name)
            return f

        return decorator

    @setupmethod
    def add_app_template_global(
        self, f: ft.TemplateGlobalCallable, name: str | None = None
    ) -> None:
        """Register ``f`` as an app-wide Jinja global."""
        self.record_once(lambda s: s.app.add_template_global(f, name=name))

    @setupmethod
    def before_app_request(self, f: T_before_request) -> T_before_request:
        """Like :meth:`before_request`, for every request of the app."""
        self.record_once(lambda s: s.app.before_request_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def after_app_request(self, f: T_after_request) -> T_after_request:
        """Like :meth:`after_request`, for every request of the app."""
        self.record_once(lambda s: s.app.after_request_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def teardown_app_request(self, f: T_teardown) -> T_teardown:
        """Like :meth:`teardown_request`, for every request of the app."""
        self.record_once(lambda s: s.app.teardown_request_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def before_app_websocket(self, f: T_before_request) -> T_before_request:
        """Like :meth:`before_websocket`, for every WebSocket connection of the app."""
        self.record_once(lambda s: s.app.before_websocket_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def after_app_websocket(self, f: T_after_websocket) -> T_after_websocket:
        """Like :meth:`after_websocket`, for every WebSocket connection of the app."""
        self.record_once(lambda s: s.app.after_websocket_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def teardown_app_websocket(self, f: T_teardown) -> T_teardown:
        """Like :meth:`teardown_websocket`, for every WebSocket connection of the app."""
        self.record_once(lambda s: s.app.teardown_websocket_funcs.setdefault(None, []).append(f))
        return f

    @setupmethod
    def app_context_processor(
        self, f: T_template_context_processor
    ) -> T_template_context_processor:
        """Like :meth:`context_processor`, for every template of the app."""
        self.record_once(lambda s: s.app.template_context_processors.setdefault(None, []).append(f))
        return f

    @setupmethod
    def app_errorhandler(
        self, code: type[Exception] | int
    ) -> t.Callable[[T_error_handler], T_error_handler]:
        """Like :meth:`errorhandler`, for errors anywhere in the app."""

        def decorator(f: T_error_handler) -> T_error_handler:
            def register(state: BlueprintSetupState) -> None:
                state.app.errorhandler(code)(f)

            self.record_once(register)
            return f

        return decorator

    @setupmethod
    def app_url_value_preprocessor(self, f: T_url_value_preprocessor) -> T_url_value_preprocessor:
        """Like :meth:`url_value_preprocessor`, for every request of the app."""
        self.record_once(lambda s: s.app.url_value_preprocessors.setdefault(None, []).append(f))
        return f

    @setupmethod
    def app_url_defaults(self, f: T_url_defaults) -> T_url_defaults:
        """Like :meth:`url_defaults`, for every URL the app builds."""
        self.record_once(lambda s: s.app.url_default_functions.setdefault(None, []).append(f))
        return f

    @setupmethod
    def before_app_serving(self, f: T_serving) -> T_serving:
        """Register ``f`` with :meth:`App.before_serving` when the blueprint is registered."""
        self.record_once(lambda s: s.app.before_serving_funcs.append(f))
        return f

    @setupmethod
    def after_app_serving(self, f: T_serving) -> T_serving:
        """Register ``f`` with :meth:`App.after_serving` when the blueprint is registered."""
        self.record_once(lambda s: s.app.after_serving_funcs.append(f))
        return f

    @setupmethod
    def while_app_serving(self, f: T_while_serving) -> T_while_serving:
        """Register ``f`` with :meth:`App.while_serving` when the blueprint is registered."""
        self.record_once(lambda s: s.app.while_serving_funcs.append(f))
        return f
