"""``demijohn.sansio``: the application and blueprint without a server.

:class:`~demijohn.sansio.app.App` holds the configuration and the registries;
:class:`demijohn.Flask` adds the request pipeline and the WSGI and ASGI doors.
These tests check that the sansio modules load none of the doors, and that an
``App`` subclass can bring a door of its own, as Quart does on Flask's.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

from werkzeug.exceptions import NotFound
from werkzeug.test import Client
from werkzeug.wrappers import Response

import demijohn
from demijohn.sansio.app import App
from demijohn.sansio.blueprints import Blueprint as SansioBlueprint

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

PACKAGE = Path(demijohn.__file__).parent

# The doors and what only they need. ``demijohn.cli`` (Werkzeug's development
# server, at import) is loaded by constructing an app, not by importing these.
DOORS = (
    "demijohn.app",
    "demijohn.asgi",
    "demijohn._async",
    "demijohn.serving",
    "demijohn.websockets",
    "demijohn.testing",
    "asyncio",
    "greenlet",
)


def test_importing_sansio_loads_no_door() -> None:
    # A stub package, so that demijohn/__init__.py (the whole framework) does
    # not run. ``werkzeug.serving`` and ``threading`` are not checked here:
    # ``import werkzeug`` loads the first, ``logging`` the second; the test
    # below checks that sansio does not import them itself.
    code = f"""
        import sys, types

        package = types.ModuleType("demijohn")
        package.__path__ = [{str(PACKAGE)!r}]
        sys.modules["demijohn"] = package

        import demijohn.sansio.app, demijohn.sansio.blueprints, demijohn.sansio.scaffold

        doors = {DOORS!r}
        print(sorted(name for name in doors + ("demijohn.cli",) if name in sys.modules))

        app = demijohn.sansio.app.App("tiny")
        blueprint = demijohn.sansio.blueprints.Blueprint("shop", "tiny")
        blueprint.get("/")(lambda: "shop")
        app.register_blueprint(blueprint, url_prefix="/shop")
        print(sorted(name for name in doors if name in sys.modules))
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == ["[]", "[]"]


def _imported_modules(path: Path) -> set[str]:
    """The absolute names of the modules a sansio module imports, at any level.

    Imports under ``if TYPE_CHECKING:`` are left out: they never run.
    """
    package = "demijohn.sansio"
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                names.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.rsplit(".", child.level - 1)[0]
                    base = f"{parent}.{base}".rstrip(".")
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return names


def test_sansio_imports_no_server_code() -> None:
    forbidden = {*DOORS, "threading", "werkzeug.serving", "werkzeug.run_simple"}
    modules = sorted((PACKAGE / "sansio").glob("*.py"))
    assert len(modules) == 4
    for path in modules:
        imported = _imported_modules(path)
        assert not imported & forbidden, path.name
    # The check sees relative imports.
    assert "demijohn.sansio.scaffold" in _imported_modules(PACKAGE / "sansio" / "app.py")


def test_the_classes_build_on_the_sansio_ones() -> None:
    import flask.sansio.app
    import flask.sansio.blueprints

    assert isinstance(demijohn.Flask(__name__), App)
    assert issubclass(demijohn.Blueprint, SansioBlueprint)
    assert demijohn.Blueprint is not SansioBlueprint
    assert flask.sansio.app.App is App
    assert flask.sansio.blueprints.Blueprint is SansioBlueprint
    # What serves (the pipeline, the doors, file IO) is Flask's alone.
    for name in ("wsgi_app", "asgi_app", "run_pipeline", "send_static_file", "open_resource"):
        assert not hasattr(App, name), name
        assert not hasattr(SansioBlueprint, name), name


class TinyApp(App):
    """An App with a door of its own: WSGI, plain text views and error handlers."""

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            response = Response(self.view_functions[endpoint](**args))
        except NotFound as e:
            handler = self._find_error_handler(e, [])
            if handler is None:
                return e(environ, start_response)
            response = Response(handler(e), status=e.code)
        return response(environ, start_response)


def test_an_app_subclass_can_bring_its_own_door() -> None:
    app = TinyApp(__name__)

    @app.get("/hello/<name>")
    def hello(name: str) -> str:
        return f"Hello, {name}!"

    @app.errorhandler(404)
    def not_found(e: NotFound) -> str:
        return "Nothing here."

    shop = SansioBlueprint("shop", __name__, url_prefix="/shop")

    @shop.get("/")
    def index() -> str:
        return "The shop."

    app.register_blueprint(shop)

    client = Client(app)
    response = client.get("/hello/world")
    assert (response.status_code, response.text) == (200, "Hello, world!")
    response = client.get("/nowhere")
    assert (response.status_code, response.text) == (404, "Nothing here.")
    response = client.get("/shop/")
    assert (response.status_code, response.text) == (200, "The shop.")
    assert "shop.index" in app.view_functions
    assert app.blueprints == {"shop": shop}
