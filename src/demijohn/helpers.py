"""Helpers used inside views and templates: URLs, redirects, files, flashing."""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
import typing as t
from datetime import datetime
from functools import cache, update_wrapper

import werkzeug.utils
from werkzeug.exceptions import abort as _wz_abort
from werkzeug.security import safe_join
from werkzeug.utils import redirect as _wz_redirect

from .globals import _cv_app, _cv_request, current_app, request, request_ctx, session
from .signals import message_flashed

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response as BaseResponse

    from .ctx import RequestContext
    from .wrappers import Response


def get_debug_flag() -> bool:
    """Whether ``FLASK_DEBUG`` asks for debug mode (set and not ``0``/``false``/``no``)."""
    value = os.environ.get("FLASK_DEBUG")
    return bool(value and value.lower() not in {"0", "false", "no"})


def get_load_dotenv(default: bool = True) -> bool:
    """Whether dotenv files should be loaded: ``default`` unless ``FLASK_SKIP_DOTENV`` is set."""
    value = os.environ.get("FLASK_SKIP_DOTENV")
    if not value:
        return default
    return value.lower() in {"0", "false", "no"}


def stream_with_context(
    generator_or_function: t.Iterator[t.AnyStr] | t.Callable[..., t.Iterator[t.AnyStr]],
) -> t.Iterator[t.AnyStr]:
    """Keep the request context alive while a streamed response is generated.

    Wrap a generator (or decorate a generator function) returned from a view,
    so it can use ``request``, ``session`` and ``g`` after the view returned.
    The request's teardown then runs when the generator is done or closed
    (or dropped unclosed), with the exception that ended it: ``GeneratorExit``
    when it was closed before its end (the client went away).

    The request is bound around each step of the generator only, not between
    steps: nothing is left bound where the response is sent from, whichever
    door, thread or task that is.
    """
    if hasattr(type(generator_or_function), "__aiter__"):
        return _AsyncStream(generator_or_function, _streaming_request())  # type: ignore[arg-type,return-value]
    try:
        gen = iter(generator_or_function)  # type: ignore[arg-type]
    except TypeError:
        function = t.cast(t.Callable[..., t.Iterator[t.AnyStr]], generator_or_function)

        def decorator(*args: t.Any, **kwargs: t.Any) -> t.Any:
            return stream_with_context(function(*args, **kwargs))

        return update_wrapper(decorator, function)  # type: ignore[return-value]

    wrapped = _sync_stream(gen, _streaming_request())
    # Run up to the first yield now: from there on, closing the generator (or
    # dropping it) runs its ``finally``, which ends the stream.
    next(wrapped)
    return wrapped


def _streaming_request() -> RequestContext:
    """The current request, held open for a stream that starts now."""
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'stream_with_context' can only be used when a request"
            " context is active, such as in a view function."
        )
    ctx._hold_for_stream()
    return ctx


def _sync_stream(gen: t.Iterator[t.Any], ctx: RequestContext) -> t.Iterator[t.Any]:
    """``gen``'s items, each made with the request bound; the stream's end releases it."""
    error: BaseException | None = None
    try:
        yield None
        while True:
            tokens = ctx._enter_for_stream()
            try:
                item = next(gen)
            except StopIteration:
                return
            finally:
                ctx._leave_for_stream(tokens)
            yield item
    except BaseException as e:
        error = e  # ``GeneratorExit`` when closed early, as Flask's teardown sees it
        raise
    finally:
        try:
            close = getattr(gen, "close", None)
            if close is not None:
                # Its ``finally`` blocks may use the request too.
                tokens = ctx._enter_for_stream()
                try:
                    close()
                finally:
                    ctx._leave_for_stream(tokens)
        finally:
            ctx._release_stream(error)
            del error  # this frame is in its traceback: no cycle through the local


class _AsyncStream:
    """An async iterable that keeps the request open until it is closed.

    Made by :func:`stream_with_context` for an async generator. Each step of
    the generator (and its closing) runs with the request and its app context
    bound, in whichever task or context the door iterates it; the request's
    teardown waits for :meth:`close` (each door calls it through the
    response), or for the stream being dropped unclosed.
    """

    def __init__(self, iterable: t.AsyncIterable[t.Any], ctx: RequestContext) -> None:
        self._iterator: t.AsyncIterator[t.Any] = aiter(iterable)
        self._ctx: RequestContext | None = ctx
        self._exhausted = False
        self._error: BaseException | None = None

    def __aiter__(self) -> _AsyncStream:
        return self

    async def __anext__(self) -> t.Any:
        ctx = self._ctx
        if ctx is None:
            raise StopAsyncIteration
        tokens = ctx._enter_for_stream()
        try:
            return await anext(self._iterator)
        except StopAsyncIteration:
            self._exhausted = True
            raise
        except Exception as e:  # not a cancellation: that is the stream closed early
            self._error = e
            raise
        finally:
            ctx._leave_for_stream(tokens)
            # The error leaving here may end up in a reference cycle (a task
            # holding it, its traceback holding the task's caller); this
            # frame then must not keep the request (and the app) in it.
            del ctx, tokens

    async def aclose(self) -> None:
        """Close the wrapped generator (its ``finally`` blocks run, with the request bound)."""
        aclose = getattr(self._iterator, "aclose", None)
        ctx = self._ctx
        if aclose is None or ctx is None:
            return
        tokens = ctx._enter_for_stream()
        try:
            await aclose()
        finally:
            ctx._leave_for_stream(tokens)

    def close(self) -> None:
        """End the stream: the request's teardown runs, unless the pipeline is still on.

        Idempotent.
        """
        ctx, self._ctx = self._ctx, None
        if ctx is None:
            return
        error, self._error = self._error, None
        if error is None and not self._exhausted:
            error = GeneratorExit()  # closed before its end, as for a sync stream
        ctx._release_stream(error)

    def __del__(self) -> None:
        # Dropped without being closed (a server that neither iterates nor
        # closes the body): the request must still be torn down, once.
        if self._ctx is not None:
            self.close()


def make_response(*args: t.Any) -> Response:
    """Turn a view's return value into a response object, to add headers to it.

    With no arguments, returns an empty response; with one, converts it; with
    several, converts them as a tuple (``body, status, headers``).
    """
    if not args:
        return current_app.response_class()
    if len(args) == 1:
        args = args[0]
    return current_app.make_response(args)


def url_for(
    endpoint: str,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: t.Any,
) -> str:
    """Build the URL for ``endpoint`` with the given values.

    Values that are not part of the rule become the query string. Inside a
    blueprint, ``".name"`` names an endpoint of the current blueprint. See
    :meth:`Flask.url_for`.
    """
    return current_app.url_for(
        endpoint,
        _anchor=_anchor,
        _method=_method,
        _scheme=_scheme,
        _external=_external,
        **values,
    )


def redirect(
    location: str, code: int = 302, Response: type[BaseResponse] | None = None
) -> BaseResponse:
    """Return a redirect response to ``location`` (301, 302, 303, 307 or 308).

    Inside an app context this is :meth:`Flask.redirect`, which uses the app's
    response class.
    """
    ctx = _cv_app.get(None)
    if ctx is not None:
        return ctx.app.redirect(location, code=code)
    return _wz_redirect(location, code=code, Response=Response)


def abort(code: int | BaseResponse, *args: t.Any, **kwargs: t.Any) -> t.NoReturn:
    """Raise the :class:`~werkzeug.exceptions.HTTPException` for a status code.

    Given a response object instead, raise it as-is to end the request.
    """
    ctx = _cv_app.get(None)
    if ctx is not None:
        ctx.app.aborter(code, *args, **kwargs)
    _wz_abort(code, *args, **kwargs)


def get_template_attribute(template_name: str, attribute: str) -> t.Any:
    """Load a macro (or variable) exported by a template, to call it from Python."""
    return getattr(current_app.jinja_env.get_template(template_name).module, attribute)


def flash(message: str, category: str = "message") -> None:
    """Store a message in the session to show on the next page.

    :param category: e.g. ``"message"``, ``"error"``, ``"info"``, ``"warning"``.
    """
    # Re-assign rather than append in place, so the session notices the change.
    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    if message_flashed.receivers:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        message_flashed.send(
            app, _async_wrapper=app.ensure_sync, message=message, category=category
        )


def get_flashed_messages(
    with_categories: bool = False, category_filter: t.Iterable[str] = ()
) -> list[str] | list[tuple[str, str]]:
    """Pop the flashed messages from the session (once per request).

    :param with_categories: return ``(category, message)`` tuples.
    :param category_filter: only return messages of these categories.
    """
    flashes = request_ctx.flashes
    if flashes is None:
        flashes = session.pop("_flashes") if "_flashes" in session else []
        request_ctx.flashes = flashes
    if category_filter:
        wanted = set(category_filter)
        flashes = [item for item in flashes if item[0] in wanted]
    if not with_categories:
        return [message for _, message in flashes]
    return flashes


def _prepare_send_file_kwargs(**kwargs: t.Any) -> dict[str, t.Any]:
    if kwargs.get("max_age") is None:
        kwargs["max_age"] = current_app.get_send_file_max_age
    kwargs.update(
        environ=request.environ,
        use_x_sendfile=current_app.config["USE_X_SENDFILE"],
        response_class=current_app.response_class,
        _root_path=current_app.root_path,
    )
    return kwargs


def send_file(
    path_or_file: os.PathLike[t.AnyStr] | str | t.BinaryIO,
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: int | t.Callable[[str | None], int | None] | None = None,
) -> Response:
    """Send a file (a path relative to the app's root, or a binary file object).

    Supports conditional requests (304) and ranges (206) by default. See
    :func:`werkzeug.utils.send_file` for the parameters.
    """
    return werkzeug.utils.send_file(  # type: ignore[return-value]
        **_prepare_send_file_kwargs(
            path_or_file=path_or_file,
            mimetype=mimetype,
            as_attachment=as_attachment,
            download_name=download_name,
            conditional=conditional,
            etag=etag,
            last_modified=last_modified,
            max_age=max_age,
        )
    )


def send_from_directory(
    directory: os.PathLike[str] | str, path: os.PathLike[str] | str, **kwargs: t.Any
) -> Response:
    """Send a file from inside ``directory``; a path escaping it gives a 404.

    Use it for paths that come from the client; extra arguments go to
    :func:`send_file`.
    """
    return werkzeug.utils.send_from_directory(  # type: ignore[return-value]
        directory, path, **_prepare_send_file_kwargs(**kwargs)
    )


def _static_file_version(folder: str, filename: str) -> int | None:
    """The version of a static file for its URL: its mtime in whole seconds.

    ``None`` for a name escaping ``folder``, or a missing or non-regular file.
    """
    path = safe_join(folder, filename)
    if path is None:
        return None
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return int(st.st_mtime)


def _static_url_version(folder: str, filename: str) -> int | None:
    """:func:`_static_file_version`, looked up at most once per request and file.

    A page often links the same asset several times (layout, partials,
    macros); the next request sees edits.
    """
    req_ctx = _cv_request.get(None)
    if req_ctx is None:
        return _static_file_version(folder, filename)
    cache = req_ctx._static_versions
    if cache is None:
        cache = req_ctx._static_versions = {}
    key = (folder, filename)
    try:
        return cache[key]
    except KeyError:
        version = cache[key] = _static_file_version(folder, filename)
        return version


def get_root_path(import_name: str) -> str:
    """The folder of a module or package, found without importing it if possible.

    Falls back to the current working directory for modules without a file
    (the interactive interpreter).
    """
    module = sys.modules.get(import_name)
    module_file: str | None = getattr(module, "__file__", None)
    if module_file is not None:
        return os.path.dirname(os.path.abspath(module_file))

    try:
        spec = importlib.util.find_spec(import_name)
    except (ImportError, ValueError):
        spec = None
    loader = spec.loader if spec is not None else None
    if loader is None:
        return os.getcwd()

    get_filename = getattr(loader, "get_filename", None)
    if get_filename is not None:
        filepath = get_filename(import_name)
    else:
        __import__(import_name)
        filepath = getattr(sys.modules[import_name], "__file__", None)
        if filepath is None:
            raise RuntimeError(
                "No root path can be found for the provided module"
                f" {import_name!r}. This can happen because the module"
                " came from an import hook that does not provide file"
                " name information or because it's a namespace package."
                " In this case the root path needs to be explicitly provided."
            )
    return os.path.dirname(os.path.abspath(t.cast(str, filepath)))


@cache
def _split_blueprint_path(name: str) -> tuple[str, ...]:
    """``"a.b.c"`` -> ``("a.b.c", "a.b", "a")``: a blueprint and its parents."""
    out = [name]
    while "." in name:
        name = name.rpartition(".")[0]
        out.append(name)
    return tuple(out)
