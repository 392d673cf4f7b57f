"""The ``flask`` alias: ``demijohn.install_as_flask()``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import demijohn
import demijohn.sansio.app


def test_flask_is_demijohn() -> None:
    import flask
    import flask.globals
    import flask.json.provider
    import flask.sansio.app
    import flask.views

    assert flask is demijohn
    assert flask.Flask is demijohn.Flask
    assert flask.globals.request is demijohn.request
    assert flask.json.provider.DefaultJSONProvider is demijohn.json.provider.DefaultJSONProvider
    assert issubclass(flask.Flask, flask.sansio.app.App)
    assert flask.sansio.app.App is demijohn.sansio.app.App
    assert flask.views.MethodView is demijohn.views.MethodView
    assert sys.modules["flask.cli"] is sys.modules["demijohn.cli"]


def test_install_is_idempotent() -> None:
    demijohn.install_as_flask()
    demijohn.install_as_flask()
    import flask

    assert flask is demijohn


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_plain_import_flask_reaches_submodules() -> None:
    result = _run(
        """
        import demijohn
        demijohn.install_as_flask()
        import flask
        print(flask.cli.AppGroup.__module__, flask.globals.__name__,
              flask.json.dumps.__module__, flask.wrappers.Response.__module__,
              flask.__version__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "demijohn.cli",
        "demijohn.globals",
        "demijohn.json",
        "demijohn.wrappers",
        "3.1.3",
    ]


def test_refuses_after_real_flask_was_imported() -> None:
    # A stand-in module plays the already-imported real Flask.
    result = _run(
        """
        import sys, types
        sys.modules["flask"] = types.ModuleType("flask")
        import demijohn
        try:
            demijohn.install_as_flask()
        except RuntimeError as e:
            print("refused:", e)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("refused: The real 'flask' package was imported")


def test_importlib_metadata_reports_the_flask_api_level() -> None:
    result = _run(
        """
        import importlib.metadata as md
        import sys
        import demijohn
        try:
            md.version("flask")
        except md.PackageNotFoundError:
            print("before: none")
        demijohn.install_as_flask()
        demijohn.install_as_flask()
        dist = md.distribution("Flask")
        print("after:", md.version("flask"), md.version("FLASK"), dist.metadata["Name"])
        print("requires:", dist.requires, "files:", dist.files, "eps:", list(dist.entry_points))
        listed = [d.metadata["Name"] for d in md.distributions() if d.metadata["Name"] == "Flask"]
        print("listed:", listed)
        finders = [f for f in sys.meta_path if type(f).__name__ == "_FlaskAPIFinder"]
        print("finders:", len(finders))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "before: none",
        f"after: {demijohn.FLASK_API_VERSION} {demijohn.FLASK_API_VERSION} Flask",
        "requires: None files: None eps: []",
        "listed: []",
        "finders: 1",
    ]


def test_an_installed_flask_distribution_is_never_shadowed(tmp_path: Path) -> None:
    # A Flask distribution's metadata on sys.path (as if pip had installed it):
    # its own answer comes first, the alias's finder only fills the gap.
    info = tmp_path / "flask-9.9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: Flask\nVersion: 9.9.9\n")
    result = _run(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import importlib.metadata as md
        import demijohn
        demijohn.install_as_flask()
        print(md.version("flask"))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "9.9.9"
