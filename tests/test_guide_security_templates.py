"""Guide, template security: "Security (Autoescaping & XSS Prevention)" and the
template side of the "Security" chapter, through both doors.

(The CSRF-token templates of the "Security" chapter are in test_guide_security.py.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from asgi_support import through
from flask import Flask, render_template, render_template_string, session
from jinja2 import select_autoescape
from markupsafe import Markup

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
    # The table's entities; " is &#34; (MarkupSafe), not &quot; (DESIGN.md known error).
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
