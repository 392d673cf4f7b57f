"""Guide, "Templates (Jinja2)": every example, templates written as the guide prints them."""

from __future__ import annotations

import re
import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from asgi_support import AsgiClient
from flask import Flask, render_template, render_template_string
from markupsafe import Markup

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
    if door == "asgi":
        app.test_client_class = AsgiClient
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


def test_autoescaping_safe_and_markup(app: Flask) -> None:
    @app.context_processor
    def utility_processor():  # type: ignore[no-untyped-def]
        def bold_text(text):  # type: ignore[no-untyped-def]
            # This will be rendered as <b>text</b> instead of &lt;b&gt;...
            return Markup(f"<b>{text}</b>")

        return dict(bold_text=bold_text)

    evil = "<script>alert('x')</script>"
    with app.test_request_context():
        bio = render_template_string("<p>User Bio: {{ user_bio }}</p>", user_bio=evil)
        assert bio == "<p>User Bio: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>"
        article = render_template_string(
            '<div class="article-body">\n    {{ article_content|safe }}\n</div>',
            article_content="<em>trusted</em>",
        )
        assert "<em>trusted</em>" in article
        assert render_template_string("{{ bold_text('hi') }}") == "<b>hi</b>"
        # DESIGN.md known error: " is escaped as &#34; (MarkupSafe), not &quot;.
        assert render_template_string("{{ q }}", q='"') == "&#34;"


def test_the_tojson_filter_is_safe_in_script_tags(app: Flask) -> None:
    payload = {"html": "</script><script>alert('x')</script>", "amp": "a & b"}
    with app.test_request_context():
        out = render_template_string(
            "<script>const data = {{ data|tojson }};</script>", data=payload
        )
    inner = out[len("<script>const data = ") : -len(";</script>")]
    assert "<" not in inner and ">" not in inner and "&" not in inner and "'" not in inner
    assert "\\u003c/script\\u003e" in inner
