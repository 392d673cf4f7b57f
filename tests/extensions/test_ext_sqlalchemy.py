"""Flask-SQLAlchemy on demijohn: the guide's models, CRUD, the scoped session, 404s, pagination."""

from __future__ import annotations

import typing as t

import pytest
from asgi_support import through
from flask import Flask, abort
from flask_sqlalchemy import SQLAlchemy


@pytest.fixture
def setup(door: str) -> t.Iterator[tuple[Flask, SQLAlchemy, t.Any, t.Any]]:
    # The guide's configuration and models ("Essential Ecosystem"), on SQLite in memory.
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False
    through(app, door)
    db = SQLAlchemy(app)

    class User(db.Model):  # type: ignore[name-defined, misc]
        id = db.Column(db.Integer, primary_key=True)
        username = db.Column(db.String(20), unique=True, nullable=False)
        email = db.Column(db.String(120), unique=True, nullable=False)
        posts = db.relationship("Post", backref="author", lazy=True)

    class Post(db.Model):  # type: ignore[name-defined, misc]
        id = db.Column(db.Integer, primary_key=True)
        title = db.Column(db.String(100), nullable=False)
        user_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=False)

    with app.app_context():
        db.create_all()
    yield app, db, User, Post
    with app.app_context():
        db.drop_all()


def test_crud_and_relationships(setup: tuple[Flask, SQLAlchemy, t.Any, t.Any]) -> None:
    app, db, User, Post = setup
    with app.app_context():
        user = User(username="ada", email="ada@example.com")
        db.session.add(user)
        db.session.commit()
        db.session.add(Post(title="Hello", author=user))
        db.session.commit()

        found = User.query.filter_by(username="ada").first()
        assert [post.title for post in found.posts] == ["Hello"]
        assert db.session.execute(db.select(Post)).scalar_one().author.username == "ada"

        found.email = "new@ex.com"
        db.session.commit()
        assert db.session.get(User, found.id).email == "new@ex.com"

        db.session.delete(found.posts[0])
        db.session.delete(found)
        db.session.commit()
        assert User.query.count() == 0


def test_session_is_scoped_to_the_app_context_and_removed(
    setup: tuple[Flask, SQLAlchemy, t.Any, t.Any],
) -> None:
    app, db, User, _ = setup
    seen: list[t.Any] = []

    @app.post("/users/<name>")
    def create(name: str) -> dict[str, t.Any]:
        user = User(username=name, email=f"{name}@example.com")
        db.session.add(user)
        db.session.commit()
        seen.append(db.session())
        return {"id": user.id}

    client = app.test_client()
    assert client.post("/users/ada").json == {"id": 1}
    assert client.post("/users/bob").json == {"id": 2}
    # A new session per request: the first was removed at teardown.
    assert seen[0] is not seen[1]
    assert len(seen[0].identity_map) == 0  # closed: its objects were released


def test_a_failed_request_does_not_leak_its_transaction(
    setup: tuple[Flask, SQLAlchemy, t.Any, t.Any],
) -> None:
    app, db, User, _ = setup
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.logger.disabled = True

    @app.post("/half")
    def half() -> str:
        db.session.add(User(username="ghost", email="ghost@example.com"))
        db.session.flush()
        raise RuntimeError("fails before commit")

    assert app.test_client().post("/half").status_code == 500
    with app.app_context():
        assert User.query.count() == 0  # rolled back when the session was removed


def test_get_or_404_and_first_or_404(setup: tuple[Flask, SQLAlchemy, t.Any, t.Any]) -> None:
    app, db, User, _ = setup

    @app.get("/users/<int:user_id>")
    def show(user_id: int) -> dict[str, str]:
        return {"username": db.get_or_404(User, user_id).username}

    @app.get("/by-name/<name>")
    def by_name(name: str) -> dict[str, str]:
        user = User.query.filter_by(username=name).first_or_404(description="no such user")
        return {"email": user.email}

    @app.get("/legacy/<int:user_id>")
    def legacy(user_id: int) -> str:
        user = User.query.get(user_id)
        if user is None:
            abort(404)
        return str(user.username)

    with app.app_context():
        db.session.add(User(username="ada", email="ada@example.com"))
        db.session.commit()
    client = app.test_client()
    assert client.get("/users/1").json == {"username": "ada"}
    assert client.get("/users/2").status_code == 404
    assert client.get("/by-name/ada").json == {"email": "ada@example.com"}
    missing = client.get("/by-name/zed")
    assert missing.status_code == 404 and "no such user" in missing.text
    assert client.get("/legacy/1").text == "ada"
    assert client.get("/legacy/9").status_code == 404


def test_pagination_reads_the_request(setup: tuple[Flask, SQLAlchemy, t.Any, t.Any]) -> None:
    app, db, User, _ = setup

    @app.get("/users")
    def listing() -> dict[str, t.Any]:
        page = db.paginate(db.select(User).order_by(User.id), per_page=3)
        return {
            "items": [user.username for user in page.items],
            "page": page.page,
            "pages": page.pages,
            "has_next": page.has_next,
        }

    with app.app_context():
        db.session.add_all(User(username=f"u{i}", email=f"u{i}@ex.com") for i in range(7))
        db.session.commit()
    client = app.test_client()
    assert client.get("/users").json == {
        "items": ["u0", "u1", "u2"],
        "page": 1,
        "pages": 3,
        "has_next": True,
    }
    assert client.get("/users?page=3").json["items"] == ["u6"]
    # Flask-SQLAlchemy answers an out-of-range page with 404 (error_out).
    assert client.get("/users?page=9").status_code == 404
