"""Guide, "Application Structure & Architecture", plus the static-file sections of
"Routing and URLs": every example, with its ``from flask import`` lines.

Examples that are fragments (a factory whose blueprints live in other modules,
a project layout) are built as real files in ``tmp_path`` and imported from
there; the modules are forgotten again after each test. Where the guide is
wrong about Flask, Flask 3.1's behaviour is asserted and the comment says so.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import runpy
import sys
import textwrap
import typing as t
from pathlib import Path
from types import ModuleType

import pytest
from asgi_support import client_for
from click.testing import CliRunner
from flask import Blueprint, Flask, abort, current_app, g, request, url_for
from flask.cli import FlaskGroup, ScriptInfo
from flask.views import MethodView, View
from werkzeug.routing import BuildError


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"))


class Project:
    """Files under a folder on ``sys.path``, importable as modules."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self._monkeypatch = monkeypatch
        self.add_to_path(root)

    def add_to_path(self, folder: Path) -> None:
        self._monkeypatch.syspath_prepend(str(folder))

    def write(self, files: dict[str, str | bytes]) -> None:
        write_files(self.root, files)

    def load(self, name: str) -> ModuleType:
        importlib.invalidate_caches()
        return importlib.import_module(name)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> t.Iterator[Project]:
    yield Project(tmp_path, monkeypatch)
    # The same module names are built again by the next test (and the other
    # door): forget every module that was loaded from this test's files.
    for name, module in list(sys.modules.items()):
        # Namespace packages have no __file__, only their __path__.
        locations = [getattr(module, "__file__", None), *getattr(module, "__path__", ())]
        if any(location and Path(location).is_relative_to(tmp_path) for location in locations):
            del sys.modules[name]


# -- The Application Factory Pattern --------------------------------------------

FACTORY_INIT = """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

# 1. Initialize extensions without an app
db = SQLAlchemy()

def create_app(config_filename=None):
    # 2. Create the Flask instance
    app = Flask(__name__, instance_relative_config=True)

    # 3. Load Configuration
    if config_filename:
        app.config.from_pyfile(config_filename)
    else:
        app.config.from_mapping(SECRET_KEY='dev', DATABASE='project.db')

    # 4. Bind extensions to the app
    db.init_app(app)

    # 5. Register Blueprints (See Section 6.2)
    # from . import auth
    # app.register_blueprint(auth.bp)

    return app
"""


def test_factory_basic_implementation(project: Project, door: str) -> None:
    project.write(
        {
            "factory_app/__init__.py": FACTORY_INIT,
            # instance_relative_config=True: the file name is relative to instance/.
            "instance/testing.cfg": """
                SECRET_KEY = 'testing-key'
                SQLALCHEMY_DATABASE_URI = 'sqlite:///testing.db'
            """,
        }
    )
    factory_app = project.load("factory_app")
    db = factory_app.db

    # "This ensures the extensions are available but not bound to a specific
    # application instance until runtime."
    with pytest.raises(RuntimeError, match="application context"):
        db.engine  # noqa: B018

    app = factory_app.create_app("testing.cfg")
    assert app.instance_path == str(project.root / "instance")
    assert app.config["SECRET_KEY"] == "testing-key"
    # db.init_app(app) registered the extension on this app.
    assert app.extensions["sqlalchemy"] is db

    class Note(db.Model):  # type: ignore[name-defined, misc]
        id = db.Column(db.Integer, primary_key=True)
        text = db.Column(db.String(50), nullable=False)

    @app.route("/notes", methods=["GET", "POST"])
    def notes() -> dict[str, t.Any]:
        if request.method == "POST":
            db.session.add(Note(text=request.form["text"]))
            db.session.commit()
        return {"notes": [note.text for note in db.session.scalars(db.select(Note))]}

    with app.app_context():
        db.create_all()
    client = client_for(app, door)
    assert client.post("/notes", data={"text": "hello"}).json == {"notes": ["hello"]}
    assert client.get("/notes").json == {"notes": ["hello"]}
    # Flask-SQLAlchemy puts a relative SQLite file in the instance folder.
    assert (project.root / "instance" / "testing.db").is_file()
    with app.app_context():
        db.engine.dispose()

    # A missing config file is an error: from_pyfile is not silent here.
    with pytest.raises(FileNotFoundError, match="Unable to load configuration file"):
        factory_app.create_app("missing.cfg")

    # Without a file the example loads SECRET_KEY and DATABASE only; Flask-SQLAlchemy
    # 3.1 (on Flask too) refuses to bind without SQLALCHEMY_DATABASE_URI, so the
    # guide's default branch cannot run as printed.
    with pytest.raises(RuntimeError, match="SQLALCHEMY_DATABASE_URI"):
        factory_app.create_app()


def test_factory_gives_independent_instances(project: Project, door: str) -> None:
    # "You can create multiple instances of the app with different configurations
    # (e.g., a separate database for unit tests)." / "You can run multiple versions
    # of the same app in the same Python process if needed."
    project.write(
        {
            "factory_app/__init__.py": FACTORY_INIT,
            "instance/one.cfg": "SQLALCHEMY_DATABASE_URI = 'sqlite:///one.db'\nNAME = 'one'\n",
            "instance/two.cfg": "SQLALCHEMY_DATABASE_URI = 'sqlite:///two.db'\nNAME = 'two'\n",
        }
    )
    factory_app = project.load("factory_app")
    db = factory_app.db

    class Item(db.Model):  # type: ignore[name-defined, misc]
        id = db.Column(db.Integer, primary_key=True)

    apps = [factory_app.create_app("one.cfg"), factory_app.create_app("two.cfg")]
    assert apps[0] is not apps[1]
    for app in apps:

        @app.post("/items")
        def add_item() -> dict[str, t.Any]:
            db.session.add(Item())
            db.session.commit()
            count = db.session.scalar(db.select(db.func.count()).select_from(Item))
            return {"app": current_app.config["NAME"], "count": count}

        with app.app_context():
            db.create_all()

    one, two = (client_for(app, door) for app in apps)
    assert one.post("/items").json == {"app": "one", "count": 1}
    assert one.post("/items").json == {"app": "one", "count": 2}
    assert two.post("/items").json == {"app": "two", "count": 1}
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_current_app_in_a_utility_function(door: str) -> None:
    from flask import current_app

    def some_utility_function():  # type: ignore[no-untyped-def]
        # Access config without having the app object locally
        api_key = current_app.config["API_KEY"]
        return api_key

    # "a 'pointer' that always refers to the application instance handling the
    # current request."
    apps = []
    for key in ("key-one", "key-two"):
        app = Flask(__name__)
        app.config["API_KEY"] = key
        app.add_url_rule("/key", "key", lambda: some_utility_function())
        apps.append(app)
    assert client_for(apps[0], door).get("/key").text == "key-one"
    assert client_for(apps[1], door).get("/key").text == "key-two"

    # "app.app_context(): Used when you need to access the app outside of a web request"
    with apps[1].app_context():
        assert some_utility_function() == "key-two"
    with pytest.raises(RuntimeError, match="Working outside of application context"):
        some_utility_function()


RECOMMENDED_LAYOUT: dict[str, str | bytes] = {
    "myapp/__init__.py": """
        from flask import Flask

        from .extensions import mail
        from .models import db


        def create_app(config_object='config.DevelopmentConfig'):
            app = Flask(__name__)                  # 1. Instantiate
            app.config.from_object(config_object)  # 2. Configure
            db.init_app(app)                       # 3. Initialize
            mail.init_app(app)
            from . import routes                   # 4. Register
            app.register_blueprint(routes.bp)
            return app                             # 5. Return
    """,
    "myapp/extensions.py": """
        class Mail:
            # The extension pattern: created without an app, bound by init_app.
            def __init__(self, app=None):
                if app is not None:
                    self.init_app(app)

            def init_app(self, app):
                app.config.setdefault('MAIL_SERVER', 'localhost')
                app.extensions['mail'] = self


        mail = Mail()
    """,
    "myapp/models.py": """
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()


        class Note(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            text = db.Column(db.String(50))
    """,
    "myapp/routes.py": """
        from flask import Blueprint, current_app

        from .models import Note, db

        bp = Blueprint('main', __name__)


        @bp.route('/')
        def index():
            # No `from myapp import app`: the blueprint reaches the app through current_app.
            count = db.session.scalar(db.select(db.func.count()).select_from(Note))
            return f"{current_app.config['ENV_NAME']}: {count} notes"
    """,
    "config.py": """
        class Config:
            SECRET_KEY = 'dev'
            SQLALCHEMY_DATABASE_URI = 'sqlite://'


        class DevelopmentConfig(Config):
            ENV_NAME = 'development'
            DEBUG = True


        class ProductionConfig(Config):
            ENV_NAME = 'production'


        class TestingConfig(Config):
            ENV_NAME = 'testing'
            TESTING = True
    """,
    "tests/test_smoke.py": """
        from myapp import create_app


        def test_index():
            assert create_app('config.TestingConfig').testing
    """,
}


def test_recommended_directory_structure_and_flow(project: Project, door: str) -> None:
    project.write(RECOMMENDED_LAYOUT)
    myapp = project.load("myapp")
    from myapp.models import db  # type: ignore[import-not-found]

    app = myapp.create_app("config.TestingConfig")
    assert app.testing and app.config["ENV_NAME"] == "testing"
    assert app.extensions["sqlalchemy"] is db
    assert app.extensions["mail"] is myapp.mail
    assert app.config["MAIL_SERVER"] == "localhost"
    with app.app_context():
        db.create_all()
    client = client_for(app, door)
    assert client.get("/").text == "testing: 0 notes"

    # tests/ uses the factory with the testing configuration.
    smoke = runpy.run_path(str(project.root / "tests" / "test_smoke.py"))
    smoke["test_index"]()

    development = myapp.create_app()
    assert development.debug and development.config["ENV_NAME"] == "development"
    assert myapp.create_app("config.ProductionConfig").config["ENV_NAME"] == "production"

    # The factory registers everything before returning: once an app has handled
    # a request, late setup is refused instead of half-applied.
    with pytest.raises(AssertionError, match="register_blueprint"):
        app.register_blueprint(Blueprint("late", __name__))


def test_flask_command_finds_create_app_or_make_app(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "You typically set this via an environment variable: export FLASK_APP=myapp.
    # Flask will automatically look for a function named create_app or make_app
    # within that package."
    project.write(RECOMMENDED_LAYOUT)
    project.write(
        {
            "otherapp/__init__.py": """
                from flask import Flask

                def make_app():
                    app = Flask(__name__)
                    app.add_url_rule('/made', 'made', lambda: 'made')
                    return app
            """,
            "noapp/__init__.py": "VALUE = 1\n",
        }
    )
    monkeypatch.chdir(project.root)

    result = CliRunner().invoke(FlaskGroup(), ["routes"], env={"FLASK_APP": "myapp"})
    assert result.exit_code == 0, result.output
    assert re.search(r"main\.index\s+GET\s+/\n", result.output)

    assert ScriptInfo(app_import_path="otherapp").load_app().name == "otherapp"
    # "The WSGI server calls create_app()": the call form takes arguments too.
    testing = ScriptInfo(app_import_path="myapp:create_app('config.TestingConfig')").load_app()
    assert testing.config["ENV_NAME"] == "testing"

    result = CliRunner().invoke(FlaskGroup(), ["routes"], env={"FLASK_APP": "noapp"})
    assert result.exit_code != 0
    assert "Failed to find Flask application or factory in module 'noapp'" in result.output


# -- Blueprints -----------------------------------------------------------------

AUTH_ROUTES = """
# project/auth/routes.py
from flask import Blueprint, render_template

# Creating the Blueprint
auth_bp = Blueprint('auth', __name__,
                    template_folder='templates',
                    static_folder='static',
                    url_prefix='/auth')

@auth_bp.route('/login')
def login():
    return render_template('auth/login.html')
"""

PROJECT_INIT = """
# project/__init__.py
from flask import Flask
from .auth.routes import auth_bp

def create_app():
    app = Flask(__name__)

    # Register the blueprint onto the app
    app.register_blueprint(auth_bp)

    return app
"""

AUTH_FILES: dict[str, str | bytes] = {
    "project/auth/__init__.py": "",
    "project/auth/routes.py": AUTH_ROUTES,
    "project/auth/templates/auth/login.html": """
        <link rel="stylesheet" href="{{ url_for('auth.static', filename='auth.css') }}">
        <script src="{{ url_for('.static', filename='auth.js') }}"></script>
        <form action="{{ url_for('.login') }}">blueprint login</form>
    """,
    "project/auth/static/auth.css": "form { margin: 0 }\n",
}

# The guide's "Modular Project Structure": auth and api blueprints, the factory
# in project/__init__.py.
MODULAR_FILES: dict[str, str | bytes] = {
    **AUTH_FILES,
    "project/api/__init__.py": "",
    "project/api/routes.py": """
        from flask import Blueprint, jsonify, url_for

        api_bp = Blueprint('api', __name__, url_prefix='/api')


        @api_bp.route('/')
        def index():
            return jsonify(
                same=url_for('.index'), other=url_for('auth.login'), app=url_for('index')
            )
    """,
    "project/__init__.py": """
        from flask import Flask, url_for


        def create_app():
            app = Flask(__name__)

            from .api.routes import api_bp
            from .auth.routes import auth_bp

            app.register_blueprint(auth_bp)
            app.register_blueprint(api_bp)

            @app.route('/')
            def index():
                return f"{url_for('auth.login')} {url_for('api.index')}"

            return app
    """,
}


def test_creating_and_registering_a_blueprint(project: Project, door: str) -> None:
    project.write({**AUTH_FILES, "project/__init__.py": PROJECT_INIT})
    routes = project.load("project.auth.routes")

    # "A Blueprint does nothing until it is registered with the application."
    bare = Flask("bare", root_path=str(project.root))
    assert "auth" not in bare.blueprints
    assert client_for(bare, door).get("/auth/login").status_code == 404

    app = project.load("project").create_app()
    assert app.blueprints["auth"] is routes.auth_bp
    assert routes.auth_bp.root_path == str(project.root / "project" / "auth")
    page = client_for(app, door).get("/auth/login")
    assert page.status_code == 200
    assert "blueprint login" in page.text
    assert 'action="/auth/login"' in page.text
    assert 'href="/auth/static/auth.css"' in page.text
    assert 'src="/auth/static/auth.js"' in page.text


def test_url_building_with_blueprints(project: Project, door: str) -> None:
    # | Inside same Blueprint   | url_for('.login')     | /auth/login |
    # | From outside Blueprint  | url_for('auth.login') | /auth/login |
    # | Standard App Route      | url_for('index')      | /           |
    project.write(MODULAR_FILES)
    app = project.load("project").create_app()
    client = client_for(app, door)
    assert 'action="/auth/login"' in client.get("/auth/login").text
    assert client.get("/").text == "/auth/login /api/"
    # "Because multiple blueprints might have a route named index": the api
    # blueprint's index and the app's index are different endpoints.
    assert client.get("/api/").json == {"same": "/api/", "other": "/auth/login", "app": "/"}
    assert {"index", "api.index", "auth.login", "auth.static"} <= set(app.view_functions)

    with app.test_request_context("/"):
        # Outside any blueprint ".login" means the app's own "login": there is none.
        with pytest.raises(BuildError):
            url_for(".login")
        # The bare name is not the blueprint's endpoint either.
        with pytest.raises(BuildError):
            url_for("login")


def test_url_prefix_override_at_registration(project: Project, door: str) -> None:
    # "Registration is where you can override the URL prefix or provide specific
    # configuration."
    project.write({**AUTH_FILES, "project/__init__.py": ""})
    routes = project.load("project.auth.routes")
    seen: list[dict[str, t.Any]] = []
    routes.auth_bp.record(lambda state: seen.append(dict(state.options)))

    app = Flask("site", root_path=str(project.root))
    # Options other than Flask's own reach the blueprint's recorded functions.
    app.register_blueprint(routes.auth_bp, url_prefix="/account", theme="dark")
    assert seen == [{"url_prefix": "/account", "theme": "dark"}]
    client = client_for(app, door)
    page = client.get("/account/login")
    assert page.status_code == 200
    # URLs built for the blueprint follow the registration, static files too.
    assert 'action="/account/login"' in page.text
    assert 'href="/account/static/auth.css"' in page.text
    with client.get("/account/static/auth.css") as css:
        assert css.status_code == 200
    assert client.get("/auth/login").status_code == 404


def test_blueprint_templates_the_app_folder_wins(project: Project, door: str) -> None:
    # "the app-level templates folder always takes precedence, allowing you to
    # 'theme' or override blueprint templates from the main app."
    project.write(
        {
            **MODULAR_FILES,
            "project/templates/auth/login.html": "themed by the app",
            "project/auth/templates/auth/only_here.html": "from the blueprint",
        }
    )
    app = project.load("project").create_app()
    assert client_for(app, door).get("/auth/login").text == "themed by the app"
    with app.app_context():
        from flask import render_template

        # A template the app does not override still comes from the blueprint.
        assert render_template("auth/only_here.html") == "from the blueprint"


def test_blueprint_templates_in_subfolders_avoid_collisions(tmp_path: Path, door: str) -> None:
    # "templates/auth/ (Keep templates in a subfolder to avoid collisions)": the
    # template search path is shared, so the first blueprint's index.html wins.
    from flask import render_template

    write_files(
        tmp_path,
        {
            "blog/templates/index.html": "blog index",
            "blog/templates/blog/index.html": "blog index (subfolder)",
            "shop/templates/index.html": "shop index",
            "shop/templates/shop/index.html": "shop index (subfolder)",
        },
    )
    app = Flask("site", root_path=str(tmp_path))
    for name in ("blog", "shop"):
        bp = Blueprint(name, __name__, template_folder="templates", root_path=str(tmp_path / name))
        bp.add_url_rule("/flat", "flat", lambda: render_template("index.html"))
        bp.add_url_rule(
            "/nested", "nested", functools.partial(render_template, f"{name}/index.html")
        )
        app.register_blueprint(bp, url_prefix=f"/{name}")
    client = client_for(app, door)
    assert client.get("/blog/flat").text == "blog index"
    assert client.get("/shop/flat").text == "blog index"  # the collision
    assert client.get("/blog/nested").text == "blog index (subfolder)"
    assert client.get("/shop/nested").text == "shop index (subfolder)"


def test_blueprint_static_files(project: Project, door: str) -> None:
    # "Static Files: Accessible via url_for('blueprint_name.static', filename='...')."
    project.write(MODULAR_FILES)
    project.write({"project/static/site.css": "app css\n", "project/auth/secret.txt": "hush"})
    app = project.load("project").create_app()
    client = client_for(app, door)
    with app.test_request_context():
        assert url_for("auth.static", filename="auth.css") == "/auth/static/auth.css"
        # The api blueprint has no static folder, so no static endpoint.
        with pytest.raises(BuildError):
            url_for("api.static", filename="x.css")
    with client.get("/auth/static/auth.css") as css:
        assert (css.status_code, css.mimetype) == (200, "text/css")
        assert css.text == "form { margin: 0 }\n"
    for url in (
        "/auth/static/missing.css",
        "/auth/static/../secret.txt",
        "/auth/static/%2e%2e/secret.txt",
        "/auth/static/..%2fsecret.txt",
        "/auth/static/../routes.py",
    ):
        with client.get(url, follow_redirects=True) as response:
            assert response.status_code == 404, url
            assert b"hush" not in response.data and b"auth_bp" not in response.data


def test_blueprint_static_without_prefix_is_shadowed_by_the_app(tmp_path: Path, door: str) -> None:
    # Flask: without a url_prefix the blueprint's static URL is /static, and the
    # app's own static route (registered first) takes precedence.
    write_files(tmp_path, {"static/x.css": "app", "widgets/static/x.css": "widgets"})
    app = Flask("site", root_path=str(tmp_path))
    widgets = Blueprint(
        "widgets", __name__, static_folder="static", root_path=str(tmp_path / "widgets")
    )
    app.register_blueprint(widgets)
    moved = Blueprint(
        "moved",
        __name__,
        static_folder="static",
        static_url_path="/widget-assets",
        root_path=str(tmp_path / "widgets"),
    )
    app.register_blueprint(moved)
    client = client_for(app, door)
    with app.test_request_context():
        assert url_for("widgets.static", filename="x.css") == "/static/x.css"
        assert url_for("moved.static", filename="x.css") == "/widget-assets/x.css"
    with client.get("/static/x.css") as response:
        assert response.text == "app"
    with client.get("/widget-assets/x.css") as response:
        assert response.text == "widgets"


def test_modular_project_structure(project: Project, door: str) -> None:
    project.write(MODULAR_FILES)
    app = project.load("project").create_app()
    assert list(app.blueprints) == ["auth", "api"]
    rules = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}
    assert rules == {
        "/static/<path:filename>": "static",
        "/auth/static/<path:filename>": "auth.static",
        "/auth/login": "auth.login",
        "/api/": "api.index",
        "/": "index",
    }
    client = client_for(app, door)
    assert client.get("/auth/login").status_code == 200
    assert client.get("/api/").status_code == 200
    # Each call of the factory builds a new app from the same blueprints.
    again = project.load("project").create_app()
    assert again is not app and list(again.blueprints) == ["auth", "api"]


def test_blueprint_names_must_be_unique(door: str) -> None:
    # "If you register two blueprints with the name 'admin', Flask will raise an
    # error upon registration."
    admin = Blueprint("admin", __name__, url_prefix="/admin")
    admin.add_url_rule("/", "index", lambda: "admin")
    other_admin = Blueprint("admin", __name__, url_prefix="/staff")
    other_admin.add_url_rule("/users", "users", lambda: url_for(".users"))

    app = Flask(__name__)
    app.register_blueprint(admin)
    rules_before = sorted(str(rule) for rule in app.url_map.iter_rules())
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The name 'admin' is already registered for a different blueprint."
            " Use 'name=' to provide a unique name."
        ),
    ):
        app.register_blueprint(other_admin)
    with pytest.raises(ValueError, match="already registered for this blueprint"):
        app.register_blueprint(admin, url_prefix="/again")
    # The refused registrations added nothing.
    assert sorted(str(rule) for rule in app.url_map.iter_rules()) == rules_before
    assert app.blueprints == {"admin": admin}

    # A unique name makes it registrable, under that name.
    app.register_blueprint(other_admin, name="staff")
    client = client_for(app, door)
    assert client.get("/admin/").text == "admin"
    assert client.get("/staff/users").text == "/staff/users"


def test_blueprint_name_rules() -> None:
    # Endpoints are "<blueprint>.<view>", so a dot may not appear in either part.
    with pytest.raises(ValueError, match=re.escape("'name' may not contain a dot '.' character.")):
        Blueprint("admin.panel", __name__)
    with pytest.raises(ValueError, match=re.escape("'name' may not be empty.")):
        Blueprint("", __name__)
    auth = Blueprint("auth", __name__)
    with pytest.raises(
        ValueError, match=re.escape("'endpoint' may not contain a dot '.' character.")
    ):
        auth.add_url_rule("/login", "auth.login", lambda: "")

    def view() -> str:
        return ""

    view.__name__ = "auth.view"
    with pytest.raises(ValueError, match="'view_func' name may not contain a dot"):
        auth.route("/view")(view)
    # The name given to as_view() becomes the view's name: no dots in a blueprint.
    with pytest.raises(ValueError, match="'view_func' name may not contain a dot"):
        auth.add_url_rule("/profile", view_func=MethodView.as_view("user.profile"))
    with pytest.raises(ValueError, match="Cannot register a blueprint on itself"):
        auth.register_blueprint(auth)


def test_blueprint_error_handlers_and_hooks_only_for_its_routes(door: str) -> None:
    # "Blueprints also support their own error handlers (@auth_bp.errorhandler) and
    # middleware hooks (@auth_bp.before_request), which only trigger for routes
    # within that specific blueprint."
    auth_bp = Blueprint("auth", __name__, url_prefix="/auth")
    seen: list[str] = []

    @auth_bp.before_request
    def remember() -> None:
        seen.append(request.path)
        g.area = "auth"

    @auth_bp.errorhandler(404)
    def auth_not_found(error: Exception) -> tuple[str, int]:
        return "no such auth page", 404

    @auth_bp.route("/user/<int:user_id>")
    def user(user_id: int) -> str:
        if user_id != 1:
            abort(404)
        return f"user 1 in {g.area}"

    app = Flask(__name__)

    @app.route("/post/<int:post_id>")
    def post(post_id: int) -> str:
        abort(404)

    app.register_blueprint(auth_bp)
    client = client_for(app, door)
    assert client.get("/auth/user/1").text == "user 1 in auth"
    missing = client.get("/auth/user/2")
    assert (missing.status_code, missing.text) == (404, "no such auth page")
    app_missing = client.get("/post/1")
    assert app_missing.status_code == 404 and "no such auth page" not in app_missing.text
    # A URL that matches no route belongs to no blueprint (Flask), even under /auth.
    unrouted = client.get("/auth/nowhere")
    assert unrouted.status_code == 404 and "no such auth page" not in unrouted.text
    assert seen == ["/auth/user/1", "/auth/user/2"]


def test_nested_blueprints(door: str) -> None:
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child")
    seen: list[tuple[str, list[str]]] = []

    @parent.before_request
    def parent_hook() -> None:
        seen.append((t.cast(str, request.blueprint), request.blueprints))

    @parent.errorhandler(403)
    def parent_forbidden(error: Exception) -> tuple[str, int]:
        return "parent says no", 403

    @child.route("/")
    def index() -> str:
        return f"{url_for('.index')} {url_for('.secret')} {url_for('parent.child.index')}"

    @child.route("/secret")
    def secret() -> str:
        abort(403)

    parent.register_blueprint(child)
    # The same child can be nested elsewhere: its dotted name stays unique.
    other = Blueprint("other", __name__, url_prefix="/other")
    other.register_blueprint(child, url_prefix="/kid")

    app = Flask(__name__)
    app.register_blueprint(parent)
    app.register_blueprint(other)
    assert {"parent", "parent.child", "other", "other.child"} == set(app.blueprints)
    client = client_for(app, door)
    assert client.get("/parent/child/").text == (
        "/parent/child/ /parent/child/secret /parent/child/"
    )
    # The parent's hooks and error handlers cover the nested blueprint's routes.
    assert seen == [("parent.child", ["parent.child", "parent"])]
    forbidden = client.get("/parent/child/secret")
    assert (forbidden.status_code, forbidden.text) == (403, "parent says no")
    assert client.get("/other/kid/").text == "/other/kid/ /other/kid/secret /parent/child/"
    assert client.get("/other/kid/secret").text != "parent says no"


# -- Pluggable Views ------------------------------------------------------------


def test_basic_view_class(tmp_path: Path, door: str) -> None:
    from flask import render_template
    from flask.views import View

    write_files(tmp_path, {"templates/user.html": "User {{ user.id + 1 }}: {{ user.name }}"})
    app = Flask(__name__, root_path=str(tmp_path))

    class ShowUser(View):
        """A simple class-based view to display a user profile."""

        def dispatch_request(self, user_id):  # type: ignore[no-untyped-def]
            # Business logic goes here
            user = {"id": user_id, "name": "Alice"}
            return render_template("user.html", user=user)

    # Registering the view
    app.add_url_rule("/user/<int:user_id>", view_func=ShowUser.as_view("show_user"))

    # Each registration needs its own name: reusing one for another view fails.
    with pytest.raises(AssertionError, match="overwriting an existing endpoint function"):
        app.add_url_rule("/profile/<int:user_id>", view_func=ShowUser.as_view("show_user"))
    client = client_for(app, door)
    assert client.get("/user/41").text == "User 42: Alice"  # user_id arrived as an int
    assert client.get("/user/alice").status_code == 404
    assert client.post("/user/41").status_code == 405
    view = app.view_functions["show_user"]
    assert view.view_class is ShowUser  # type: ignore[attr-defined]
    assert view.__doc__ == ShowUser.__doc__
    # "When using url_for() with class-based views, you use the name passed to
    # as_view(), not the name of the class itself."
    with app.test_request_context():
        assert url_for("show_user", user_id=7) == "/user/7"
        with pytest.raises(BuildError):
            url_for("ShowUser", user_id=7)


def test_method_based_views(door: str) -> None:
    from flask import jsonify, request  # noqa: F401 (the guide's import line)
    from flask.views import MethodView

    app = Flask(__name__)

    class UserAPI(MethodView):
        def get(self, user_id):  # type: ignore[no-untyped-def]
            # Handle GET - retrieve user
            return jsonify({"user": user_id, "method": "GET"})

        def post(self):  # type: ignore[no-untyped-def]
            # Handle POST - create user
            return jsonify({"status": "user created"}), 201

        def delete(self, user_id):  # type: ignore[no-untyped-def]
            # Handle DELETE - remove user
            return jsonify({"status": f"user {user_id} deleted"})

    # Registration
    user_view = UserAPI.as_view("user_api")
    app.add_url_rule("/users/", view_func=user_view, methods=["POST"])
    app.add_url_rule("/users/<int:user_id>", view_func=user_view, methods=["GET", "DELETE"])

    assert UserAPI.methods == {"GET", "POST", "DELETE"}
    client = client_for(app, door)
    created = client.post("/users/")
    assert (created.status_code, created.json) == (201, {"status": "user created"})
    assert client.get("/users/5").json == {"user": 5, "method": "GET"}
    assert client.delete("/users/5").json == {"status": "user 5 deleted"}
    head = client.head("/users/5")  # HEAD is answered by get()
    assert (head.status_code, head.data) == (200, b"")
    # The methods given at registration limit each URL.
    assert client.get("/users/").status_code == 405
    assert client.post("/users/5").status_code == 405
    assert client.put("/users/5").status_code == 405


def test_applying_decorators_to_class_based_views(door: str) -> None:
    from flask_login import LoginManager, UserMixin, login_required, login_user

    order: list[str] = []

    def some_other_decorator(view):  # type: ignore[no-untyped-def]
        @functools.wraps(view)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            order.append("some_other_decorator")
            return view(*args, **kwargs)

        return wrapper

    class SecretView(MethodView):
        # These decorators are applied to every method in the class
        decorators = [login_required, some_other_decorator]

        def get(self):  # type: ignore[no-untyped-def]
            return "Top Secret Data"

    class PlainView(MethodView):
        def get(self) -> str:
            return "Wrapped by hand"

    class User(UserMixin):
        id = "ada"

    app = Flask(__name__)
    app.secret_key = "test"
    login_manager = LoginManager(app)
    login_manager.user_loader(lambda user_id: User() if user_id == "ada" else None)
    app.add_url_rule("/secret", view_func=SecretView.as_view("secret"))
    # "You can either manually wrap the result of as_view() ..."
    app.add_url_rule("/plain", view_func=login_required(PlainView.as_view("plain")))

    @app.post("/login")
    def login() -> str:
        login_user(User())
        return "in"

    client = client_for(app, door)
    assert client.get("/secret").status_code == 401
    assert client.get("/plain").status_code == 401
    # The list is applied in order, so the last decorator is the outermost one:
    # it ran, login_required then refused.
    assert order == ["some_other_decorator"]
    client.post("/login")
    assert client.get("/secret").text == "Top Secret Data"
    assert client.get("/plain").text == "Wrapped by hand"
    assert client.post("/plain").status_code == 405  # methods survive the wrapping


def test_list_view_reused_with_options(tmp_path: Path, door: str) -> None:
    from flask import render_template
    from flask_sqlalchemy import SQLAlchemy

    write_files(
        tmp_path,
        {
            "templates/books.html": "Books: {{ items|map(attribute='title')|join(', ') }}",
            "templates/authors.html": "Authors: {{ items|map(attribute='name')|join(', ') }}",
        },
    )
    app = Flask(__name__, root_path=str(tmp_path))
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db = SQLAlchemy(app)

    class Book(db.Model):  # type: ignore[name-defined, misc]
        id = db.Column(db.Integer, primary_key=True)
        title = db.Column(db.String(50))

    class Author(db.Model):  # type: ignore[name-defined, misc]
        id = db.Column(db.Integer, primary_key=True)
        name = db.Column(db.String(50))

    class ListView(View):
        def __init__(self, model, template):  # type: ignore[no-untyped-def]
            self.model = model
            self.template = template

        def dispatch_request(self):  # type: ignore[no-untyped-def]
            items = self.model.query.all()
            return render_template(self.template, items=items)

    # Reusing the same class for different purposes
    app.add_url_rule(
        "/books/", view_func=ListView.as_view("book_list", model=Book, template="books.html")
    )
    app.add_url_rule(
        "/authors/",
        view_func=ListView.as_view("author_list", model=Author, template="authors.html"),
    )

    with app.app_context():
        db.create_all()
        db.session.add_all([Book(title="Dune"), Book(title="Emma"), Author(name="Austen")])
        db.session.commit()
    client = client_for(app, door)
    assert client.get("/books/").text == "Books: Dune, Emma"
    assert client.get("/authors/").text == "Authors: Austen"
    with app.test_request_context():
        assert (url_for("book_list"), url_for("author_list")) == ("/books/", "/authors/")


def test_method_views_for_rest_apis(door: str) -> None:
    from flask import jsonify, request
    from flask.views import MethodView

    app = Flask(__name__)

    class UserAPI(MethodView):
        def get(self, user_id=None):  # type: ignore[no-untyped-def]
            if user_id is None:
                # Return a list of all users
                return jsonify({"users": ["Alice", "Bob"]})
            else:
                # Return details for a specific user
                return jsonify({"user": user_id, "name": "Alice"})

        def post(self):  # type: ignore[no-untyped-def]
            # Create a new user from JSON data
            data = request.get_json()
            return jsonify({"message": "User created", "data": data}), 201

        def put(self, user_id):  # type: ignore[no-untyped-def]
            # Update user with ID user_id
            return jsonify({"message": f"User {user_id} updated"})

        def delete(self, user_id):  # type: ignore[no-untyped-def]
            # Delete user with ID user_id
            return jsonify({"message": f"User {user_id} deleted"}), 204

    user_view = UserAPI.as_view("user_api")

    # Route for the collection (List/Create)
    app.add_url_rule("/users/", view_func=user_view, methods=["GET", "POST"])

    # Route for individual resources (Retrieve/Update/Delete)
    app.add_url_rule("/users/<int:user_id>", view_func=user_view, methods=["GET", "PUT", "DELETE"])

    class ReadOnly(MethodView):
        def get(self) -> str:
            return "read"

    app.add_url_rule("/read-only", view_func=ReadOnly.as_view("read_only"))

    client = client_for(app, door)
    assert client.get("/users/").json == {"users": ["Alice", "Bob"]}
    assert client.get("/users/1").json == {"user": 1, "name": "Alice"}
    created = client.post("/users/", json={"name": "Carol"})
    assert created.status_code == 201
    assert created.json == {"message": "User created", "data": {"name": "Carol"}}
    assert client.put("/users/1").json == {"message": "User 1 updated"}
    deleted = client.delete("/users/1")
    # A 204 response has no body: the JSON the example returns is not sent.
    assert (deleted.status_code, deleted.data) == (204, b"")
    # docs/design.md, known error "request.get_json()": a non-JSON body is a 415.
    assert client.post("/users/", data="name=Carol").status_code == 415

    # "Flask automatically implements the OPTIONS method for you, listing all
    # allowed verbs in the Allow header."
    collection = client.options("/users/")
    assert collection.status_code == 200
    assert set(collection.allow) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert set(client.options("/users/1").allow) == {"DELETE", "GET", "HEAD", "OPTIONS", "PUT"}
    refused = client.patch("/users/1")
    assert refused.status_code == 405
    assert set(refused.allow) == {"DELETE", "GET", "HEAD", "OPTIONS", "PUT"}
    assert client.get("/users/abc").status_code == 404
    # One endpoint, two rules: url_for picks the rule the values fit.
    with app.test_request_context():
        assert url_for("user_api") == "/users/"
        assert url_for("user_api", user_id=3) == "/users/3"
        assert url_for("user_api", user_id=3, _method="PUT") == "/users/3"

    # "If a client sends a request using a method you haven't defined (e.g., a
    # DELETE request to a class that only has get), Flask automatically returns a
    # 405 Method Not Allowed response."
    assert client.get("/read-only").text == "read"
    only_get = client.delete("/read-only")
    assert only_get.status_code == 405
    assert set(only_get.allow) == {"GET", "HEAD", "OPTIONS"}


def test_class_based_views_on_a_blueprint(door: str) -> None:
    # Pluggable views register on a blueprint like on the app: the endpoint is
    # "<blueprint>.<as_view name>" and the blueprint's hooks cover them.
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.before_request
    def require_token() -> tuple[str, int] | None:
        if request.headers.get("X-Token") != "t":
            return "no token", 401
        return None

    class UserAPI(MethodView):
        def get(self, user_id: int | None = None) -> str:
            return f"{user_id} {url_for('.user_api', user_id=1)} {url_for('api.user_api')}"

    user_view = UserAPI.as_view("user_api")
    api.add_url_rule("/users/", view_func=user_view)
    api.add_url_rule("/users/<int:user_id>", view_func=user_view)
    app = Flask(__name__)
    app.register_blueprint(api)
    client = client_for(app, door)
    assert "api.user_api" in app.view_functions
    assert client.get("/api/users/").status_code == 401
    assert (
        client.get("/api/users/", headers={"X-Token": "t"}).text == "None /api/users/1 /api/users/"
    )
    assert client.get("/api/users/5", headers={"X-Token": "t"}).text.startswith("5 ")
    assert client.delete("/api/users/5", headers={"X-Token": "t"}).status_code == 405


def test_api_decorators_and_a_base_resource(door: str) -> None:
    from flask import jsonify

    def authenticate_token(view):  # type: ignore[no-untyped-def]
        @functools.wraps(view)
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            if request.headers.get("Authorization") != "Bearer s3cret":
                return jsonify({"error": "invalid token"}), 401
            return view(*args, **kwargs)

        return wrapper

    class SecureAPI(MethodView):
        # Every method (get, post, etc.) will now require a valid token
        decorators = [authenticate_token]

        def get(self):  # type: ignore[no-untyped-def]
            return jsonify({"data": "secure content"})

    # "You can create a BaseResource class that handles common API tasks like ...
    # authentication and have all your API endpoints inherit from it."
    class Orders(SecureAPI):
        def post(self) -> tuple[t.Any, int]:
            return jsonify({"order": "placed"}), 201

    app = Flask(__name__)
    app.add_url_rule("/secure", view_func=SecureAPI.as_view("secure"))
    app.add_url_rule("/orders", view_func=Orders.as_view("orders"))
    assert Orders.methods == {"GET", "POST"}
    client = client_for(app, door)
    token = {"Authorization": "Bearer s3cret"}
    for method, url in (("GET", "/secure"), ("GET", "/orders"), ("POST", "/orders")):
        refused = client.open(url, method=method)
        assert (refused.status_code, refused.json) == (401, {"error": "invalid token"})
    assert client.get("/secure", headers=token).json == {"data": "secure content"}
    assert client.get("/orders", headers=token).json == {"data": "secure content"}
    placed = client.post("/orders", headers=token)
    assert (placed.status_code, placed.json) == (201, {"order": "placed"})


# -- The Instance Folder ----------------------------------------------------------

INSTANCE_FACTORY = """
import os
from flask import Flask

def create_app():
    # instance_relative_config=True allows loading config from the instance folder
    app = Flask(__name__, instance_relative_config=True)

    # Ensure the instance folder exists (optional but recommended)
    try:
        os.makedirs(app.instance_path)
    except OSError:
        pass

    # Load a default config, then override it with an instance config if it exists
    app.config.from_mapping(SECRET_KEY='dev_key')
    app.config.from_pyfile('config.py', silent=True)

    return app
"""


def test_initializing_the_instance_folder(project: Project) -> None:
    project.write({"instapp/__init__.py": INSTANCE_FACTORY})
    instapp = project.load("instapp")
    instance = project.root / "instance"
    assert not instance.exists()

    app = instapp.create_app()
    # "For packages, it sits alongside the package folder."
    assert app.instance_path == str(instance)
    assert instance.is_dir()  # the factory created it
    assert app.config.root_path == app.instance_path
    assert app.config["SECRET_KEY"] == "dev_key"  # no instance config yet

    # "Priority: Config values in the instance folder can be set to override
    # default values."
    secret = "3f9a" + "c" * 46
    (instance / "config.py").write_text(f"SECRET_KEY = {secret!r}\nSTRIPE_KEY = 'sk_live'\n")
    app = instapp.create_app()  # the folder exists now: the OSError is swallowed
    assert app.config["SECRET_KEY"] == secret
    assert app.config["STRIPE_KEY"] == "sk_live"

    # silent=True only forgives a missing file, not a broken one.
    (instance / "config.py").write_text("SECRET_KEY = \n")
    with pytest.raises(SyntaxError):
        instapp.create_app()


def test_deployment_workflow_repo_defaults_and_instance_secrets(project: Project) -> None:
    # | Repo (Git)  | project/config.py  | 'dev-default-ignore-me' |
    # | Prod Server | instance/config.py | '3f9a... [50-character random string]' |
    project.write(
        {
            "config.py": "SECRET_KEY = 'dev-default-ignore-me'\nITEMS_PER_PAGE = 20\n",
            "deployapp/__init__.py": """
                from flask import Flask

                def create_app():
                    app = Flask(__name__, instance_relative_config=True)
                    app.config.from_object('config')
                    app.config.from_pyfile('config.py', silent=True)
                    return app
            """,
        }
    )
    deployapp = project.load("deployapp")
    repo = deployapp.create_app()
    # from_pyfile('config.py') looks in instance/ only: the repo's config.py beside
    # it is not picked up a second time.
    assert repo.config["SECRET_KEY"] == "dev-default-ignore-me"
    assert repo.config.from_pyfile("config.py", silent=True) is False
    with pytest.raises(FileNotFoundError, match="Unable to load configuration file"):
        repo.config.from_pyfile("config.py")

    secret = "3f9a" + "e" * 46
    write_files(project.root, {"instance/config.py": f"SECRET_KEY = {secret!r}\n"})
    production = deployapp.create_app()
    assert production.config["SECRET_KEY"] == secret
    assert production.config["ITEMS_PER_PAGE"] == 20  # the repo's defaults remain


def test_accessing_the_instance_path(project: Project, door: str) -> None:
    project.write(
        {
            "reports.py": """
                import os
                from flask import Flask

                app = Flask(__name__)

                from flask import current_app

                @app.route('/save-internal')
                def save_data():
                    # app.instance_path gives the absolute path to the instance folder
                    path = os.path.join(current_app.instance_path, 'private_report.txt')
                    with open(path, 'w') as f:
                        f.write("Sensitive internal data.")
                    return "File saved."
            """,
        }
    )
    app = project.load("reports").app
    # "If you are using a flat module structure (a single app.py) instead of a
    # package, the instance folder is expected to be in the same directory".
    assert app.instance_path == str(project.root / "instance")
    assert os.path.isabs(app.instance_path)
    client = client_for(app, door)

    # Flask does not create the folder: without it the view fails.
    assert client.get("/save-internal").status_code == 500

    os.makedirs(app.instance_path)
    assert client.get("/save-internal").text == "File saved."
    report = project.root / "instance" / "private_report.txt"
    assert report.read_text() == "Sensitive internal data."
    with app.open_instance_resource("private_report.txt") as f:
        assert f.read() == b"Sensitive internal data."
    # "an uploaded file that shouldn't be public": nothing serves the instance folder.
    for url in ("/static/private_report.txt", "/instance/private_report.txt"):
        with client.get(url) as response:
            assert response.status_code == 404


def test_instance_folder_of_a_module_and_of_a_package(project: Project) -> None:
    write_files(
        project.root,
        {
            "flat/flatapp.py": "from flask import Flask\napp = Flask(__name__)\n",
            "nested/pkgapp/__init__.py": "from flask import Flask\napp = Flask(__name__)\n",
            "nested/pkgapp/views.py": "from flask import Flask\napp = Flask(__name__)\n",
        },
    )
    project.add_to_path(project.root / "flat")
    project.add_to_path(project.root / "nested")
    assert project.load("flatapp").app.instance_path == str(project.root / "flat" / "instance")
    package_instance = str(project.root / "nested" / "instance")
    assert project.load("pkgapp").app.instance_path == package_instance
    # A module inside the package shares the package's instance folder.
    assert project.load("pkgapp.views").app.instance_path == package_instance
    # An explicit instance_path must be absolute.
    with pytest.raises(ValueError, match="must be absolute"):
        Flask("pkgapp", instance_path="instance")


# -- Routing and URLs: Static Files -------------------------------------------------

STYLE_CHECK_APP = """
from flask import Flask, url_for, render_template

app = Flask(__name__)

@app.route('/style-check')
def style_check():
    \"\"\"
    Demonstrates how to generate URLs for various static assets.
    The resulting strings can be passed to templates or used in responses.
    \"\"\"
    css_url = url_for('static', filename='css/main.css')
    js_url = url_for('static', filename='js/app.js')
    logo_url = url_for('static', filename='img/logo.png')

    return f"CSS: {css_url}, JS: {js_url}, Logo: {logo_url}"
"""

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16

STATIC_FILES: dict[str, str | bytes] = {
    "static/css/main.css": "body { color: teal }\n",
    "static/js/app.js": "console.log('hi')\n",
    "static/img/logo.png": PNG,
    "static/fonts/site.woff2": b"wOF2fake",
    "static/vendor/bootstrap/css/bootstrap.min.css": ".btn{}\n",
    "static/favicon.ico": b"\x00\x00\x01\x00",
    "secret.txt": "do not serve",
}


def test_default_static_route_serves_the_static_folder(project: Project, door: str) -> None:
    # "By default, Flask looks for these files in a directory named static located
    # in the same directory as your application module." / "Upon initialization,
    # every Flask application automatically registers a special route".
    project.write({"site_app.py": STYLE_CHECK_APP, **STATIC_FILES})
    app = project.load("site_app").app
    assert app.static_folder == str(project.root / "static")
    [static_rule] = app.url_map.iter_rules("static")
    assert static_rule.rule == "/static/<path:filename>"

    client = client_for(app, door)
    links = re.findall(r"/static/\S+?(?=,|$)", client.get("/style-check").text)
    assert links == ["/static/css/main.css", "/static/js/app.js", "/static/img/logo.png"]
    expected = {
        "/static/css/main.css": ("text/css", b"body { color: teal }\n"),
        "/static/js/app.js": (("text/javascript", "application/javascript"), None),
        "/static/img/logo.png": ("image/png", PNG),
        "/static/fonts/site.woff2": (None, b"wOF2fake"),
        "/static/vendor/bootstrap/css/bootstrap.min.css": ("text/css", b".btn{}\n"),
        "/static/favicon.ico": (None, b"\x00\x00\x01\x00"),
    }
    for url, (mimetype, body) in expected.items():
        with client.get(url) as response:
            assert response.status_code == 200, url
            if isinstance(mimetype, tuple):
                assert response.mimetype in mimetype
            elif mimetype is not None:
                assert response.mimetype == mimetype
            if body is not None:
                assert response.data == body
    with client.get("/static/favicon.ico") as icon:
        assert icon.mimetype.startswith("image/")


@pytest.mark.parametrize(
    "url",
    [
        "/static/missing.css",
        "/static/css",
        "/static/",
        "/static/../secret.txt",
        "/static/css/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
    ],
)
def test_static_missing_files_and_path_traversal_are_404(
    tmp_path: Path, door: str, url: str
) -> None:
    write_files(tmp_path, STATIC_FILES)
    app = Flask("site", root_path=str(tmp_path))
    with client_for(app, door).get(url, follow_redirects=True) as response:
        assert response.status_code == 404
        assert b"do not serve" not in response.data


def test_customizing_the_static_path(project: Project, door: str) -> None:
    project.write(
        {
            "legacy_app.py": """
                from flask import Flask

                # Customizing the static asset configuration
                app = Flask(__name__,
                            static_folder='assets',      # Files are physically in /assets
                            static_url_path='/public')   # Browser accesses them via /public/...
            """,
            "assets/site.css": "h1 {}\n",
            "secret.txt": "do not serve",
        }
    )
    app = project.load("legacy_app").app
    client = client_for(app, door)
    with client.get("/public/site.css") as css:
        assert (css.status_code, css.text) == (200, "h1 {}\n")
    for url in ("/static/site.css", "/assets/site.css", "/public/../secret.txt"):
        with client.get(url) as response:
            assert response.status_code == 404, url

    # Without a static folder there is no static route at all.
    bare = Flask("bare", static_folder=None)
    assert not any(rule.endpoint == "static" for rule in bare.url_map.iter_rules())
    with bare.test_request_context(), pytest.raises(BuildError):
        url_for("static", filename="site.css")


def test_browser_caching_and_cache_busting(tmp_path: Path, door: str) -> None:
    write_files(tmp_path, STATIC_FILES)
    css = tmp_path / "static" / "css" / "main.css"
    os.utime(css, (1_700_000_000, 1_700_000_000))
    app = Flask("site", root_path=str(tmp_path))
    client = client_for(app, door)

    # "Browsers aggressively cache static files": responses are validatable.
    with client.get("/static/css/main.css") as first:
        etag = first.headers["ETag"]
        assert first.last_modified is not None
    with client.get("/static/css/main.css", headers={"If-None-Match": etag}) as cached:
        assert (cached.status_code, cached.data) == (304, b"")

    # "in Debug Mode, Flask adds a ?q= parameter containing a timestamp to static
    # URLs": docs/design.md, known error "Cache-busting": a demijohn feature, on in
    # debug mode, named ``v``; production URLs stay plain.
    with app.test_request_context():
        assert url_for("static", filename="css/main.css") == "/static/css/main.css"
    app.debug = True
    with app.test_request_context():
        busted = url_for("static", filename="css/main.css")
    assert busted == "/static/css/main.css?v=1700000000"
    with client.get(busted) as response:
        assert response.data == b"body { color: teal }\n"
