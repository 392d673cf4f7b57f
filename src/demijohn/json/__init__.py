"""JSON helpers that follow the current application's JSON provider.

Inside an application context, :func:`dumps`, :func:`dump`, :func:`loads` and
:func:`load` delegate to ``current_app.json`` (a
:class:`~demijohn.json.provider.JSONProvider`), so an app's customised
provider is used everywhere. Outside one they fall back to :mod:`json` from the
standard library, extended with the default provider's type conversions.
"""

from __future__ import annotations

import json as _json
import typing as t

from ..globals import _cv_app, current_app
from .provider import _default

if t.TYPE_CHECKING:
    from ..wrappers import Response

__all__ = ["dump", "dumps", "jsonify", "load", "loads"]


def dumps(obj: t.Any, **kwargs: t.Any) -> str:
    """Serialize ``obj`` to a JSON string.

    Uses ``current_app.json.dumps()`` in an app context; otherwise
    :func:`json.dumps` with the default provider's ``default`` function, which
    handles dates, ``Decimal``, ``UUID``, dataclasses and ``__html__`` objects.

    :param obj: The data to serialize.
    :param kwargs: Passed to the ``dumps`` implementation.
    """
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.dumps(obj, **kwargs)
    kwargs.setdefault("default", _default)
    return _json.dumps(obj, **kwargs)


def dump(obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
    """Serialize ``obj`` as JSON and write it to the text file ``fp``.

    Uses ``current_app.json.dump()`` in an app context; otherwise
    :func:`json.dump` with the default provider's ``default`` function.

    :param obj: The data to serialize.
    :param fp: A file opened for writing text.
    :param kwargs: Passed to the ``dump`` implementation.
    """
    ctx = _cv_app.get(None)
    if ctx is not None:
        ctx.app.json.dump(obj, fp, **kwargs)
        return
    kwargs.setdefault("default", _default)
    _json.dump(obj, fp, **kwargs)


def loads(s: str | bytes, **kwargs: t.Any) -> t.Any:
    """Deserialize a JSON document from a string or UTF-8 bytes.

    Uses ``current_app.json.loads()`` in an app context; otherwise
    :func:`json.loads`.

    :param s: Text or UTF-8 bytes.
    :param kwargs: Passed to the ``loads`` implementation.
    :raises ValueError: for malformed JSON, including nesting deeper than
        the parser can follow (a request body's becomes a 400, not a 500).
    """
    ctx = _cv_app.get(None)
    try:
        if ctx is not None:
            return ctx.app.json.loads(s, **kwargs)
        return _json.loads(s, **kwargs)
    except RecursionError:
        # A client chooses the nesting: ``[[[[...`` is bad input, not a crash.
        raise ValueError("JSON nested too deeply to parse") from None


def load(fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
    """Deserialize a JSON document read from the file ``fp``.

    Uses ``current_app.json.load()`` in an app context; otherwise
    :func:`json.load`.

    :param fp: A file opened for reading text or UTF-8 bytes.
    :param kwargs: Passed to the ``load`` implementation.
    """
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.json.load(fp, **kwargs)
    return _json.load(fp, **kwargs)


def jsonify(*args: t.Any, **kwargs: t.Any) -> Response:
    """Serialize the arguments to JSON and return a response with the
    ``application/json`` mimetype (``current_app.json.response()``).

    A single positional argument is serialized as is, several as a list, and
    keyword arguments as a dict; positional and keyword arguments cannot be
    mixed. With no arguments, ``null`` is sent. The output is indented in
    debug mode unless :attr:`~demijohn.json.provider.DefaultJSONProvider.compact`
    says otherwise.

    Requires an active application context.
    """
    ctx = _cv_app.get(None)
    # Going through the proxy when unbound raises Flask's "outside of
    # application context" error.
    app = ctx.app if ctx is not None else current_app
    return app.json.response(*args, **kwargs)
