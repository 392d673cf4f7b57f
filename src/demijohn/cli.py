"""The ``demijohn`` command: app discovery, ``run``, ``shell``, ``routes`` and plugins.

It behaves like the ``flask`` command, reads the same environment
(``FLASK_APP``, ``FLASK_DEBUG``, ``FLASK_RUN_*``, ``.flaskenv``/``.env``) and
loads plugins from the same ``flask.commands`` entry-point group. Before it
imports the user's app it installs the flask alias, so a project written
against ``flask`` runs unchanged.
"""

from __future__ import annotations

import ast
import collections.abc as cabc
import importlib.metadata
import importlib.util
import inspect
import ipaddress
import os
import platform
import re
import sys
import traceback
import typing as t
from functools import update_wrapper
from operator import itemgetter
from types import ModuleType

import click
from click.core import ParameterSource
from werkzeug import run_simple
from werkzeug.serving import is_running_from_reloader

from .globals import _cv_app, current_app
from .helpers import get_debug_flag, get_load_dotenv

if t.TYPE_CHECKING:
    import ssl

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .app import Flask
    from .asgi import Receive, Scope, Send

    _ASGIApp = t.Callable[[Scope, Receive, Send], t.Awaitable[None]]
    #: What ``--cert`` (with ``--key``) gives ``run``.
    _Cert = ssl.SSLContext | tuple[str, str | None] | t.Literal["adhoc"] | None

F = t.TypeVar("F", bound=t.Callable[..., t.Any])

#: The commands of the ``demijohn`` group itself; a user command of the same
#: name does not replace them (as in Flask, whatever the guide's warning says).
BUILTIN_COMMANDS = ("run", "shell", "routes")


class NoAppException(click.UsageError):
    """The app could not be found or loaded; the message says what was tried."""


def _is_app(value: object) -> bool:
    from .app import Flask

    return isinstance(value, Flask)


def find_best_app(module: ModuleType) -> Flask:
    """Find the app in ``module``: ``app``/``application``, a single instance, or a factory.

    The factory (``create_app`` or ``make_app``) is called without arguments.
    """
    for attr_name in ("app", "application"):
        candidate = getattr(module, attr_name, None)
        if _is_app(candidate):
            return t.cast("Flask", candidate)

    instances = [value for value in module.__dict__.values() if _is_app(value)]
    if len(instances) == 1:
        return t.cast("Flask", instances[0])
    if len(instances) > 1:
        raise NoAppException(
            f"Detected multiple Flask applications in module '{module.__name__}'."
            f" Use '{module.__name__}:name' to specify the correct one."
        )

    for factory_name in ("create_app", "make_app"):
        factory = getattr(module, factory_name, None)
        if inspect.isfunction(factory):
            try:
                app = factory()
            except TypeError as e:
                if not _called_with_wrong_args(factory):
                    raise
                raise NoAppException(
                    f"Detected factory '{factory_name}' in module '{module.__name__}',"
                    " but could not call it without arguments. Use"
                    f" '{module.__name__}:{factory_name}(args)'"
                    " to specify arguments."
                ) from e
            if _is_app(app):
                return t.cast("Flask", app)

    raise NoAppException(
        f"Failed to find Flask application or factory in module '{module.__name__}'."
        f" Use '{module.__name__}:name' to specify one."
    )


def _called_with_wrong_args(f: t.Callable[..., t.Any]) -> bool:
    """Whether the ``TypeError`` being handled came from calling ``f`` itself.

    A ``TypeError`` raised inside the factory is a bug in it and must surface
    as is; only a failure at the call (wrong arguments) is ours to explain.
    """
    tb = sys.exc_info()[2]
    try:
        while tb is not None:
            if tb.tb_frame.f_code is f.__code__:
                return False  # the error happened inside the function
            tb = tb.tb_next
        return True
    finally:
        del tb


def find_app_by_string(module: ModuleType, app_name: str) -> Flask:
    """Find the app named by ``app_name``: an attribute, or a factory call with literal args.

    ``"app"``, ``"create_app()"`` and ``"create_app('dev', debug=True)"`` are
    all accepted.
    """
    try:
        expr = ast.parse(app_name.strip(), mode="eval").body
    except SyntaxError:
        raise NoAppException(
            f"Failed to parse {app_name!r} as an attribute name or function call."
        ) from None

    args: list[t.Any] = []
    kwargs: dict[str, t.Any] = {}
    if isinstance(expr, ast.Name):
        name = expr.id
        is_call = False
    elif isinstance(expr, ast.Call):
        if not isinstance(expr.func, ast.Name):
            raise NoAppException(f"Function reference must be a simple name: {app_name!r}.")
        name = expr.func.id
        is_call = True
        try:
            args = [ast.literal_eval(arg) for arg in expr.args]
            kwargs = {
                kw.arg: ast.literal_eval(kw.value) for kw in expr.keywords if kw.arg is not None
            }
        except ValueError:
            raise NoAppException(
                f"Failed to parse arguments as literal values: {app_name!r}."
            ) from None
    else:
        raise NoAppException(f"Failed to parse {app_name!r} as an attribute name or function call.")

    try:
        attr = getattr(module, name)
    except AttributeError as e:
        raise NoAppException(f"Failed to find attribute {name!r} in {module.__name__!r}.") from e

    if inspect.isfunction(attr):
        try:
            app = attr(*args, **kwargs)
        except TypeError as e:
            if not _called_with_wrong_args(attr):
                raise
            raise NoAppException(
                f"The factory {app_name!r} in module {module.__name__!r}"
                " could not be called with the specified arguments."
            ) from e
    elif is_call:
        raise NoAppException(f"{name!r} in {module.__name__!r} is not a function to call.")
    else:
        app = attr

    if _is_app(app):
        return t.cast("Flask", app)
    raise NoAppException(
        f"A valid Flask application was not obtained from '{module.__name__}:{app_name}'."
    )


def prepare_import(path: str) -> str:
    """Turn a file or package path into an importable module name.

    The folder above the outermost package is put first on ``sys.path``, so
    ``src/pkg/app.py`` becomes ``pkg.app`` importable from ``src``.
    """
    path = os.path.realpath(path)
    base, ext = os.path.splitext(path)
    if ext == ".py":
        path = base
    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)

    parts: list[str] = []
    while True:
        path, name = os.path.split(path)
        parts.append(name)
        if not os.path.exists(os.path.join(path, "__init__.py")):
            break
    if sys.path[0] != path:
        sys.path.insert(0, path)
    return ".".join(reversed(parts))


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[True] = True
) -> Flask: ...


@t.overload
def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: t.Literal[False] = ...
) -> Flask | None: ...


def locate_app(
    module_name: str, app_name: str | None, raise_if_not_found: bool = True
) -> Flask | None:
    """Import ``module_name`` and find the app in it (by ``app_name`` if given).

    An ``ImportError`` raised *inside* the module (a missing dependency of
    the user's app) is reported with its traceback; a module that does not
    exist is "Could not import".
    """
    try:
        __import__(module_name)
    except ImportError:
        # More than one frame below us means the module itself was found and
        # failed while importing something else.
        tb = sys.exc_info()[2]
        if tb is not None and tb.tb_next is not None:
            raise NoAppException(
                f"While importing {module_name!r}, an ImportError was"
                f" raised:\n\n{traceback.format_exc()}"
            ) from None
        if raise_if_not_found:
            raise NoAppException(f"Could not import {module_name!r}.") from None
        return None

    module = sys.modules[module_name]
    if app_name is None:
        return find_best_app(module)
    return find_app_by_string(module, app_name)


def get_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--version``: print the Python, demijohn (and Flask API) and Werkzeug versions."""
    if not value or ctx.resilient_parsing:
        return
    from ._alias import FLASK_API_VERSION

    werkzeug_version = importlib.metadata.version("werkzeug")
    click.echo(
        f"Python {platform.python_version()}\n"
        f"demijohn {importlib.metadata.version('demijohn')} (Flask API {FLASK_API_VERSION})\n"
        f"Werkzeug {werkzeug_version}",
        color=ctx.color,
    )
    ctx.exit()


version_option = click.Option(
    ["--version"],
    help="Show the demijohn version.",
    expose_value=False,
    callback=get_version,
    is_flag=True,
    is_eager=True,
)


class ScriptInfo:
    """What commands need to load the app; passed to them as the Click context object.

    :param app_import_path: ``--app`` / ``FLASK_APP``, e.g. ``"hello:app"``.
    :param create_app: a function returning the app, used instead of discovery.
    :param set_debug_flag: set ``app.debug`` from ``FLASK_DEBUG`` once loaded.
    :param load_dotenv_defaults: whether ``.flaskenv``/``.env`` are loaded.
    """

    def __init__(
        self,
        app_import_path: str | None = None,
        create_app: t.Callable[..., Flask] | None = None,
        set_debug_flag: bool = True,
        load_dotenv_defaults: bool = True,
    ) -> None:
        self.app_import_path = app_import_path
        self.create_app = create_app
        #: Free-form data for extensions and commands.
        self.data: dict[t.Any, t.Any] = {}
        self.set_debug_flag = set_debug_flag
        self.load_dotenv_defaults = get_load_dotenv(load_dotenv_defaults)
        self._loaded_app: Flask | None = None

    def load_app(self) -> Flask:
        """Load the app once (from ``create_app``, the import path, or ``wsgi.py``/``app.py``)."""
        if self._loaded_app is not None:
            return self._loaded_app

        # The user's app and its extensions may import ``flask``.
        from ._alias import install_as_flask

        install_as_flask()

        app: Flask | None
        if self.create_app is not None:
            app = self.create_app()
        elif self.app_import_path:
            # "module:name", but not the colon of a Windows drive ("C:\\app.py").
            path, *rest = re.split(r":(?![\\/])", self.app_import_path, maxsplit=1)
            import_name = prepare_import(path)
            app = locate_app(import_name, rest[0] if rest else None)
        else:
            app = None
            for path in ("wsgi.py", "app.py"):
                import_name = prepare_import(path)
                app = locate_app(import_name, None, raise_if_not_found=False)
                if app is not None:
                    break

        if app is None:
            raise NoAppException(
                "Could not locate a Flask application. Use the 'demijohn --app'"
                " option, 'FLASK_APP' environment variable, or a 'wsgi.py' or"
                " 'app.py' file in the current directory."
            )

        if self.set_debug_flag:
            # Loading the app must not undo FLASK_DEBUG / --debug.
            app.debug = get_debug_flag()

        self._loaded_app = app
        return app


pass_script_info = click.make_pass_decorator(ScriptInfo, ensure=True)


def with_appcontext(f: F) -> F:
    """Run the decorated command inside the app context of the loaded app.

    Commands registered through ``app.cli`` or a blueprint's ``cli`` get this
    automatically; it is needed for plain Click commands added to the group.
    """

    @click.pass_context
    def decorator(ctx: click.Context, /, *args: t.Any, **kwargs: t.Any) -> t.Any:
        if _cv_app.get(None) is None:
            app = ctx.ensure_object(ScriptInfo).load_app()
            ctx.with_resource(app.app_context())
        return ctx.invoke(f, *args, **kwargs)

    return update_wrapper(decorator, f)  # type: ignore[return-value]


class AppGroup(click.Group):
    """A Click group whose commands run inside the app context by default.

    Pass ``with_appcontext=False`` to :meth:`command` for a command that must
    not load the app.
    """

    def command(  # type: ignore[override]
        self, *args: t.Any, **kwargs: t.Any
    ) -> t.Callable[[t.Callable[..., t.Any]], click.Command]:
        """Like :meth:`click.Group.command`, wrapping the callback in :func:`with_appcontext`."""
        wrap_for_ctx = kwargs.pop("with_appcontext", True)

        def decorator(f: t.Callable[..., t.Any]) -> click.Command:
            if wrap_for_ctx:
                f = with_appcontext(f)
            return click.Group.command(self, *args, **kwargs)(f)  # type: ignore[no-any-return]

        return decorator

    def group(  # type: ignore[override]
        self, *args: t.Any, **kwargs: t.Any
    ) -> t.Callable[[t.Callable[..., t.Any]], click.Group]:
        """Like :meth:`click.Group.group`, but the new group is an :class:`AppGroup`."""
        kwargs.setdefault("cls", AppGroup)
        return click.Group.group(self, *args, **kwargs)  # type: ignore[no-any-return]


def _set_app(ctx: click.Context, param: click.Option, value: str | None) -> str | None:
    if value is None:
        return None
    info = ctx.ensure_object(ScriptInfo)
    info.app_import_path = value
    return value


# Eager and hidden from the commands: parsed before subcommands are resolved,
# because resolving one may need the app.
_app_option = click.Option(
    ["-A", "--app"],
    metavar="IMPORT",
    help=(
        "The Flask application or factory function to load, in the form 'module:name'."
        " Module can be a dotted import or file path. Name is not required if it is"
        " 'app', 'application', 'create_app', or 'make_app', and can be 'name(args)'"
        " to pass arguments."
    ),
    is_eager=True,
    expose_value=False,
    callback=_set_app,
)


def _set_debug(ctx: click.Context, param: click.Option, value: bool) -> bool | None:
    # Only an explicit flag overrides FLASK_DEBUG.
    source = ctx.get_parameter_source(param.name) if param.name else None
    if source is not None and source in (
        ParameterSource.DEFAULT,
        ParameterSource.DEFAULT_MAP,
    ):
        return None
    # Set the variable so that reloader children and get_debug_flag() agree.
    os.environ["FLASK_DEBUG"] = "1" if value else "0"
    return value


_debug_option = click.Option(
    ["--debug/--no-debug"],
    help="Set debug mode.",
    expose_value=False,
    callback=_set_debug,
)


def _env_file_callback(ctx: click.Context, param: click.Option, value: str | None) -> str | None:
    try:
        import dotenv  # noqa: F401
    except ImportError:
        # Only an error if the option was actually given.
        if value is not None:
            raise click.BadParameter(
                "python-dotenv must be installed to load an env file.",
                ctx=ctx,
                param=param,
            ) from None

    # Loaded here, not in make_context, so the file given wins over the defaults
    # and FLASK_APP from it is seen before the app is located.
    if value is not None or ctx.obj.load_dotenv_defaults:
        load_dotenv(value, load_defaults=ctx.obj.load_dotenv_defaults)
    return value


_env_file_option = click.Option(
    ["-e", "--env-file"],
    type=click.Path(exists=True, dir_okay=False),
    help=(
        "Load environment variables from this file, taking precedence over those set by"
        " '.env' and '.flaskenv'. Variables set directly in the environment take highest"
        " precedence. python-dotenv must be installed."
    ),
    is_eager=True,
    expose_value=False,
    callback=_env_file_callback,
)


class FlaskGroup(AppGroup):
    """The ``demijohn`` command group: built-in commands, the app's and plugins'.

    :param add_default_commands: add ``run``, ``shell`` and ``routes``.
    :param create_app: a function returning the app, instead of discovery.
    :param add_version_option: add ``--version``.
    :param load_dotenv: load ``.flaskenv`` and ``.env``.
    :param set_debug_flag: set ``app.debug`` from ``FLASK_DEBUG``.
    """

    def __init__(
        self,
        add_default_commands: bool = True,
        create_app: t.Callable[..., Flask] | None = None,
        add_version_option: bool = True,
        load_dotenv: bool = True,
        set_debug_flag: bool = True,
        **extra: t.Any,
    ) -> None:
        params: list[click.Parameter] = list(extra.pop("params", None) or ())
        # The eager options first, in the order they must run.
        params.extend((_env_file_option, _app_option, _debug_option))
        if add_version_option:
            params.append(version_option)
        if "context_settings" not in extra:
            extra["context_settings"] = {}
        # --port reads FLASK_RUN_PORT, and so on.
        extra["context_settings"].setdefault("auto_envvar_prefix", "FLASK")

        super().__init__(params=params, **extra)
        self.create_app = create_app
        self.load_dotenv = load_dotenv
        self.set_debug_flag = set_debug_flag
        if add_default_commands:
            self.add_command(run_command)
            self.add_command(shell_command)
            self.add_command(routes_command)
        self._loaded_plugin_commands = False

    def _load_plugin_commands(self) -> None:
        if self._loaded_plugin_commands:
            return
        # Plugins are Flask extensions (Flask-Limiter's ``limiter`` command,
        # say) whose modules import ``flask``: the alias must be in place first.
        from ._alias import install_as_flask

        install_as_flask()
        for entry_point in importlib.metadata.entry_points(group="flask.commands"):
            self.add_command(entry_point.load(), entry_point.name)
        self._loaded_plugin_commands = True

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """A built-in or plugin command first, then the app's own commands."""
        self._load_plugin_commands()
        command = super().get_command(ctx, name)
        if command is not None:
            return command

        info = ctx.ensure_object(ScriptInfo)
        try:
            app = info.load_app()
        except NoAppException as e:
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
            return None
        # Push an app context for the command's whole run (the app's
        # commands expect current_app, even their --help).
        if _cv_app.get(None) is None or current_app._get_current_object() is not app:  # type: ignore[attr-defined]
            ctx.with_resource(app.app_context())
        return app.cli.get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The built-in, plugin and app command names, for ``--help``."""
        self._load_plugin_commands()
        names = set(super().list_commands(ctx))
        info = ctx.ensure_object(ScriptInfo)
        try:
            names.update(info.load_app().cli.list_commands(ctx))
        except NoAppException as e:
            # Still list the built-ins, and say why the app's are missing.
            click.secho(f"Error: {e.format_message()}\n", err=True, fg="red")
        except Exception:
            click.secho(f"{traceback.format_exc()}\n", err=True, fg="red")
        return sorted(names)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: t.Any,
    ) -> click.Context:
        """Create the context with a :class:`ScriptInfo` as its object."""
        # app.run() checks this to refuse starting a second server.
        os.environ["FLASK_RUN_FROM_CLI"] = "true"
        if "obj" not in extra and "obj" not in (self.context_settings or {}):
            extra["obj"] = ScriptInfo(
                create_app=self.create_app,
                set_debug_flag=self.set_debug_flag,
                load_dotenv_defaults=self.load_dotenv,
            )
        return super().make_context(info_name, args, parent=parent, **extra)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Load the dotenv defaults even when no arguments are given (``--help`` then lists
        the commands of the app named in ``.flaskenv``)."""
        if (not args and self.no_args_is_help) or (
            len(args) == 1 and args[0] in self.get_help_option_names(ctx)
        ):
            _env_file_option.handle_parse_result(ctx, {}, [])
            _app_option.handle_parse_result(ctx, {}, [])
        return super().parse_args(ctx, args)


def load_dotenv(path: str | os.PathLike[str] | None = None, load_defaults: bool = True) -> bool:
    """Load ``.flaskenv`` then ``.env`` (found walking up from the current folder), then ``path``.

    Later files win over earlier ones, and variables already in the
    environment win over all files. Without python-dotenv a one-line tip is
    printed when such files exist. Returns whether anything was loaded.
    """
    try:
        import dotenv
    except ImportError:
        if path or os.path.isfile(".env") or os.path.isfile(".flaskenv"):
            click.secho(
                " * Tip: There are .env files present. Install python-dotenv to use them.",
                fg="yellow",
                err=True,
            )
        return False

    values: dict[str, str | None] = {}
    if load_defaults:
        for name in (".flaskenv", ".env"):
            found = dotenv.find_dotenv(name, usecwd=True)
            if found:
                values.update(dotenv.dotenv_values(found, encoding="utf-8"))
    if path is not None and os.path.isfile(path):
        values.update(dotenv.dotenv_values(path, encoding="utf-8"))

    for key, value in values.items():
        if key not in os.environ and value is not None:
            os.environ[key] = value
    return bool(values)


def show_server_banner(debug: bool, app_import_path: str | None) -> None:
    """Print the app being served and the debug mode, once (not again in the reloader child)."""
    if is_running_from_reloader():
        return
    if app_import_path is not None:
        click.echo(f" * Serving Flask app '{app_import_path}'")
    if debug is not None:
        click.echo(f" * Debug mode: {'on' if debug else 'off'}")


def _warn_if_debugger_exposed(host: str | None, debugger: bool) -> None:
    """Warn, before serving, when the interactive debugger listens beyond this machine.

    The debugger runs arbitrary code for whoever unlocks it with the PIN, so
    binding it to ``0.0.0.0`` or a public address deserves a loud notice.
    """
    if not debugger or is_running_from_reloader() or _is_local_host(host or "127.0.0.1"):
        return
    click.secho(
        f" * WARNING: the debugger is on and the server listens on {host}, which is not a"
        " loopback address: anyone who can reach it may run code on this machine through"
        " the debugger, with the PIN as the only guard. Bind 127.0.0.1 instead, or turn"
        " debug mode off.",
        fg="red",
        bold=True,
        err=True,
    )


def _is_local_host(host: str) -> bool:
    """Whether ``host`` can only be reached from this machine (loopback, a Unix socket)."""
    if host.startswith("unix://") or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # another name: it may resolve to any interface


class CertParamType(click.ParamType):  # type: ignore[type-arg]
    """``--cert``: a certificate file, ``adhoc``, or an ``ssl.SSLContext`` import string."""

    name = "path"

    def __init__(self) -> None:
        self.path_type = click.Path(exists=True, dir_okay=False, resolve_path=True)

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        try:
            import ssl
        except ImportError:
            raise click.BadParameter(
                'Using "--cert" requires Python to be compiled with SSL support.',
                ctx,
                param,
            ) from None

        try:
            return self.path_type(value, param, ctx)
        except click.BadParameter:
            value = click.STRING(value, param, ctx).lower()
            if value == "adhoc":
                # Werkzeug makes ad-hoc certificates with the cryptography library.
                if not _cryptography_importable():
                    raise click.BadParameter(
                        "Using ad-hoc certificates requires the cryptography library.",
                        ctx,
                        param,
                    ) from None
                return value

            from werkzeug.utils import import_string

            obj = import_string(value, silent=True)
            if isinstance(obj, ssl.SSLContext):
                return obj
            raise


def _cryptography_importable() -> bool:
    """Whether ``import cryptography`` works, as ad-hoc certificates need.

    Imported, not just found: an install that cannot load (a missing native
    library, an import blocked on purpose) must fail here, with the message,
    not later in the server.
    """
    try:
        if importlib.util.find_spec("cryptography") is None:
            return False
        import cryptography  # noqa: F401
    except (ImportError, ValueError):  # ValueError: a module without a spec
        return False
    return True


def _validate_key(ctx: click.Context, param: click.Parameter, value: t.Any) -> t.Any:
    """Combine ``--cert`` and ``--key`` into what ``run_simple`` takes as ``ssl_context``."""
    cert = ctx.params.get("cert")
    is_adhoc = cert == "adhoc"
    try:
        import ssl
    except ImportError:  # pragma: no cover - Python without SSL
        is_context = False
    else:
        is_context = isinstance(cert, ssl.SSLContext)

    if value is not None:
        if is_adhoc:
            raise click.BadParameter('When "--cert" is "adhoc", "--key" is not used.', ctx, param)
        if is_context:
            raise click.BadParameter(
                'When "--cert" is an SSLContext object, "--key" is not used.', ctx, param
            )
        if not cert:
            raise click.BadParameter('"--cert" must also be specified.', ctx, param)
        ctx.params["cert"] = cert, value
    elif cert and not (is_adhoc or is_context):
        raise click.BadParameter('Required when using "--cert".', ctx, param)
    return value


class SeparatedPathType(click.Path):
    """A list of paths separated by :data:`os.pathsep` (``:`` on POSIX)."""

    def convert(
        self, value: t.Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> t.Any:
        items = self.split_envvar_value(value)
        return [super(SeparatedPathType, self).convert(item, param, ctx) for item in items]


@click.command("run", short_help="Run a development server.")
@click.option("--host", "-h", default="127.0.0.1", help="The interface to bind to.")
@click.option("--port", "-p", default=5000, help="The port to bind to.")
@click.option(
    "--cert",
    type=CertParamType(),
    help="Specify a certificate file to use HTTPS.",
    is_eager=True,
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    callback=_validate_key,
    expose_value=False,
    help="The key file to use when specifying a certificate.",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    help="Enable or disable the reloader. By default the reloader is active if debug is enabled.",
)
@click.option(
    "--debugger/--no-debugger",
    default=None,
    help="Enable or disable the debugger. By default the debugger is active if debug is enabled.",
)
@click.option(
    "--with-threads/--without-threads",
    default=True,
    help="Enable or disable multithreading.",
)
@click.option(
    "--asgi",
    is_flag=True,
    default=False,
    help=(
        "Serve through the ASGI door with uvicorn (the 'asgi' extra) instead of Werkzeug's"
        " server. Automatic when the app has WebSocket routes."
    ),
)
@click.option(
    "--extra-files",
    default=None,
    type=SeparatedPathType(),
    help=(
        "Extra files that trigger a reload on change. Multiple paths"
        f" are separated by {os.path.pathsep!r}."
    ),
)
@click.option(
    "--exclude-patterns",
    default=None,
    type=SeparatedPathType(),
    help=(
        "Files matching these fnmatch patterns will not trigger a reload"
        " on change. Multiple patterns are separated by"
        f" {os.path.pathsep!r}."
    ),
)
@pass_script_info
def run_command(
    info: ScriptInfo,
    host: str,
    port: int,
    reload: bool | None,
    debugger: bool | None,
    with_threads: bool,
    asgi: bool,
    cert: _Cert,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
) -> None:
    """Run a local development server.

    This server is for development purposes only. It does not provide
    the stability, security, or performance of production WSGI servers.

    The reloader and debugger are enabled by default with the '--debug'
    option.

    With '--asgi', or when the app has WebSocket routes, uvicorn serves
    the app through its ASGI door: its own reloader (watching the .py
    files under the current folder and the app's root), and the
    debugger for HTTP requests. '--with-threads', '--extra-files' and
    '--exclude-patterns' are Werkzeug's and are not used then.
    """
    app: WSGIApplication
    try:
        app = info.load_app()
    except Exception as e:
        if not is_running_from_reloader():
            raise
        # In the reloader's child, keep serving so that fixing the file
        # reloads; every request shows the error meanwhile.
        traceback.print_exc()
        error = e

        def app(environ: WSGIEnvironment, start_response: StartResponse) -> cabc.Iterable[bytes]:
            raise error from None

    debug = get_debug_flag()
    if reload is None:
        reload = debug
    if debugger is None:
        debugger = debug

    reason = _asgi_reason(asgi, app)
    show_server_banner(debug, info.app_import_path)
    _warn_if_debugger_exposed(host, debugger)
    if reason is not None:
        if extra_files or exclude_patterns:
            click.secho(
                " * --extra-files and --exclude-patterns are not used with uvicorn's reloader.",
                fg="yellow",
                err=True,
            )
        _run_uvicorn(
            info,
            t.cast("Flask", app),
            reason,
            host=host,
            port=port,
            reload=reload,
            debugger=debugger,
            debug=debug,
            cert=cert,
        )
        return
    run_simple(
        host,
        port,
        app,
        use_reloader=reload,
        use_debugger=debugger,
        threaded=with_threads,
        ssl_context=cert,
        extra_files=extra_files,
        exclude_patterns=exclude_patterns,
    )


run_command.params.insert(0, _debug_option)

#: Set by ``run`` for the process uvicorn's reloader starts: add the debugger or not.
_DEBUGGER_ENV = "DEMIJOHN_RUN_DEBUGGER"


def _asgi_reason(asgi: bool, app: object) -> str | None:
    """Why ``run`` serves through uvicorn, or ``None`` to use Werkzeug's server."""
    if asgi:
        return "--asgi"
    if not _is_app(app):
        return None  # the error app of a reloader child whose import failed
    websocket_rules = [rule for rule in t.cast("Flask", app).url_map.iter_rules() if rule.websocket]
    if not websocket_rules:
        return None
    if is_running_from_reloader():
        # Werkzeug's reloader holds the socket: a route added by an edit
        # cannot switch servers under it.
        click.secho(
            f" * WebSocket route {websocket_rules[0].rule} is not served by Werkzeug's server:"
            " restart 'run' to serve it with uvicorn.",
            fg="yellow",
            err=True,
        )
        return None
    return f"WebSocket route {websocket_rules[0].rule}"


def _import_uvicorn(reason: str) -> ModuleType:
    try:
        import uvicorn
    except ImportError:
        raise click.ClickException(
            f"Serving ASGI ({reason}) needs uvicorn: pip install 'demijohn[asgi]'"
        ) from None
    return uvicorn


def _uvicorn_ssl_files(cert: _Cert) -> tuple[str | None, str | None]:
    """``--cert``/``--key`` as uvicorn's ``ssl_certfile``/``ssl_keyfile``."""
    if cert is None:
        return None, None
    if isinstance(cert, tuple):
        return cert[0], cert[1]
    # Ad-hoc certificates are made by Werkzeug's server, and uvicorn's reloader
    # must pickle its settings: neither can pass an SSLContext along.
    raise click.BadParameter(
        "With uvicorn, use a certificate file and '--key' (not 'adhoc' or an SSLContext).",
        param_hint="'--cert'",
    )


def _run_uvicorn(
    info: ScriptInfo,
    app: Flask,
    reason: str,
    *,
    host: str,
    port: int,
    reload: bool,
    debugger: bool,
    debug: bool,
    cert: _Cert,
) -> None:
    """Serve ``app`` through its ASGI door with uvicorn, until interrupted."""
    uvicorn = _import_uvicorn(reason)
    ssl_certfile, ssl_keyfile = _uvicorn_ssl_files(cert)
    click.echo(f" * Serving ASGI with uvicorn ({reason})")
    options: dict[str, t.Any] = {
        "host": host,
        "port": port,
        "log_level": "debug" if debug else "info",
        "ssl_certfile": ssl_certfile,
        "ssl_keyfile": ssl_keyfile,
        # The app answers the lifespan protocol: a failing startup hook stops the server.
        "lifespan": "on",
    }
    if reload and info.create_app is not None:
        click.secho(
            " * The reloader needs an app uvicorn can import again ('--app' or FLASK_APP),"
            " not a create_app function: serving without it.",
            fg="yellow",
            err=True,
        )
        reload = False
    if not reload:
        uvicorn.run(_asgi_for_dev(app, debugger), **options)
        return
    # Each process the reloader starts imports the app afresh, found as this
    # one found it: through the environment it inherits.
    if info.app_import_path:
        os.environ["FLASK_APP"] = info.app_import_path
    os.environ[_DEBUGGER_ENV] = "1" if debugger else "0"
    uvicorn.run(
        f"{__name__}:_reloaded_asgi_app",
        factory=True,
        reload=True,
        reload_dirs=[os.getcwd(), app.root_path],
        **options,
    )


def _reloaded_asgi_app() -> _ASGIApp:
    """The ASGI app of a process started by uvicorn's reloader for ``run``."""
    debugger = os.environ.get(_DEBUGGER_ENV) == "1"
    try:
        app = ScriptInfo(app_import_path=os.environ.get("FLASK_APP") or None).load_app()
    except Exception as e:
        # As in Werkzeug's reloader: keep serving so that fixing the file
        # reloads, every request showing the error meanwhile (in the
        # debugger when it is on); requests would hang on a dead process.
        traceback.print_exc()
        error = e

        def wsgi_app(environ: WSGIEnvironment, start_response: StartResponse) -> t.NoReturn:
            raise error from None

        from .app import Flask

        app = Flask(__name__)
        app.wsgi_app = wsgi_app  # type: ignore[method-assign]
    return _asgi_for_dev(app, debugger)


def _asgi_for_dev(app: Flask, debugger: bool) -> _ASGIApp:
    """``app``'s ASGI door as uvicorn recognises ASGI 3, with the debugger if asked."""
    if debugger:
        _add_debugger(app)

    # A function, not the bound method: uvicorn takes a bound method for ASGI 2.
    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        await app.asgi_app(scope, receive, send)

    return asgi


def _add_debugger(app: Flask) -> None:
    """Wrap ``app.wsgi_app`` in Werkzeug's interactive debugger and print its PIN.

    The ASGI door runs a replaced ``wsgi_app`` for every HTTP request, so the
    debugger page shows for errors there as under Werkzeug's server.
    """
    from werkzeug.debug import DebuggedApplication

    debugged = DebuggedApplication(app.wsgi_app, evalex=True)
    app.wsgi_app = debugged  # type: ignore[method-assign]
    # Werkzeug prints these only in the child of its own reloader.
    click.echo(" * Debugger is active!")
    if debugged.pin is None:
        click.echo(" * Debugger PIN disabled. DEBUGGER UNSECURED!")
    else:
        click.echo(f" * Debugger PIN: {debugged.pin}")


@click.command("shell", short_help="Run a shell in the app context.")
@with_appcontext
def shell_command() -> None:
    """Run an interactive Python shell in the context of a given
    Flask application. The application will populate the default
    namespace of this shell according to its configuration.

    This is useful for executing small snippets of management code
    without having to manually configure the application.
    """
    import code

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    banner = (
        f"Python {sys.version} on {sys.platform}\n"
        f"App: {app.import_name}\n"
        f"Instance: {app.instance_path}"
    )
    namespace: dict[str, t.Any] = {}

    # Like the plain interpreter, honour PYTHONSTARTUP.
    startup = os.environ.get("PYTHONSTARTUP")
    if startup and os.path.isfile(startup):
        with open(startup) as f:
            eval(compile(f.read(), startup, "exec"), namespace)

    namespace.update(app.make_shell_context())

    # Keep a customised interactive hook (e.g. tab completion set up by
    # PYTHONSTARTUP), since code.interact() does not call it.
    interactive_hook = getattr(sys, "__interactivehook__", None)
    if interactive_hook is not None:
        try:
            import readline
            from rlcompleter import Completer
        except ImportError:
            pass
        else:
            readline.set_completer(Completer(namespace).complete)
        interactive_hook()

    code.interact(banner=banner, local=namespace)


@click.command("routes", short_help="Show the routes for the app.")
@click.option(
    "--sort",
    "-s",
    type=click.Choice(("endpoint", "methods", "domain", "rule", "match")),
    default="endpoint",
    help=(
        "Method to sort routes by. 'match' is the order that Flask will match routes"
        " when dispatching a request."
    ),
)
@click.option("--all-methods", is_flag=True, help="Show HEAD and OPTIONS methods.")
@with_appcontext
def routes_command(sort: str, all_methods: bool) -> None:
    """Show all registered routes with endpoints and methods."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    rules = list(app.url_map.iter_rules())
    if not rules:
        click.echo("No routes were registered.")
        return

    ignored = set() if all_methods else {"HEAD", "OPTIONS"}
    host_matching = app.url_map.host_matching
    has_domain = any(rule.host if host_matching else rule.subdomain for rule in rules)
    rows = []
    for rule in rules:
        row = [
            rule.endpoint,
            ", ".join(sorted((rule.methods or set()) - ignored)),
        ]
        if has_domain:
            row.append((rule.host if host_matching else rule.subdomain) or "")
        row.append(rule.rule)
        rows.append(row)

    headers = ["Endpoint", "Methods"]
    sort_columns = ["endpoint", "methods"]
    if has_domain:
        headers.append("Host" if host_matching else "Subdomain")
        sort_columns.append("domain")
    headers.append("Rule")
    sort_columns.append("rule")

    # "match" keeps the map's order: the order requests are matched in.
    if sort in sort_columns:
        rows.sort(key=itemgetter(sort_columns.index(sort)))

    widths = [max(len(header), *(len(row[i]) for row in rows)) for i, header in enumerate(headers)]
    template = "  ".join(f"{{{i}:<{width}}}" for i, width in enumerate(widths))
    click.echo(template.format(*headers).rstrip())
    click.echo(template.format(*("-" * width for width in widths)))
    for row in rows:
        click.echo(template.format(*row).rstrip())


cli = FlaskGroup(
    name="demijohn",
    help="""\
A general utility script for demijohn (Flask-compatible) applications.

An application to load must be given with the '--app' option,
'FLASK_APP' environment variable, or with a 'wsgi.py' or 'app.py' file
in the current directory.
""",
)


def main() -> None:
    """Entry point of the ``demijohn`` command (and ``python -m demijohn``)."""
    cli.main()
