"""Guide, "Security" and "Security (Autoescaping & XSS Prevention)", through both doors.

CSRF (incl. tokens in templates), CORS, security headers and password hashing;
then autoescaping, ``|safe``, ``Markup``, ``tojson`` in scripts and the
template side of the "Security" chapter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from asgi_support import door_app, through
from flask import Flask, render_template, render_template_string, request, session
from flask_cors import CORS
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect
from jinja2 import select_autoescape
from markupsafe import Markup
from werkzeug.security import check_password_hash, generate_password_hash


def test_csrf_protect_with_tokens_in_templates(door: str) -> None:
    app = door_app(__name__, door)
    app.config["SECRET_KEY"] = "your-super-secret-key"
    csrf = CSRFProtect(app)

    @app.route("/form", methods=["GET", "POST"])
    def form() -> str:
        if request.method == "POST":
            return "accepted"
        return render_template_string(
            '<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">'
            "<script>fetch('/form', {method: 'POST', headers: {"
            "'X-CSRFToken': \"{{ csrf_token() }}\"}})</script>"
        )

    @app.post("/webhook")
    @csrf.exempt
    def webhook() -> str:
        return "hook"

    client = app.test_client()
    page = client.get("/form").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    assert f"'X-CSRFToken': \"{token.group(1)}\"" in page
    assert client.post("/form").status_code == 400
    assert client.post("/form", data={"csrf_token": token.group(1)}).text == "accepted"
    assert client.post("/form", headers={"X-CSRFToken": token.group(1)}).text == "accepted"
    # Safe methods are never checked; exempt views are not either.
    assert client.get("/form").status_code == 200
    assert client.post("/webhook").text == "hook"


def test_cors_configurations(door: str) -> None:
    app = door_app(__name__, door)
    # Only allow your specific frontend domain
    CORS(app, resources={r"/api/*": {"origins": "https://www.myapp.com"}})

    @app.route("/api/data")
    def private_data():  # type: ignore[no-untyped-def]
        return {"message": "This is only accessible by myapp.com"}

    client = app.test_client()
    allowed = client.get("/api/data", headers={"Origin": "https://www.myapp.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://www.myapp.com"
    assert allowed.json == {"message": "This is only accessible by myapp.com"}
    denied = client.get("/api/data", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers

    creds = door_app(__name__, door)
    CORS(creds, resources={r"/api/*": {"origins": "https://myapp.com"}}, supports_credentials=True)
    creds.add_url_rule("/api/me", "me", lambda: {"me": 1})
    response = creds.test_client().get("/api/me", headers={"Origin": "https://myapp.com"})
    # With credentials the origin is never the wildcard.
    assert response.headers["Access-Control-Allow-Origin"] == "https://myapp.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


def test_talisman_and_manual_security_headers(door: str) -> None:
    app = door_app(__name__, door)
    # Custom CSP to allow Google Fonts and self-hosted scripts
    csp = {
        "default-src": "'self'",
        "style-src": ["'self'", "fonts.googleapis.com"],
        "font-src": "fonts.gstatic.com",
    }
    Talisman(app, content_security_policy=csp, force_https=False)
    app.add_url_rule("/", "index", lambda: "ok")
    headers = app.test_client().get("/").headers
    assert headers["Content-Security-Policy"] == (
        "default-src 'self'; style-src 'self' fonts.googleapis.com; font-src fonts.gstatic.com"
    )

    manual = door_app(__name__, door)

    @manual.after_request
    def add_security_headers(response):  # type: ignore[no-untyped-def]
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response

    manual.add_url_rule("/", "index", lambda: "ok")
    headers = manual.test_client().get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Even for an error page.
    assert manual.test_client().get("/missing").headers["X-Frame-Options"] == "SAMEORIGIN"


def test_password_hashing() -> None:
    password = "correct horse battery staple"
    # Method defaults to 'scrypt' or 'pbkdf2:sha256'
    hashed_password = generate_password_hash(password)
    assert hashed_password.startswith("scrypt:32768:8:1$")
    # stored_hash retrieved from Database
    stored_hash = hashed_password
    is_valid = check_password_hash(stored_hash, "user-input-password")
    assert is_valid is False
    assert check_password_hash(stored_hash, password) is True
    assert generate_password_hash(password) != hashed_password  # salted


def test_password_hashes_on_the_user_model() -> None:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db = SQLAlchemy(app)

    class User(db.Model):  # type: ignore[name-defined, misc]
        id = db.Column(db.Integer, primary_key=True)
        username = db.Column(db.String(80), unique=True, nullable=False)
        password_hash = db.Column(db.String(128))

        def set_password(self, password):  # type: ignore[no-untyped-def]
            self.password_hash = generate_password_hash(password)

        def check_password(self, password):  # type: ignore[no-untyped-def]
            return check_password_hash(self.password_hash, password)

    with app.app_context():
        db.create_all()
        user = User(username="ada")
        user.set_password("s3cret")
        db.session.add(user)
        db.session.commit()
        stored = db.session.get(User, user.id)
        assert stored.check_password("s3cret") and not stored.check_password("nope")
        # The guide says 128 characters usually suffice; Werkzeug's scrypt
        # hashes are 162 (SQLite does not enforce the length, other databases do).
        assert len(stored.password_hash) == 162


@pytest.mark.parametrize("value", ["<script>alert(1)</script>", '"onmouseover="x'])
def test_user_data_is_escaped_in_templates(door: str, value: str) -> None:
    app = door_app(__name__, door)
    app.add_url_rule("/", "index", lambda: render_template_string("<p>{{ v }}</p>", v=value))
    body = app.test_client().get("/").text
    assert "<script>" not in body and '"onmouseover' not in body


# -- templates: "Security (Autoescaping & XSS Prevention)" --------------------------------


EVIL = "<script>alert('x')</script>"

ARTICLE = """<p>User Bio: {{ user_bio }}</p>

<div class="article-body">
    {{ article_content|safe }}
</div>"""


@pytest.fixture
def app(tmp_path: Path, door: str) -> Flask:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "article.html").write_text(ARTICLE)
    app = Flask(__name__, root_path=str(tmp_path))
    through(app, door)
    return app


def test_how_autoescaping_works(app: Flask) -> None:
    app.add_url_rule("/", "index", lambda: render_template_string("{{ v }}", v="<>&\"'"))
    # The table's entities; " is &#34; (MarkupSafe), not &quot;: docs/design.md, known
    # error "HTML entities".
    assert app.test_client().get("/").text == "&lt;&gt;&amp;&#34;&#39;"
    with app.test_request_context():
        assert render_template_string("{{ v }}", v=EVIL) == (
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        )
        # Escaped output is text for the browser, whatever the attribute quoting.
        attr = render_template_string("<a title='{{ v }}' alt=\"{{ v }}\">", v="x' onclick=\"y")
        assert attr == "<a title='x&#39; onclick=&#34;y' alt=\"x&#39; onclick=&#34;y\">"


def test_safe_filter_bypasses_escaping(app: Flask) -> None:
    @app.route("/article")
    def article() -> str:
        return render_template(
            "article.html", user_bio=EVIL, article_content="<h2>Trusted</h2><p>rich text</p>"
        )

    page = app.test_client().get("/article").text
    assert "<p>User Bio: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>" in page
    assert '<div class="article-body">\n    <h2>Trusted</h2><p>rich text</p>\n</div>' in page


def test_the_markup_class(app: Flask) -> None:
    @app.context_processor
    def utility_processor():  # type: ignore[no-untyped-def]
        def bold_text(text):  # type: ignore[no-untyped-def]
            # This will be rendered as <b>text</b> instead of &lt;b&gt;...
            return Markup(f"<b>{text}</b>")

        return dict(bold_text=bold_text)

    app.add_url_rule("/", "index", lambda: render_template_string("{{ bold_text('hi') }}"))
    assert app.test_client().get("/").text == "<b>hi</b>"
    with app.test_request_context():
        # The "Raw HTML" danger zone: Markup trusts everything formatted into it...
        assert render_template_string("{{ bold_text(v) }}", v=EVIL) == f"<b>{EVIL}</b>"
        # ...while Markup's own formatting escapes the untrusted part.
        safe_bold = Markup("<b>{}</b>").format(EVIL)
        assert render_template_string("{{ v }}", v=safe_bold) == (
            "<b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</b>"
        )


def test_tojson_inside_script_tags(app: Flask) -> None:
    user_data = {"name": "</script><script>alert('x')</script>", "note": 'a & "b"', "n": 1}

    @app.route("/")
    def index() -> str:
        return render_template_string(
            "<script>const data = {{ user_data|tojson }};</script>", user_data=user_data
        )

    page = app.test_client().get("/").text
    inner = page.removeprefix("<script>const data = ").removesuffix(";</script>")
    # Nothing that could close the script block or start an entity survives...
    assert not re.search(r"[<>&']", inner)
    assert "</script>" not in page[len("<script>") : -len("</script>")]
    # ...and it is still valid JSON (JavaScript) holding exactly the data.
    assert json.loads(inner) == user_data
    with app.test_request_context():
        # Plain autoescaping in a script gives HTML entities: not the same data in JS.
        plain = render_template_string("{{ user_data }}", user_data=user_data)
        assert "&#39;" in plain and "&#34;" not in inner


def test_autoescaping_does_not_protect_urls_or_event_handlers(app: Flask) -> None:
    # "In Attributes": escaping keeps the value inside the attribute, but a
    # javascript: URL or an event handler made of user input still runs.
    with app.test_request_context():
        link = render_template_string('<a href="{{ url }}">x</a>', url="javascript:alert(1)")
        handler = render_template_string('<b onclick="{{ code }}">x</b>', code="alert(1)")
    assert link == '<a href="javascript:alert(1)">x</a>'
    assert handler == '<b onclick="alert(1)">x</b>'


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("page.html", True),
        ("page.htm", True),
        ("page.xml", True),
        ("page.xhtml", True),
        ("page.svg", True),
        ("page.txt", False),
        ("page.jinja", False),
    ],
)
def test_automatic_escaping_extensions(app: Flask, name: str, escaped: bool) -> None:
    (Path(app.root_path) / "templates" / name).write_text("{{ v }}")
    with app.test_request_context():
        out = render_template(name, v="<b>")
    assert out == ("&lt;b&gt;" if escaped else "<b>")


def test_configuring_a_custom_extension_as_html(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.jinja").write_text("{{ v }}")

    class ViaJinjaOptions(Flask):
        jinja_options = {"autoescape": select_autoescape(["html", "htm", "xml", "jinja"])}

    class ViaOverride(Flask):
        def select_jinja_autoescape(self, filename: str | None) -> bool:
            if filename is not None and filename.endswith(".jinja"):
                return True
            return super().select_jinja_autoescape(filename)

    for cls in (ViaJinjaOptions, ViaOverride):
        app = cls(__name__, root_path=str(tmp_path))
        with app.app_context():
            assert render_template("page.jinja", v="<b>") == "&lt;b&gt;", cls.__name__


def test_tojson_stops_script_break_out(app: Flask) -> None:
    # The tojson warning: "</script>" in the data cannot end the script block.
    with app.test_request_context():
        out = render_template_string("<script>var d = {{ data|tojson }}</script>", data=EVIL)
    assert out.count("</script>") == 1
    assert out == (
        '<script>var d = "\\u003cscript\\u003ealert(\\u0027x\\u0027)\\u003c/script\\u003e"</script>'
    )


def test_autoescape_false_block(app: Flask) -> None:
    with app.test_request_context():
        out = render_template_string(
            "{% autoescape false %}{{ v }}{% endautoescape %} {{ v }}", v="<i>"
        )
    assert out == "<i> &lt;i&gt;"


def test_session_cookie_samesite_in_config(app: Flask) -> None:
    # "SameSite Cookie Attribute: Set your session cookie's SameSite attribute
    # to Lax or Strict in your config."
    app.config["SECRET_KEY"] = "your-super-secret-key"
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    app.add_url_rule("/", "index", lambda: session.update(user="ada") or "ok")
    header = app.test_client().get("/").headers["Set-Cookie"]
    assert "SameSite=Strict" in header.split("; ")
