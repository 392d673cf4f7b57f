"""A small demijohn demo, written exactly as a Flask app would be.

Serve it with ``scripts/demo`` (http://127.0.0.1:5000), with
``demijohn --app examples/hello/app.py run``, or with ``python app.py``.
"""

from __future__ import annotations

import typing as t

import demijohn

# The demijohn command installs the alias itself; ``python app.py`` needs this
# call, before the first ``import flask``. Calling it twice is harmless.
demijohn.install_as_flask()

import flask  # noqa: E402
from flask import Flask, redirect, render_template, request, url_for  # noqa: E402

app = Flask(__name__)

GREETINGS = {"en": "Hello", "fr": "Bonjour", "es": "Hola", "de": "Hallo"}


@app.context_processor
def inject_api_level() -> dict[str, str]:
    """Every template can show which Flask API level is served."""
    return {"flask_api": flask.__version__}


@app.get("/")
def index() -> str:
    """The home page: a form and a few links."""
    return render_template("index.html", names=["World", "Ada", "Grace"], greetings=GREETINGS)


@app.get("/hello")
def hello_form() -> t.Any:
    """Target of the home page's form: redirect to the pretty URL."""
    name = request.args.get("name", "").strip()
    if not name:
        return redirect(url_for("index"))
    return redirect(url_for("hello", name=name, lang=request.args.get("lang", "en")))


@app.get("/hello/<name>")
def hello(name: str) -> str:
    """Greet ``name``; ``?lang=fr`` picks the language."""
    lang = request.args.get("lang", "en")
    greeting = GREETINGS.get(lang, GREETINGS["en"])
    return render_template("hello.html", name=name, greeting=greeting)


@app.get("/api/greeting/<name>")
def api_greeting(name: str) -> dict[str, t.Any]:
    """The JSON flavour: a returned dict becomes a JSON response."""
    lang = request.args.get("lang", "en")
    return {
        "greeting": f"{GREETINGS.get(lang, GREETINGS['en'])}, {name}!",
        "lang": lang if lang in GREETINGS else "en",
        "languages": sorted(GREETINGS),
        "flask_api": flask.__version__,
    }


@app.errorhandler(404)
def not_found(error: Exception) -> tuple[str, int]:
    """A friendlier 404 page."""
    return render_template("404.html", path=request.path), 404


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=5000)
