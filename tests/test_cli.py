"""The ``demijohn`` command: discovery, dotenv, built-ins, user and plugin commands, ``run``.

In process first. Then ``demijohn run`` end to end, a real development server
in a subprocess: Werkzeug's by default (over HTTPS with ``--cert``), uvicorn
through the ASGI door with ``--asgi`` or when the app has WebSocket routes
(and the option handling of that path in process, with ``uvicorn.run``
replaced).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
import shutil
import ssl
import subprocess
import sys
import textwrap
import time
import types
import typing as t
from pathlib import Path

import click
import httpx
import pytest
import uvicorn
from asgi_support import call_asgi, scope_from_environ
from click.testing import CliRunner
from servers import free_port, running_server, stop
from werkzeug.debug import DebuggedApplication
from werkzeug.test import EnvironBuilder

import demijohn
from demijohn import Blueprint, Flask, cli, current_app
from demijohn.cli import (
    AppGroup,
    FlaskGroup,
    NoAppException,
    ScriptInfo,
    find_best_app,
    load_dotenv,
    locate_app,
    prepare_import,
    with_appcontext,
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> t.Iterator[Path]:
    """An empty project folder as the current directory; imports made in it are undone."""
    monkeypatch.chdir(tmp_path)
    modules = set(sys.modules)
    path = list(sys.path)
    # As the command does (prepare_import) for a module in the current folder.
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    sys.path[:] = path


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def unset(monkeypatch: pytest.MonkeyPatch, *keys: str) -> None:
    """Remove ``keys`` from the environment, and again after the test (dotenv sets them)."""
    for key in keys:
        # setenv first: delenv alone records nothing for a variable that is absent.
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)


def invoke(args: list[str], **kwargs: t.Any) -> click.testing.Result:
    # A new group per call: FlaskGroup caches plugin commands.
    return CliRunner().invoke(FlaskGroup(name="demijohn"), args, **kwargs)


SIMPLE = """
    from flask import Flask
    app = Flask(__name__)

    @app.route("/")
    def index():
        return "hi"
"""


# -- discovery ------------------------------------------------------------


@pytest.mark.parametrize("attr", ["app", "application"])
def test_find_best_app_by_conventional_name(project: Path, attr: str) -> None:
    write(project, "conv.py", f"from flask import Flask\n{attr} = Flask('conv')\n")
    assert locate_app(prepare_import("conv.py"), None).name == "conv"


def test_single_instance_under_any_name(project: Path) -> None:
    write(project, "single.py", "from flask import Flask\nmy_site = Flask('single')\n")
    assert locate_app("single", None).name == "single"


def test_multiple_instances_need_a_name(project: Path) -> None:
    write(project, "multi.py", "from flask import Flask\na = Flask('a')\nb = Flask('b')\n")
    with pytest.raises(NoAppException, match=r"Detected multiple Flask applications.*'multi:name'"):
        locate_app("multi", None)
    assert locate_app("multi", "b").name == "b"


@pytest.mark.parametrize("factory", ["create_app", "make_app"])
def test_factory_is_called(project: Path, factory: str) -> None:
    write(
        project, "fact.py", f"from flask import Flask\ndef {factory}():\n    return Flask('made')\n"
    )
    assert locate_app("fact", None).name == "made"


def test_factory_with_arguments_from_the_import_string(project: Path) -> None:
    write(
        project,
        "args.py",
        """
        from flask import Flask
        def create_app(config, debug=False):
            app = Flask("args")
            app.config["WHICH"] = (config, debug)
            return app
        """,
    )
    app = locate_app("args", "create_app('dev', debug=True)")
    assert app.config["WHICH"] == ("dev", True)
    with pytest.raises(NoAppException, match="could not be called with the specified arguments"):
        locate_app("args", "create_app()")
    with pytest.raises(NoAppException, match="Failed to parse arguments as literal values"):
        locate_app("args", "create_app(os.environ)")
    with pytest.raises(NoAppException, match="Failed to parse"):
        locate_app("args", "create_app(")


def test_factory_needing_arguments_says_how(project: Path) -> None:
    write(
        project,
        "needs.py",
        "from flask import Flask\ndef create_app(cfg):\n    return Flask('x')\n",
    )
    with pytest.raises(
        NoAppException, match=r"could not call it without arguments.*'needs:create_app\(args\)'"
    ):
        locate_app("needs", None)


def test_type_error_inside_the_factory_is_not_hidden(project: Path) -> None:
    write(project, "buggy.py", "def create_app():\n    return len(1)\n")
    with pytest.raises(TypeError, match="has no len"):
        locate_app("buggy", None)


def test_missing_things_are_named(project: Path) -> None:
    write(project, "empty.py", "x = 1\n")
    with pytest.raises(
        NoAppException, match="Failed to find Flask application or factory in module 'empty'"
    ):
        locate_app("empty", None)
    with pytest.raises(NoAppException, match="Failed to find attribute 'nope' in 'empty'"):
        locate_app("empty", "nope")
    with pytest.raises(
        NoAppException, match="A valid Flask application was not obtained from 'empty:x'"
    ):
        locate_app("empty", "x")
    with pytest.raises(NoAppException, match="Could not import 'not_there'"):
        locate_app("not_there", None)


def test_import_error_inside_the_app_shows_its_traceback(project: Path) -> None:
    write(project, "broken.py", "import flask\nimport a_module_that_does_not_exist\n")
    result = invoke(["--app", "broken", "routes"])
    assert result.exit_code == 2
    assert "While importing 'broken', an ImportError was raised" in result.output
    assert "Traceback" in result.output
    assert "a_module_that_does_not_exist" in result.output


def test_prepare_import_handles_files_and_packages(project: Path) -> None:
    write(project, "src/pkg/__init__.py", "")
    write(project, "src/pkg/web.py", SIMPLE)
    assert prepare_import("src/pkg/web.py") == "pkg.web"
    assert sys.path[0] == str((project / "src").resolve())
    assert prepare_import("src/pkg") == "pkg"
    assert prepare_import("src/pkg/__init__.py") == "pkg"


def test_app_option_and_flask_app_variable(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project, "hello.py", SIMPLE)
    assert "index" in invoke(["--app", "hello", "routes"]).output
    assert "index" in invoke(["--app", "hello.py:app", "routes"]).output
    monkeypatch.setenv("FLASK_APP", "hello")
    assert "index" in invoke(["routes"]).output


@pytest.mark.parametrize("filename", ["wsgi.py", "app.py"])
def test_default_files_in_the_current_folder(project: Path, filename: str) -> None:
    write(project, filename, SIMPLE)
    result = invoke(["routes"])
    assert result.exit_code == 0, result.output
    assert "index" in result.output


def test_wsgi_py_wins_over_app_py(project: Path) -> None:
    write(project, "wsgi.py", "from flask import Flask\napp = Flask('from_wsgi')\n")
    write(project, "app.py", "from flask import Flask\napp = Flask('from_app')\n")
    info = ScriptInfo()
    assert info.load_app().name == "from_wsgi"


def test_nothing_to_load_explains_the_options(project: Path) -> None:
    result = invoke(["routes"])
    assert result.exit_code == 2
    assert "Could not locate a Flask application" in result.output
    assert "'FLASK_APP' environment variable" in result.output
    # The built-ins are still listed.
    listing = invoke(["--help"])
    assert "routes" in listing.output and "run" in listing.output


def test_a_flask_project_runs_unchanged(project: Path) -> None:
    # The alias is installed before the user's app is imported.
    write(project, "legacy.py", "import flask\napp = flask.Flask(__name__)\n")
    app = ScriptInfo(app_import_path="legacy").load_app()
    assert isinstance(app, demijohn.Flask)
    assert sys.modules["flask"] is demijohn


# -- dotenv -----------------------------------------------------------------


def test_flaskenv_and_env_are_loaded(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unset(monkeypatch, "FOO", "BAR", "SPAM", "EGGS")
    write(project, ".flaskenv", "FOO=flaskenv\nBAR=flaskenv\nEGGS=flaskenv\n")
    write(project, ".env", "FOO=env\nSPAM=env\n")
    monkeypatch.setenv("EGGS", "environment")
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")  # found walking up
    assert load_dotenv()
    # .env wins over .flaskenv; the real environment wins over both.
    assert (os.environ["FOO"], os.environ["BAR"], os.environ["SPAM"]) == ("env", "flaskenv", "env")
    assert os.environ["EGGS"] == "environment"


def test_env_file_option_takes_precedence(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unset(monkeypatch, "WHERE")
    write(project, ".env", "WHERE=dotenv\n")
    write(project, "custom.env", "WHERE=custom\n")
    write(
        project,
        "app.py",
        """
        import os, click
        from flask import Flask
        app = Flask(__name__)

        @app.cli.command()
        def where():
            click.echo(os.environ["WHERE"])
        """,
    )
    assert invoke(["-e", "custom.env", "where"]).output.strip() == "custom"


def test_flask_app_from_flaskenv(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project, "mysite.py", SIMPLE)
    write(project, ".flaskenv", "FLASK_APP=mysite\n")
    result = invoke(["routes"])
    assert "index" in result.output, result.output


def test_skip_dotenv(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unset(monkeypatch, "SKIPPED")
    monkeypatch.setenv("FLASK_SKIP_DOTENV", "1")
    write(project, ".env", "SKIPPED=1\n")
    write(project, "app.py", SIMPLE)
    invoke(["routes"])
    assert "SKIPPED" not in os.environ


def test_hint_without_python_dotenv(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(project, ".env", "X=1\n")
    monkeypatch.setitem(sys.modules, "dotenv", None)  # import fails
    assert load_dotenv() is False
    assert "Install python-dotenv to use them" in capsys.readouterr().err


# -- built-in commands --------------------------------------------------------


def test_version() -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0
    assert f"Flask API {demijohn.FLASK_API_VERSION}" in result.output
    assert "Python " in result.output and "Werkzeug " in result.output


def test_routes_table_sorting_and_methods(project: Path) -> None:
    write(
        project,
        "app.py",
        """
        from flask import Flask
        app = Flask(__name__)

        @app.route("/zeta", methods=["GET", "POST"])
        def alpha():
            return ""

        @app.route("/alpha")
        def zeta():
            return ""
        """,
    )
    out = invoke(["routes"]).output.splitlines()
    assert out[0].split() == ["Endpoint", "Methods", "Rule"]
    assert [line.split()[0] for line in out[2:]] == ["alpha", "static", "zeta"]
    assert "GET, POST" in out[2] and "HEAD" not in out[2]
    by_rule = invoke(["routes", "--sort", "rule"]).output.splitlines()[2:]
    assert [line.split()[-1] for line in by_rule] == ["/alpha", "/static/<path:filename>", "/zeta"]
    assert "GET, HEAD, OPTIONS, POST" in invoke(["routes", "--all-methods"]).output


def test_routes_without_any() -> None:
    app = Flask("bare", static_folder=None)
    result = app.test_cli_runner().invoke(args=["routes"], cli=FlaskGroup(create_app=lambda: app))
    assert result.output.strip() == "No routes were registered."


def test_routes_shows_subdomains() -> None:
    app = Flask("sub", static_folder=None, subdomain_matching=True)
    app.config["SERVER_NAME"] = "example.test"
    app.add_url_rule("/", "api_index", lambda: "", subdomain="api")
    result = CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["routes", "--sort", "domain"])
    assert result.output.splitlines()[0].split() == ["Endpoint", "Methods", "Subdomain", "Rule"]
    assert "api" in result.output.splitlines()[2]


def test_shell_has_app_context_and_shell_context(monkeypatch: pytest.MonkeyPatch) -> None:
    app = Flask("shelly")
    app.shell_context_processor(lambda: {"answer": 42})
    seen: dict[str, t.Any] = {}

    def fake_interact(banner: str, local: dict[str, t.Any]) -> None:
        seen.update(banner=banner, local=local, app=current_app._get_current_object())  # type: ignore[attr-defined]

    import code

    monkeypatch.setattr(code, "interact", fake_interact)
    monkeypatch.delenv("PYTHONSTARTUP", raising=False)
    result = CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["shell"])
    assert result.exit_code == 0, result.output
    assert seen["app"] is app
    assert "App: shelly" in seen["banner"] and "Instance: " in seen["banner"]
    assert seen["local"]["answer"] == 42
    assert seen["local"]["app"] is app and "g" in seen["local"]


def test_builtins_win_over_user_commands_of_the_same_name() -> None:
    app = Flask("clash")

    @app.cli.command("routes")
    def my_routes() -> None:
        click.echo("user routes")

    result = CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["routes"])
    assert "user routes" not in result.output
    assert "Endpoint" in result.output


# -- user commands ------------------------------------------------------------


def test_user_command_with_arguments_options_and_prompt() -> None:
    app = Flask("users")

    @app.cli.command("create-user")
    @click.argument("name")
    @click.option("--admin", is_flag=True)
    @click.option("--password", prompt=True, hide_input=True)
    def create_user(name: str, admin: bool, password: str) -> None:
        """Create a user."""
        click.echo(f"{name} admin={admin} pw={len(password)} app={current_app.name}")

    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "ada", "--admin"], input="secret\n")
    assert result.exit_code == 0, result.output
    assert "ada admin=True pw=6 app=users" in result.output
    missing = runner.invoke(args=["create-user"])
    assert missing.exit_code == 2 and "Missing argument 'NAME'" in missing.output


def test_help_lists_user_commands_with_docstrings(project: Path) -> None:
    write(
        project,
        "app.py",
        """
        from flask import Flask
        app = Flask(__name__)

        @app.cli.command("seed")
        def seed():
            \"\"\"Fill the database with sample rows.\"\"\"
        """,
    )
    assert re.search(r"\n  seed +Fill the database with sample rows.\n", invoke(["--help"]).output)


def test_appgroup_and_with_appcontext() -> None:
    app = Flask("grouped")
    group = AppGroup("tools")

    @group.command()
    def inside() -> None:
        click.echo(current_app.name)

    @group.command(with_appcontext=False)
    def outside() -> None:
        click.echo(str(demijohn.has_app_context()))

    @click.command()
    @with_appcontext
    def plain() -> None:
        click.echo("plain " + current_app.name)

    app.cli.add_command(group)
    app.cli.add_command(plain)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["tools", "inside"]).output.strip() == "grouped"
    # FlaskGroup pushes a context for app commands anyway; a bare group run shows the difference.
    bare = CliRunner().invoke(group, ["outside"], obj=ScriptInfo(create_app=lambda: app))
    assert bare.output.strip() == "False"
    assert runner.invoke(args=["plain"]).output.strip() == "plain grouped"


def test_blueprint_cli_groups() -> None:
    app = Flask("bps")
    auth = Blueprint("auth", __name__)
    flat = Blueprint("flat", __name__, cli_group=None)

    @auth.cli.command("reset-password")
    @click.argument("user")
    def reset(user: str) -> None:
        click.echo(f"reset {user}")

    @flat.cli.command("top-level")
    def top() -> None:
        click.echo("top")

    app.register_blueprint(auth)
    app.register_blueprint(flat)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["auth", "reset-password", "bob"]).output.strip() == "reset bob"
    assert runner.invoke(args=["top-level"]).output.strip() == "top"


def test_pass_script_info_and_debug_flag(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        project,
        "app.py",
        """
        import click
        from flask import Flask
        from flask.cli import pass_script_info
        app = Flask(__name__)

        @app.cli.command()
        @pass_script_info
        def info(script_info):
            click.echo(f"{script_info.app_import_path} debug={script_info.load_app().debug}")
        """,
    )
    assert invoke(["--app", "app", "--debug", "info"]).output.strip() == "app debug=True"
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert invoke(["--app", "app", "--no-debug", "info"]).output.strip() == "app debug=False"


# -- plugins ----------------------------------------------------------------------


def test_plugin_commands_from_the_flask_commands_entry_point_group(project: Path) -> None:
    # A real (if tiny) installed distribution: importlib.metadata reads it from sys.path.
    site = project / "site"
    write(
        site,
        "demo_plugin.py",
        "import click\n\n@click.command()\ndef hello():\n    click.echo('plugin hello')\n",
    )
    dist = site / "demo_plugin-1.0.dist-info"
    write(dist, "METADATA", "Metadata-Version: 2.1\nName: demo-plugin\nVersion: 1.0\n")
    write(dist, "entry_points.txt", "[flask.commands]\nplugged = demo_plugin:hello\n")
    sys.path.insert(0, str(site))
    app = Flask("plugged_app")
    result = CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["plugged"])
    assert result.output.strip() == "plugin hello"
    assert "plugged" in CliRunner().invoke(FlaskGroup(create_app=lambda: app), ["--help"]).output


# -- app.run under the CLI and the runner -------------------------------------------


def test_app_run_is_ignored_under_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import werkzeug.serving

    def fail(*args: t.Any, **kwargs: t.Any) -> None:
        raise AssertionError("a second server was started")

    monkeypatch.setattr(werkzeug.serving, "run_simple", fail)
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    Flask("twice").run()
    assert "Ignoring a call to 'app.run()'" in capsys.readouterr().out


def test_app_run_passes_the_guide_options(monkeypatch: pytest.MonkeyPatch) -> None:
    import werkzeug.serving

    calls: list[tuple[t.Any, ...]] = []
    monkeypatch.setattr(
        werkzeug.serving, "run_simple", lambda *args, **kwargs: calls.append((args, kwargs))
    )
    app = Flask("runner")
    app.run(host="127.0.0.1", port=8123, debug=True, load_dotenv=False, use_reloader=False)
    (host, port, served), options = calls[0]
    assert (host, port, served) == ("127.0.0.1", 8123, app)
    assert options["use_reloader"] is False and options["use_debugger"] is True
    assert app.debug is True


def test_cli_runner_invokes_without_discovery(project: Path) -> None:
    app = Flask("direct")

    @app.cli.command()
    def which() -> None:
        click.echo(current_app.name)

    result = app.test_cli_runner().invoke(args=["which"])
    assert (result.exit_code, result.output.strip()) == (0, "direct")
    custom = click.Command("custom", callback=lambda: click.echo("custom"))
    assert app.test_cli_runner().invoke(custom).output.strip() == "custom"


def test_find_best_app_ignores_non_apps() -> None:
    import types

    module = types.ModuleType("mixed")
    module.app = "not an app"  # type: ignore[attr-defined]
    module.real = Flask("real")  # type: ignore[attr-defined]
    assert find_best_app(module) is module.real  # type: ignore[attr-defined]


# -- run options --------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, t.Any]]:
    import demijohn.cli

    calls: list[dict[str, t.Any]] = []

    def fake_run_simple(host: str, port: int, app: t.Any, **options: t.Any) -> None:
        calls.append({"host": host, "port": port, "app": app, **options})

    monkeypatch.setattr(demijohn.cli, "run_simple", fake_run_simple)
    return calls


def run_app() -> FlaskGroup:
    return FlaskGroup(create_app=lambda: Flask("served"))


def test_run_defaults_and_debug(served: list[dict[str, t.Any]]) -> None:
    result = CliRunner().invoke(run_app(), ["run"])
    assert result.exit_code == 0, result.output
    call = served[0]
    assert (call["host"], call["port"]) == ("127.0.0.1", 5000)
    assert (call["use_reloader"], call["use_debugger"], call["threaded"]) == (False, False, True)
    CliRunner().invoke(run_app(), ["--debug", "run", "--no-reload"])
    assert (served[1]["use_reloader"], served[1]["use_debugger"]) == (False, True)
    assert "Debug mode: on" in CliRunner().invoke(run_app(), ["run", "--debug"]).output


def test_run_options_from_flask_run_environment(
    served: list[dict[str, t.Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_RUN_PORT", "8123")
    monkeypatch.setenv("FLASK_RUN_HOST", "127.0.0.2")
    monkeypatch.setenv("FLASK_RUN_RELOAD", "false")
    CliRunner().invoke(run_app(), ["run", "--without-threads"])
    call = served[0]
    assert (call["host"], call["port"], call["threaded"]) == ("127.0.0.2", 8123, False)


def test_run_extra_files_and_exclude_patterns(
    served: list[dict[str, t.Any]], tmp_path: Path
) -> None:
    first, second = tmp_path / "a.cfg", tmp_path / "b.cfg"
    first.touch()
    second.touch()
    args = ["run", "--extra-files", f"{first}{os.pathsep}{second}"]
    args += ["--exclude-patterns", f"*.tmp{os.pathsep}*.bak"]
    CliRunner().invoke(run_app(), args)
    assert served[0]["extra_files"] == [str(first), str(second)]
    assert served[0]["exclude_patterns"] == ["*.tmp", "*.bak"]


def test_run_cert_and_key_validation(served: list[dict[str, t.Any]], tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.touch()
    key.touch()
    both = CliRunner().invoke(run_app(), ["run", "--cert", str(cert), "--key", str(key)])
    assert both.exit_code == 0, both.output
    assert served[0]["ssl_context"] == (str(cert), str(key))
    no_key = CliRunner().invoke(run_app(), ["run", "--cert", str(cert)])
    assert no_key.exit_code == 2 and 'Required when using "--cert".' in no_key.output
    no_cert = CliRunner().invoke(run_app(), ["run", "--key", str(key)])
    assert no_cert.exit_code == 2 and '"--cert" must also be specified.' in no_cert.output
    bogus = CliRunner().invoke(run_app(), ["run", "--cert", "not-a-file-or-adhoc"])
    assert bogus.exit_code == 2


def test_run_adhoc_certificate(
    served: list[dict[str, t.Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    # Werkzeug makes ad-hoc certificates with the cryptography library.
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "cryptography" else real_find_spec(name, *a),
    )
    missing = CliRunner().invoke(run_app(), ["run", "--cert", "adhoc"])
    assert missing.exit_code == 2
    assert "Using ad-hoc certificates requires the cryptography library." in missing.output

    # As if it were installed (it is not a test dependency).
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: real_find_spec("json" if name == "cryptography" else name, *a),
    )
    result = CliRunner().invoke(run_app(), ["run", "--cert", "adhoc"])
    assert result.exit_code == 0, result.output
    assert served[0]["ssl_context"] == "adhoc"
    key = tmp_path / "key.pem"
    key.touch()
    with_key = CliRunner().invoke(run_app(), ["run", "--cert", "adhoc", "--key", str(key)])
    assert with_key.exit_code == 2
    assert 'When "--cert" is "adhoc", "--key" is not used.' in with_key.output


def test_run_ssl_context_import_string(served: list[dict[str, t.Any]], project: Path) -> None:
    import ssl

    write(project, "tls.py", "import ssl\ncontext = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n")
    result = CliRunner().invoke(run_app(), ["run", "--cert", "tls.context"])
    assert result.exit_code == 0, result.output
    assert isinstance(served[0]["ssl_context"], ssl.SSLContext)
    assert served[0]["ssl_context"] is sys.modules["tls"].context
    write(project, "key.pem", "")
    with_key = CliRunner().invoke(run_app(), ["run", "--cert", "tls.context", "--key", "key.pem"])
    assert with_key.exit_code == 2
    assert 'When "--cert" is an SSLContext object, "--key" is not used.' in with_key.output


def test_run_keeps_serving_a_broken_app_in_the_reloader_child(
    served: list[dict[str, t.Any]], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import demijohn.cli

    write(project, "app.py", "from flask import Flask\napp = Flask(__name__)\n1 / 0\n")
    # In the first process the error stops the command...
    first = invoke(["run"])
    assert first.exit_code == 1 and isinstance(first.exception, ZeroDivisionError)
    assert not served
    # ...in the reloader's child the server starts, so that fixing the file
    # reloads it; every request raises the error meanwhile.
    monkeypatch.setattr(demijohn.cli, "is_running_from_reloader", lambda: True)
    child = invoke(["run"])
    assert child.exit_code == 0, child.output
    with pytest.raises(ZeroDivisionError):
        served[0]["app"]({}, lambda *args: None)


def test_app_run_inside_a_cli_command_is_ignored(project: Path) -> None:
    write(
        project,
        "app.py",
        """
        import click
        from flask import Flask
        app = Flask(__name__)

        @app.cli.command()
        def serve():
            app.run()  # would block the command: refused like Flask does
            click.echo("after run")
        """,
    )
    result = invoke(["serve"])
    assert result.exit_code == 0, result.output
    assert "Ignoring a call to 'app.run()' that would block" in result.output
    assert result.output.endswith("after run\n")


def test_env_file_option_needs_python_dotenv(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project, "custom.env", "X=1\n")
    monkeypatch.setitem(sys.modules, "dotenv", None)  # import fails
    result = invoke(["-e", "custom.env", "routes"])
    assert result.exit_code == 2
    assert "python-dotenv must be installed to load an env file." in result.output


def test_package_path_and_factory_arguments_from_the_fixture_apps(project: Path) -> None:
    package = Path(__file__).parent / "cli_apps" / "factory_pkg"
    result = invoke(["--app", f"{package}:create_app('testing', debug=True)", "which-config"])
    assert (result.exit_code, result.output) == (0, "testing debug=True\n")
    # Without a name the factory is found and called without arguments.
    default = invoke(["--app", str(package), "which-config"])
    assert default.output == "default debug=False\n"


# -- ``demijohn run`` end to end: a real development server in a subprocess ------------


CLI_APPS = Path(__file__).parent / "cli_apps"
DEMIJOHN = str(Path(sys.executable).parent / "demijohn")

# Which door served the request: the ASGI door leaves the scope in the environ.
DOOR_ROUTE = """

from flask import request

@app.route("/door")
def door():
    return "asgi" if "asgi.scope" in request.environ else "wsgi"
"""

# A WebSocket route, and a lifespan hook whose work a page shows.
WEBSOCKET_ECHO = """

from flask import websocket

served = []

@app.before_serving
def start():
    served.append("started")

@app.route("/served")
def show_served():
    return ",".join(served)

@app.websocket("/ws")
async def echo():
    while True:
        await websocket.send(await websocket.receive())
"""


def _serve(tmp_path: Path, *options: str, extra: str = "") -> tuple[list[str], str]:
    # A copy, so that the test may edit it.
    source = (CLI_APPS / "errors.py").read_text() + DOOR_ROUTE + extra
    (tmp_path / "app.py").write_text(source)
    port = free_port()
    command = [DEMIJOHN, "--app", "app", "run", "--port", str(port), *options]
    return command, f"http://127.0.0.1:{port}"


def _log(folder: Path) -> str:
    return next(folder.glob("server-*.log")).read_text()


def test_run_serves_and_hides_errors_without_debug(tmp_path: Path) -> None:
    command, base = _serve(tmp_path)
    with running_server(command, probe_url=base, cwd=tmp_path):
        assert httpx.get(base, timeout=5).text == "version 1"
        assert httpx.get(f"{base}/door", timeout=5).text == "wsgi"
        error = httpx.get(f"{base}/boom", timeout=5)
        assert error.status_code == 500
        assert "Internal Server Error" in error.text
        assert "kaboom" not in error.text and "Traceback" not in error.text
    log = _log(tmp_path)
    assert " * Serving Flask app 'app'" in log
    assert " * Debug mode: off" in log
    assert "This is a development server" in log
    assert "Debugger PIN" not in log
    # The traceback goes to the terminal, not to the browser.
    assert "RuntimeError: kaboom in the view" in log


def _edit(folder: Path, old: str, new: str) -> None:
    # The reloaders poll: an edit made too soon after a (re)start is not seen.
    time.sleep(1.1)
    source = (folder / "app.py").read_text()
    (folder / "app.py").write_text(source.replace(old, new))


def _wait_for(url: str, expected: t.Callable[[httpx.Response], bool]) -> httpx.Response | None:
    """GET ``url`` until the response is as ``expected`` (the server is reloading)."""
    deadline = time.monotonic() + 20
    response = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):  # restarting
            response = httpx.get(url, timeout=2)
            if expected(response):
                break
        time.sleep(0.2)
    return response


def _shows_the_debugger_and_reloads(folder: Path, base: str) -> None:
    page = httpx.get(f"{base}/boom", timeout=5)
    assert page.status_code == 500
    assert "kaboom in the view" in page.text
    assert "Werkzeug Debugger" in page.text  # the interactive debugger page

    _edit(folder, "version 1", "version 2")
    page = _wait_for(base, lambda response: response.text == "version 2")
    assert page is not None and page.text == "version 2"


def test_debug_mode_reloads_and_shows_the_debugger(tmp_path: Path) -> None:
    command, base = _serve(tmp_path, "--debug")
    with running_server(command, probe_url=base, cwd=tmp_path):
        _shows_the_debugger_and_reloads(tmp_path, base)
    log = _log(tmp_path)
    assert " * Debug mode: on" in log
    assert re.search(r"Debugger PIN: \d{3}-\d{3}-\d{3}", log)
    assert "Restarting with stat" in log


def test_python_dash_m_demijohn_serves_a_package_factory(tmp_path: Path) -> None:
    # A package path with a factory call string, from another folder.
    port = free_port()
    app_ref = f"{CLI_APPS / 'factory_pkg'}:create_app('served')"
    command = [sys.executable, "-m", "demijohn", "--app", app_ref, "run", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with running_server(command, probe_url=base, cwd=tmp_path):
        # The factory's app has no routes: the server answers 404.
        assert httpx.get(base, timeout=5).status_code == 404
    assert f" * Serving Flask app '{app_ref}'" in _log(tmp_path)


def test_flask_run_environment_variables(tmp_path: Path) -> None:
    # Everything from the environment: the app, the port, debug mode.
    shutil.copy(CLI_APPS / "errors.py", tmp_path / "mysite.py")
    port = free_port()
    env = {"FLASK_APP": "mysite", "FLASK_RUN_PORT": str(port), "FLASK_DEBUG": "1"}
    base = f"http://127.0.0.1:{port}"
    with running_server([DEMIJOHN, "run", "--no-reload"], probe_url=base, cwd=tmp_path, env=env):
        assert "Werkzeug Debugger" in httpx.get(f"{base}/boom", timeout=5).text
    log = _log(tmp_path)
    assert " * Debug mode: on" in log and "Restarting with stat" not in log


# -- ``run --cert`` (issue 16) ---------------------------------------------------------
#
# ``run --cert adhoc`` and ``--cert``/``--key`` files served over HTTPS, and the
# error ``--cert adhoc`` gives without a loadable cryptography.


_HELLO_APP = """\
from demijohn import Flask, request

app = Flask(__name__)


@app.get("/")
def index():
    return f"hello over {request.scheme}"
"""

_STARTUP_SECONDS = 20.0


@contextlib.contextmanager
def _https_server(args: list[str], cwd: Path, port: int) -> t.Iterator[httpx.Response]:
    """Run ``demijohn args`` until the block ends; yield its first HTTPS answer.

    :func:`servers.running_server` probes with certificate checks on, which
    a self-signed certificate never passes: this probe skips them.
    """
    log_path = cwd / f"server-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "demijohn", "--app", "hello", *args, "--port", str(port)],
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + _STARTUP_SECONDS
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"exited with {proc.returncode}:\n{log_path.read_text()}")
                try:
                    response = httpx.get(f"https://127.0.0.1:{port}/", verify=False, timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"no HTTPS answer in {_STARTUP_SECONDS} s:\n{log_path.read_text()}"
                        ) from None
                    time.sleep(0.1)
            yield response
        finally:
            stop(proc)


def _served_certificate(port: int) -> str:
    """The PEM certificate the server on ``port`` presents (not verified)."""
    return ssl.get_server_certificate(("127.0.0.1", port), timeout=5)


def test_run_cert_adhoc_serves_https(tmp_path: Path) -> None:
    from cryptography import x509

    (tmp_path / "hello.py").write_text(_HELLO_APP)
    port = free_port()
    with _https_server(["run", "--cert", "adhoc"], tmp_path, port) as response:
        assert response.status_code == 200
        assert response.text == "hello over https"
        # Self-signed: a client that checks certificates refuses it.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"https://127.0.0.1:{port}/", timeout=5)
        cert = x509.load_pem_x509_certificate(_served_certificate(port).encode())
        assert cert.issuer == cert.subject
        # Plain HTTP is not served on that port.
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=5)


def test_run_cert_file_and_key_serves_https(tmp_path: Path) -> None:
    from werkzeug.serving import make_ssl_devcert

    (tmp_path / "hello.py").write_text(_HELLO_APP)
    cert_file, key_file = make_ssl_devcert(str(tmp_path / "dev"), host="localhost")
    port = free_port()
    args = ["run", "--cert", cert_file, "--key", key_file]
    with _https_server(args, tmp_path, port) as response:
        assert response.text == "hello over https"
        served = ssl.PEM_cert_to_DER_cert(_served_certificate(port))
        assert served == ssl.PEM_cert_to_DER_cert(Path(cert_file).read_text())


_MISSING = (
    "Error: Invalid value for '--cert':"
    " Using ad-hoc certificates requires the cryptography library."
)

#: ``demijohn`` with ``import cryptography`` failing.
_WITHOUT_CRYPTOGRAPHY = """\
import sys

sys.modules["cryptography"] = None  # what 'import cryptography' then raises ImportError for
from demijohn.cli import main

sys.argv[0] = "demijohn"
main()
"""


def _run_cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_run_cert_adhoc_without_cryptography(tmp_path: Path) -> None:
    (tmp_path / "hello.py").write_text(_HELLO_APP)
    (tmp_path / "nocrypto.py").write_text(_WITHOUT_CRYPTOGRAPHY)
    result = _run_cli(["nocrypto.py", "--app", "hello", "run", "--cert", "adhoc"], tmp_path)
    assert result.returncode == 2, result.stderr
    assert _MISSING in result.stderr
    assert "Traceback" not in result.stderr


def test_run_cert_adhoc_with_cryptography_that_cannot_load(tmp_path: Path) -> None:
    # Found on the path, but failing on import (a broken native library):
    # the check must import it, not only find it.
    (tmp_path / "hello.py").write_text(_HELLO_APP)
    shadow = tmp_path / "shadow"
    broken = shadow / "cryptography"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text(
        'raise ImportError("libssl.so.3: cannot open shared object file")\n'
    )
    result = _run_cli(
        ["-m", "demijohn", "--app", "hello", "run", "--cert", "adhoc", "--port", str(free_port())],
        tmp_path,
        # First on the path, ahead of the installed cryptography.
        env={
            "PYTHONPATH": os.pathsep.join(filter(None, [str(shadow), os.environ.get("PYTHONPATH")]))
        },
    )
    assert result.returncode == 2, result.stderr
    assert _MISSING in result.stderr
    assert "Traceback" not in result.stderr


# -- uvicorn: --asgi, or WebSocket routes ---------------------------------------


def test_run_asgi_serves_through_uvicorn(tmp_path: Path) -> None:
    command, base = _serve(tmp_path, "--asgi")
    with running_server(command, probe_url=base, cwd=tmp_path):
        assert httpx.get(base, timeout=5).text == "version 1"
        assert httpx.get(f"{base}/door", timeout=5).text == "asgi"
        error = httpx.get(f"{base}/boom", timeout=5)
        assert error.status_code == 500
        assert "kaboom" not in error.text and "Traceback" not in error.text
    log = _log(tmp_path)
    assert " * Serving ASGI with uvicorn (--asgi)" in log
    assert f"Uvicorn running on {base}" in log
    assert " * Debug mode: off" in log
    assert "Debugger PIN" not in log and "reloader" not in log
    assert "RuntimeError: kaboom in the view" in log


def test_an_app_with_websocket_routes_is_served_through_uvicorn(tmp_path: Path) -> None:
    from websockets.asyncio.client import connect

    command, base = _serve(tmp_path, extra=WEBSOCKET_ECHO)

    async def echoed() -> list[str | bytes]:
        async with asyncio.timeout(10), connect(f"{base.replace('http', 'ws')}/ws") as ws:
            await ws.send("ping")
            await ws.send(b"pong")
            return [await ws.recv(), await ws.recv()]

    with running_server(command, probe_url=base, cwd=tmp_path):
        assert httpx.get(f"{base}/door", timeout=5).text == "asgi"
        assert asyncio.run(echoed()) == ["ping", b"pong"]
        # uvicorn ran the lifespan protocol, and so the app's hooks.
        assert httpx.get(f"{base}/served", timeout=5).text == "started"
    assert " * Serving ASGI with uvicorn (WebSocket route /ws)" in _log(tmp_path)


def test_run_asgi_debug_mode_reloads_and_shows_the_debugger(tmp_path: Path) -> None:
    # uvicorn's reloader imports the app again in each process it starts.
    command, base = _serve(tmp_path, "--asgi", "--debug")
    with running_server(command, probe_url=base, cwd=tmp_path):
        assert httpx.get(f"{base}/door", timeout=5).text == "asgi"
        _shows_the_debugger_and_reloads(tmp_path, base)

        # A file that no longer imports: every request shows the error, in the
        # debugger, until the next edit fixes it.
        _edit(tmp_path, '"version 2"', '"version 3"\n(')
        page = _wait_for(base, lambda response: response.status_code == 500)
        assert page is not None and page.status_code == 500
        assert "SyntaxError" in page.text and "Werkzeug Debugger" in page.text
        _edit(tmp_path, '"version 3"\n(', '"version 3"')
        page = _wait_for(base, lambda response: response.text == "version 3")
        assert page is not None and page.text == "version 3"
    log = _log(tmp_path)
    assert " * Debug mode: on" in log
    assert "Started reloader process" in log
    # Printed by each process the reloader started, the broken one included.
    started = log.count("Started server process")
    assert started >= 4
    assert len(re.findall(r"Debugger PIN: \d{3}-\d{3}-\d{3}", log)) == started


# In-process: what ``run`` hands uvicorn, with ``uvicorn.run`` recording it.


#: The calls made to the replaced ``uvicorn.run``: ``(app, options)``.
UvicornCalls = list[tuple[t.Any, dict[str, t.Any]]]


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> UvicornCalls:
    calls: UvicornCalls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append((app, options)))
    # What run sets for the reloader's processes is undone after the test.
    monkeypatch.setenv(cli._DEBUGGER_ENV, "")
    monkeypatch.delenv(cli._DEBUGGER_ENV)
    return calls


def _page_app() -> Flask:
    app = Flask("page_app")

    @app.route("/")
    def index() -> str:
        return "page"

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("kaboom in process")

    return app


def _invoke(args: list[str], create_app: t.Callable[[], Flask] | None = None) -> t.Any:
    group = FlaskGroup(name="demijohn", create_app=create_app)
    return CliRunner().invoke(group, args)


def _get(asgi: t.Any, path: str) -> tuple[int, str]:
    """``GET path`` through an ASGI app, in-process: status and body."""
    scope = scope_from_environ(EnvironBuilder(path=path).get_environ())
    messages = asyncio.run(call_asgi(asgi, scope, b""))
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return messages[0]["status"], body.decode()


def test_run_asgi_hands_uvicorn_the_options(tmp_path: Path, uvicorn_calls: UvicornCalls) -> None:
    (tmp_path / "cert.pem").write_text("certificate")
    (tmp_path / "key.pem").write_text("key")
    args = ["run", "--asgi", "--host", "127.0.0.2", "--port", "8123"]
    args += ["--cert", str(tmp_path / "cert.pem"), "--key", str(tmp_path / "key.pem")]
    result = _invoke(args, create_app=_page_app)
    assert result.exit_code == 0, result.output
    [(asgi, options)] = uvicorn_calls
    assert options == {
        "host": "127.0.0.2",
        "port": 8123,
        "log_level": "info",
        "ssl_certfile": str(tmp_path / "cert.pem"),
        "ssl_keyfile": str(tmp_path / "key.pem"),
        "lifespan": "on",
    }
    # A coroutine function, which uvicorn takes for ASGI 3, serving the app.
    assert inspect.iscoroutinefunction(asgi)
    assert _get(asgi, "/") == (200, "page")
    status, body = _get(asgi, "/boom")
    assert status == 500 and "kaboom" not in body


def test_run_asgi_debug_without_an_importable_app_serves_with_the_debugger(
    uvicorn_calls: UvicornCalls,
) -> None:
    # A create_app function cannot be imported again by a reloaded process.
    app = _page_app()
    result = _invoke(["run", "--asgi", "--debug"], create_app=lambda: app)
    assert result.exit_code == 0, result.output
    assert "The reloader needs an app uvicorn can import again" in result.output
    assert re.search(r" \* Debugger PIN: \d{3}-\d{3}-\d{3}", result.output)
    [(asgi, options)] = uvicorn_calls
    assert options["log_level"] == "debug" and "reload" not in options
    assert app.debug
    status, body = _get(asgi, "/boom")
    assert status == 500
    assert "Werkzeug Debugger" in body and "kaboom in process" in body


@pytest.mark.parametrize(
    ("flags", "debugger"), [(["--debug"], "1"), (["--debug", "--no-debugger"], "0")]
)
def test_run_asgi_reload_hands_uvicorn_an_import_string(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    uvicorn_calls: UvicornCalls,
    flags: list[str],
    debugger: str,
) -> None:
    module = types.ModuleType("reloaded_app")
    module.app = _page_app()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "reloaded_app", module)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # --app puts the folder first
    result = _invoke(["--app", "reloaded_app", "run", "--asgi", *flags])
    assert result.exit_code == 0, result.output
    [(target, options)] = uvicorn_calls
    assert target == "demijohn.cli:_reloaded_asgi_app"
    assert options["factory"] is True and options["reload"] is True
    assert str(tmp_path) in options["reload_dirs"]
    # The reloaded process finds the app and the debugger setting in its environment.
    assert os.environ["FLASK_APP"] == "reloaded_app"
    assert os.environ[cli._DEBUGGER_ENV] == debugger
    asgi = cli._reloaded_asgi_app()
    assert isinstance(module.app.wsgi_app, DebuggedApplication) == (debugger == "1")
    assert _get(asgi, "/") == (200, "page")


def test_run_asgi_refuses_certificates_uvicorn_cannot_take(
    monkeypatch: pytest.MonkeyPatch, uvicorn_calls: UvicornCalls
) -> None:
    module = types.ModuleType("certificates")
    module.context = ssl.create_default_context()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "certificates", module)
    result = _invoke(["run", "--asgi", "--cert", "certificates.context"], create_app=_page_app)
    assert result.exit_code == 2
    assert "With uvicorn, use a certificate file and '--key'" in result.output
    assert uvicorn_calls == []


@pytest.mark.parametrize(
    ("args", "websocket_route", "reason"),
    [
        (["run", "--asgi"], False, "--asgi"),
        (["run"], True, "WebSocket route /ws"),
    ],
)
def test_serving_asgi_without_uvicorn_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, args: list[str], websocket_route: bool, reason: str
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # "import uvicorn" fails
    app = _page_app()
    if websocket_route:

        @app.websocket("/ws")
        async def echo() -> None:
            pass

    result = _invoke(args, create_app=lambda: app)
    assert result.exit_code == 1
    assert f"Error: Serving ASGI ({reason}) needs uvicorn: pip install 'demijohn[asgi]'" in (
        result.output
    )
