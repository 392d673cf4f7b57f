"""Errors and log messages that explain common mistakes, used in debug mode."""

from __future__ import annotations

import typing as t

from jinja2.loaders import BaseLoader
from werkzeug.routing import RequestRedirect

from .wrappers import Request

if t.TYPE_CHECKING:
    from .sansio.app import App
    from .sansio.scaffold import Scaffold


class UnexpectedUnicodeError(AssertionError, UnicodeError):
    """Raised where a byte string was expected and text was given."""


class DebugFilesKeyError(KeyError, AssertionError):
    """``request.files[key]`` failed because the form was not sent as multipart.

    Only raised in debug mode: the plain ``KeyError`` would be a 400 with
    no hint that the ``<form>`` lacks ``enctype="multipart/form-data"``.
    """

    def __init__(self, request: Request, key: str) -> None:
        form_values = request.form.getlist(key)
        message = [
            f"You tried to access the file {key!r} in the request.files"
            " dictionary but it does not exist. The mimetype for the request"
            f" is {request.mimetype!r} instead of 'multipart/form-data' which"
            " means that no file contents were transmitted. To fix this error"
            ' you should provide enctype="multipart/form-data" in your form.'
        ]
        if form_values:
            names = ", ".join(repr(value) for value in form_values)
            message.append(
                f"\n\nThe browser instead transmitted some file names. This was submitted: {names}"
            )
        self.msg = "".join(message)

    def __str__(self) -> str:
        return self.msg


class FormDataRoutingRedirect(AssertionError):
    """A routing redirect would have dropped a form body (debug mode only).

    Browsers turn a 301/302 after a POST into a GET without the body, so a
    missing trailing slash silently loses the form. Werkzeug answers with a
    308 in that case; this error is only seen for other redirect codes.
    """

    def __init__(self, request: Request) -> None:
        exc = request.routing_exception
        assert isinstance(exc, RequestRedirect)
        message = [
            f"A request was sent to '{request.url}', but routing issued"
            f" a redirect to the canonical URL '{exc.new_url}'."
        ]
        if f"{request.base_url}/" == exc.new_url.partition("?")[0]:
            message.append(
                " The URL was defined with a trailing slash. Flask"
                " will redirect to the URL with a trailing slash if it"
                " was accessed without one."
            )
        message.append(
            " Send requests to the canonical URL, or use 307 or 308 for"
            " routing redirects. Otherwise, browsers will drop form"
            " data.\n\nThis exception is only raised in debug mode."
        )
        super().__init__("".join(message))


def attach_enctype_error_multidict(request: Request) -> None:
    """Make ``request.files[key]`` raise :class:`DebugFilesKeyError` for a missing key."""
    original = request.files.__class__

    class FilesWithHint(original):  # type: ignore[valid-type, misc]
        def __getitem__(self, key: str) -> t.Any:
            try:
                return super().__getitem__(key)
            except KeyError as e:
                if key not in request.form:
                    raise
                raise DebugFilesKeyError(request, key).with_traceback(e.__traceback__) from None

    FilesWithHint.__name__ = original.__name__
    FilesWithHint.__module__ = original.__module__
    request.files.__class__ = FilesWithHint


def _describe_loader(loader: BaseLoader) -> t.Iterator[str]:
    yield f"class: {type(loader).__module__}.{type(loader).__name__}"
    for key, value in sorted(loader.__dict__.items()):
        if key.startswith("_"):
            continue
        if isinstance(value, tuple | list):
            if not all(isinstance(x, str) for x in value):
                continue
            yield f"{key}:"
            for item in value:
                yield f"  - {item}"
            continue
        if isinstance(value, str | int | float | bool):
            yield f"{key}: {value!r}"


def explain_template_loading_attempts(
    app: App,
    template: str,
    attempts: list[tuple[BaseLoader, Scaffold, tuple[str, str | None, t.Any] | None]],
) -> None:
    """Log, at info level, every loader tried for ``template`` and what it found.

    Written for ``EXPLAIN_TEMPLATE_LOADING``: it lists the app's and each
    blueprint's loader in search order, marks the match, and warns when a
    template exists more than once (the first one wins).
    """
    from .globals import _cv_request

    lines = [f"Locating template {template!r}:"]
    total_found = 0
    blueprint = None
    req_ctx = _cv_request.get(None)
    if req_ctx is not None and req_ctx.request.blueprint is not None:
        blueprint = req_ctx.request.blueprint

    for idx, (loader, owner, result) in enumerate(attempts, start=1):
        from .blueprints import Blueprint

        if isinstance(owner, Blueprint):
            source = f"blueprint {owner.name!r} ({owner.import_name})"
        else:
            source = f"application {owner.import_name!r}"
        lines.append(f"{idx:5}: trying loader of {source}")
        lines.extend(f"       {line}" for line in _describe_loader(loader))
        if result is None:
            detail = "no match"
        else:
            total_found += 1
            detail = f"found ({result[1] or '<string>'!r})"
        lines.append(f"       -> {detail}")

    if total_found == 0:
        lines.append("Error: the template could not be found.")
        if blueprint is not None:
            lines.append(
                f"  The template was looked up from an endpoint that belongs"
                f" to the blueprint {blueprint!r}."
            )
            lines.append("  Maybe you did not place a template in the right folder?")
    elif total_found > 1:
        lines.append("Warning: multiple loaders returned a match for the template.")
        lines.append("  The first match is used; the others are shadowed.")

    lines.append("  See https://flask.palletsprojects.com/blueprints/#templates")
    app.logger.info("\n".join(lines))
