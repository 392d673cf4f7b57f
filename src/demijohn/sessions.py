"""Sessions: per-client data kept across requests.

The default :class:`SecureCookieSessionInterface` stores the session in a
cookie signed with ``SECRET_KEY`` (readable by the client, but not alterable).
Its format is Flask's, so cookies move freely between Flask and demijohn apps
that share a key. Set :attr:`Flask.session_interface
<demijohn.Flask.session_interface>` to a :class:`SessionInterface` subclass to
store sessions elsewhere.
"""

from __future__ import annotations

import collections.abc as cabc
import hashlib
import logging
import typing as t
from datetime import UTC, datetime, timedelta

from itsdangerous import BadData, Signer, TimestampSigner, URLSafeTimedSerializer
from werkzeug.datastructures import CallbackDict

from ._overrides import overrides
from .json.tag import TaggedJSONSerializer

if t.TYPE_CHECKING:
    from .app import Flask
    from .wrappers import Request, Response

__all__ = [
    "NullSession",
    "SecureCookieSession",
    "SecureCookieSessionInterface",
    "SessionInterface",
    "SessionMixin",
    "session_json_serializer",
]

_logger = logging.getLogger(__name__)


class SessionMixin(cabc.MutableMapping[str, t.Any]):
    """The session attributes, added to a mapping (``dict``, ``CallbackDict``...).

    A mixin without state of its own: session classes combine it with the
    mapping type that holds their data.
    """

    @property
    def permanent(self) -> bool:
        """Whether the session outlives the browser session, stored as the
        ``"_permanent"`` key. A permanent session cookie expires after
        :attr:`~demijohn.Flask.permanent_session_lifetime`."""
        return bool(self.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    #: Whether the session was just created. Not every backend can tell; the
    #: default is ``False``.
    new = False

    #: Whether the session changed and must be saved. Backends that track
    #: changes set it; the mixin's default is ``True`` (always save).
    modified = True

    #: Whether the session was read or written; if so the response gets
    #: ``Vary: Cookie``. Backends that track reads set it; the mixin's default
    #: is ``True``.
    accessed = True


def _mark_updated(session: SecureCookieSession) -> None:
    session.modified = True
    session.accessed = True


class SecureCookieSession(CallbackDict[str, t.Any], SessionMixin):
    """The session of :class:`SecureCookieSessionInterface`: a dict that
    tracks changes (:attr:`modified`) and reads (:attr:`accessed`).

    Only the session itself is tracked: after changing a mutable value in
    place (``session["cart"].append(x)``), set ``session.modified = True``.
    """

    #: Set when the session's own items change; the cookie is written only then
    #: (or on every request for a permanent session with
    #: ``SESSION_REFRESH_EACH_REQUEST``).
    modified = False

    #: Set when the session is read or written.
    accessed = False

    def __init__(self, initial: cabc.Mapping[str, t.Any] | None = None) -> None:
        super().__init__(initial, _mark_updated)

    def __getitem__(self, key: str) -> t.Any:
        self.accessed = True
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        # A membership test reads the session too: responses that depend on it
        # must carry ``Vary: Cookie``.
        self.accessed = True
        return super().__contains__(key)

    def get(self, key: str, default: t.Any = None) -> t.Any:
        """Return the value for ``key``, or ``default``."""
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: str, default: t.Any = None) -> t.Any:
        """Return the value for ``key``, storing ``default`` first if missing."""
        self.accessed = True
        return super().setdefault(key, default)


class NullSession(SecureCookieSession):
    """The session used when no secret key is set: an empty session that
    can be read, and explains the missing key on any write."""

    def _fail(self, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
        # Flask's exact wording (two spaces included): users search for it.
        raise RuntimeError(
            "The session is unavailable because no secret key was set.  Set the"
            " secret_key on the application to something unique and secret."
        )

    __setitem__ = __delitem__ = clear = pop = popitem = update = setdefault = __ior__ = _fail
    del _fail


class SessionInterface:
    """The interface between an app and where its sessions are stored.

    Subclass it, implement :meth:`open_session` and :meth:`save_session`, and
    set an instance as :attr:`Flask.session_interface
    <demijohn.Flask.session_interface>`. The session object is any mapping
    that includes :class:`SessionMixin`, for example::

        class Session(dict, SessionMixin):
            pass

    When :meth:`open_session` returns ``None``, the request gets a
    :meth:`null session <make_null_session>`: empty, read-only, and never saved.
    Both methods run for every request; they must be thread-safe.
    """

    #: The class :meth:`make_null_session` instantiates.
    null_session_class: type[SessionMixin] = NullSession

    #: Whether the backend pickles sessions; pickle-based sessions are
    #: unsafe to combine with untrusted data. Informational only.
    pickle_based = False

    def make_null_session(self, app: Flask) -> NullSession:
        """Return the session used when none could be opened (no secret key).

        :param app: The application.
        """
        return self.null_session_class()  # type: ignore[return-value]

    def is_null_session(self, obj: object) -> bool:
        """Whether ``obj`` is a null session (which is never saved)."""
        null_class = self.null_session_class
        obj_type = type(obj)
        if obj_type is null_class:
            return True
        if obj_type is SecureCookieSession and null_class is NullSession:
            # The usual answer, without the ABC machinery behind isinstance.
            return False
        return isinstance(obj, null_class)

    def get_cookie_name(self, app: Flask) -> str:
        """The session cookie's name: ``SESSION_COOKIE_NAME``."""
        return app.config["SESSION_COOKIE_NAME"]  # type: ignore[no-any-return]

    def get_cookie_domain(self, app: Flask) -> str | None:
        """The cookie's ``Domain``: ``SESSION_COOKIE_DOMAIN``. When unset the
        browser sends the cookie back only to the host that set it; when set,
        to that domain's subdomains too."""
        return app.config["SESSION_COOKIE_DOMAIN"]  # type: ignore[no-any-return]

    def get_cookie_path(self, app: Flask) -> str:
        """The cookie's ``Path``: ``SESSION_COOKIE_PATH``, else ``APPLICATION_ROOT``."""
        return app.config["SESSION_COOKIE_PATH"] or app.config["APPLICATION_ROOT"]  # type: ignore[no-any-return]

    def get_cookie_httponly(self, app: Flask) -> bool:
        """Whether the cookie is ``HttpOnly`` (hidden from JavaScript):
        ``SESSION_COOKIE_HTTPONLY``."""
        return app.config["SESSION_COOKIE_HTTPONLY"]  # type: ignore[no-any-return]

    def get_cookie_secure(self, app: Flask) -> bool:
        """Whether the cookie is ``Secure`` (HTTPS only): ``SESSION_COOKIE_SECURE``."""
        return app.config["SESSION_COOKIE_SECURE"]  # type: ignore[no-any-return]

    def get_cookie_samesite(self, app: Flask) -> str | None:
        """The cookie's ``SameSite`` (``"Strict"``, ``"Lax"``, ``"None"`` or
        unset): ``SESSION_COOKIE_SAMESITE``."""
        return app.config["SESSION_COOKIE_SAMESITE"]  # type: ignore[no-any-return]

    def get_cookie_partitioned(self, app: Flask) -> bool:
        """Whether the cookie is ``Partitioned`` (CHIPS):
        ``SESSION_COOKIE_PARTITIONED``."""
        return app.config["SESSION_COOKIE_PARTITIONED"]  # type: ignore[no-any-return]

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        """When the cookie expires: now plus
        :attr:`~demijohn.Flask.permanent_session_lifetime` for a permanent
        session, ``None`` (end of the browser session) otherwise."""
        if session.permanent:
            lifetime: timedelta = app.permanent_session_lifetime
            return datetime.now(UTC) + lifetime
        return None

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        """Whether :meth:`save_session` sends the cookie: when the session was
        modified, or is permanent and ``SESSION_REFRESH_EACH_REQUEST`` is on
        (which renews its expiry). Not consulted when the session was emptied:
        then the cookie is deleted."""
        return bool(
            session.modified or (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"])
        )

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        """Load the session for ``request``, at the start of the request.

        Return a :class:`SessionMixin` mapping, or ``None`` when sessions are
        unavailable (the app then uses :meth:`make_null_session`). The request
        context is already pushed, so ``request`` and ``g`` work here.
        """
        raise NotImplementedError()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Persist ``session`` and update ``response`` (cookie, headers), at
        the end of the request, after the ``after_request`` functions. Not
        called for a null session."""
        raise NotImplementedError()


#: The serializer of session cookies (tagged JSON, Flask's format).
session_json_serializer = TaggedJSONSerializer()

_SerializerKey = tuple[t.Any, ...]


class _KeyCachingSigner(TimestampSigner):
    """A :class:`~itsdangerous.TimestampSigner` that derives each key once.

    The stock signer runs its key derivation (an HMAC of the salt) on every
    sign and every verify; the derived keys depend only on the secret keys
    and settings fixed at construction.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        derived: dict[str | bytes | None, bytes] = {}
        for secret_key in self.secret_keys:
            derived[secret_key] = super().derive_key(secret_key)
        # ``None`` means the newest key, as in the stock signer.
        derived[None] = derived[self.secret_keys[-1]]
        self._derived = derived

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        """The derived key for ``secret_key`` (the newest key if ``None``)."""
        try:
            return self._derived[secret_key]
        except KeyError:
            return super().derive_key(secret_key)


class _SessionSerializer(URLSafeTimedSerializer):
    """A :class:`~itsdangerous.URLSafeTimedSerializer` that reuses its signer.

    Signers keep no state between uses, and the stock serializer builds a
    new one for every ``dumps`` and ``loads``.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, signer=_KeyCachingSigner, **kwargs)
        self._signer = super().make_signer()

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        """The signer for ``salt``: the one built at construction for the default."""
        # ``iter_unsigners`` passes the default salt itself, ``dumps`` None.
        if salt is None or salt is self.salt:
            return self._signer
        return super().make_signer(salt)


# Serializers cached per interface are bounded: a key per app and secret.
_SERIALIZER_CACHE_SIZE = 16


class SecureCookieSessionInterface(SessionInterface):
    """Sessions stored in a cookie, signed with ``SECRET_KEY`` by
    :mod:`itsdangerous`.

    The cookie holds the data in the clear (signed, not encrypted). Keys in
    ``SECRET_KEY_FALLBACKS`` still verify old cookies; new ones are always
    signed with ``SECRET_KEY``. Cookies older than
    :attr:`~demijohn.Flask.permanent_session_lifetime`, or with a bad
    signature, are ignored: the request gets an empty session.
    """

    #: The salt mixed into the signing key, so the signature is specific to
    #: sessions.
    salt = "cookie-session"
    #: The hash function of the signature.
    digest_method = staticmethod(hashlib.sha1)
    #: How the signing key is derived from the secret key (itsdangerous names).
    key_derivation = "hmac"
    #: Converts the session to and from a string before signing.
    serializer: t.Any = session_json_serializer
    #: The class of opened sessions.
    session_class = SecureCookieSession

    # Built lazily (subclasses need not call ``__init__``); see
    # ``get_signing_serializer``.
    _serializers: dict[_SerializerKey, URLSafeTimedSerializer] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """The :class:`~itsdangerous.URLSafeTimedSerializer` for ``app``'s keys,
        or ``None`` when it has no secret key.

        Serializers are reused across requests while the keys (and this
        interface's settings) stay the same.
        """
        secret_key = app.secret_key
        if not secret_key:
            return None
        fallbacks = app.config["SECRET_KEY_FALLBACKS"]
        key: _SerializerKey = (
            secret_key,
            tuple(fallbacks) if fallbacks else (),
            self.salt,
            self.serializer,
            self.key_derivation,
            self.digest_method,
        )
        cache = self._serializers
        if cache is None:
            cache = self._serializers = {}
        try:
            return cache[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable setting: build a fresh one each time
            return self._make_serializer(secret_key, fallbacks)
        serializer = self._make_serializer(secret_key, fallbacks)
        if len(cache) >= _SERIALIZER_CACHE_SIZE:
            cache.clear()
        cache[key] = serializer
        return serializer

    def _make_serializer(
        self, secret_key: str | bytes, fallbacks: cabc.Iterable[str | bytes] | None
    ) -> URLSafeTimedSerializer:
        # itsdangerous signs with the last key and verifies with all of them.
        keys: list[str | bytes] = [*(fallbacks or ()), secret_key]
        return _SessionSerializer(
            keys,
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )

    def _builds_own_serializer(self) -> bool:
        return not overrides(self, SecureCookieSessionInterface, "get_signing_serializer")

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """Load the session from the request's cookie.

        ``None`` without a secret key; an empty session when there is no
        cookie or it is invalid, tampered with, or expired.
        """
        if self._builds_own_serializer():
            # Most requests carry no session cookie: decide that before
            # touching the serializer at all.
            if not app.secret_key:
                return None
            if "HTTP_COOKIE" not in request.environ:
                # No Cookie header at all: skip parsing an empty one.
                return self.session_class()
            value = request.cookies.get(self.get_cookie_name(app))
            if not value:
                return self.session_class()
            s = self.get_signing_serializer(app)
        else:
            s = self.get_signing_serializer(app)
            if s is None:
                return None
            value = request.cookies.get(self.get_cookie_name(app))
            if not value:
                return self.session_class()
        assert s is not None
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = s.loads(value, max_age=max_age)
        except BadData as e:
            # Routine (an old key, an expired cookie, a forged one): the client
            # gets a fresh session, the log gets a note.
            _logger.debug("Ignoring session cookie: %s", e)
            return self.session_class()
        if not isinstance(data, dict):
            _logger.debug("Ignoring session cookie: not an object (%s)", type(data).__name__)
            return self.session_class()
        return self.session_class(data)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Write the session to the response's cookie, when needed.

        Adds ``Vary: Cookie`` when the session was accessed; deletes the
        cookie when the session was emptied; otherwise sets it if
        :meth:`should_set_cookie` says so.
        """
        # Read once, now: ``should_set_cookie`` below reads ``permanent``,
        # which marks the session accessed as a side effect.
        vary_added = session.accessed
        if vary_added:
            response.vary.add("Cookie")

        if not session:
            if session.modified:
                response.delete_cookie(
                    self.get_cookie_name(app),
                    domain=self.get_cookie_domain(app),
                    path=self.get_cookie_path(app),
                    secure=self.get_cookie_secure(app),
                    partitioned=self.get_cookie_partitioned(app),
                    samesite=self.get_cookie_samesite(app),
                    httponly=self.get_cookie_httponly(app),
                )
                if not vary_added:
                    response.vary.add("Cookie")
            return

        if not self.should_set_cookie(app, session):
            return

        s = self.get_signing_serializer(app)
        if s is None:
            # Without a key no session opens; this is one built by hand.
            raise RuntimeError(
                "The session cannot be saved because no secret key was set. Set the"
                " secret_key on the application to something unique and secret."
            )
        expires = self.get_expiration_time(app, session)
        value = s.dumps(dict(session))
        response.set_cookie(
            self.get_cookie_name(app),
            value,
            expires=expires,
            httponly=self.get_cookie_httponly(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            partitioned=self.get_cookie_partitioned(app),
            samesite=self.get_cookie_samesite(app),
        )
        # A response that sets the cookie depends on it, even from a view that
        # never read the session (a permanent session refreshed each request).
        # Added above already when accessed (parsing Vary again is not free).
        if not vary_added:
            response.vary.add("Cookie")


def opens_on_first_use(interface: SessionInterface) -> bool:
    """Whether a request's session may be opened when first used rather than on push.

    True for the default cookie interface, unchanged. There, a session that
    nobody touched and that no cookie came for is never saved (nothing to
    write, nothing to refresh), so a request that never reads it need not
    open it at all; :meth:`~demijohn.ctx.RequestContext.session_to_save`
    opens it at the end when a cookie did come, so it is refreshed as usual.
    """
    return (
        type(interface) is SecureCookieSessionInterface
        and interface.session_class is SecureCookieSession
    )
