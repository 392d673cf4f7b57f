"""Class-based views: ``View`` and ``MethodView``."""

from __future__ import annotations

import demijohn
from demijohn import request
from demijohn.views import MethodView, View


def test_view_dispatch_and_class_args(app: demijohn.Flask) -> None:
    class Greeting(View):
        def __init__(self, greeting: str) -> None:
            self.greeting = greeting

        def dispatch_request(self, name: str) -> str:  # type: ignore[override]
            return f"{self.greeting} {name}"

    app.add_url_rule("/hi/<name>", view_func=Greeting.as_view("hi", "Hello"))
    assert app.test_client().get("/hi/ada").text == "Hello ada"
    assert app.view_functions["hi"].view_class is Greeting  # type: ignore[attr-defined]


def test_init_every_request(app: demijohn.Flask) -> None:
    instances: list[object] = []

    class PerRequest(View):
        def dispatch_request(self) -> str:
            instances.append(self)
            return "x"

    class Shared(PerRequest):
        init_every_request = False

    app.add_url_rule("/a", view_func=PerRequest.as_view("a"))
    app.add_url_rule("/b", view_func=Shared.as_view("b"))
    client = app.test_client()
    client.get("/a")
    client.get("/a")
    assert instances[0] is not instances[1]
    instances.clear()
    client.get("/b")
    client.get("/b")
    assert instances[0] is instances[1]


def test_view_methods_and_decorators(app: demijohn.Flask) -> None:
    def add_header(view):  # type: ignore[no-untyped-def]
        def wrapped(**kwargs):  # type: ignore[no-untyped-def]
            resp = demijohn.make_response(view(**kwargs))
            resp.headers["X-Decorated"] = "1"
            return resp

        return wrapped

    class Submit(View):
        methods = ["POST"]
        decorators = [add_header]

        def dispatch_request(self) -> str:
            return "submitted"

    app.add_url_rule("/submit", view_func=Submit.as_view("submit"))
    client = app.test_client()
    resp = client.post("/submit")
    assert (resp.text, resp.headers["X-Decorated"]) == ("submitted", "1")
    assert client.get("/submit").status_code == 405


def test_method_view(app: demijohn.Flask) -> None:
    class ItemAPI(MethodView):
        def get(self, item_id: int | None = None) -> str:
            return f"get {item_id}"

        def post(self) -> tuple[str, int]:
            return f"created {request.json['name']}", 201

    class DeletableItemAPI(ItemAPI):
        def delete(self, item_id: int) -> tuple[str, int]:
            return "", 204

    assert ItemAPI.methods == {"GET", "POST"}
    assert DeletableItemAPI.methods == {"GET", "POST", "DELETE"}
    view = DeletableItemAPI.as_view("items")
    app.add_url_rule("/items/", view_func=view, methods=["GET", "POST"])
    app.add_url_rule("/items/<int:item_id>", view_func=view, methods=["GET", "DELETE"])

    client = app.test_client()
    assert client.get("/items/").text == "get None"
    assert client.get("/items/3").text == "get 3"
    assert client.post("/items/", json={"name": "x"}).status_code == 201
    assert client.delete("/items/3").status_code == 204
    assert client.put("/items/3").status_code == 405
    head = client.head("/items/3")
    assert head.status_code == 200 and head.data == b""


def test_method_view_default_methods_from_class(app: demijohn.Flask) -> None:
    class Counter(MethodView):
        def get(self) -> str:
            return "count"

        def put(self) -> str:
            return "put"

    app.add_url_rule("/c", view_func=Counter.as_view("c"))
    client = app.test_client()
    assert client.put("/c").text == "put"
    assert client.post("/c").status_code == 405


def test_async_method_view(app: demijohn.Flask) -> None:
    class AsyncView(MethodView):
        async def get(self) -> str:
            return "async get"

    app.add_url_rule("/", view_func=AsyncView.as_view("async_view"))
    assert app.test_client().get("/").text == "async get"
