"""The configuration dictionary and the attributes that mirror its keys."""

from __future__ import annotations

import errno
import json
import os
import types
import typing as t

from werkzeug.utils import import_string

if t.TYPE_CHECKING:
    from .app import Flask

T = t.TypeVar("T")


class ConfigAttribute(t.Generic[T]):
    """A class attribute of the app that reads and writes one config key.

    ``app.testing`` is ``app.config["TESTING"]``: the config stays the single
    source of truth. ``get_converter`` turns the stored value into the
    attribute's type on read (``PERMANENT_SESSION_LIFETIME`` may be stored as
    seconds but reads as a ``timedelta``).
    """

    def __init__(self, name: str, get_converter: t.Callable[[t.Any], T] | None = None) -> None:
        self.__name__ = name
        self.get_converter = get_converter

    @t.overload
    def __get__(self, obj: None, owner: None) -> t.Self: ...

    @t.overload
    def __get__(self, obj: Flask, owner: type[Flask]) -> T: ...

    def __get__(self, obj: Flask | None, owner: type[Flask] | None = None) -> T | t.Any:
        if obj is None:
            return self
        value = obj.config[self.__name__]
        if self.get_converter is not None:
            value = self.get_converter(value)
        return value

    def __set__(self, obj: Flask, value: t.Any) -> None:
        obj.config[self.__name__] = value


class Config(dict[str, t.Any]):
    """A ``dict`` of settings with loaders for files, objects and the environment.

    Only UPPER-CASE keys are taken from objects, modules, files and mappings,
    so helpers and imports in a config module stay out of the config.
    Relative file names resolve against :attr:`root_path`, which is the app's
    root path or, with ``instance_relative_config=True``, its instance folder.

    Every loader returns ``True`` when it loaded something; with
    ``silent=True`` a missing file returns ``False`` instead of raising.
    """

    def __init__(
        self,
        root_path: str | os.PathLike[str],
        defaults: dict[str, t.Any] | None = None,
    ) -> None:
        super().__init__(defaults or {})
        self.root_path = root_path

    def from_envvar(self, variable_name: str, silent: bool = False) -> bool:
        """Load the Python file named by the environment variable ``variable_name``.

        A shortcut for ``from_pyfile(os.environ[variable_name])`` with an
        error that says which variable is missing.
        """
        filename = os.environ.get(variable_name)
        if not filename:
            if silent:
                return False
            raise RuntimeError(
                f"The environment variable {variable_name!r} is not set and as such"
                " configuration could not be loaded. Set this variable and make it"
                " point to a configuration file"
            )
        return self.from_pyfile(filename, silent=silent)

    def from_prefixed_env(
        self, prefix: str = "FLASK", *, loads: t.Callable[[str], t.Any] = json.loads
    ) -> bool:
        """Load every environment variable that starts with ``prefix + "_"``.

        The prefix is removed from the key. Each value goes through ``loads``
        (JSON by default, so ``FLASK_PORT=8000`` is an ``int`` and
        ``FLASK_DEBUG=true`` a ``bool``); a value it cannot decode stays a
        string. A double underscore nests into dicts that already exist or
        are created: ``FLASK_DB__HOST=x`` sets ``config["DB"]["HOST"]``.
        Variables are applied in sorted order so nesting is deterministic.
        """
        start = f"{prefix}_"
        for env_key in sorted(os.environ):
            if not env_key.startswith(start):
                continue
            raw = os.environ[env_key]
            try:
                value = loads(raw)
            except Exception:
                value = raw
            key = env_key[len(start) :]
            if "__" not in key:
                self[key] = value
                continue
            *parents, leaf = key.split("__")
            target: dict[str, t.Any] = self
            for part in parents:
                target = target.setdefault(part, {})
            target[leaf] = value
        return True

    def from_pyfile(self, filename: str | os.PathLike[str], silent: bool = False) -> bool:
        """Execute a Python file and load its upper-case names, like :meth:`from_object`.

        The file sees its own path as ``__file__``. As in Flask, a file the
        config file itself fails to open counts as the config failing to
        load: the error says so, and ``silent=True`` skips it when missing.
        """
        path = os.path.join(self.root_path, filename)
        module = types.ModuleType("config")
        module.__file__ = path
        try:
            with open(path, mode="rb") as f:
                exec(compile(f.read(), path, "exec"), module.__dict__)
        except OSError as e:
            if silent and e.errno in (errno.ENOENT, errno.EISDIR, errno.ENOTDIR):
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        self.from_object(module)
        return True

    def from_object(self, obj: object | str) -> None:
        """Load the upper-case attributes of a module, class or object.

        A string is imported first (``"yourapp.default_settings"`` or
        ``"yourapp.config.ProductionConfig"``). Properties on a class are not
        evaluated; pass an instance for that.
        """
        if isinstance(obj, str):
            obj = import_string(obj)
        for key in dir(obj):
            if key.isupper():
                self[key] = getattr(obj, key)

    def from_file(
        self,
        filename: str | os.PathLike[str],
        load: t.Callable[[t.IO[t.Any]], t.Mapping[str, t.Any]],
        silent: bool = False,
        text: bool = True,
    ) -> bool:
        """Load a file with ``load`` (``json.load``, ``tomllib.load``, ...) into the config.

        The file is opened in text mode, or binary with ``text=False`` (which
        ``tomllib.load`` needs). The loaded mapping goes through
        :meth:`from_mapping`, so only upper-case keys are kept.
        """
        path = os.path.join(self.root_path, filename)
        try:
            with open(path, "r" if text else "rb") as f:
                obj = load(f)
        except OSError as e:
            if silent and e.errno in (errno.ENOENT, errno.EISDIR):
                return False
            e.strerror = f"Unable to load configuration file ({e.strerror})"
            raise
        return self.from_mapping(obj)

    def from_mapping(self, mapping: t.Mapping[str, t.Any] | None = None, **kwargs: t.Any) -> bool:
        """Load the upper-case keys of ``mapping`` and of the keyword arguments."""
        items: dict[str, t.Any] = {}
        if mapping is not None:
            items.update(mapping)
        items.update(kwargs)
        for key, value in items.items():
            if key.isupper():
                self[key] = value
        return True

    def get_namespace(
        self, namespace: str, lowercase: bool = True, trim_namespace: bool = True
    ) -> dict[str, t.Any]:
        """The keys that start with ``namespace``, as a new dict.

        ``app.config.get_namespace("IMAGE_STORE_")`` turns
        ``IMAGE_STORE_BASE_URL`` into ``{"base_url": ...}``; ``trim_namespace``
        keeps the prefix and ``lowercase=False`` keeps the case.
        """
        result: dict[str, t.Any] = {}
        for key, value in self.items():
            if not key.startswith(namespace):
                continue
            name = key[len(namespace) :] if trim_namespace else key
            result[name.lower() if lowercase else name] = value
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {dict.__repr__(self)}>"
