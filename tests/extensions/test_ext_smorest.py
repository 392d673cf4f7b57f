"""Flask-Smorest on demijohn, as the guide uses it (Flask-RESTful: test_ext_restful.py)."""

from __future__ import annotations

import typing as t

import pytest
from asgi_support import door_app
from flask import Flask
from flask_restful import Resource
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields

USERS = {1: {"id": 1, "username": "dev_user", "email": "dev@example.com"}}


@pytest.fixture
def app(door: str) -> Flask:
    return door_app(__name__, door)


def test_flask_smorest_blueprint_schema_and_openapi(app: Flask) -> None:
    app.config.update(
        API_TITLE="Users",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = Api(app)

    class UserSchema(Schema):
        id = fields.Int(dump_only=True)
        username = fields.Str(required=True)
        email = fields.Email(required=True)

    blp = Blueprint("users", __name__, description="Operations on users")

    # The guide uses Flask-RESTful's Resource, a MethodView, as the class.
    @blp.route("/user/<int:user_id>")
    class UserBluePrint(Resource):
        @blp.response(200, UserSchema)
        def get(self, user_id: int) -> dict[str, t.Any]:
            user = USERS.get(user_id)
            if user is None:
                from flask_smorest import abort

                abort(404, message="User not found")
            return user

    @blp.route("/users")
    class Users(Resource):
        @blp.arguments(UserSchema)
        @blp.response(201, UserSchema)
        def post(self, data: dict[str, t.Any]) -> dict[str, t.Any]:
            return {"id": 2, **data}

    api.register_blueprint(blp)
    client = app.test_client()
    assert client.get("/user/1").json == USERS[1]
    assert client.get("/user/5").status_code == 404
    created = client.post("/users", json={"username": "neo", "email": "neo@example.com"})
    assert (created.status_code, created.json["id"]) == (201, 2)
    invalid = client.post("/users", json={"username": "neo", "email": "not-an-email"})
    assert invalid.status_code == 422
    assert invalid.json["errors"]["json"]["email"] == ["Not a valid email address."]
    spec = client.get("/openapi.json").json
    assert spec["info"] == {"title": "Users", "version": "v1"}
    assert set(spec["paths"]) == {"/user/{user_id}", "/users"}
