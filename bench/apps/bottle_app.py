"""The benchmark app on Bottle, run from ``.bench-venv``: a WSGI peer.

One route per scenario in ``bench/scenarios.py``, written the way Bottle's
documentation writes them: returned strings and dicts, ``<name:filter>`` rule
wildcards, ``request.forms``, Jinja2 through Bottle's own template adapter, and
a mounted child app whose plugin plays the blueprint's ``before_request`` +
``after_request`` pair (Bottle's hooks are app-wide, and a mounted app's hooks
do not run for its routes).
"""

from __future__ import annotations

import functools
import typing as t
from pathlib import Path

from bottle import Bottle, jinja2_template, request, response
from scenarios import FORM_FIELDS, RETURN_FORM_NAMES, TEMPLATE_ITEMS

#: Scenarios this app cannot serve: Bottle has no sessions (its signed cookies
#: are a format of its own) and no ``async def`` views under WSGI; the return
#: forms are Flask's API.
UNSUPPORTED: frozenset[str] = frozenset({"session", "async"}) | RETURN_FORM_NAMES

TEMPLATES = [str(Path(__file__).resolve().parent / "templates")]

app = Bottle()


@app.get("/hello")
def hello() -> str:
    return "Hello, World!"


@app.get("/json")
def json_view() -> dict[str, t.Any]:
    return {"message": "Hello, World!", "items": [1, 2, 3], "ok": True}


# ~50 other rules, static and dynamic, so routing has a realistic map to search.
for i in range(25):
    app.route(f"/static-page-{i}", "GET", lambda: "page")
    app.route(f"/item/<item_id:int>/part{i}", "GET", lambda item_id: "part")


@app.get("/template")
def template_view() -> str:
    return jinja2_template(
        "items.html",
        items=TEMPLATE_ITEMS,
        template_lookup=TEMPLATES,
        template_settings={"autoescape": True},
    )


@app.post("/form")
def form_view() -> dict[str, str]:
    return {name: request.forms.getunicode(name) for name in FORM_FIELDS}


@app.get("/user/<user_id:int>/post/<slug>")
def post_view(user_id: int, slug: str) -> str:
    return f"{user_id} {slug}"


def hook_pair(callback: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """A Bottle plugin: work before the route's callback, then on its response."""

    @functools.wraps(callback)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        request.started = True
        body = callback(*args, **kwargs)
        response.set_header("X-Hooked", "1")
        return body

    return wrapper


hooked = Bottle()
hooked.install(hook_pair)


@hooked.get("/")
def hooked_view() -> str:
    return "hooked"


app.mount("/hooked/", hooked)
