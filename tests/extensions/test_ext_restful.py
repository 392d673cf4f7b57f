"""Flask-RESTful on demijohn: the guide's Resource and Api.add_resource, request
parsing, marshalling, its JSON error routing and APIs on blueprints."""

from __future__ import annotations

import typing as t

import pytest
from asgi_support import door_app
from flask import Blueprint, Flask, url_for
from flask_restful import Api, Resource, abort, fields, marshal_with, reqparse


@pytest.fixture
def app(door: str) -> Flask:
    return door_app(__name__, door)


def test_resource_and_add_resource_from_the_guide(app: Flask) -> None:
    api = Api(app)

    class UserResource(Resource):
        def get(self, user_id):  # type: ignore[no-untyped-def]
            # Logic to fetch user
            return {"id": user_id, "username": "dev_user"}, 200

        def delete(self, user_id):  # type: ignore[no-untyped-def]
            # Logic to delete user
            return {"message": "User deleted"}, 204

    # Route registration
    api.add_resource(UserResource, "/user/<int:user_id>")

    client = app.test_client()
    got = client.get("/user/7")
    assert got.status_code == 200
    assert got.mimetype == "application/json"
    assert got.json == {"id": 7, "username": "dev_user"}
    deleted = client.delete("/user/7")
    assert (deleted.status_code, deleted.data) == (204, b"")  # 204 carries no body
    # Methods the resource does not define: a JSON 405 listing the allowed ones.
    put = client.put("/user/7")
    assert put.status_code == 405
    assert put.json == {"message": "The method is not allowed for the requested URL."}
    assert set(put.headers["Allow"].split(", ")) == {"GET", "HEAD", "DELETE", "OPTIONS"}
    assert client.get("/user/abc").status_code == 404  # the int converter


def test_errors_are_routed_to_json(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.logger.disabled = True
    api = Api(app)

    class Thing(Resource):
        def get(self, thing_id: int) -> dict[str, int]:
            if thing_id == 0:
                abort(404, message=f"Thing {thing_id} doesn't exist")
            if thing_id == 13:
                raise RuntimeError("unlucky")
            return {"id": thing_id}

    api.add_resource(Thing, "/things/<int:thing_id>")
    client = app.test_client()
    missing = client.get("/things/0")
    assert (missing.status_code, missing.json) == (404, {"message": "Thing 0 doesn't exist"})
    crashed = client.get("/things/13")
    assert (crashed.status_code, crashed.json) == (500, {"message": "Internal Server Error"})
    # A failed request leaves nothing behind for the next one.
    assert client.get("/things/1").json == {"id": 1}
    # Outside the API's resources, the app's own (HTML) 404 stays.
    assert client.get("/nowhere").mimetype == "text/html"


def test_request_parsing_and_marshalling(app: Flask) -> None:
    api = Api(app)
    parser = reqparse.RequestParser()
    parser.add_argument(
        "username", type=str, required=True, help="Username cannot be blank", location="json"
    )
    parser.add_argument("age", type=int, location="json")
    user_fields = {"id": fields.Integer, "username": fields.String, "uri": fields.Url("user")}

    class User(Resource):
        def get(self, user_id: int) -> dict[str, int]:
            return {"id": user_id}

    class Users(Resource):
        @marshal_with(user_fields)
        def post(self) -> tuple[dict[str, t.Any], int]:
            args = parser.parse_args()
            return {"id": 5, "username": args["username"], "user_id": 5, "age": args["age"]}, 201

    api.add_resource(User, "/users/<int:user_id>", endpoint="user")
    # One resource, two URLs.
    api.add_resource(Users, "/users", "/people")

    client = app.test_client()
    created = client.post("/users", json={"username": "neo", "age": "3"})
    assert created.status_code == 201
    # Marshalled: only the declared fields, with the URL built by url_for.
    assert created.json == {"id": 5, "username": "neo", "uri": "/users/5"}
    assert client.post("/people", json={"username": "trinity"}).status_code == 201
    blank = client.post("/people", json={"age": 3})
    assert (blank.status_code, blank.json) == (
        400,
        {"message": {"username": "Username cannot be blank"}},
    )
    wrong_type = client.post("/users", json={"username": "neo", "age": "old"})
    assert wrong_type.status_code == 400
    assert "age" in wrong_type.json["message"]


def test_api_on_a_blueprint(app: Flask) -> None:
    v2 = Blueprint("v2", __name__, url_prefix="/api/v2")
    api = Api(v2)

    class Ping(Resource):
        def get(self) -> dict[str, t.Any]:
            return {"pong": True, "self": url_for("v2.ping")}

    # Registered on the blueprint before the blueprint is on an app.
    api.add_resource(Ping, "/ping")
    app.register_blueprint(v2)
    client = app.test_client()
    assert client.get("/api/v2/ping").json == {"pong": True, "self": "/api/v2/ping"}
    assert client.get("/ping").status_code == 404
    view = app.view_functions["v2.ping"]
    assert view.view_class is Ping  # type: ignore[attr-defined]
