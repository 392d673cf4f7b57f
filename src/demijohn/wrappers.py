"""The request and response classes: Werkzeug's, aware of the current app.

Limits and sizes that Werkzeug keeps as class attributes are read from the
active application's config here, so one ``Request`` class serves every app.
"""

from __future__ import annotations

import typing as t

from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wrappers import Request as RequestBase
from werkzeug.wrappers import Response as ResponseBase
from werkzeug.wsgi import ClosingIterator, LimitedStream

from . import json
from .globals import _cv_app
from .helpers import _split_blueprint_path

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from werkzeug.routing import Rule


def _config_limit(name: str, own: int | None, fallback: int | None) -> int | None:
    if own is not None:
        return own
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.config[name]  # type: ignore[no-any-return]
    return fallback


class _BoundedInput(LimitedStream):
    """A server-terminated body (chunked, or from the ASGI door) held to ``limit``.

    Werkzeug's own max-length stream stops quietly at the limit when read to
    the end, so a body longer than ``MAX_CONTENT_LENGTH`` would come back
    truncated from ``get_data()``; this one reads one byte past the limit and
    answers 413 instead, never holding more than that.
    """

    def __init__(self, stream: t.IO[bytes], limit: int) -> None:
        super().__init__(stream, limit + 1, is_max=True)
        self._max = limit

    def readinto(self, b: bytearray) -> int | None:  # type: ignore[override]
        size = super().readinto(b)
        if self.tell() > self._max:
            raise RequestEntityTooLarge()
        return size


class Request(RequestBase):
    """The request object: :class:`werkzeug.wrappers.Request` plus routing data.

    ``url_rule``, ``view_args`` and ``routing_exception`` are filled in when the
    request context matches the URL.
    """

    #: The module used to parse JSON bodies; it defers to ``app.json``.
    json_module: t.Any = json

    #: The :class:`~werkzeug.routing.Rule` that matched, if any.
    url_rule: Rule | None = None
    #: The values captured by the matched rule, if any.
    view_args: dict[str, t.Any] | None = None
    #: The HTTP exception matching raised (404, 405, a redirect), if any.
    routing_exception: HTTPException | None = None

    _max_content_length: int | None = None
    _max_form_memory_size: int | None = None
    _max_form_parts: int | None = None

    @property
    def max_content_length(self) -> int | None:
        """The largest body accepted, from ``MAX_CONTENT_LENGTH`` unless set here."""
        return _config_limit("MAX_CONTENT_LENGTH", self._max_content_length, None)

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:
        """The largest non-file form field, from ``MAX_FORM_MEMORY_SIZE`` unless set here."""
        return _config_limit("MAX_FORM_MEMORY_SIZE", self._max_form_memory_size, 500_000)

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value

    @property  # type: ignore[override]
    def max_form_parts(self) -> int | None:
        """The most multipart parts parsed, from ``MAX_FORM_PARTS`` unless set here."""
        return _config_limit("MAX_FORM_PARTS", self._max_form_parts, 1000)

    @max_form_parts.setter
    def max_form_parts(self, value: int | None) -> None:
        self._max_form_parts = value

    @cached_property
    def stream(self) -> t.IO[bytes]:
        """The body stream, guarded by ``content_length`` and :attr:`max_content_length`."""
        limit = self.max_content_length
        if limit is None or self.shallow or not self.environ.get("wsgi.input_terminated"):
            return super().stream
        length = self.content_length
        if length is not None and length > limit:
            raise RequestEntityTooLarge()
        return t.cast(t.IO[bytes], _BoundedInput(self.environ["wsgi.input"], limit))

    @property
    def endpoint(self) -> str | None:
        """The endpoint of the matched rule, or ``None``."""
        rule = self.url_rule
        return rule.endpoint if rule is not None else None

    @property
    def blueprint(self) -> str | None:
        """The dotted name of the blueprint the endpoint belongs to, or ``None``."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The current blueprint and its parents, innermost first."""
        name = self.blueprint
        if name is None:
            return []
        return list(_split_blueprint_path(name))

    def _load_form_data(self) -> None:
        super()._load_form_data()
        # In debug mode, make ``request.files[key]`` explain the missing enctype
        # instead of raising a bare KeyError.
        ctx = _cv_app.get(None)
        if (
            ctx is not None
            and ctx.app.debug
            and self.mimetype != "multipart/form-data"
            and not self.files
        ):
            from .debughelpers import attach_enctype_error_multidict

            attach_enctype_error_multidict(self)

    def close(self) -> None:
        """Close the uploaded files, if the form was parsed."""
        # Only parsed uploads hold resources; most requests never parse a form.
        if "files" in self.__dict__:
            super().close()

    def on_json_loading_failed(self, e: ValueError | None) -> t.Any:
        """Raise a 400 for a malformed body; the parser's message only in debug."""
        try:
            return super().on_json_loading_failed(e)
        except BadRequest as bad:
            ctx = _cv_app.get(None)
            if ctx is not None and ctx.app.debug:
                raise
            raise BadRequest() from bad


class Response(ResponseBase):
    """The response object: :class:`werkzeug.wrappers.Response` with HTML as default."""

    default_mimetype: str | None = "text/html"
    #: The module used by :attr:`json`; it defers to ``app.json``.
    json_module: t.Any = json
    # Redirect targets are sent as given: relative stays relative, as in Flask.
    autocorrect_location_header = False

    @property
    def max_cookie_size(self) -> int:  # type: ignore[override]
        """The largest cookie allowed, from ``MAX_COOKIE_SIZE`` in an app context."""
        ctx = _cv_app.get(None)
        if ctx is not None:
            return ctx.app.config["MAX_COOKIE_SIZE"]  # type: ignore[no-any-return]
        return super().max_cookie_size

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        """Send the response (WSGI). A buffered 2xx body takes a short path.

        Werkzeug's general path copies the headers and re-checks the body to
        fix up ``Location``, ``Content-Length`` and bodiless statuses. A body
        set with ``set_data`` (a list holding one ``bytes``, its length already
        in ``Content-Length``) with a 2xx status other than 204, for a request
        other than ``HEAD``, needs none of that: the result is the same.
        """
        body = self.response
        code = self.status_code
        if (
            type(body) is list
            and len(body) == 1
            and type(body[0]) is bytes
            and 200 <= code < 300
            and code != 204
            and not self.direct_passthrough
            and environ.get("REQUEST_METHOD") != "HEAD"
        ):
            # One pass over the headers (``in`` on Headers raises and catches
            # a KeyError per miss).
            header_list = self.headers.to_wsgi_list()
            has_length = False
            for name, _ in header_list:
                lower = name.lower()
                if lower == "content-length":
                    has_length = True
                elif lower == "location" or lower == "content-location":
                    break
            else:
                if has_length:
                    start_response(self.status, header_list)
                    return ClosingIterator(body, self.close)
        return super().__call__(environ, start_response)

