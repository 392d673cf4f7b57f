"""The proxy class behind the context globals, with cheaper attribute reads.

``request.form`` and ``current_app.config`` are read many times per request.
Werkzeug's :class:`~werkzeug.local.LocalProxy` answers such reads through a
descriptor that binds ``getattr`` with a :func:`functools.partial` on every
access. :class:`ContextProxy` reads the attribute off the current object in a
plain ``__getattr__`` instead, and remembers each public name it was asked
for as a small descriptor on the proxy's own class, so that later reads of
that name skip ``__getattr__`` too (Python 3.11 looks at the instance first
and builds, then discards, an AttributeError before calling ``__getattr__``).

Everything else (setting, deleting, operators, ``_get_current_object()``,
the unbound error, falsiness when unbound) is Werkzeug's, as extensions
expect. Each proxy made by :func:`context_proxy` has a class of its own, so
the names remembered for ``g`` never appear on ``request``.
"""

from __future__ import annotations

import typing as t
from contextvars import ContextVar

from werkzeug.local import LocalProxy

T = t.TypeVar("T")

#: Names remembered per proxy class at most: they come from code (``g.<name>``
#: included), but an unbounded set of them must not grow a class forever.
_MAX_FORWARDED = 512


class _Forward:
    """One attribute of the current object, as a descriptor on a proxy's class."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __get__(self, proxy: LocalProxy[t.Any] | None, owner: type | None = None) -> t.Any:
        if proxy is None:
            return self
        # An object without the attribute raises AttributeError here, and
        # Python then asks ``__getattr__``, which raises it again: as before.
        return getattr(proxy._get_current_object(), self._name)


class ContextProxy(LocalProxy[T]):
    """A :class:`~werkzeug.local.LocalProxy` whose attribute reads cost less."""

    __slots__ = ()

    def __getattr__(self, name: str) -> t.Any:
        value = getattr(self._get_current_object(), name)
        cls = type(self)
        if name[:1] != "_" and name not in cls.__dict__ and len(cls.__dict__) < _MAX_FORWARDED:
            setattr(cls, name, _Forward(name))
        return value

    def __repr__(self) -> str:
        # The bound object's repr, as the base class gives; unbound, the base
        # class would name this subclass: read as Werkzeug's own proxy does.
        try:
            obj = self._get_current_object()
        except RuntimeError:
            return "<LocalProxy unbound>"
        return repr(obj)


def context_proxy(
    local: ContextVar[t.Any], name: str | None = None, *, unbound_message: str
) -> t.Any:
    """A proxy to ``local``'s value (or to its attribute ``name``), with a class of its own."""
    cls = type("ContextProxy", (ContextProxy,), {"__slots__": (), "__module__": __name__})
    return cls(local, name, unbound_message=unbound_message)
