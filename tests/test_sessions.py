"""Sessions: ``demijohn.sessions`` (the session classes, the interface, the signed-cookie
backend), and session cookies that move between Flask and demijohn in both directions.
"""

from __future__ import annotations

import base64
import collections.abc as cabc
import hashlib
import json
import logging
import threading
import time
import typing as t
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, bytes_to_int
from markupsafe import Markup
from werkzeug.datastructures import CallbackDict

import demijohn
from demijohn import request, session
from demijohn import sessions as sessions_module
from demijohn.sessions import (
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionInterface,
    SessionMixin,
    session_json_serializer,
)
from demijohn.wrappers import Request, Response

NULL_SESSION_MESSAGE = (
    "The session is unavailable because no secret key was set.  Set the"
    " secret_key on the application to something unique and secret."
)


@pytest.fixture
def keyed_app(app: demijohn.Flask) -> demijohn.Flask:
    """An app with a secret key and its own session interface (so caches are fresh)."""
    app.secret_key = "test-secret"
    app.session_interface = SecureCookieSessionInterface()
    return app


def signer_for(
    key: str | bytes, salt: str = "cookie-session", **kw: t.Any
) -> URLSafeTimedSerializer:
    """An itsdangerous serializer signing like the session interface does."""
    return URLSafeTimedSerializer(
        key,
        salt=salt,
        serializer=session_json_serializer,
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
        **kw,
    )


def request_with_cookie(app: demijohn.Flask, value: str | None, name: str = "session") -> Request:
    headers = {"Cookie": f"{name}={value}"} if value is not None else {}
    return app.test_request_context("/", headers=headers).request


def open_with(app: demijohn.Flask, cookie: str | None, name: str = "session") -> SessionMixin:
    """Open the session for a request carrying ``cookie``; it must not be ``None``."""
    sess = app.session_interface.open_session(app, request_with_cookie(app, cookie, name))
    assert sess is not None
    return sess


def set_cookie_headers(response: Response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


# -- SessionMixin and the session classes -------------------------------------


def test_session_mixin_combines_with_dict_and_callback_dict() -> None:
    assert not issubclass(SessionMixin, dict)
    assert issubclass(SessionMixin, cabc.MutableMapping)

    class DictSession(dict[str, t.Any], SessionMixin):
        pass

    class TrackedSession(CallbackDict[str, t.Any], SessionMixin):
        pass

    for cls in (DictSession, TrackedSession):
        sess = cls()
        assert (sess.new, sess.modified, sess.accessed) == (False, True, True)
        assert sess.permanent is False
        sess.permanent = 1  # type: ignore[assignment]
        assert sess["_permanent"] is True
        assert sess.permanent is True
        sess.permanent = False
        assert sess["_permanent"] is False
        # Backends keep their own state on instances: the mixin adds no slots.
        sess.sid = "abc"  # type: ignore[attr-defined]
        assert isinstance(sess, cabc.MutableMapping)


def test_secure_cookie_session_starts_clean() -> None:
    sess = SecureCookieSession({"a": 1})
    assert (sess.new, sess.modified, sess.accessed) == (False, False, False)
    assert SecureCookieSession().items() == set()


@pytest.mark.parametrize(
    "read",
    [
        lambda s: s["a"],
        lambda s: s.get("a"),
        lambda s: s.get("missing", 0),
        lambda s: "a" in s,
        lambda s: s.setdefault("a", 2),  # existing key: a read
        lambda s: s.permanent,
    ],
)
def test_reads_mark_accessed_only(read: t.Callable[[SecureCookieSession], t.Any]) -> None:
    sess = SecureCookieSession({"a": 1})
    read(sess)
    assert sess.accessed is True
    assert sess.modified is False
    assert sess == {"a": 1}


@pytest.mark.parametrize(
    "write",
    [
        lambda s: s.__setitem__("b", 2),
        lambda s: s.__delitem__("a"),
        lambda s: s.pop("a"),
        lambda s: s.popitem(),
        lambda s: s.update(b=2),
        lambda s: s.clear(),
        lambda s: s.setdefault("b", 2),
        lambda s: s.__ior__({"b": 2}),
        lambda s: setattr(s, "permanent", True),
    ],
)
def test_writes_mark_modified_and_accessed(write: t.Callable[[SecureCookieSession], t.Any]) -> None:
    sess = SecureCookieSession({"a": 1})
    write(sess)
    assert sess.modified is True
    assert sess.accessed is True


def test_nested_mutation_is_not_tracked() -> None:
    sess = SecureCookieSession({"cart": [1]})
    sess.modified = False
    cart = dict.__getitem__(sess, "cart")
    cart.append(2)
    assert sess.modified is False


def test_null_session_reads_but_refuses_writes() -> None:
    sess = NullSession()
    assert isinstance(sess, SecureCookieSession)
    assert len(sess) == 0
    assert sess.get("user") is None
    assert "user" not in sess
    assert sess.permanent is False
    with pytest.raises(KeyError):
        sess["user"]


@pytest.mark.parametrize(
    "write",
    [
        lambda s: s.__setitem__("a", 1),
        lambda s: s.__delitem__("a"),
        lambda s: s.pop("a", None),
        lambda s: s.popitem(),
        lambda s: s.update(a=1),
        lambda s: s.clear(),
        lambda s: s.setdefault("a", 1),
        lambda s: s.__ior__({"a": 1}),
        lambda s: setattr(s, "permanent", True),
    ],
)
def test_null_session_write_error(write: t.Callable[[NullSession], t.Any]) -> None:
    sess = NullSession()
    with pytest.raises(RuntimeError) as exc_info:
        write(sess)
    assert str(exc_info.value) == NULL_SESSION_MESSAGE
    assert len(sess) == 0


# -- SessionInterface ---------------------------------------------------------


def test_null_session_helpers(app: demijohn.Flask) -> None:
    interface = SessionInterface()
    assert interface.pickle_based is False
    null = interface.make_null_session(app)
    assert type(null) is NullSession
    assert interface.is_null_session(null)
    assert not interface.is_null_session(SecureCookieSession())

    class OtherNull(NullSession):
        pass

    interface.null_session_class = OtherNull
    assert type(interface.make_null_session(app)) is OtherNull
    assert not interface.is_null_session(null)


def test_abstract_methods(app: demijohn.Flask) -> None:
    interface = SessionInterface()
    with pytest.raises(NotImplementedError):
        interface.open_session(app, request_with_cookie(app, None))
    with pytest.raises(NotImplementedError):
        interface.save_session(app, SecureCookieSession(), Response())


def test_cookie_settings_come_from_config(app: demijohn.Flask) -> None:
    interface = SessionInterface()
    assert interface.get_cookie_name(app) == "session"
    assert interface.get_cookie_domain(app) is None
    assert interface.get_cookie_path(app) == "/"
    assert interface.get_cookie_httponly(app) is True
    assert interface.get_cookie_secure(app) is False
    assert interface.get_cookie_samesite(app) is None
    assert interface.get_cookie_partitioned(app) is False

    app.config.update(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.org",
        SESSION_COOKIE_PATH="/shop",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PARTITIONED=True,
        APPLICATION_ROOT="/ignored",
    )
    assert interface.get_cookie_name(app) == "sid"
    assert interface.get_cookie_domain(app) == "example.org"
    assert interface.get_cookie_path(app) == "/shop"
    assert interface.get_cookie_httponly(app) is False
    assert interface.get_cookie_secure(app) is True
    assert interface.get_cookie_samesite(app) == "Lax"
    assert interface.get_cookie_partitioned(app) is True


def test_cookie_path_falls_back_to_application_root(app: demijohn.Flask) -> None:
    app.config["APPLICATION_ROOT"] = "/app"
    assert SessionInterface().get_cookie_path(app) == "/app"


def test_expiration_time(app: demijohn.Flask) -> None:
    interface = SessionInterface()
    sess = SecureCookieSession()
    assert interface.get_expiration_time(app, sess) is None
    sess.permanent = True
    app.permanent_session_lifetime = timedelta(hours=2)
    expires = interface.get_expiration_time(app, sess)
    assert expires is not None
    assert expires.tzinfo is not None
    expected = datetime.now(UTC) + timedelta(hours=2)
    assert abs((expires - expected).total_seconds()) < 5


def test_should_set_cookie(app: demijohn.Flask) -> None:
    interface = SessionInterface()
    sess = SecureCookieSession({"a": 1})
    assert interface.should_set_cookie(app, sess) is False
    sess["b"] = 2
    assert interface.should_set_cookie(app, sess) is True

    permanent = SecureCookieSession({"_permanent": True})
    assert interface.should_set_cookie(app, permanent) is True
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    assert interface.should_set_cookie(app, permanent) is False


# -- SecureCookieSessionInterface: signing and the serializer cache ------------


def test_interface_settings() -> None:
    interface = SecureCookieSessionInterface()
    assert interface.salt == "cookie-session"
    assert interface.key_derivation == "hmac"
    assert interface.digest_method().name == "sha1"
    assert interface.serializer is session_json_serializer
    assert interface.session_class is SecureCookieSession


def test_no_secret_key_means_no_serializer_and_no_session(app: demijohn.Flask) -> None:
    interface = SecureCookieSessionInterface()
    assert interface.get_signing_serializer(app) is None
    assert interface.open_session(app, request_with_cookie(app, None)) is None
    assert interface.open_session(app, request_with_cookie(app, "anything")) is None


def test_without_secret_key_the_view_gets_a_null_session(app: demijohn.Flask) -> None:
    @app.route("/read")
    def read() -> str:
        return repr((type(demijohn.session._get_current_object()).__name__, dict(demijohn.session)))

    @app.route("/write")
    def write() -> str:
        demijohn.session["user"] = "x"
        return "unreachable"

    client = app.test_client()
    rv = client.get("/read")
    assert rv.get_data(as_text=True) == "('NullSession', {})"
    assert "Set-Cookie" not in rv.headers
    with pytest.raises(RuntimeError, match="no secret key was set"):
        client.get("/write")


def test_signing_serializer_is_cached_per_keys(keyed_app: demijohn.Flask) -> None:
    interface = keyed_app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)
    first = interface.get_signing_serializer(keyed_app)
    assert first is not None
    assert interface.get_signing_serializer(keyed_app) is first

    keyed_app.secret_key = "rotated"
    rotated = interface.get_signing_serializer(keyed_app)
    assert rotated is not first
    assert rotated is not None
    assert rotated.secret_keys == [b"rotated"]

    fallbacks = ["old-1"]
    keyed_app.config["SECRET_KEY_FALLBACKS"] = fallbacks
    with_fallback = interface.get_signing_serializer(keyed_app)
    assert with_fallback is not None
    assert with_fallback.secret_keys == [b"old-1", b"rotated"]
    # Changing the list in place is noticed too.
    fallbacks.append("old-2")
    grown = interface.get_signing_serializer(keyed_app)
    assert grown is not None
    assert grown.secret_keys == [b"old-1", b"old-2", b"rotated"]

    interface.salt = "other-salt"
    salted = interface.get_signing_serializer(keyed_app)
    assert salted is not None
    assert salted.salt == b"other-salt"

    keyed_app.secret_key = None
    assert interface.get_signing_serializer(keyed_app) is None


def test_serializer_cache_is_bounded(keyed_app: demijohn.Flask) -> None:
    interface = keyed_app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface)
    for i in range(100):
        keyed_app.secret_key = f"key-{i}"
        interface.get_signing_serializer(keyed_app)
    assert interface._serializers is not None
    assert 0 < len(interface._serializers) <= 16


def test_no_cookie_opens_an_empty_session_without_building_a_serializer(
    keyed_app: demijohn.Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []

    class Counting(sessions_module._SessionSerializer):
        def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
            built.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(sessions_module, "_SessionSerializer", Counting)
    for _ in range(3):
        sess = open_with(keyed_app, None)
        assert type(sess) is SecureCookieSession
        assert dict(sess) == {}
        assert sess.modified is False
    # An empty cookie is no cookie.
    assert dict(open_with(keyed_app, "")) == {}
    assert built == []

    value = signer_for("test-secret").dumps({"a": 1})
    for _ in range(3):
        assert dict(open_with(keyed_app, value)) == {"a": 1}
    assert len(built) == 1


def test_subclass_serializer_override_is_always_consulted(app: demijohn.Flask) -> None:
    calls: list[str] = []

    class KeyFromElsewhere(SecureCookieSessionInterface):
        def get_signing_serializer(self, app: demijohn.Flask) -> URLSafeTimedSerializer | None:
            calls.append("called")
            return signer_for("vault-key")

    app.session_interface = KeyFromElsewhere()
    # No app.secret_key, yet the override provides a key.
    assert type(open_with(app, None)) is SecureCookieSession
    cookie = signer_for("vault-key").dumps({"from": "vault"})
    assert dict(open_with(app, cookie)) == {"from": "vault"}
    assert calls == ["called", "called"]


def test_custom_cookie_name_is_read(keyed_app: demijohn.Flask) -> None:
    keyed_app.config["SESSION_COOKIE_NAME"] = "sid"
    cookie = signer_for("test-secret").dumps({"a": 1})
    assert dict(open_with(keyed_app, cookie, "sid")) == {"a": 1}
    assert dict(open_with(keyed_app, cookie)) == {}


# -- rejected cookies ----------------------------------------------------------


class _PastSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 3600


def _valid_cookie() -> str:
    return signer_for("test-secret").dumps({"user": "alice"})


def _flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


REJECTED_COOKIES: dict[str, t.Callable[[], str]] = {
    "tampered payload": lambda: _flip(_valid_cookie(), 3),
    "tampered signature": lambda: _flip(_valid_cookie(), -2),
    "tampered timestamp": lambda: _flip(_valid_cookie(), _valid_cookie().index(".") + 2),
    "truncated": lambda: _valid_cookie()[:-5],
    "signature removed": lambda: _valid_cookie().rsplit(".", 1)[0],
    "garbage": lambda: "not-a-session-cookie",
    "dots only": lambda: "..",
    "non-ascii": lambda: "caf\u00e9.\u2713.x",
    "other secret key": lambda: signer_for("someone-else").dumps({"user": "mallory"}),
    "other salt": lambda: signer_for("test-secret", salt="csrf").dumps({"user": "mallory"}),
    # itsdangerous's default key derivation (django-concat) instead of hmac.
    "other key derivation": lambda: URLSafeTimedSerializer(
        "test-secret", salt="cookie-session", serializer=session_json_serializer
    ).dumps({"user": "mallory"}),
    "bad json inside a valid signature": lambda: (
        TimestampSigner(
            "test-secret", salt="cookie-session", key_derivation="hmac", digest_method=hashlib.sha1
        )
        .sign("e30x")  # base64 "{}" plus junk: signed, but not JSON
        .decode()
    ),
    "not an object": lambda: signer_for("test-secret").dumps(["a", "list"]),
    "expired": lambda: signer_for("test-secret", signer=_PastSigner).dumps({"user": "alice"}),
}


@pytest.mark.parametrize("make_cookie", REJECTED_COOKIES.values(), ids=REJECTED_COOKIES.keys())
def test_bad_cookies_give_an_empty_session(
    keyed_app: demijohn.Flask,
    make_cookie: t.Callable[[], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    keyed_app.permanent_session_lifetime = timedelta(minutes=30)
    with caplog.at_level(logging.DEBUG, logger="demijohn.sessions"):
        sess = open_with(keyed_app, make_cookie())
    assert type(sess) is SecureCookieSession
    assert dict(sess) == {}
    assert sess.modified is False
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert caplog.records[0].getMessage().startswith("Ignoring session cookie")


def test_valid_cookie_control(keyed_app: demijohn.Flask) -> None:
    # The rejected cases above are built from a cookie that is accepted.
    assert dict(open_with(keyed_app, _valid_cookie())) == {"user": "alice"}


def test_expiry_follows_permanent_session_lifetime(keyed_app: demijohn.Flask) -> None:
    cookie = signer_for("test-secret", signer=_PastSigner).dumps({"user": "alice"})
    keyed_app.permanent_session_lifetime = timedelta(hours=2)
    assert dict(open_with(keyed_app, cookie)) == {"user": "alice"}
    keyed_app.permanent_session_lifetime = timedelta(minutes=59)
    assert dict(open_with(keyed_app, cookie)) == {}


def test_bad_cookie_through_a_request_is_replaced(keyed_app: demijohn.Flask) -> None:
    @keyed_app.route("/")
    def index() -> str:
        before = dict(demijohn.session)
        demijohn.session["visits"] = demijohn.session.get("visits", 0) + 1
        return repr(before)

    client = keyed_app.test_client()
    client.set_cookie("session", "forged.value.here")
    rv = client.get("/")
    assert rv.status_code == 200
    assert rv.get_data(as_text=True) == "{}"
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert signer_for("test-secret").loads(cookie.value) == {"visits": 1}


# -- secret key fallbacks -------------------------------------------------------


def test_fallback_keys_verify_but_new_cookies_use_the_current_key(
    keyed_app: demijohn.Flask,
) -> None:
    old_cookie = signer_for("old-secret").dumps({"user": "alice"})
    keyed_app.config["SECRET_KEY_FALLBACKS"] = ["older-secret", "old-secret"]

    @keyed_app.route("/")
    def index() -> str:
        user = demijohn.session.get("user")
        demijohn.session["seen"] = True
        return str(user)

    client = keyed_app.test_client()
    client.set_cookie("session", old_cookie)
    assert client.get("/").get_data(as_text=True) == "alice"
    new_cookie = client.get_cookie("session")
    assert new_cookie is not None
    assert signer_for("test-secret").loads(new_cookie.value) == {"user": "alice", "seen": True}
    with pytest.raises(BadSignature):
        signer_for("old-secret").loads(new_cookie.value)

    # Once the old key is retired, its cookies no longer verify.
    keyed_app.config["SECRET_KEY_FALLBACKS"] = ["older-secret"]
    client.set_cookie("session", old_cookie)
    assert client.get("/").get_data(as_text=True) == "None"


def test_bytes_secret_key(keyed_app: demijohn.Flask) -> None:
    keyed_app.secret_key = b"\x00binary-key\xff"
    cookie = signer_for(b"\x00binary-key\xff").dumps({"k": b"v"})
    assert dict(open_with(keyed_app, cookie)) == {"k": b"v"}


# -- saving ----------------------------------------------------------------------


def save(app: demijohn.Flask, sess: SessionMixin) -> Response:
    response = app.response_class()
    with app.app_context():
        app.session_interface.save_session(app, sess, response)
    return response


def test_untouched_session_changes_nothing(keyed_app: demijohn.Flask) -> None:
    response = save(keyed_app, SecureCookieSession({"a": 1}))
    assert set_cookie_headers(response) == []
    assert "Vary" not in response.headers


def test_accessed_session_adds_vary_only(keyed_app: demijohn.Flask) -> None:
    sess = SecureCookieSession({"a": 1})
    assert sess["a"] == 1
    response = save(keyed_app, sess)
    assert set_cookie_headers(response) == []
    assert response.headers["Vary"] == "Cookie"


def test_modified_session_sets_a_signed_cookie(keyed_app: demijohn.Flask) -> None:
    sess = SecureCookieSession()
    sess["user"] = "alice"
    sess["cart"] = (1, 2)
    response = save(keyed_app, sess)
    assert response.headers["Vary"] == "Cookie"
    (header,) = set_cookie_headers(response)
    value, *attributes = header.split("; ")
    name, _, cookie = value.partition("=")
    assert name == "session"
    assert signer_for("test-secret").loads(cookie) == {"user": "alice", "cart": (1, 2)}
    # A browser-session cookie: no Expires.
    assert sorted(attributes) == ["HttpOnly", "Path=/"]


def test_cookie_attributes_follow_config(keyed_app: demijohn.Flask) -> None:
    keyed_app.config.update(
        SESSION_COOKIE_NAME="sid",
        SESSION_COOKIE_DOMAIN="example.org",
        SESSION_COOKIE_PATH="/shop",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PARTITIONED=True,
    )
    sess = SecureCookieSession()
    sess["a"] = 1
    (header,) = set_cookie_headers(save(keyed_app, sess))
    value, *attributes = header.split("; ")
    assert value.startswith("sid=")
    assert sorted(attributes) == [
        "Domain=example.org",
        "Partitioned",
        "Path=/shop",
        "SameSite=Lax",
        "Secure",
    ]


def test_permanent_session_gets_an_expiry_and_is_refreshed(keyed_app: demijohn.Flask) -> None:
    keyed_app.permanent_session_lifetime = timedelta(days=3)
    sess = SecureCookieSession({"_permanent": True, "a": 1})  # as loaded: not modified
    (header,) = set_cookie_headers(save(keyed_app, sess))
    expires = next(a for a in header.split("; ") if a.startswith("Expires="))
    expected = datetime.now(UTC) + timedelta(days=3)
    sent = datetime.strptime(expires[8:], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert abs(sent - expected) < timedelta(seconds=5)

    keyed_app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    assert set_cookie_headers(save(keyed_app, SecureCookieSession({"_permanent": True}))) == []


def test_emptied_session_deletes_the_cookie(keyed_app: demijohn.Flask) -> None:
    keyed_app.config.update(
        SESSION_COOKIE_DOMAIN="example.org",
        SESSION_COOKIE_PATH="/shop",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PARTITIONED=True,
    )
    sess = SecureCookieSession({"user": "alice"})
    sess.clear()
    response = save(keyed_app, sess)
    assert response.headers["Vary"] == "Cookie"
    (header,) = set_cookie_headers(response)
    value, *attributes = header.split("; ")
    assert value == "session="
    assert sorted(attributes) == [
        "Domain=example.org",
        "Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "HttpOnly",
        "Max-Age=0",
        "Partitioned",
        "Path=/shop",
        "SameSite=Strict",
        "Secure",
    ]


def test_empty_unmodified_session_sets_nothing(keyed_app: demijohn.Flask) -> None:
    response = save(keyed_app, SecureCookieSession())
    assert set_cookie_headers(response) == []
    assert "Vary" not in response.headers


def test_session_round_trip_through_requests(keyed_app: demijohn.Flask) -> None:
    @keyed_app.route("/login")
    def login() -> str:
        demijohn.session["user"] = "alice"
        demijohn.session["since"] = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        demijohn.session.permanent = True
        return "ok"

    @keyed_app.route("/me")
    def me() -> str:
        return repr(dict(demijohn.session))

    @keyed_app.route("/logout")
    def logout() -> str:
        demijohn.session.clear()
        return "bye"

    client = keyed_app.test_client()
    rv = client.get("/login")
    assert rv.headers["Vary"] == "Cookie"
    assert "Expires=" in rv.headers["Set-Cookie"]
    assert client.get("/me").get_data(as_text=True) == repr(
        {"_permanent": True, "since": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "user": "alice"}
    )
    rv = client.get("/logout")
    assert "Max-Age=0" in rv.headers["Set-Cookie"]
    assert client.get_cookie("session") is None
    assert client.get("/me").get_data(as_text=True) == "{}"


def test_session_transaction_uses_the_interface(keyed_app: demijohn.Flask) -> None:
    @keyed_app.route("/")
    def index() -> str:
        return str(demijohn.session.get("user"))

    client = keyed_app.test_client()
    with client.session_transaction() as sess:
        sess["user"] = "bob"
    assert client.get("/").get_data(as_text=True) == "bob"


def test_custom_interface_with_dict_session(app: demijohn.Flask) -> None:
    # The pattern of server-side session extensions: a plain dict + SessionMixin.
    store: dict[str, dict[str, t.Any]] = {}

    class ServerSession(dict[str, t.Any], SessionMixin):
        pass

    class ServerInterface(SessionInterface):
        def open_session(self, app: demijohn.Flask, request: Request) -> ServerSession:
            return ServerSession(store.get(request.cookies.get("sid", ""), {}))

        def save_session(
            self, app: demijohn.Flask, session: SessionMixin, response: Response
        ) -> None:
            store["fixed"] = dict(session)
            response.set_cookie("sid", "fixed")

    app.session_interface = ServerInterface()

    @app.route("/")
    def index() -> str:
        demijohn.session["n"] = demijohn.session.get("n", 0) + 1
        return str(demijohn.session["n"])

    client = app.test_client()
    assert client.get("/").get_data(as_text=True) == "1"
    assert client.get("/").get_data(as_text=True) == "2"
    assert store == {"fixed": {"n": 2}}


# -- through requests: headers, refresh, lifetime, bad cookies ---------------------


def test_request_that_ignores_the_session_sends_no_session_headers(
    keyed_app: demijohn.Flask,
) -> None:
    keyed_app.add_url_rule("/", "index", lambda: "no session here")
    client = keyed_app.test_client()
    with client.session_transaction() as sess:
        sess["user"] = "alice"
    response = client.get("/")
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers


@pytest.mark.parametrize(
    "view",
    [
        lambda: str("user" in demijohn.session),
        lambda: str(demijohn.session.get("user")),
        lambda: demijohn.render_template_string("{{ session.user }}"),
    ],
    ids=["membership", "get", "template"],
)
def test_reading_the_session_adds_vary_cookie_but_no_cookie(
    keyed_app: demijohn.Flask, view: t.Callable[[], str]
) -> None:
    keyed_app.add_url_rule("/", "index", view)
    client = keyed_app.test_client()
    with client.session_transaction() as sess:
        sess["user"] = "alice"
    response = client.get("/")
    assert response.text in {"True", "alice"}
    assert response.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in response.headers


def test_vary_cookie_joins_other_vary_values(keyed_app: demijohn.Flask) -> None:
    @keyed_app.route("/")
    def index() -> demijohn.Response:
        response = demijohn.make_response(str(demijohn.session.get("x")))
        response.vary.add("Accept-Encoding")
        return response

    assert keyed_app.test_client().get("/").headers["Vary"] == "Accept-Encoding, Cookie"


@pytest.mark.parametrize(
    ("permanent", "refresh", "sends_cookie"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_refresh_each_request(
    keyed_app: demijohn.Flask, permanent: bool, refresh: bool, sends_cookie: bool
) -> None:
    keyed_app.config["SESSION_REFRESH_EACH_REQUEST"] = refresh

    @keyed_app.route("/login")
    def login() -> str:
        demijohn.session["user"] = "alice"
        demijohn.session.permanent = permanent
        return "ok"

    @keyed_app.route("/page")
    def page() -> str:
        return "untouched"

    @keyed_app.route("/change")
    def change() -> str:
        demijohn.session["n"] = 1
        return "changed"

    client = keyed_app.test_client()
    assert "Set-Cookie" in client.get("/login").headers
    untouched = client.get("/page")
    assert ("Set-Cookie" in untouched.headers) is sends_cookie
    if sends_cookie:
        assert "Expires=" in untouched.headers["Set-Cookie"]  # the expiry moves forward
    # A change is always saved.
    assert "Set-Cookie" in client.get("/change").headers


@pytest.mark.parametrize("lifetime", [120, timedelta(seconds=120)], ids=["seconds", "timedelta"])
def test_permanent_session_lifetime_in_seconds_or_timedelta(
    keyed_app: demijohn.Flask, lifetime: int | timedelta
) -> None:
    keyed_app.config["PERMANENT_SESSION_LIFETIME"] = lifetime
    assert keyed_app.permanent_session_lifetime == timedelta(seconds=120)

    @keyed_app.route("/")
    def index() -> str:
        demijohn.session.permanent = True
        demijohn.session["a"] = 1
        return "ok"

    header = keyed_app.test_client().get("/").headers["Set-Cookie"]
    expires = next(a for a in header.split("; ") if a.startswith("Expires="))
    sent = datetime.strptime(expires[8:], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
    assert abs(sent - (datetime.now(UTC) + timedelta(seconds=120))) < timedelta(seconds=5)

    # A cookie signed an hour ago has outlived 120 seconds.
    old = signer_for("test-secret", signer=_PastSigner).dumps({"a": 1})
    assert dict(open_with(keyed_app, old)) == {}


@pytest.mark.parametrize("make_cookie", REJECTED_COOKIES.values(), ids=REJECTED_COOKIES.keys())
def test_bad_cookie_in_a_live_request_is_logged_and_never_a_500(
    keyed_app: demijohn.Flask,
    make_cookie: t.Callable[[], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    keyed_app.testing = False  # a 500 would be served, not raised
    keyed_app.permanent_session_lifetime = timedelta(minutes=30)
    keyed_app.add_url_rule("/", "index", lambda: repr(dict(demijohn.session)))
    client = keyed_app.test_client()
    client.set_cookie("session", make_cookie())
    with caplog.at_level(logging.DEBUG, logger="demijohn.sessions"):
        response = client.get("/")
    assert response.status_code == 200
    assert response.text == "{}"
    assert "Set-Cookie" not in response.headers  # nothing new to store
    assert [(r.name, r.levelno) for r in caplog.records] == [("demijohn.sessions", logging.DEBUG)]


def test_two_app_instances_sharing_a_key_share_sessions() -> None:
    # As behind several workers: each has its own app and interface, no shared state.
    def make_worker(name: str) -> demijohn.Flask:
        worker = demijohn.Flask(name)
        worker.secret_key = "shared"
        worker.session_interface = SecureCookieSessionInterface()

        @worker.route("/count")
        def count() -> str:
            demijohn.session["n"] = demijohn.session.get("n", 0) + 1
            return f"{name}:{demijohn.session['n']}"

        return worker

    workers = [make_worker("w1"), make_worker("w2")]
    client_of = [w.test_client() for w in workers]
    cookie = None
    seen = []
    for i in range(4):
        client = client_of[i % 2]  # round-robin, like a load balancer
        if cookie is not None:
            client.set_cookie("session", cookie)
        seen.append(client.get("/count").text)
        stored = client.get_cookie("session")
        assert stored is not None
        cookie = stored.value
    assert seen == ["w1:1", "w2:2", "w1:3", "w2:4"]


def test_oversized_session_cookie_warns(keyed_app: demijohn.Flask) -> None:
    keyed_app.config["MAX_COOKIE_SIZE"] = 200

    @keyed_app.route("/")
    def index() -> str:
        demijohn.session["blob"] = "".join(chr(0x4E00 + i) for i in range(100))
        return "ok"

    with pytest.warns(UserWarning, match="'session' cookie is too large"):
        keyed_app.test_client().get("/")


def test_keys_are_derived_once_per_serializer_not_per_request(
    keyed_app: demijohn.Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itsdangerous

    keyed_app.config["SECRET_KEY_FALLBACKS"] = ["old-secret"]
    derived: list[object] = []
    stock = itsdangerous.Signer.derive_key

    def counting(self: itsdangerous.Signer, secret_key: str | bytes | None = None) -> bytes:
        derived.append(secret_key)
        return stock(self, secret_key)

    monkeypatch.setattr(itsdangerous.Signer, "derive_key", counting)

    @keyed_app.route("/visit")
    def visit() -> str:
        demijohn.session["n"] = demijohn.session.get("n", 0) + 1
        return str(demijohn.session["n"])

    client = keyed_app.test_client()
    # A cookie signed with the fallback key is accepted; the answer is
    # signed with the current key (the old key no longer verifies it).
    client.set_cookie("session", signer_for("old-secret").dumps({"n": 10}))
    assert client.get("/visit").text == "11"
    first = len(derived)
    for expected in range(12, 17):
        assert client.get("/visit").text == str(expected)
    assert len(derived) == first  # nothing derived after the first request
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert signer_for("test-secret").loads(cookie.value) == {"n": 16}
    with pytest.raises(BadSignature):
        signer_for("old-secret").loads(cookie.value)


# -- ``Vary: Cookie`` and ``session.accessed`` (issue 16) ------------------------------
#
# ``Vary: Cookie`` on a response that refreshes a permanent session's cookie,
# next to guards for the neighbouring behaviour that already matched Flask.


@pytest.fixture
def session_app(app: demijohn.Flask) -> tuple[demijohn.Flask, list[tuple[str, bool]]]:
    """``app`` with session views; the list gets ``(where, session.accessed)`` notes."""
    app.secret_key = "regression-secret"
    seen: list[tuple[str, bool]] = []

    @app.get("/login")
    def login() -> str:
        session.permanent = True
        session["user"] = "ada"
        return "logged in"

    @app.get("/remember")
    def remember() -> str:
        session["user"] = "ada"  # not permanent
        return "remembered"

    @app.get("/plain")
    def plain() -> str:
        seen.append(("view", session.accessed))
        return "plain"

    @app.get("/read")
    def read() -> str:
        return str(session.get("user"))

    @app.get("/contains")
    def contains() -> str:
        return str("user" in session)

    @app.after_request
    def note(response: demijohn.Response) -> demijohn.Response:
        if request.path == "/plain":
            seen.append(("after_request", session.accessed))
        return response

    return app, seen


def test_untouched_session_is_not_accessed_and_adds_no_vary(
    session_app: tuple[demijohn.Flask, list[tuple[str, bool]]],
) -> None:
    app, seen = session_app
    client = app.test_client()
    fresh = client.get("/plain")
    assert fresh.text == "plain"
    assert "Vary" not in fresh.headers
    assert "Set-Cookie" not in fresh.headers
    # A non-permanent session cookie is sent back, but nothing reads it.
    assert "Set-Cookie" in client.get("/remember").headers
    untouched = client.get("/plain")
    assert "Vary" not in untouched.headers
    assert "Set-Cookie" not in untouched.headers
    assert seen == [("view", False), ("after_request", False)] * 2


def test_refreshed_permanent_session_varies_on_cookie(
    session_app: tuple[demijohn.Flask, list[tuple[str, bool]]],
) -> None:
    app, seen = session_app
    assert app.config["SESSION_REFRESH_EACH_REQUEST"] is True  # Flask's default
    client = app.test_client()
    login = client.get("/login")
    assert login.headers["Vary"] == "Cookie"
    assert "Expires=" in login.headers["Set-Cookie"]
    # The view never reads the session, yet the response re-sets its cookie
    # (a new expiry): caches must key it on the Cookie header.
    refreshed = client.get("/plain")
    assert refreshed.text == "plain"
    assert refreshed.headers["Set-Cookie"].startswith("session=")
    assert "Expires=" in refreshed.headers["Set-Cookie"]
    assert refreshed.headers["Vary"] == "Cookie"
    assert seen == [("view", False), ("after_request", False)]


def test_permanent_session_without_refresh_sets_nothing(
    session_app: tuple[demijohn.Flask, list[tuple[str, bool]]],
) -> None:
    app, _ = session_app
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    client = app.test_client()
    assert "Set-Cookie" in client.get("/login").headers
    quiet = client.get("/plain")
    assert "Set-Cookie" not in quiet.headers
    assert "Vary" not in quiet.headers


@pytest.mark.parametrize("path", ["/read", "/contains"])
def test_reading_the_session_varies_on_cookie(
    session_app: tuple[demijohn.Flask, list[tuple[str, bool]]], path: str
) -> None:
    app, _ = session_app
    client = app.test_client()
    # Read without a cookie, then with a (non-permanent) one: never re-set.
    first = client.get(path)
    assert first.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in first.headers
    client.get("/remember")
    again = client.get(path)
    assert again.text == ("ada" if path == "/read" else "True")
    assert again.headers["Vary"] == "Cookie"
    assert "Set-Cookie" not in again.headers


def test_session_vary_joins_the_views_own(app: demijohn.Flask) -> None:
    app.secret_key = "regression-secret"

    @app.get("/")
    def index() -> demijohn.Response:
        response = demijohn.make_response(str(session.get("user")))
        response.vary.add("Accept-Encoding")
        return response

    assert app.test_client().get("/").headers["Vary"] == "Accept-Encoding, Cookie"


# -- interoperability: session cookies move between Flask and demijohn -----------------
#
# ``tests/fixtures/flask_session_cookies.json`` holds cookies signed by the real
# Flask (made by ``tools/make_flask_session_fixtures.py``). demijohn must read
# each one back to the same Python value (Flask -> demijohn), and must write the
# very same cookie for that value, byte for byte, when signing at the same second
# (demijohn -> Flask: Flask necessarily reads a cookie identical to its own).


FIXTURE = Path(__file__).parent / "fixtures" / "flask_session_cookies.json"
DATA = json.loads(FIXTURE.read_text(encoding="utf-8"))
CASES = DATA["cases"]
# The cookies carry the time they were made; they must never expire here.
LONG_LIFETIME = timedelta(days=365 * 100)


def build(node: dict[str, t.Any]) -> t.Any:
    """Rebuild a value from the fixture's typed description."""
    ((kind, data),) = node.items()
    if kind == "json":
        return data
    if kind == "markup":
        return Markup(data)
    if kind == "bytes":
        return base64.b64decode(data)
    if kind == "tuple":
        return tuple(build(item) for item in data)
    if kind == "list":
        return [build(item) for item in data]
    if kind == "dict":
        return {key: build(item) for key, item in data}
    if kind == "uuid":
        return UUID(data)
    if kind == "datetime":
        return datetime.fromisoformat(data)
    raise AssertionError(f"unknown fixture node {kind!r}")


def assert_same(actual: t.Any, expected: t.Any, path: str = "session") -> None:
    """Equal values of exactly the same types, all the way down."""
    assert type(actual) is type(expected), f"{path}: {type(actual)} != {type(expected)}"
    if isinstance(expected, dict):
        assert set(actual) == set(expected), path
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, path
        if isinstance(expected, datetime):
            assert actual.utcoffset() == expected.utcoffset(), path


@pytest.fixture
def interop_app(app: demijohn.Flask) -> demijohn.Flask:
    app.secret_key = DATA["secret_key"]
    app.config["SECRET_KEY_FALLBACKS"] = [DATA["old_secret_key"]]
    app.permanent_session_lifetime = LONG_LIFETIME
    app.session_interface = SecureCookieSessionInterface()
    return app


def test_fixture_covers_every_tag() -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    for kind in ("tuple", "bytes", "markup", "uuid", "datetime", "dict", "list"):
        assert f'"{kind}"' in text
    payloads = [case["payload"] for case in CASES]
    assert any(p.startswith(".") for p in payloads), "no compressed payload"
    assert any(case["signed_with"] == "old" for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_demijohn_reads_flask_cookies(interop_app: demijohn.Flask, case: dict[str, t.Any]) -> None:
    request = interop_app.test_request_context(
        "/", headers={"Cookie": f"session={case['cookie']}"}
    ).request
    sess = interop_app.session_interface.open_session(interop_app, request)
    assert type(sess) is SecureCookieSession
    assert sess
    assert_same(dict(sess), build(case["session"]))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_demijohn_writes_flask_payloads(
    interop_app: demijohn.Flask, case: dict[str, t.Any]
) -> None:
    expected = build(case["session"])

    @interop_app.route("/")
    def store() -> str:
        demijohn.session.update(expected)
        return ""

    client = interop_app.test_client()
    assert client.get("/").status_code == 200
    cookie = client.get_cookie("session")
    assert cookie is not None
    # Everything before the timestamp and signature is the (maybe compressed) data.
    assert cookie.value.rsplit(".", 2)[0] == case["payload"]
    # And the cookie demijohn signed verifies with the current key alone.
    interop_app.config["SECRET_KEY_FALLBACKS"] = None
    request = interop_app.test_request_context(
        "/", headers={"Cookie": f"session={cookie.value}"}
    ).request
    assert_same(dict(interop_app.session_interface.open_session(interop_app, request)), expected)  # type: ignore[arg-type]


def test_old_key_cookie_needs_the_fallback(interop_app: demijohn.Flask) -> None:
    (case,) = [c for c in CASES if c["signed_with"] == "old"]
    interop_app.config["SECRET_KEY_FALLBACKS"] = None
    request = interop_app.test_request_context(
        "/", headers={"Cookie": f"session={case['cookie']}"}
    ).request
    assert dict(interop_app.session_interface.open_session(interop_app, request)) == {}  # type: ignore[arg-type]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_demijohn_cookie_is_byte_identical_to_flasks(
    interop_app: demijohn.Flask, case: dict[str, t.Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Signed at the same second with the same key, demijohn's cookie must be
    # exactly the one Flask set: Flask then necessarily accepts it.
    timestamp = bytes_to_int(base64_decode(case["cookie"].rsplit(".", 2)[1]))
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: timestamp)
    if case["signed_with"] == "old":
        interop_app.secret_key = DATA["old_secret_key"]
    expected = build(case["session"])

    @interop_app.route("/")
    def store() -> str:
        demijohn.session.update(expected)
        return ""

    client = interop_app.test_client()
    response = client.get("/")
    assert response.headers["Set-Cookie"].startswith(f"session={case['cookie']}; ")


# -- when the session is opened ----------------------------------------------


def _count_opens(app: demijohn.Flask) -> list[str]:
    """Record each ``open_session`` of the app's (unchanged) cookie interface."""
    interface = app.session_interface
    opened: list[str] = []
    real_open = interface.open_session

    def open_session(app: demijohn.Flask, request: Request) -> t.Any:
        opened.append(request.path)
        return real_open(app, request)

    interface.open_session = open_session  # type: ignore[method-assign]
    return opened


def test_the_cookie_session_opens_when_first_used(keyed_app: demijohn.Flask) -> None:
    opened = _count_opens(keyed_app)

    @keyed_app.route("/plain")
    def plain() -> str:
        return "plain"

    @keyed_app.route("/login")
    def login() -> str:
        session["user"] = "ada"
        return "in"

    @keyed_app.route("/whoami")
    def whoami() -> str:
        return str(session.get("user"))

    client = keyed_app.test_client()
    fresh = client.get("/plain")
    assert (fresh.text, "Set-Cookie" in fresh.headers, "Vary" in fresh.headers) == (
        "plain",
        False,
        False,
    )
    assert opened == []  # no cookie, nothing read: never opened
    assert "Set-Cookie" in client.get("/login").headers
    assert client.get("/whoami").text == "ada"
    assert opened == ["/login", "/whoami"]
    # With the cookie, an untouched session is opened for the save (a
    # permanent one would be refreshed), still without Vary or a new cookie.
    untouched = client.get("/plain")
    assert ("Set-Cookie" in untouched.headers, "Vary" in untouched.headers) == (False, False)
    assert opened == ["/login", "/whoami", "/plain"]


def test_a_session_written_only_in_a_copied_context_is_saved(keyed_app: demijohn.Flask) -> None:
    @keyed_app.route("/")
    def index() -> str:
        @demijohn.copy_current_request_context
        def remember() -> None:
            session["seen"] = True

        worker = threading.Thread(target=remember)
        worker.start()
        worker.join(timeout=5)
        return "ok"

    @keyed_app.route("/seen")
    def seen() -> str:
        return str(session.get("seen"))

    client = keyed_app.test_client()
    assert "Set-Cookie" in client.get("/").headers
    assert client.get("/seen").text == "True"


def test_a_custom_interface_still_opens_the_session_on_push(keyed_app: demijohn.Flask) -> None:
    calls: list[str] = []

    class Recording(SecureCookieSessionInterface):
        def open_session(self, app: demijohn.Flask, request: Request) -> t.Any:
            calls.append(request.path)
            return super().open_session(app, request)

    keyed_app.session_interface = Recording()

    @keyed_app.route("/plain")
    def plain() -> str:
        return "plain"

    assert keyed_app.test_client().get("/plain").text == "plain"
    assert calls == ["/plain"]  # opened although the view never read it
