"""Class-based views: :class:`View` and the method-dispatching :class:`MethodView`."""

from __future__ import annotations

import typing as t

from . import typing as ft
from .globals import current_app, request

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The method names :class:`MethodView` dispatches to.
http_method_funcs = frozenset(["get", "post", "head", "options", "delete", "put", "trace", "patch"])


class View:
    """A view as a class: override :meth:`dispatch_request`, register :meth:`as_view`.

    ::

        class Hello(View):
            def dispatch_request(self, name):
                return f"Hello {name}!"

        app.add_url_rule("/hello/<name>", view_func=Hello.as_view("hello"))
    """

    #: Methods the view accepts; the rule's default when registered.
    methods: t.ClassVar[t.Collection[str] | None] = None
    #: Overrides the automatic ``OPTIONS`` answer for the view's rules.
    provide_automatic_options: t.ClassVar[bool | None] = None
    #: Decorators applied, in order, to the function :meth:`as_view` returns.
    decorators: t.ClassVar[list[t.Callable[..., t.Any]]] = []
    #: Create a new instance per request. With ``False``, one instance is
    #: shared by every request, so it must not store request data on ``self``.
    init_every_request: t.ClassVar[bool] = True

    def dispatch_request(self) -> ft.ResponseReturnValue:
        """Handle a request; receives the URL's variables as keyword arguments."""
        raise NotImplementedError()

    @classmethod
    def as_view(cls, name: str, *class_args: t.Any, **class_kwargs: t.Any) -> ft.RouteCallable:
        """Return a view function for ``add_url_rule`` that dispatches to the class.

        ``class_args`` and ``class_kwargs`` are passed to the constructor.
        """
        if cls.init_every_request:

            def view(**kwargs: t.Any) -> ft.ResponseReturnValue:
                self = view.view_class(*class_args, **class_kwargs)  # type: ignore[attr-defined]
                return current_app.ensure_sync(self.dispatch_request)(**kwargs)  # type: ignore[no-any-return]

        else:
            instance = cls(*class_args, **class_kwargs)

            def view(**kwargs: t.Any) -> ft.ResponseReturnValue:
                return current_app.ensure_sync(instance.dispatch_request)(**kwargs)  # type: ignore[no-any-return]

        if cls.decorators:
            view.__name__ = name
            view.__module__ = cls.__module__
            for decorator in cls.decorators:
                view = decorator(view)

        # Set after decorating, so the attributes land on the outermost function,
        # where add_url_rule reads them.
        view.view_class = cls  # type: ignore[attr-defined]
        view.__name__ = name
        view.__doc__ = cls.__doc__
        view.__module__ = cls.__module__
        view.methods = cls.methods  # type: ignore[attr-defined]
        view.provide_automatic_options = cls.provide_automatic_options  # type: ignore[attr-defined]
        return view


class MethodView(View):
    """Dispatch to the method named after the HTTP method: ``get``, ``post``...

    :attr:`methods` is derived from the methods defined (through inheritance
    too); ``HEAD`` falls back to ``get``. Other methods get a 405.
    """

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if "methods" in cls.__dict__:
            return
        methods: set[str] = set()
        for base in cls.__bases__:
            if getattr(base, "methods", None):
                methods.update(base.methods)  # type: ignore[attr-defined]
        for key in http_method_funcs:
            if hasattr(cls, key):
                methods.add(key.upper())
        if methods:
            cls.methods = methods

    def dispatch_request(self, **kwargs: t.Any) -> ft.ResponseReturnValue:
        """Call the method matching the request's HTTP method."""
        meth = getattr(self, request.method.lower(), None)
        if meth is None and request.method == "HEAD":
            meth = getattr(self, "get", None)
        assert meth is not None, f"Unimplemented method {request.method!r}"
        return current_app.ensure_sync(meth)(**kwargs)  # type: ignore[no-any-return]
