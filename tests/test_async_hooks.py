"""``async def`` hooks, handlers, processors and class-based views, through both doors."""

from __future__ import annotations

import asyncio
import typing as t

import pytest

from demijohn import Flask, g, render_template_string, request
from demijohn.views import MethodView


def test_async_hooks_see_the_request_context(app: Flask) -> None:
    seen: list[str] = []

    @app.before_request
    async def before() -> None:
        await asyncio.sleep(0)
        g.user = request.args.get("user", "anon")

    @app.after_request
    async def after(response: t.Any) -> t.Any:
        await asyncio.sleep(0)
        response.headers["X-User"] = g.user
        return response

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen.append(f"teardown {request.path} {exc!r}")

    @app.teardown_appcontext
    async def teardown_app(exc: BaseException | None) -> None:
        seen.append(f"app teardown {g.user}")

    @app.context_processor
    async def inject() -> dict[str, str]:
        return {"who": g.user}

    @app.route("/")
    async def index() -> str:
        await asyncio.sleep(0)
        return render_template_string("hi {{ who }}")

    response = app.test_client().get("/?user=ada")
    assert (response.text, response.headers["X-User"]) == ("hi ada", "ada")
    assert seen == ["teardown / None", "app teardown ada"]


def test_async_before_request_can_short_circuit(app: Flask) -> None:
    @app.before_request
    async def gate() -> t.Any:
        if request.args.get("blocked"):
            return "blocked", 403
        return None

    app.add_url_rule("/", "index", lambda: "open")
    client = app.test_client()
    assert client.get("/").text == "open"
    assert client.get("/?blocked=1").status_code == 403


def test_async_error_handlers(app: Flask) -> None:
    class Oops(Exception):
        pass

    @app.errorhandler(Oops)
    async def handle_oops(e: Oops) -> tuple[str, int]:
        await asyncio.sleep(0)
        return f"handled in {request.path}", 418

    @app.errorhandler(404)
    async def not_found(e: t.Any) -> tuple[dict[str, str], int]:
        return {"error": "not found"}, 404

    @app.route("/oops")
    async def oops() -> str:
        raise Oops()

    client = app.test_client()
    assert (client.get("/oops").status_code, client.get("/oops").text) == (
        418,
        "handled in /oops",
    )
    assert client.get("/nope").json == {"error": "not found"}


def test_async_method_view(app: Flask) -> None:
    class ItemAPI(MethodView):
        async def get(self, item_id: int) -> dict[str, int]:
            await asyncio.sleep(0)
            return {"id": item_id}

        async def delete(self, item_id: int) -> tuple[str, int]:
            return "", 204

    app.add_url_rule("/items/<int:item_id>", view_func=ItemAPI.as_view("item"))
    client = app.test_client()
    assert client.get("/items/3").json == {"id": 3}
    assert client.delete("/items/3").status_code == 204
    assert client.head("/items/3").status_code == 200  # HEAD falls back to get
    assert client.post("/items/3").status_code == 405


def test_asyncio_gather_in_a_view(app: Flask) -> None:
    async def fetch(name: str, delay: float) -> str:
        await asyncio.sleep(delay)
        return name

    @app.route("/dashboard")
    async def dashboard() -> dict[str, list[str]]:
        results = await asyncio.gather(fetch("weather", 0.02), fetch("news", 0.01))
        return {"results": list(results), "path": [request.path]}

    assert app.test_client().get("/dashboard").json == {
        "results": ["weather", "news"],
        "path": ["/dashboard"],
    }


def test_async_to_sync_is_the_override_point(app: Flask) -> None:
    calls: list[str] = []
    original = app.async_to_sync

    def tracing(func: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        calls.append(func.__name__)
        return original(func)

    app.async_to_sync = tracing  # type: ignore[method-assign]

    @app.route("/")
    async def index() -> str:
        return "ok"

    assert app.test_client().get("/").text == "ok"
    assert calls == ["index"]


def test_async_view_error_propagates_in_testing(app: Flask) -> None:
    @app.route("/")
    async def index() -> str:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        app.test_client().get("/")
