"""The ASGI benchmark app on Quart, run from ``.bench-venv``.

Line-for-line ``demijohn_async_app.py`` apart from the import and the form,
which Quart reads with ``await request.form`` (its documented way).
"""

from __future__ import annotations

import typing as t

from quart import Quart, request
from scenarios import FORM_FIELDS, RETURN_FORM_NAMES

#: Scenarios this app cannot serve: the return forms are measured on demijohn and Flask.
UNSUPPORTED: frozenset[str] = RETURN_FORM_NAMES

app = Quart(__name__)


@app.get("/hello")
async def hello() -> str:
    return "Hello, World!"


@app.get("/json")
async def json_view() -> dict[str, t.Any]:
    return {"message": "Hello, World!", "items": [1, 2, 3], "ok": True}


def _filler(text: str) -> t.Callable[..., t.Awaitable[str]]:
    async def view(**values: t.Any) -> str:
        return text

    return view


# ~50 other rules, static and dynamic, so routing has a realistic map to search.
for i in range(25):
    app.add_url_rule(f"/static-page-{i}", f"page_{i}", _filler("page"))
    app.add_url_rule(f"/item/<int:item_id>/part{i}", f"part_{i}", _filler("part"))


@app.post("/form")
async def form_view() -> dict[str, str]:
    form = await request.form
    return {name: form[name] for name in FORM_FIELDS}


@app.get("/user/<int:user_id>/post/<slug>")
async def post_view(user_id: int, slug: str) -> str:
    return f"{user_id} {slug}"
