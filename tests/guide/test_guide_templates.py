"""Guide, "Templates (Jinja2)": every example, templates written as the guide prints them."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asgi_support import through
from flask import Flask, render_template, render_template_string

PROFILE = """<!DOCTYPE html>
<html>
<head>
    <title>{{ name }}'s Profile</title>
</head>
<body>
    <h1>Welcome, {{ user.real_name }}!</h1>
    <p>Bio: {{ user['bio'] }}</p>
    <p>Total Posts: {{ user.post_count }}</p>
    {% if active %}
        <span class="badge">Active User</span>
    {% endif %}
</body>
</html>"""

BASE = """<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="UTF-8">
    <title>{% block title %}My Site{% endblock %}</title>
    <link rel="stylesheet" href="{{ url_for('static', filename='css/style.css') }}">
</head>
<body>
    <nav>
        <a href="/">Home</a> | <a href="/about">About</a>
    </nav>
    <main>
        {% block content %}
        {% endblock %}
    </main>
    <footer>© 2026 My Flask App</footer>
</body>
</html>"""

HOME = """{% extends "base.html" %}
{% block title %}Home - My Site{% endblock %}
{% block content %}
    <h1>Welcome to the Homepage</h1>
    <p>This content is injected into the base layout's content block.</p>
{% endblock %}"""


@pytest.fixture
def app(tmp_path: Path, door: str) -> Flask:
    templates = tmp_path / "templates"
    templates.mkdir()
    for name, source in {"profile.html": PROFILE, "base.html": BASE, "home.html": HOME}.items():
        (templates / name).write_text(source)
    app = Flask(__name__, root_path=str(tmp_path))
    through(app, door)
    return app


def squash(html: str) -> str:
    return re.sub(r"\s+", " ", html).strip()


def test_rendering_a_template_with_variables(app: Flask) -> None:
    @app.route("/user/<username>")
    def profile(username):  # type: ignore[no-untyped-def]
        # Mock data representing a database result
        user_data = {
            "real_name": "Jane Doe",
            "bio": "Software Engineer & Flask Enthusiast",
            "post_count": 42,
        }
        # Passing variables to the template
        return render_template("profile.html", name=username, user=user_data, active=True)

    page = app.test_client().get("/user/<jane>")
    assert page.mimetype == "text/html"
    text = squash(page.text)
    # Autoescaped: the URL segment and the "&" in the bio are escaped.
    assert "<title>&lt;jane&gt;'s Profile</title>" in text
    assert "<h1>Welcome, Jane Doe!</h1>" in text
    assert "<p>Bio: Software Engineer &amp; Flask Enthusiast</p>" in text
    assert "<p>Total Posts: 42</p>" in text
    assert '<span class="badge">Active User</span>' in text


def test_delimiters_and_comments(app: Flask) -> None:
    with app.test_request_context():
        out = render_template_string(
            "{# This is a hidden note #}{% if user.is_admin %}admin{% endif %}{{ user.username }}",
            user={"is_admin": True, "username": "root"},
        )
    assert out == "adminroot"


@pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")
def test_context_processor_inject_now(app: Flask) -> None:
    @app.context_processor
    def inject_now():  # type: ignore[no-untyped-def]
        """
        Injects the current date into all templates automatically.
        Use in HTML as: {{ now.year }}
        """
        from datetime import datetime

        return {"now": datetime.utcnow()}

    app.add_url_rule("/", "index", lambda: render_template_string("{{ now.year }}"))
    assert app.test_client().get("/").text == str(datetime.utcnow().year)


def test_loops_and_conditionals(app: Flask) -> None:
    class Product:
        def __init__(self, name: str, price: float) -> None:
            self.name, self.price = name, price

    conditional = """{% if user.is_authenticated %}
    <h1>Welcome back, {{ user.username }}!</h1>
{% elif user.is_guest %}
    <h1>Welcome, Guest!</h1>
{% else %}
    <h1>Please <a href="/login">login</a>.</h1>
{% endif %}"""
    tasks = """<ul>
{% for task in tasks %}
    <li>{{ task.description }}</li>
{% else %}
    <li>No tasks found for today.</li>
{% endfor %}
</ul>"""
    table = """<table>
{% for user in users %}
    <tr class="{{ loop.cycle('row-grey', 'row-white') }}">
        <td>{{ loop.index }}</td>
        <td>{{ user.name }}</td>
        <td>{% if loop.first %} (Admin) {% endif %}</td>
    </tr>
{% endfor %}
</table>"""
    mapping = """{% for key, value in my_dict|dictsort %}
    <p>{{ key }}: {{ value }}</p>
{% endfor %}"""
    with app.test_request_context():
        assert squash(render_template_string(conditional, user={"is_guest": True})) == (
            "<h1>Welcome, Guest!</h1>"
        )
        assert "Welcome back, ada!" in render_template_string(
            conditional, user={"is_authenticated": True, "username": "ada"}
        )
        assert "login</a>" in render_template_string(conditional, user={})
        assert squash(render_template_string(tasks, tasks=[])) == (
            "<ul> <li>No tasks found for today.</li> </ul>"
        )
        assert "<li>Write tests</li>" in render_template_string(
            tasks, tasks=[{"description": "Write tests"}]
        )
        rows = squash(render_template_string(table, users=[{"name": "a"}, {"name": "b"}]))
        assert '<tr class="row-grey"> <td>1</td> <td>a</td> <td> (Admin) </td>' in rows
        assert '<tr class="row-white"> <td>2</td> <td>b</td> <td></td>' in rows
        assert squash(render_template_string(mapping, my_dict={"b": 2, "a": 1})) == (
            "<p>a: 1</p> <p>b: 2</p>"
        )
        products = [Product("pen", 1.5)]
        assert render_template_string(
            "{% for p in products %}{{ p.name }}={{ p.price }}{% endfor %}", products=products
        ) == ("pen=1.5")


def test_template_inheritance(app: Flask) -> None:
    app.add_url_rule("/", "home", lambda: render_template("home.html"))
    text = squash(app.test_client().get("/").text)
    assert "<title>Home - My Site</title>" in text
    assert '<link rel="stylesheet" href="/static/css/style.css">' in text
    assert "<main> <h1>Welcome to the Homepage</h1>" in text
    assert "<footer>© 2026 My Flask App</footer>" in text
    with app.test_request_context():
        base = squash(render_template("base.html"))
    assert "<title>My Site</title>" in base
    sidebar = textwrap.dedent(
        """{% block sidebar %}
            <ul>
                <li>Link 1</li>
            </ul>
        {% endblock sidebar %}"""
    )
    with app.test_request_context():
        assert squash(render_template_string(sidebar)) == "<ul> <li>Link 1</li> </ul>"


@pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")
def test_context_processors_inject_data_and_functions(app: Flask) -> None:
    @app.context_processor
    def inject_global_data():  # type: ignore[no-untyped-def]
        """
        Automatically injects the current year and site name
        into every template context.
        """
        return {
            "current_year": datetime.utcnow().year,
            "site_name": "Flask Mastery Portal",
        }

    @app.context_processor
    def utility_processor():  # type: ignore[no-untyped-def]
        def format_price(amount):  # type: ignore[no-untyped-def]
            return f"${amount:,.2f}"

        # The key 'format_price' is now a callable function in Jinja2
        return dict(format_price=format_price)

    footer = (
        "<footer>\n    <p>&copy; {{ current_year }} {{ site_name }}. All rights reserved.</p>\n"
        "</footer>"
    )
    with app.test_request_context():
        rendered = render_template_string(footer)
        assert f"&copy; {datetime.utcnow().year} Flask Mastery Portal." in rendered
        cost = render_template_string(
            "<p>Total Cost: {{ format_price(item.price) }}</p>", item={"price": 1234.5}
        )
        assert cost == "<p>Total Cost: $1,234.50</p>"
        # Values passed to render_template win over context processors.
        assert render_template_string("{{ site_name }}", site_name="Mine") == "Mine"


def test_templates_directory_structure(app: Flask, tmp_path: Path) -> None:
    # templates/auth/login.html -> render_template('auth/login.html'), etc.
    for name in ("index.html", "auth/login.html", "errors/404.html"):
        path = tmp_path / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"this is {name}")
    with app.test_request_context():
        assert render_template("index.html") == "this is index.html"
        assert render_template("auth/login.html") == "this is auth/login.html"
        assert render_template("errors/404.html") == "this is errors/404.html"


def test_missing_template_raises_template_not_found(app: Flask) -> None:
    # The note: a template that does not exist raises
    # jinja2.exceptions.TemplateNotFound; file extensions must match exactly.
    import jinja2.exceptions

    with app.test_request_context():
        with pytest.raises(jinja2.exceptions.TemplateNotFound, match=r"missing\.html"):
            render_template("missing.html")
        with pytest.raises(jinja2.exceptions.TemplateNotFound):
            render_template("profile.htm")  # extensions must match exactly


def test_automatic_context_variables(app: Flask) -> None:
    from flask import flash, g, session

    app.secret_key = "k"
    app.config["COMPANY_NAME"] = "ACME"
    app.config["SITE_NAME"] = "Acme Site"

    @app.route("/")
    def index():  # type: ignore[no-untyped-def]
        session["user_id"] = 7
        session["username"] = "ada"
        g.user_permissions = "admin"
        flash("hello")
        return render_template_string(
            "{{ config['COMPANY_NAME'] }}|{{ request.path }}|{{ session['user_id'] }}"
            "|{{ g.user_permissions }}|<a href=\"{{ url_for('index') }}\">"
            "|{{ request.args.get('search') }}|Welcome, {{ session.username }}"
            "|{{ config.SITE_NAME }}|{{ url_for('static', filename='style.css') }}"
            "|{{ get_flashed_messages()|join }}"
        )

    assert app.test_client().get("/?search=flask").text == (
        'ACME|/|7|admin|<a href="/">|flask|Welcome, ada|Acme Site|/static/style.css|hello'
    )


class User:
    email = "alice@example.com"

    def get_name(self) -> str:
        return "Alice"


def test_variable_resolution_and_attributes(app: Flask) -> None:
    with app.test_request_context():
        render = render_template_string
        assert render("{{ user.name }} {{ user['name'] }}", user={"name": "Alice"}) == (
            "Alice Alice"
        )
        assert render("{{ user.email }}", user=User()) == "alice@example.com"
        assert render("{{ items[0] }}", items=["A", "B"]) == "A"
        assert render("{{ user.get_name() }}", user=User()) == "Alice"
        # Not found: "Undefined", rendered as an empty string.
        assert render("[{{ user.missing }}][{{ nothing }}]", user=User()) == "[][]"
        # The guide's tip {{ self._Context__self }} renders nothing, as in Flask.
        assert render("{{ self._Context__self }}", x=1) == ""


def test_working_with_complex_objects(app: Flask) -> None:
    class Product:
        class query:  # stands in for Flask-SQLAlchemy's Model.query
            @staticmethod
            def all():  # type: ignore[no-untyped-def]
                return [Product("pen", 1.5), Product("ink bottle", 3)]

        def __init__(self, name: str, price: float) -> None:
            self.name, self.price = name, price

    dashboard = """Total Products: {{ products|length }}

    {% for p in products %}
  • {{ p.name.title() }} - ${{ p.price }}
  • {% endfor %}"""
    (Path(app.root_path) / "templates" / "dashboard.html").write_text(dashboard)

    # Python View
    @app.route("/dashboard")
    def dashboard_view():  # type: ignore[no-untyped-def]
        items = Product.query.all()
        return render_template("dashboard.html", products=items)

    text = squash(app.test_client().get("/dashboard").text)
    assert text.startswith("Total Products: 2")
    assert "• Pen - $1.5" in text and "• Ink Bottle - $3" in text


def test_variable_scoping(app: Flask) -> None:
    with app.test_request_context():
        loop_scope = "{% for i in [1, 2] %}{% set x = i %}{% endfor %}[{{ x }}]"
        assert render_template_string(loop_scope) == "[]"  # not visible after the loop
        with_scope = "{% with y = 5 %}{{ y }}{% endwith %}[{{ y }}]"
        assert render_template_string(with_scope) == "5[]"
        top = "{% set name = 'val' %}{{ name }}"
        assert render_template_string(top) == "val"
        ns = (
            "{% set ns = namespace(total=0) %}{% for i in [1, 2, 3] %}"
            "{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}"
        )
        assert render_template_string(ns) == "6"


def test_no_break_or_continue_in_loops(app: Flask) -> None:
    from jinja2 import TemplateSyntaxError

    with app.test_request_context():
        with pytest.raises(TemplateSyntaxError):
            render_template_string("{% for i in [1] %}{% break %}{% endfor %}")
        filtered = "{% for i in [1, 2, 3, 4] if i is even %}{{ i }}{% endfor %}"
        assert render_template_string(filtered) == "24"


def test_loop_helper_and_filters(app: Flask) -> None:
    with app.test_request_context():
        out = render_template_string(
            "{% for x in items %}{{ loop.index0 }}{{ loop.length }}"
            "{% if loop.last %}L{% endif %} {% endfor %}",
            items="ab",
        )
        assert out == "02 12L "
        assert render_template_string("{{ [1, 2, 3]|reverse|join }}") == "321"
        assert render_template_string("{{ [1, 2, 3]|batch(2)|list }}") == "[[1, 2], [3]]"
        by_value = "{% for k, v in d|dictsort(by='value') %}{{ k }}{% endfor %}"
        assert render_template_string(by_value, d={"a": 2, "b": 1}) == "ba"


def test_super_multi_level_and_outside_blocks(app: Flask) -> None:
    templates = Path(app.root_path) / "templates"
    (templates / "layout.html").write_text(
        "<head>{% block head %}<link base>{% endblock %}</head>"
        "<main>{% block content %}{% endblock %}</main>"
    )
    (templates / "prepend.html").write_text(
        "{% extends 'layout.html' %}{% block head %}New {{ super() }}{% endblock %}"
    )
    (templates / "append.html").write_text(
        "{% extends 'layout.html' %}{% block head %}{{ super() }} New{% endblock %}"
        "outside any block"
    )
    (templates / "dashboard_layout.html").write_text(
        "{% extends 'layout.html' %}{% block content %}<nav>dash</nav>"
        "{% block panel %}{% endblock %}{% endblock %}"
    )
    (templates / "user_settings.html").write_text(
        "{% extends 'dashboard_layout.html' %}{% block panel %}settings{% endblock panel %}"
    )
    with app.test_request_context():
        assert render_template("prepend.html") == "<head>New <link base></head><main></main>"
        # Content outside blocks in a child template is ignored.
        assert render_template("append.html") == "<head><link base> New</head><main></main>"
        assert render_template("user_settings.html") == (
            "<head><link base></head><main><nav>dash</nav>settings</main>"
        )
        replaced = "{% extends 'layout.html' %}{% block head %}Only{% endblock %}"
        assert render_template_string(replaced).startswith("<head>Only</head>")


def test_circular_inheritance_fails(app: Flask) -> None:
    templates = Path(app.root_path) / "templates"
    (templates / "a.html").write_text("{% extends 'b.html' %}")
    (templates / "b.html").write_text("{% extends 'a.html' %}")
    with app.test_request_context(), pytest.raises(RecursionError):
        render_template("a.html")


def test_include_for_reusable_snippets(app: Flask) -> None:
    (Path(app.root_path) / "templates" / "card.html").write_text(
        "<div class='card'>{{ contact }}</div>"
    )
    with app.test_request_context():
        out = render_template_string("{% include 'card.html' %}", contact="<ada>")
    assert out == "<div class='card'>&lt;ada&gt;</div>"


@pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")
def test_context_processor_data_reaches_extended_and_included_templates(app: Flask) -> None:
    templates = Path(app.root_path) / "templates"
    (templates / "footer.html").write_text(
        "<footer>\n    <p>&copy; {{ current_year }} {{ site_name }}. All rights reserved.</p>\n"
        "</footer>"
    )
    (templates / "page.html").write_text(
        "{% extends 'base.html' %}{% block content %}{% include 'footer.html' %}{% endblock %}"
    )

    @app.context_processor
    def inject_global_data():  # type: ignore[no-untyped-def]
        """
        Automatically injects the current year and site name
        into every template context.
        """
        return {
            "current_year": datetime.utcnow().year,
            "site_name": "Flask Mastery Portal",
        }

    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    text = app.test_client().get("/").text
    assert f"&copy; {datetime.now(UTC).year} Flask Mastery Portal. All rights reserved." in text


def test_blueprint_context_processors(app: Flask) -> None:
    # "Must use @app.context_processor (or @blueprint.app_context_processor)",
    # and "@blueprint.context_processor" limits the data to that blueprint.
    from flask import Blueprint

    admin = Blueprint("admin", __name__, url_prefix="/admin")

    @admin.context_processor
    def admin_only():  # type: ignore[no-untyped-def]
        return {"panel": "Admin Dashboard"}

    @admin.app_context_processor
    def for_everyone():  # type: ignore[no-untyped-def]
        return {"version": "1.0"}

    source = "[{{ panel }}] v{{ version }}"
    admin.add_url_rule("/", "home", lambda: render_template_string(source))
    app.add_url_rule("/", "public", lambda: render_template_string(source))
    app.register_blueprint(admin)
    client = app.test_client()
    assert client.get("/admin/").text == "[Admin Dashboard] v1.0"
    assert client.get("/").text == "[] v1.0"


def test_context_processors_run_on_every_render_and_can_be_lazy(app: Flask) -> None:
    queries: list[str] = []

    def load_categories() -> list[str]:
        queries.append("SELECT")
        return ["books", "music"]

    @app.context_processor
    def lazy_categories():  # type: ignore[no-untyped-def]
        # "Lazy Loading": pass a function; the query runs only when called.
        return {"categories": load_categories}

    with app.test_request_context():
        assert render_template_string("no categories here") == "no categories here"
        assert queries == []
        assert render_template_string("{{ categories()|join(',') }}") == "books,music"
        assert render_template_string("{{ categories()|length }}") == "2"
    assert queries == ["SELECT", "SELECT"]


def test_default_context_processors(app: Flask) -> None:
    # The closing note: request, session, g and get_flashed_messages need no setup.
    app.secret_key = "k"
    app.add_url_rule(
        "/",
        "index",
        lambda: render_template_string(
            "{{ request is defined }} {{ session is defined }} {{ g is defined }}"
            " {{ get_flashed_messages is defined }}"
        ),
    )
    assert app.test_client().get("/").text == "True True True True"
