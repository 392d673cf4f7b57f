"""No leaked apps: a dropped application is freed by reference counting alone.

Each check builds an app using one feature (or all of them), uses it
(through the test client, through both doors), drops it, and expects it gone
with the cyclic garbage collector turned off: a reference cycle through the
app (the JSON provider, the Jinja environment and loader, bound methods in
registries, an exception's traceback) would keep it alive until a
collection. Also: creating, serving and dropping hundreds of apps leaves
the resident memory flat (``bench/leaks.py``, run in a subprocess so other
tests do not disturb the figures; ``bench/leaks.py --apps 10000`` is the
long run).
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
import logging
import subprocess
import sys
import time
import typing as t
import weakref
from pathlib import Path

import click
import pytest
from asgi_support import through
from jinja2 import TemplateNotFound

import demijohn
from demijohn import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    get_flashed_messages,
    jsonify,
    render_template,
    render_template_string,
    request,
    session,
    stream_template_string,
    stream_with_context,
    url_for,
)

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "leak_check_app"
SETTLE = 2.0  # seconds: the ASGI door's worker lets go of a call just after answering


@pytest.fixture(autouse=True)
def _quiet_logger() -> t.Iterator[None]:
    # Unhandled errors are logged; the logger is process-global by name.
    logger = logging.getLogger(APP_NAME)
    logger.disabled = True
    yield
    logger.disabled = False
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)


@pytest.fixture(autouse=True)
def _no_collector() -> t.Iterator[None]:
    # Only reference counting may free what these tests drop.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def assert_freed(ref: weakref.ref[Flask]) -> None:
    """``ref``'s app is gone without a collection (waiting, bounded, for the ASGI worker)."""
    deadline = time.monotonic() + SETTLE
    while ref() is not None and time.monotonic() < deadline:
        time.sleep(0.001)
    app = ref()
    if app is None:
        return
    holders = [type(r).__qualname__ for r in gc.get_referrers(app)]
    del app
    raise AssertionError(f"the app outlived its last reference; held by: {holders}")


# -- features: each sets something up on the app and uses it ------------------------

#: A feature's use: sets the app up, then (sent the test client) uses it.
Exercise = t.Generator[None, t.Any, None]
Use = t.Callable[[Flask, Path], Exercise]


def use_routes(app: Flask, tmp: Path) -> Exercise:
    @app.get("/")
    def index() -> str:
        return "home"

    @app.route("/item/<int:item_id>", methods=["GET", "POST"])
    def item(item_id: int) -> str:
        return f"{request.method} {item_id} {url_for('item', item_id=item_id)}"

    client = yield
    assert client.get("/").text == "home"
    assert client.post("/item/3").text == "POST 3 /item/3"
    assert client.get("/missing").status_code == 404  # a routing exception
    assert client.put("/item/3").status_code == 405  # and Werkzeug's own


# One blueprint registered on every app, as an application factory does.
shared = Blueprint("shared", __name__, url_prefix="/shared")


@shared.get("/<name>")
def shared_view(name: str) -> str:
    return f"{name} {url_for('.shared_view', name=name)}"


@shared.before_app_request
def shared_before() -> None:
    g.shared = True


@shared.app_template_filter("shout")
def shout(value: str) -> str:
    return value.upper()


@shared.cli.command("greet")
def shared_greet() -> None:
    click.echo("greetings")


def use_blueprint(app: Flask, tmp: Path) -> Exercise:
    app.register_blueprint(shared)
    own = Blueprint("own", __name__)

    @own.get("/own")
    def own_view() -> str:
        return f"own {g.shared}"

    @own.errorhandler(LookupError)
    def lookup(e: LookupError) -> tuple[str, int]:
        return "lookup", 410

    app.register_blueprint(own, url_prefix="/b")
    app.register_blueprint(own, name="again", url_prefix="/c")
    client = yield
    assert client.get("/shared/ada").text == "ada /shared/ada"
    assert client.get("/b/own").text == "own True"
    assert client.get("/c/own").text == "own True"


class Settings:
    FROM_OBJECT = "object"


def use_config(app: Flask, tmp: Path) -> Exercise:
    (tmp / "settings.py").write_text("FROM_PYFILE = 'pyfile'\n")
    (tmp / "settings.json").write_text('{"FROM_FILE": "file"}')
    app.config.from_mapping(FROM_MAPPING="mapping")
    app.config.from_object(Settings)
    app.config.from_pyfile(str(tmp / "settings.py"))
    app.config.from_file(str(tmp / "settings.json"), load=json.load)
    app.config.from_prefixed_env("LEAKCHECK")
    assert app.config.get_namespace("FROM_") == {
        "mapping": "mapping",
        "object": "object",
        "pyfile": "pyfile",
        "file": "file",
    }

    @app.get("/config")
    def config_view() -> str:
        return str(current_app.config["FROM_PYFILE"])

    client = yield
    assert client.get("/config").text == "pyfile"


def use_templates(app: Flask, tmp: Path) -> Exercise:
    (tmp / "templates").mkdir(exist_ok=True)
    (tmp / "templates" / "page.html").write_text(
        "{{ title|shout }} {{ url_for('page') }} {{ extra }} {{ g.who }} <{{ raw }}>"
    )
    app.add_template_filter(str.upper, "shout")
    app.add_template_global(len, "length")

    @app.context_processor
    def extra() -> dict[str, str]:
        return {"extra": "processed"}

    @app.get("/page")
    def page() -> str:
        g.who = "ada"
        return render_template("page.html", title="hi", raw="<b>")

    @app.get("/string")
    def string() -> str:
        return render_template_string("{{ length('abc') }} {{ url_for('string') }}")

    @app.get("/streamed")
    def streamed() -> Response:
        return Response(stream_template_string("{{ request.path }}!"))

    client = yield
    assert client.get("/page").text == "HI /page processed ada <&lt;b&gt;>"
    assert client.get("/string").text == "3 /string"
    assert client.get("/streamed").text == "/streamed!"
    with pytest.raises(TemplateNotFound, match="searched"):
        app.jinja_env.get_template("missing.html")


def use_json(app: Flask, tmp: Path) -> Exercise:
    @app.post("/echo")
    def echo() -> Response:
        return jsonify(got=request.get_json(), twice=app_json_dump())

    @app.get("/dict")
    def as_dict() -> dict[str, int]:
        return {"a": 1}

    def app_json_dump() -> str:
        return current_app.json.dumps([1, 2])

    client = yield
    assert client.post("/echo", json={"x": 1}).get_json() == {"got": {"x": 1}, "twice": "[1, 2]"}
    assert client.get("/dict").get_json() == {"a": 1}
    bad = client.post("/echo", data="{not json", content_type="application/json")
    assert bad.status_code == 400
    with app.app_context():
        assert app.json.response([1]).get_json() == [1]


def use_session(app: Flask, tmp: Path) -> Exercise:
    app.secret_key = "leak-check"

    @app.get("/set")
    def set_session() -> str:
        session["who"] = request.args["who"]
        flash("saved")
        return "set"

    @app.get("/get")
    def get_session() -> str:
        return f"{session.get('who')} {get_flashed_messages()}"

    client = yield
    assert client.get("/set?who=ada").text == "set"
    assert client.get("/get").text == "ada ['saved']"


def use_error_handlers(app: Flask, tmp: Path) -> Exercise:
    app.testing = False  # unhandled errors become a logged 500, not a raise

    @app.errorhandler(404)
    def not_found(e: Exception) -> tuple[str, int]:
        return f"no {request.path}", 404

    @app.errorhandler(KeyError)
    def key_error(e: KeyError) -> tuple[str, int]:
        return "key", 400

    @app.get("/abort")
    def aborting() -> str:
        abort(403)

    @app.get("/key")
    def key() -> str:
        raise KeyError("k")

    @app.get("/crash")
    def crash() -> str:
        raise RuntimeError("unhandled")

    @app.get("/async-abort")
    async def async_aborting() -> str:
        await asyncio.sleep(0)
        abort(409)

    @app.get("/async-crash")
    async def async_crash() -> str:
        raise RuntimeError("unhandled")

    client = yield
    assert client.get("/nowhere").text == "no /nowhere"
    assert client.get("/abort").status_code == 403
    assert client.get("/key").text == "key"
    assert client.get("/crash").status_code == 500
    assert client.get("/async-abort").status_code == 409
    assert client.get("/async-crash").status_code == 500


def use_cli(app: Flask, tmp: Path) -> Exercise:
    app.register_blueprint(shared)

    @app.cli.command("hello")
    @click.option("--name", default="world")
    def hello(name: str) -> None:
        click.echo(f"hello {name} from {current_app.name}")

    @app.cli.command("fail")
    def fail() -> None:
        raise click.ClickException("no")

    yield
    runner = app.test_cli_runner()
    assert runner.invoke(args=["hello", "--name", "ada"]).output == f"hello ada from {APP_NAME}\n"
    assert runner.invoke(args=["shared", "greet"]).output == "greetings\n"
    result = runner.invoke(args=["fail"])
    assert result.exit_code == 1
    assert "no" in result.output


class Tracker:
    """An extension made once and initialised on every app (``init_app``)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def init_app(self, app: Flask) -> None:
        app.extensions["tracker"] = self
        app.before_request(self.before)
        app.after_request(self.after)
        app.teardown_appcontext(self.teardown)
        demijohn.request_finished.connect(self.finished, app)

    def before(self) -> None:
        g.tracked = True

    def after(self, response: Response) -> Response:
        response.headers["X-Tracked"] = str(g.tracked)
        return response

    def teardown(self, exc: BaseException | None) -> None:
        self.seen.append("teardown")

    def finished(self, sender: Flask, response: Response, **extra: t.Any) -> None:
        self.seen.append("finished")


tracker = Tracker()


class PerAppState:
    """Extension state kept in ``app.extensions``, referring back to its app."""

    def __init__(self, app: Flask) -> None:
        self.app_ref = weakref.ref(app)
        app.extensions["per_app"] = self


def use_extension(app: Flask, tmp: Path) -> Exercise:
    tracker.init_app(app)
    PerAppState(app)

    @app.get("/tracked")
    def tracked() -> str:
        app_now = current_app._get_current_object()  # type: ignore[attr-defined]
        return str(current_app.extensions["per_app"].app_ref() is app_now)

    client = yield
    response = client.get("/tracked")
    assert response.text == "True"
    assert response.headers["X-Tracked"] == "True"
    assert tracker.seen[-2:] == ["finished", "teardown"]


def use_async(app: Flask, tmp: Path) -> Exercise:
    @app.before_request
    async def before() -> None:
        await asyncio.sleep(0)
        g.before = "async"

    @app.get("/async")
    async def view() -> str:
        await asyncio.sleep(0.001)
        return f"{g.before} {request.args['x']}"

    @app.get("/sync")
    def sync_view() -> str:
        return g.before  # type: ignore[no-any-return]

    client = yield
    assert client.get("/async?x=1").text == "async 1"
    assert client.get("/sync").text == "async"


def use_streams(app: Flask, tmp: Path) -> Exercise:
    @app.get("/sync-stream")
    async def sync_stream() -> Response:
        @stream_with_context
        def generate() -> t.Iterator[str]:
            yield request.args["who"]
            yield "!"

        return Response(generate())

    @app.get("/async-stream")
    def async_stream() -> Response:
        async def generate() -> t.AsyncIterator[str]:
            yield request.args["who"]
            await asyncio.sleep(0)
            yield "?"

        return Response(stream_with_context(generate()))

    client = yield
    assert client.get("/sync-stream?who=ada").text == "ada!"
    assert client.get("/async-stream?who=bob").text == "bob?"
    response = client.head("/sync-stream?who=cy")
    assert response.data == b""
    response.close()


def use_app_context(app: Flask, tmp: Path) -> Exercise:
    app.config["SERVER_NAME"] = "example.test"

    @app.get("/where")
    def where() -> str:
        return "here"

    client = yield
    assert client.get("/where").text == "here"
    with app.app_context():
        g.value = 1
        assert url_for("where") == "http://example.test/where"
        with app.app_context():
            assert g.get("value") is None  # a new context, a new ``g``
    ctx = app.app_context()
    ctx.push()
    ctx.pop()
    with app.test_request_context("/where"):
        assert request.path == "/where"
        assert url_for("where") == "/where"


FEATURES: dict[str, Use] = {
    "routes": use_routes,
    "blueprint": use_blueprint,
    "config": use_config,
    "templates": use_templates,
    "json": use_json,
    "session": use_session,
    "error-handlers": use_error_handlers,
    "cli": use_cli,
    "extension": use_extension,
    "async": use_async,
    "streams": use_streams,
    "app-context": use_app_context,
}


def _use(features: list[str], door: str, tmp: Path) -> weakref.ref[Flask]:
    # In a function of its own: nothing of the app is left in the test's frame.
    app = Flask(APP_NAME, root_path=str(tmp))
    app.testing = True
    through(app, door)
    uses = [FEATURES[name](app, tmp) for name in features]
    for use in uses:
        next(use)  # set up, all before the first request
    client = app.test_client()
    for use in uses:
        with pytest.raises(StopIteration):
            use.send(client)
    return weakref.ref(app)


def test_a_bare_app_is_freed_at_once() -> None:
    ref = weakref.ref(Flask(__name__))
    assert ref() is None  # not even a wait: nothing but the caller held it
    app = Flask(__name__)
    # Touch what is made lazily: the logger, the Jinja environment, the CLI group.
    assert app.logger.name == __name__
    with app.test_request_context("/"):
        assert app.jinja_env.globals["url_for"]("static", filename="a.css") == "/static/a.css"
    assert app.cli.name == app.name
    ref = weakref.ref(app)
    del app
    assert ref() is None


@pytest.mark.parametrize("feature", list(FEATURES))
def test_an_app_using_a_feature_is_freed(feature: str, door: str, tmp_path: Path) -> None:
    assert_freed(_use([feature], door, tmp_path))


def test_an_app_using_everything_is_freed(door: str, tmp_path: Path) -> None:
    # ``blueprint`` and ``cli`` both register the shared blueprint: one of them.
    features = [name for name in FEATURES if name != "cli"]
    assert_freed(_use(features, door, tmp_path))
    assert_freed(_use(["cli", "templates", "session"], door, tmp_path))


def test_the_json_provider_does_not_keep_its_app() -> None:
    app = Flask(__name__)
    provider = app.json
    with app.app_context():
        assert provider.response({"a": 1}).get_json() == {"a": 1}
    ref = weakref.ref(app)
    del app
    assert ref() is None
    # A provider outliving its app says so, instead of serving a dead app.
    with pytest.raises(ReferenceError):
        provider.response({"a": 1})
    assert provider.dumps({"a": 1}) == '{"a": 1}'  # what needs no app still works


def test_the_jinja_environment_does_not_keep_its_app() -> None:
    app = Flask(__name__)
    app.config["SERVER_NAME"] = "example.test"
    env = app.jinja_env
    url_for_global = env.globals["url_for"]
    assert env.app is app
    with app.app_context():
        # The global is the app's ``url_for``, within an app context too.
        assert url_for_global("static", filename="x.js") == "http://example.test/static/x.js"
        assert render_template_string("{{ url_for('static', filename='y') }}").endswith("/y")
    ref = weakref.ref(app)
    del app
    assert ref() is None
    with pytest.raises(ReferenceError, match="no longer exists"):
        env.app  # noqa: B018
    with pytest.raises(ReferenceError):
        url_for_global("index")


# -- resident memory over many apps ---------------------------------------------------


def test_hundreds_of_apps_leave_the_resident_memory_flat(tmp_path: Path) -> None:
    out = tmp_path / "leaks.json"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "leaks.py"), "--apps", "300", "--json", str(out)],
        check=True,
        timeout=120,
        cwd=ROOT,
    )
    result = json.loads(out.read_text())
    assert set(result) >= {
        "apps",
        "rss_start_kib",
        "rss_mid_kib",
        "rss_end_kib",
        "growth_pct_last_vs_first_third",
        "seconds",
    }
    assert result["apps"] == 300
    assert result["gc_enabled"] is True
    assert 0 < result["rss_start_kib"] <= result["rss_first_third_kib"] * 2
    # One leaked app per iteration would be tens of KiB each, several MiB
    # over the last two thirds: far above this bound.
    assert result["growth_pct_last_vs_first_third"] < 3.0, result
    assert result["rss_end_kib"] - result["rss_first_third_kib"] < 1024, result


def test_the_leak_script_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_leaks", ROOT / "bench" / "leaks.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--apps", "3", "--door", "wsgi"]) == 0
    out = capsys.readouterr().out
    assert "3 apps created, served (door: wsgi) and dropped" in out
    assert "growth, last vs first third:" in out
    with pytest.raises(SystemExit):
        script.main(["--apps", "2"])
