"""``Config``: every loader, ``silent``, relative paths, errors, ``ConfigAttribute``."""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from demijohn import Flask
from demijohn.config import Config


def test_defaults_include_every_flask_key() -> None:
    app = Flask(__name__)
    expected = {
        "DEBUG": False,
        "TESTING": False,
        "PROPAGATE_EXCEPTIONS": None,
        "SECRET_KEY": None,
        "SECRET_KEY_FALLBACKS": None,
        "PERMANENT_SESSION_LIFETIME": timedelta(days=31),
        "USE_X_SENDFILE": False,
        "TRUSTED_HOSTS": None,
        "SERVER_NAME": None,
        "APPLICATION_ROOT": "/",
        "SESSION_COOKIE_NAME": "session",
        "SESSION_COOKIE_DOMAIN": None,
        "SESSION_COOKIE_PATH": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SECURE": False,
        "SESSION_COOKIE_PARTITIONED": False,
        "SESSION_COOKIE_SAMESITE": None,
        "SESSION_REFRESH_EACH_REQUEST": True,
        "MAX_CONTENT_LENGTH": None,
        "MAX_FORM_MEMORY_SIZE": 500_000,
        "MAX_FORM_PARTS": 1_000,
        "SEND_FILE_MAX_AGE_DEFAULT": None,
        "TRAP_BAD_REQUEST_ERRORS": None,
        "TRAP_HTTP_EXCEPTIONS": False,
        "EXPLAIN_TEMPLATE_LOADING": False,
        "PREFERRED_URL_SCHEME": "http",
        "TEMPLATES_AUTO_RELOAD": None,
        "MAX_COOKIE_SIZE": 4093,
        "PROVIDE_AUTOMATIC_OPTIONS": True,
    }
    for key, value in expected.items():
        assert app.config[key] == value, key


def test_config_attributes_mirror_keys() -> None:
    app = Flask(__name__)
    app.testing = True
    app.secret_key = "s"
    assert (app.config["TESTING"], app.config["SECRET_KEY"]) == (True, "s")
    app.config["PERMANENT_SESSION_LIFETIME"] = 60
    assert app.permanent_session_lifetime == timedelta(seconds=60)
    app.debug = True
    assert app.config["DEBUG"] is True


def test_from_object_takes_upper_case_names_only(tmp_path: Path) -> None:
    class Settings:
        DEBUG = True
        DATABASE_URI = "sqlite:///app.db"
        lower = "ignored"
        _Private = "ignored"

    config = Config(tmp_path)
    config.from_object(Settings)
    assert config == {"DEBUG": True, "DATABASE_URI": "sqlite:///app.db"}
    config.from_object("json")  # an import string: the module's upper-case names
    assert "JSONDecoder" not in config  # mixed case is not upper case
    with pytest.raises(ImportError):
        config.from_object("no_such_module_anywhere.Settings")


def test_from_pyfile_relative_to_root_and_silent(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(
        "import os\nSECRET_KEY = 'from-file'\nPORT = 5000 + 1\nhelper = 'no'\n"
    )
    config = Config(tmp_path)
    assert config.from_pyfile("settings.py") is True
    assert config == {"SECRET_KEY": "from-file", "PORT": 5001}
    assert config.from_pyfile("missing.py", silent=True) is False
    with pytest.raises(FileNotFoundError, match=r"Unable to load configuration file .*missing\.py"):
        config.from_pyfile("missing.py")


def test_from_pyfile_syntax_error_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("SECRET_KEY = \n")
    with pytest.raises(SyntaxError) as info:
        Config(tmp_path).from_pyfile("broken.py")
    assert info.value.filename is not None and info.value.filename.endswith("broken.py")


def test_from_envvar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "prod.cfg").write_text("DEBUG = False\nNAME = 'prod'\n")
    config = Config(tmp_path)
    monkeypatch.delenv("APP_SETTINGS", raising=False)
    with pytest.raises(RuntimeError, match="'APP_SETTINGS' is not set"):
        config.from_envvar("APP_SETTINGS")
    assert config.from_envvar("APP_SETTINGS", silent=True) is False
    monkeypatch.setenv("APP_SETTINGS", str(tmp_path / "prod.cfg"))
    assert config.from_envvar("APP_SETTINGS") is True
    assert config["NAME"] == "prod"


def test_from_file_json_and_toml(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"SECRET_KEY": "json", "MAX_CONTENT_LENGTH": 16777216, "lower": 1})
    )
    (tmp_path / "config.toml").write_text('DEBUG = true\n[DATABASE]\nURI = "sqlite:///site.db"\n')
    config = Config(tmp_path)
    assert config.from_file("config.json", load=json.load) is True
    assert config == {"SECRET_KEY": "json", "MAX_CONTENT_LENGTH": 16777216}
    config.from_file("config.toml", load=tomllib.load, text=False)
    assert config["DATABASE"] == {"URI": "sqlite:///site.db"}
    assert config.from_file("nope.json", load=json.load, silent=True) is False
    with pytest.raises(FileNotFoundError, match="Unable to load configuration file"):
        config.from_file("nope.json", load=json.load)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(json.JSONDecodeError):
        config.from_file("bad.json", load=json.load)


def test_from_mapping_and_kwargs() -> None:
    config = Config(".")
    assert config.from_mapping({"A": 1, "b": 2}, C=3, d=4) is True
    assert config == {"A": 1, "C": 3}


def test_from_prefixed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_SECRET_KEY", "env-secret")
    monkeypatch.setenv("FLASK_PORT", "8000")
    monkeypatch.setenv("FLASK_DEBUG", "true")
    monkeypatch.setenv("FLASK_RATIO", "1.5")
    monkeypatch.setenv("FLASK_DB__HOST", "db.local")
    monkeypatch.setenv("FLASK_DB__PORT", "5432")
    monkeypatch.setenv("MYAPP_NAME", '"quoted"')
    config = Config(".", {"DB": {"USER": "kept"}})
    assert config.from_prefixed_env() is True
    assert config["SECRET_KEY"] == "env-secret"  # not JSON: kept as a string
    assert (config["PORT"], config["DEBUG"], config["RATIO"]) == (8000, True, 1.5)
    assert config["DB"] == {"USER": "kept", "HOST": "db.local", "PORT": 5432}
    assert "NAME" not in config
    config.from_prefixed_env("MYAPP", loads=str.upper)
    assert config["NAME"] == '"QUOTED"'


def test_get_namespace() -> None:
    config = Config(".")
    config.from_mapping(
        IMAGE_STORE_TYPE="fs", IMAGE_STORE_PATH="/var/app/images", IMAGE_STORE_BASE_URL="x", OTHER=1
    )
    assert config.get_namespace("IMAGE_STORE_") == {
        "type": "fs",
        "path": "/var/app/images",
        "base_url": "x",
    }
    assert config.get_namespace("IMAGE_STORE_", lowercase=False, trim_namespace=False) == {
        "IMAGE_STORE_TYPE": "fs",
        "IMAGE_STORE_PATH": "/var/app/images",
        "IMAGE_STORE_BASE_URL": "x",
    }


def test_instance_relative_config(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("SECRET_KEY = 'instance-secret'\n")
    app = Flask(
        __name__,
        root_path=str(tmp_path),
        instance_path=str(instance),
        instance_relative_config=True,
    )
    assert app.config.from_pyfile("config.py") is True
    assert app.secret_key == "instance-secret"
    plain = Flask(__name__, root_path=str(tmp_path), instance_path=str(instance))
    assert plain.config.from_pyfile("config.py", silent=True) is False


def test_repr() -> None:
    assert repr(Config(".", {"A": 1})) == "<Config {'A': 1}>"
