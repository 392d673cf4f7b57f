"""The blueprint class applications use: the registration, plus file IO.

:class:`~demijohn.sansio.blueprints.Blueprint` records routes, hooks and
handlers and replays them on an app; this :class:`Blueprint` adds what reads
files while serving (:class:`ServesFiles`, which the app class shares): the
``static`` view and :meth:`~ServesFiles.open_resource`.
"""

from __future__ import annotations

import os
import typing as t

from .globals import current_app
from .helpers import send_from_directory
from .sansio.blueprints import Blueprint as SansioBlueprint
from .sansio.blueprints import BlueprintSetupState as BlueprintSetupState
from .sansio.scaffold import Scaffold

if t.TYPE_CHECKING:
    from .wrappers import Response


class ServesFiles(Scaffold):
    """The file IO an app and a blueprint share: the ``static`` view and resources."""

    def get_send_file_max_age(self, filename: str | None) -> int | None:
        """Cache max age for a static file: ``SEND_FILE_MAX_AGE_DEFAULT`` by default.

        ``None`` (the default setting) lets browsers revalidate with
        conditional requests. Override to vary it by file.
        """
        value = current_app.config["SEND_FILE_MAX_AGE_DEFAULT"]
        if value is None:
            return None
        if not isinstance(value, int):
            return int(value.total_seconds())
        return value

    def send_static_file(self, filename: str) -> Response:
        """Serve ``filename`` from :attr:`static_folder` (the ``static`` view)."""
        if not self.has_static_folder:
            raise RuntimeError("'static_folder' must be set to serve static_files.")
        max_age = current_app.ensure_sync(self.get_send_file_max_age)(filename)
        return send_from_directory(t.cast(str, self.static_folder), filename, max_age=max_age)

    def open_resource(
        self, resource: str, mode: str = "rb", encoding: str | None = None
    ) -> t.IO[t.AnyStr]:
        """Open a file relative to :attr:`root_path` for reading.

        :param mode: ``"rb"`` (the default), ``"r"`` or ``"rt"``.
        :param encoding: the text encoding, for text modes.
        """
        if mode not in {"r", "rt", "rb"}:
            raise ValueError("Resources can only be opened for reading.")
        path = os.path.join(self.root_path, resource)
        if mode == "rb":
            return open(path, mode)
        return open(path, mode, encoding=encoding)


class Blueprint(ServesFiles, SansioBlueprint):
    """A reusable group of routes, templates, static files, hooks and commands.

    See :class:`demijohn.sansio.blueprints.Blueprint` for the parameters and
    the registration; :class:`ServesFiles` serves the blueprint's static files.
    """


__all__ = ["Blueprint", "BlueprintSetupState", "ServesFiles"]
