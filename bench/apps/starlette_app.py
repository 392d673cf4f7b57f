"""The ASGI benchmark app on Starlette, run from ``.bench-venv``.

The scenarios of the ASGI modes, written the way Starlette's documentation
writes them: ``async def`` endpoints taking the request, a ``routes`` list
with ``{name:int}`` path convertors, response classes (``HTMLResponse`` for the
text routes, so the Content-Type is the other apps', ``JSONResponse``), and
``await request.form()``. The route list has the same 50 filler rules as the
other apps, before the dynamic route the routing scenario asks for.
"""

from __future__ import annotations

import typing as t

from scenarios import FORM_FIELDS, RETURN_FORM_NAMES
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

#: Scenarios this app cannot serve: the return forms are Flask's API.
UNSUPPORTED: frozenset[str] = RETURN_FORM_NAMES


async def hello(request: Request) -> HTMLResponse:
    return HTMLResponse("Hello, World!")


async def json_view(request: Request) -> JSONResponse:
    return JSONResponse({"message": "Hello, World!", "items": [1, 2, 3], "ok": True})


def _filler(text: str) -> t.Callable[[Request], t.Awaitable[HTMLResponse]]:
    async def endpoint(request: Request) -> HTMLResponse:
        return HTMLResponse(text)

    return endpoint


async def form_view(request: Request) -> JSONResponse:
    form = await request.form()
    return JSONResponse({name: form[name] for name in FORM_FIELDS})


async def post_view(request: Request) -> HTMLResponse:
    params = request.path_params
    return HTMLResponse(f"{params['user_id']} {params['slug']}")


routes = [
    Route("/hello", hello),
    Route("/json", json_view),
    # ~50 other rules, static and dynamic, so routing has a realistic map to search.
    *(
        route
        for i in range(25)
        for route in (
            Route(f"/static-page-{i}", _filler("page")),
            Route(f"/item/{{item_id:int}}/part{i}", _filler("part")),
        )
    ),
    Route("/form", form_view, methods=["POST"]),
    Route("/user/{user_id:int}/post/{slug}", post_view),
]

app = Starlette(routes=routes)
