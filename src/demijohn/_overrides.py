"""The one question every fast path asks first: was this method replaced?

demijohn answers common cases without going through public methods a
subclass (or an extension patching an instance) may have replaced: a
buffered response is sent without ``get_wsgi_response``, a session cookie
is read without ``get_signing_serializer``. Each such shortcut is taken
only while the methods it stands in for are the ones it was written
against; :func:`overrides` is how it asks. Some ask once (when an object is
made), others on every call, so it is kept to a loop of identity checks.
"""

from __future__ import annotations


def overrides(obj: object, base: type, *names: str) -> bool:
    """Whether ``obj`` (an instance or a class) replaces any of ``base``'s methods ``names``.

    True when its class has one of them other than ``base``'s, or, for an
    instance, when one is set on the instance itself. The names are plain
    methods (read from a class, a function is itself, so identity decides).
    """
    if isinstance(obj, type):
        cls, own = obj, None
    else:
        cls, own = type(obj), getattr(obj, "__dict__", None)
    for name in names:
        if getattr(cls, name) is not getattr(base, name) or (own is not None and name in own):
            return True
    return False
