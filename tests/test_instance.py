"""The instance folder and package resources: ``instance_path``, ``open_resource``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from demijohn import Flask


def test_instance_path_next_to_module_or_package(tmp_path: Path) -> None:
    (tmp_path / "single_mod.py").write_text("")
    (tmp_path / "a_pkg").mkdir()
    (tmp_path / "a_pkg" / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    try:
        import a_pkg  # noqa: F401
        import single_mod  # noqa: F401

        assert Flask("single_mod").instance_path == str(tmp_path / "instance")
        assert Flask("a_pkg").instance_path == str(tmp_path / "instance")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("single_mod", None)
        sys.modules.pop("a_pkg", None)


def test_installed_package_uses_var_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "prefix" / "lib" / "python3.11" / "site-packages"
    (site / "installed_pkg").mkdir(parents=True)
    (site / "installed_pkg" / "__init__.py").write_text("")
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    monkeypatch.syspath_prepend(str(site))
    try:
        app = Flask("installed_pkg")
        assert app.instance_path == str(tmp_path / "prefix" / "var" / "installed_pkg-instance")
    finally:
        sys.modules.pop("installed_pkg", None)


def test_open_resource_and_instance_resource(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text("CREATE TABLE t (id int);")
    (tmp_path / "instance").mkdir()
    app = Flask("res", root_path=str(tmp_path), instance_path=str(tmp_path / "instance"))
    with app.open_resource("schema.sql") as f:
        assert f.read() == b"CREATE TABLE t (id int);"
    with app.open_resource("schema.sql", "r") as f:
        assert f.read().startswith("CREATE")
    with pytest.raises(ValueError, match="only be opened for reading"):
        app.open_resource("schema.sql", "w")
    with app.open_instance_resource("local.cfg", "w") as f:
        f.write("X = 1")
    assert os.path.exists(tmp_path / "instance" / "local.cfg")
    with app.open_instance_resource("local.cfg") as f:
        assert f.read() == b"X = 1"


def test_instance_path_must_be_absolute(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="absolute"):
        Flask("relative_instance", root_path=str(tmp_path), instance_path="instance")


def test_instance_relative_config(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("SECRET_KEY = 'from-instance'\n")
    app = Flask(
        "relcfg",
        root_path=str(tmp_path),
        instance_path=str(instance),
        instance_relative_config=True,
    )
    assert app.config.root_path == str(instance)
    assert app.config.from_pyfile("config.py") is True
    assert app.config["SECRET_KEY"] == "from-instance"
    assert app.config.from_pyfile("missing.py", silent=True) is False
