"""JSON providers: how an application serializes and parses JSON.

``app.json`` is an instance of :attr:`Flask.json_provider_class
<demijohn.Flask.json_provider_class>`, by default :class:`DefaultJSONProvider`.
To use another JSON library, subclass :class:`JSONProvider`, implement
:meth:`~JSONProvider.dumps` and :meth:`~JSONProvider.loads`, and set it as the
app's ``json_provider_class`` (or assign an instance to ``app.json``).
"""

from __future__ import annotations

import dataclasses
import decimal
import json
import typing as t
import uuid
import weakref
from datetime import date

from werkzeug.http import http_date

# A module reference (not its names): ``wrappers`` imports this package.
from .. import wrappers as _wrappers
from .._shortcuts.json import compact_encoder

if t.TYPE_CHECKING:
    from ..sansio.app import App
    from ..wrappers import Response

__all__ = ["DefaultJSONProvider", "JSONProvider"]

_COMPACT_SEPARATORS = (",", ":")


class JSONProvider:
    """The base class of JSON providers: serialize and parse JSON for one app.

    Subclasses implement at least :meth:`dumps` and :meth:`loads`; the other
    methods are built on them.

    :param app: The application this provider belongs to.
    """

    def __init__(self, app: App) -> None:
        # A proxy, not a strong reference: the app owns its provider, and a
        # back-reference would make a cycle that keeps every dropped app alive
        # until the cyclic garbage collector happens to run.
        self._app: App = app if isinstance(app, weakref.ProxyType) else weakref.proxy(app)

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to a JSON string.

        :param obj: The data to serialize.
        :param kwargs: Options understood by the underlying library.
        """
        raise NotImplementedError

    def dump(self, obj: t.Any, fp: t.IO[str], **kwargs: t.Any) -> None:
        """Serialize ``obj`` as JSON and write it to the text file ``fp``.

        :param obj: The data to serialize.
        :param fp: A file opened for writing text.
        :param kwargs: Passed to :meth:`dumps`.
        """
        fp.write(self.dumps(obj, **kwargs))

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Deserialize a JSON document from a string or UTF-8 bytes.

        :param s: Text or UTF-8 bytes.
        :param kwargs: Options understood by the underlying library.
        """
        raise NotImplementedError

    def load(self, fp: t.IO[t.AnyStr], **kwargs: t.Any) -> t.Any:
        """Deserialize a JSON document read from the file ``fp``.

        :param fp: A file opened for reading text or UTF-8 bytes.
        :param kwargs: Passed to :meth:`loads`.
        """
        return self.loads(fp.read(), **kwargs)

    def _prepare_response_obj(self, args: tuple[t.Any, ...], kwargs: dict[str, t.Any]) -> t.Any:
        if args and kwargs:
            raise TypeError("app.json.response() takes either args or kwargs, not both")
        if not args and not kwargs:
            return None
        if len(args) == 1:
            return args[0]
        # Several positional values become a JSON array (a tuple dumps as one).
        return args or kwargs

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Serialize the arguments and return an ``application/json`` response.

        A single positional argument is serialized as is, several as a list,
        keyword arguments as a dict; giving both is a :exc:`TypeError`. With no
        arguments, ``null`` is serialized.

        :param args: One value to serialize, or several to send as a list.
        :param kwargs: Items to send as a dict.
        """
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj), mimetype="application/json")


def _default(o: t.Any) -> t.Any:
    if isinstance(o, date):
        return http_date(o)
    if isinstance(o, decimal.Decimal | uuid.UUID):
        return str(o)
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if hasattr(o, "__html__"):
        return str(o.__html__())
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class DefaultJSONProvider(JSONProvider):
    """JSON through the standard library's :mod:`json`, with extra types.

    Besides what :mod:`json` handles, it serializes:

    - :class:`datetime.datetime` and :class:`datetime.date` as HTTP date
      strings (:rfc:`822`);
    - :class:`decimal.Decimal` and :class:`uuid.UUID` as strings;
    - dataclass instances through :func:`dataclasses.asdict`;
    - objects with an ``__html__`` method (:class:`~markupsafe.Markup`) as the
      string that method returns.

    Set the attributes below on ``app.json`` (or in a subclass) to change the
    output.
    """

    default: t.Callable[[t.Any], t.Any] = staticmethod(_default)
    """Called for objects :mod:`json` cannot serialize; returns something it
    can, or raises :exc:`TypeError`."""

    ensure_ascii = True
    """Escape non-ASCII characters (``\\uXXXX``). Disable for smaller output."""

    sort_keys = True
    """Sort the keys of every dict. All keys must then be strings."""

    compact: bool | None = None
    """``True`` (or ``None`` outside debug mode): :meth:`response` output has no
    indentation or spaces. ``False`` (or ``None`` in debug mode): indented."""

    mimetype = "application/json"
    """The mimetype of :meth:`response` responses."""

    # ((default, ensure_ascii, sort_keys), encoder) for compact output; rebuilt
    # when one of those attributes changes on the instance or its class.
    _compact_encoder: tuple[tuple[t.Any, bool, bool], t.Callable[[t.Any], str]] | None = None

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        """Serialize ``obj`` to a JSON string with :func:`json.dumps`.

        ``default``, ``ensure_ascii`` and ``sort_keys`` default to the
        attributes of the same names.

        :param obj: The data to serialize.
        :param kwargs: Passed to :func:`json.dumps`.
        """
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return json.dumps(obj, **kwargs)

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        """Deserialize a JSON document with :func:`json.loads`.

        :param s: Text or UTF-8 bytes.
        :param kwargs: Passed to :func:`json.loads`.
        """
        return json.loads(s, **kwargs)

    def _dumps_compact(self, obj: t.Any) -> str:
        # ``overrides(self, DefaultJSONProvider, "dumps")``, inlined: this
        # runs for every JSON response.
        if type(self).dumps is not _default_dumps or "dumps" in self.__dict__:
            # A replaced ``dumps`` must see every call.
            return self.dumps(obj, separators=_COMPACT_SEPARATORS)
        key = (self.default, self.ensure_ascii, self.sort_keys)
        cached = self._compact_encoder
        if cached is None or cached[0] != key:
            # ``json.dumps`` builds an encoder per call when given options; one
            # reused encoder is equivalent (it keeps no state between calls).
            cached = self._compact_encoder = (key, compact_encoder(*key))
        return cached[1](obj)

    def response(self, *args: t.Any, **kwargs: t.Any) -> Response:
        """Serialize the arguments and return a response with :attr:`mimetype`.

        The body is compact, or indented by two spaces when :attr:`compact` is
        ``False`` or is ``None`` in debug mode, and ends with a newline.

        A single positional argument is serialized as is, several as a list,
        keyword arguments as a dict; giving both is a :exc:`TypeError`. With no
        arguments, ``null`` is serialized.

        :param args: One value to serialize, or several to send as a list.
        :param kwargs: Items to send as a dict.
        """
        obj = self._prepare_response_obj(args, kwargs)
        app = self._app
        compact = self.compact
        if compact is False or (compact is None and app.debug):
            body = self.dumps(obj, indent=2)
        else:
            body = self._dumps_compact(obj)
        # ``response_class`` is read now: extensions and tests replace it.
        return _wrappers.buffered_response(app.response_class, body + "\n", mimetype=self.mimetype)


#: The ``dumps`` :meth:`DefaultJSONProvider._dumps_compact` stands in for.
_default_dumps = DefaultJSONProvider.dumps
