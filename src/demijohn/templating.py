"""Jinja2 integration: the app's environment, its loader and the render helpers."""

from __future__ import annotations

import collections.abc as cabc
import os
import typing as t
import weakref
from functools import partial

from jinja2 import BaseLoader, Template, TemplateNotFound, TemplatesNotFound
from jinja2 import Environment as BaseJinjaEnvironment

from .globals import _cv_app, _cv_request, current_app
from .helpers import stream_with_context
from .signals import before_render_template, template_rendered

if t.TYPE_CHECKING:
    from .app import Flask
    from .sansio.app import App
    from .sansio.scaffold import Scaffold

_R = t.TypeVar("_R")
_A = t.TypeVar("_A", bound="App")


def _deref(ref: weakref.ref[_A]) -> _A:
    """The app behind a weak reference, or a clear error once it was dropped."""
    app = ref()
    if app is None:
        raise ReferenceError("the application of this Jinja environment no longer exists")
    return app


def weak_method(method: t.Callable[..., _R]) -> t.Callable[..., _R]:
    """The bound ``method`` called on a weak proxy of its object, which it does not keep alive.

    For the app's methods stored on objects the app owns (the Jinja
    ``url_for`` global, the ``autoescape`` selector): the bound method itself
    would be a reference cycle back to the app. A :func:`functools.partial`
    over the function and a :func:`weakref.proxy` adds no Python call to each
    use (``url_for`` runs for every link of every page); once the object is
    gone, a call raises :exc:`ReferenceError`.
    """
    obj = method.__self__  # type: ignore[attr-defined]
    return partial(method.__func__, weakref.proxy(obj))  # type: ignore[attr-defined]


def _default_template_ctx_processor() -> dict[str, t.Any]:
    """Put ``g``, ``request`` and ``session`` into every template context.

    They are also Jinja globals; injecting them into the context as well makes
    them visible inside imported macros rendered "with context", as in Flask.
    """
    values: dict[str, t.Any] = {}
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        values["g"] = app_ctx.g
    req_ctx = _cv_request.get(None)
    if req_ctx is not None:
        values["request"] = req_ctx.request
        values["session"] = req_ctx.session
    return values


class Environment(BaseJinjaEnvironment):
    """A Jinja environment that knows its app and loads templates through it.

    Without an explicit ``loader`` it uses the app's
    :meth:`~demijohn.Flask.create_global_jinja_loader`, which searches the
    app's template folder first and then each blueprint's.
    """

    def __init__(self, app: Flask, **options: t.Any) -> None:
        if "loader" not in options:
            options["loader"] = app.create_global_jinja_loader()
        super().__init__(**options)
        self.app = app

    # The app owns its environment: a strong reference back would make a cycle
    # that keeps a dropped app alive until the cyclic collector runs. Only
    # read when templates are loaded, not per render.
    @property
    def app(self) -> Flask:
        """The application this environment belongs to (held weakly)."""
        return _deref(self._app_ref)

    @app.setter
    def app(self, app: Flask) -> None:
        self._app_ref = weakref.ref(app)

    def select_template(
        self,
        names: t.Iterable[str | Template],
        parent: str | None = None,
        globals: cabc.MutableMapping[str, t.Any] | None = None,
    ) -> Template:
        """Load the first template of ``names`` that exists.

        When none does, the :exc:`~jinja2.TemplatesNotFound` error also says
        where they were looked for.
        """
        try:
            return super().select_template(names, parent, globals)
        except TemplatesNotFound as e:
            if not e.templates or not isinstance(self.loader, DispatchingJinjaLoader):
                raise
            message = f"{e.message}; searched: {self.loader.describe_search()}"
            raise TemplatesNotFound(t.cast("list[str]", e.templates), message=message) from None


_EXPLAIN_HINT = ". Set EXPLAIN_TEMPLATE_LOADING = True to log every attempt."


def _describe_owner(owner: Scaffold) -> str:
    from .blueprints import Blueprint

    if isinstance(owner, Blueprint):
        return f"blueprint {owner.name!r}"
    return f"application {owner.import_name!r}"


class DispatchingJinjaLoader(BaseLoader):
    """Search the app's loader, then every registered blueprint's, in order.

    The first loader that has the template wins, so an app template overrides
    a blueprint template of the same name. With ``EXPLAIN_TEMPLATE_LOADING``
    every attempt is logged, which answers "why was that template picked".
    """

    def __init__(self, app: App) -> None:
        self.app = app

    # Held weakly, as :attr:`Environment.app` is: the app owns this loader.
    @property
    def app(self) -> App:
        """The application whose templates this loader finds (held weakly)."""
        return _deref(self._app_ref)

    @app.setter
    def app(self, app: App) -> None:
        self._app_ref = weakref.ref(app)

    def get_source(
        self, environment: BaseJinjaEnvironment, template: str
    ) -> tuple[str, str | None, t.Callable[[], bool] | None]:
        if self.app.config["EXPLAIN_TEMPLATE_LOADING"]:
            return self._get_source_explained(environment, template)
        for _, loader in self._iter_loaders():
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                continue
        raise self._not_found(template)

    def _not_found(self, template: str) -> TemplateNotFound:
        """The error for a missing template, naming the folders that were searched."""
        message = f"{template!r} was not found; searched: {self.describe_search()}"
        return TemplateNotFound(template, message=message)

    def describe_search(self) -> str:
        """Where templates are looked for, in search order, for error messages.

        Folders are listed as paths (marked when they do not exist); other
        loaders by class and owner. Only called when a template is missing.
        """
        places: list[str] = []
        for owner, loader in self._iter_loaders():
            folders = getattr(loader, "searchpath", None)
            if isinstance(folders, list | tuple) and folders:
                for folder in folders:
                    missing = "" if os.path.isdir(folder) else " (does not exist)"
                    places.append(f"{folder}{missing}")
            else:
                places.append(f"{type(loader).__name__} of {_describe_owner(owner)}")
        if not places:
            return "nothing: neither the app nor any blueprint has a template folder"
        hint = "" if self.app.config["EXPLAIN_TEMPLATE_LOADING"] else _EXPLAIN_HINT
        return ", ".join(places) + hint

    def _get_source_explained(
        self, environment: BaseJinjaEnvironment, template: str
    ) -> tuple[str, str | None, t.Callable[[], bool] | None]:
        from .debughelpers import explain_template_loading_attempts

        attempts: list[tuple[BaseLoader, Scaffold, tuple[str, str | None, t.Any] | None]] = []
        found = None
        for owner, loader in self._iter_loaders():
            try:
                result = loader.get_source(environment, template)
            except TemplateNotFound:
                result = None
            attempts.append((loader, owner, result))
            if found is None and result is not None:
                found = result
        explain_template_loading_attempts(self.app, template, attempts)
        if found is None:
            raise self._not_found(template)
        return found

    def _iter_loaders(self) -> t.Iterator[tuple[Scaffold, BaseLoader]]:
        loader = self.app.jinja_loader
        if loader is not None:
            yield self.app, loader
        for blueprint in self.app.iter_blueprints():
            loader = blueprint.jinja_loader
            if loader is not None:
                yield blueprint, loader

    def list_templates(self) -> list[str]:
        names: set[str] = set()
        for _, loader in self._iter_loaders():
            names.update(loader.list_templates())
        return sorted(names)


def _prepare(app: Flask, template: Template, context: dict[str, t.Any]) -> None:
    app.update_template_context(context)
    if before_render_template.receivers:
        before_render_template.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )


def _render(app: Flask, template: Template, context: dict[str, t.Any]) -> str:
    _prepare(app, template, context)
    rendered = template.render(context)
    if template_rendered.receivers:
        template_rendered.send(
            app, _async_wrapper=app.ensure_sync, template=template, context=context
        )
    return rendered


def render_template(
    template_name_or_list: str | Template | list[str | Template],
    **context: t.Any,
) -> str:
    """Render a template from the template folders with ``context``.

    A list of names renders the first one that exists. Context processors
    add their values; the ``before_render_template`` and
    ``template_rendered`` signals are sent around rendering.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _render(app, template, context)


def render_template_string(source: str, **context: t.Any) -> str:
    """Render a template given as a string; it is always autoescaped."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.from_string(source)
    return _render(app, template, context)


def _stream(app: Flask, template: Template, context: dict[str, t.Any]) -> t.Iterator[str]:
    _prepare(app, template, context)

    def generate() -> t.Iterator[str]:
        yield from template.generate(context)
        if template_rendered.receivers:
            template_rendered.send(
                app, _async_wrapper=app.ensure_sync, template=template, context=context
            )

    stream = generate()
    # Inside a request the context must outlive the view, because the
    # template is rendered while the server sends the response.
    if _cv_request.get(None) is not None:
        return stream_with_context(stream)
    return stream


def stream_template(
    template_name_or_list: str | Template | list[str | Template],
    **context: t.Any,
) -> t.Iterator[str]:
    """Render a template piece by piece, as an iterator for a streamed response.

    Inside a request the request context stays available to the template
    while it streams.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.get_or_select_template(template_name_or_list)
    return _stream(app, template, context)


def stream_template_string(source: str, **context: t.Any) -> t.Iterator[str]:
    """Render a template given as a string piece by piece; see :func:`stream_template`."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    template = app.jinja_env.from_string(source)
    return _stream(app, template, context)
