"""The one question every fast path asks first: was this method replaced?

demijohn answers common cases without going through public methods a
subclass (or an extension patching an instance) may have replaced: a
buffered response is sent without ``get_wsgi_response``, an ``async def``
view is awaited without ``ensure_sync``. Each such shortcut is taken only
while the methods it stands in for are the ones it was written against;
:func:`overrides` is how it asks.
"""

from __future__ import annotations

import typing as t


def _lookup(cls: type, name: str) -> object:
    # The raw attribute, as stored: a classmethod or property compares by
    # identity, which ``getattr`` (a new bound method each time) would not.
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def overrides(obj: object, base: type, *names: str) -> bool:
    """Whether ``obj`` (an instance or a class) replaces any of ``base``'s methods ``names``.

    True when its class defines one of them differently from ``base``, or,
    for an instance, when one is set on the instance itself.
    """
    cls = obj if isinstance(obj, type) else type(obj)
    own: t.Mapping[str, object] = {} if obj is cls else getattr(obj, "__dict__", {})
    return any(name in own or _lookup(cls, name) is not _lookup(base, name) for name in names)
