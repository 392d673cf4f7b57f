"""The README's demo app (examples/hello) works as a Flask user expects."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

APP_FILE = Path(__file__).resolve().parents[2] / "examples" / "hello" / "app.py"


@pytest.fixture(scope="module")
def hello_app() -> t.Iterator[t.Any]:
    # Imported by path, under its own name, as the demijohn CLI would import it.
    name = "examples_hello_app"
    spec = importlib.util.spec_from_file_location(name, APP_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module.app
    finally:
        del sys.modules[name]


@pytest.fixture
def demo(hello_app: t.Any) -> t.Any:
    return hello_app.test_client()


def test_imports_flask_as_demijohn(hello_app: t.Any) -> None:
    import demijohn

    assert isinstance(hello_app, demijohn.Flask)
    assert sys.modules["flask"] is demijohn


def test_runs_standalone_without_the_cli() -> None:
    # ``python app.py`` has no CLI to install the alias: the app must do it.
    script = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("hello", {str(APP_FILE)!r})
module = importlib.util.module_from_spec(spec)
sys.modules["hello"] = module
spec.loader.exec_module(module)
import demijohn
assert sys.modules["flask"] is demijohn
print(module.app.test_client().get("/hello/World").status_code)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200"


def test_index_renders_template_with_links_and_form(demo: t.Any) -> None:
    response = demo.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<style>" in html
    assert '<form action="/hello" method="get">' in html
    assert 'href="/hello/Ada"' in html
    assert 'href="/api/greeting/World?lang=fr"' in html
    import demijohn

    assert f"Flask {demijohn.__version__} API" in html


def test_hello_greets_in_the_chosen_language(demo: t.Any) -> None:
    assert "<h1>Hello, Ada!</h1>" in demo.get("/hello/Ada").get_data(as_text=True)
    assert "<h1>Bonjour, Ada!</h1>" in demo.get("/hello/Ada?lang=fr").get_data(as_text=True)
    # An unknown language falls back to English rather than failing.
    assert "<h1>Hello, Ada!</h1>" in demo.get("/hello/Ada?lang=xx").get_data(as_text=True)


def test_hello_escapes_the_name(demo: t.Any) -> None:
    response = demo.get("/hello/<script>alert(1)")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<script>" not in html
    assert "<h1>Hello, &lt;script&gt;alert(1)!</h1>" in html


def test_form_redirects_to_the_pretty_url(demo: t.Any) -> None:
    response = demo.get("/hello?name=Grace+Hopper&lang=de")
    assert response.status_code == 302
    assert response.location == "/hello/Grace%20Hopper?lang=de"
    followed = demo.get("/hello?name=Grace&lang=es", follow_redirects=True)
    assert "<h1>Hola, Grace!</h1>" in followed.get_data(as_text=True)


def test_form_without_a_name_goes_back_home(demo: t.Any) -> None:
    response = demo.get("/hello?name=+++")
    assert response.status_code == 302
    assert response.location == "/"


def test_json_route_returns_a_dict_as_json(demo: t.Any) -> None:
    response = demo.get("/api/greeting/World?lang=fr")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["greeting"] == "Bonjour, World!"
    assert document["lang"] == "fr"
    assert document["languages"] == ["de", "en", "es", "fr"]
    fallback = demo.get("/api/greeting/World?lang=xx").get_json()
    assert (fallback["greeting"], fallback["lang"]) == ("Hello, World!", "en")


def test_unknown_page_gets_the_custom_404(demo: t.Any) -> None:
    response = demo.get("/nope")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Nothing here" in html
    assert "<code>/nope</code>" in html


def test_wrong_method_is_405(demo: t.Any) -> None:
    response = demo.post("/api/greeting/World")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
