"""The benchmark app on Falcon (WSGI), run from ``.bench-venv``: a WSGI peer.

One route per scenario in ``bench/scenarios.py``, written the way Falcon's
documentation writes them: resource classes with ``on_get``/``on_post``
responders, ``{name:int}`` URI templates, ``resp.media`` for JSON,
``req.get_media()`` for the form, Jinja2 used directly (Falcon has no template
engine of its own), and ``falcon.before``/``falcon.after`` hooks on the one
resource that the hook-pair scenario exercises.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import falcon
import jinja2
from scenarios import FORM_FIELDS, RETURN_FORM_NAMES, TEMPLATE_ITEMS

#: Scenarios this app cannot serve: Falcon has no sessions, and its WSGI app
#: takes no coroutine responders (``async`` is falcon.asgi's); the return forms
#: are Flask's API.
UNSUPPORTED: frozenset[str] = frozenset({"session", "async"}) | RETURN_FORM_NAMES

templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
)
# Loaded once, as Flask and Bottle keep their compiled templates too.
items_template = templates.get_template("items.html")


class Hello:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = "Hello, World!"


class Json:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"message": "Hello, World!", "items": [1, 2, 3], "ok": True}


class Text:
    """The ~50 filler routes: a fixed text on GET."""

    def __init__(self, text: str) -> None:
        self.text = text

    def on_get(self, req: falcon.Request, resp: falcon.Response, **params: t.Any) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = self.text


class Template:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = items_template.render(items=TEMPLATE_ITEMS)


class Form:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = req.get_media()
        resp.media = {name: form[name] for name in FORM_FIELDS}


class Post:
    def on_get(self, req: falcon.Request, resp: falcon.Response, user_id: int, slug: str) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = f"{user_id} {slug}"


def before(req: falcon.Request, resp: falcon.Response, resource: t.Any, params: t.Any) -> None:
    req.context.started = True


def after(req: falcon.Request, resp: falcon.Response, resource: t.Any) -> None:
    resp.set_header("X-Hooked", "1")


@falcon.before(before)
@falcon.after(after)
class Hooked:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_HTML
        resp.text = "hooked"


app = falcon.App()
app.add_route("/hello", Hello())
app.add_route("/json", Json())
# ~50 other routes, static and dynamic, so routing has a realistic map to search.
for i in range(25):
    app.add_route(f"/static-page-{i}", Text("page"))
    app.add_route(f"/item/{{item_id:int}}/part{i}", Text("part"))
app.add_route("/template", Template())
app.add_route("/form", Form())
app.add_route("/user/{user_id:int}/post/{slug}", Post())
app.add_route("/hooked/", Hooked())
