"""The ``demijohn`` command in-process: discovery, dotenv, built-ins, user and plugin commands."""

from __future__ import annotations

import os
import re
import sys
import textwrap
import typing as t
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import demijohn
from demijohn import Blueprint, Flask, current_app
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
