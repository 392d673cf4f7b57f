"""``Config``: every loader, ``silent``, relative paths, errors, ``ConfigAttribute``.

Where Flask's behaviour is a quirk rather than an obvious rule (what ``silent``
swallows, which keys ``from_prefixed_env`` keeps), the expected values were
checked against Flask 3.1.3.
"""

from __future__ import annotations

import errno
import json
import sys
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from demijohn import Flask
from demijohn.config import Config, ConfigAttribute


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


def test_app_config_is_a_config_rooted_at_the_app(tmp_path: Path) -> None:
    app = Flask(__name__, root_path=str(tmp_path))
    assert isinstance(app.config, Config) and isinstance(app.config, dict)
    assert app.config.root_path == str(tmp_path)

    class MyConfig(Config):
        pass

    class MyApp(Flask):
        config_class = MyConfig

    assert type(MyApp(__name__).config) is MyConfig


def test_debug_default_comes_from_flask_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert Flask(__name__).config["DEBUG"] is True
    monkeypatch.setenv("FLASK_DEBUG", "0")
    assert Flask(__name__).config["DEBUG"] is False


def test_config_attributes_mirror_keys() -> None:
    app = Flask(__name__)
    app.testing = True
    app.secret_key = "s"
    assert (app.config["TESTING"], app.config["SECRET_KEY"]) == (True, "s")
    app.config["PERMANENT_SESSION_LIFETIME"] = 60
    assert app.permanent_session_lifetime == timedelta(seconds=60)
    app.debug = True
    assert app.config["DEBUG"] is True
    app.config["TESTING"] = False
    assert app.testing is False  # the config stays the single source of truth


def test_config_attribute_on_a_subclass() -> None:
    class MyApp(Flask):
        upload_limit = ConfigAttribute[int]("UPLOAD_LIMIT", get_converter=int)

    app = MyApp(__name__)
    app.config["UPLOAD_LIMIT"] = "12"
    assert app.upload_limit == 12  # converted on read
    app.upload_limit = 5
    assert app.config["UPLOAD_LIMIT"] == 5
    assert isinstance(MyApp.__dict__["upload_limit"], ConfigAttribute)
    assert isinstance(MyApp.upload_limit, ConfigAttribute)  # class access: the descriptor
    del app.config["UPLOAD_LIMIT"]
    with pytest.raises(KeyError):
        app.upload_limit  # noqa: B018


def test_from_object_takes_upper_case_names_only(tmp_path: Path) -> None:
    class Settings:
        DEBUG = True
        DATABASE_URI = "sqlite:///app.db"
        API_V2 = "v2"
        lower = "ignored"
        _Private = "ignored"
        Mixed_Case = "ignored"

    config = Config(tmp_path)
    config.from_object(Settings)
    assert config == {"DEBUG": True, "DATABASE_URI": "sqlite:///app.db", "API_V2": "v2"}
    config.from_object("json")  # an import string: the module's upper-case names
    assert "JSONDecoder" not in config and "load" not in config
    with pytest.raises(ImportError):
        config.from_object("no_such_module_anywhere.Settings")


def test_from_object_inheritance_and_properties() -> None:
    class Base:
        SECRET_KEY = "base"
        MAIL_SERVER = "smtp.base"

    class Production(Base):
        SECRET_KEY = "prod"

        @property
        def DATABASE_URI(self) -> str:
            return "postgresql://" + self.SECRET_KEY

    config = Config(".")
    config.from_object(Production())  # an instance: properties are evaluated
    assert config == {
        "SECRET_KEY": "prod",
        "MAIL_SERVER": "smtp.base",
        "DATABASE_URI": "postgresql://prod",
    }
    config.from_object(Production)  # the class: the property object itself
    assert isinstance(config["DATABASE_URI"], property)


def test_from_object_by_import_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "demo_settings.py").write_text(
        "DEBUG = True\nhelper = 1\nclass ProductionConfig:\n    DEBUG = False\n    NAME = 'prod'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "demo_settings", raising=False)
    config = Config(".")
    config.from_object("demo_settings")
    assert config == {"DEBUG": True}
    config.from_object("demo_settings.ProductionConfig")
    assert config == {"DEBUG": False, "NAME": "prod"}
    with pytest.raises(ImportError, match="NoSuchConfig"):
        config.from_object("demo_settings.NoSuchConfig")
    monkeypatch.delitem(sys.modules, "demo_settings")


def test_from_pyfile_relative_to_root_and_silent(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(
        "import os\nSECRET_KEY = 'from-file'\nPORT = 5000 + 1\nhelper = 'no'\n"
    )
    config = Config(tmp_path)
    assert config.from_pyfile("settings.py") is True
    assert config == {"SECRET_KEY": "from-file", "PORT": 5001}
    assert config.from_pyfile("missing.py", silent=True) is False
    assert config.from_pyfile(tmp_path / "settings.py") is True  # a path object, absolute


def test_from_pyfile_sees_its_own_file(tmp_path: Path) -> None:
    (tmp_path / "paths.py").write_text(
        "import os\nHERE = os.path.dirname(os.path.abspath(__file__))\n"
        "UPLOADS = os.path.join(HERE, 'uploads')\n"
    )
    config = Config(tmp_path)
    config.from_pyfile("paths.py")
    assert config["UPLOADS"] == str(tmp_path / "uploads")


def test_missing_file_errors_name_the_file_and_the_cause(tmp_path: Path) -> None:
    config = Config(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        config.from_pyfile("missing.py")
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == str(tmp_path / "missing.py")
    assert str(info.value) == (
        "[Errno 2] Unable to load configuration file (No such file or directory):"
        f" {str(tmp_path / 'missing.py')!r}"
    )
    with pytest.raises(FileNotFoundError) as info:
        config.from_file("missing.json", load=json.load)
    assert "Unable to load configuration file (No such file or directory)" in str(info.value)
    assert info.value.filename == str(tmp_path / "missing.json")


def test_silent_covers_missing_files_and_folders_only(tmp_path: Path) -> None:
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "plain.txt").write_text("")
    (tmp_path / "broken.py").write_text("SECRET_KEY = \n")
    (tmp_path / "broken.json").write_text("{")
    config = Config(tmp_path)
    assert config.from_pyfile("a_folder", silent=True) is False
    assert config.from_pyfile("plain.txt/below.py", silent=True) is False  # ENOTDIR
    assert config.from_file("a_folder", load=json.load, silent=True) is False
    # silent is about a missing file, never about a broken one.
    with pytest.raises(SyntaxError):
        config.from_pyfile("broken.py", silent=True)
    with pytest.raises(json.JSONDecodeError):
        config.from_file("broken.json", load=json.load, silent=True)
    with pytest.raises(IsADirectoryError, match="Unable to load configuration file"):
        config.from_pyfile("a_folder")
    assert config == {}


def test_silent_does_not_hide_other_os_errors(tmp_path: Path) -> None:
    # A symlink loop (ELOOP) fails even for root, unlike a permission test.
    (tmp_path / "loop.py").symlink_to(tmp_path / "loop.py")
    with pytest.raises(OSError, match="Unable to load configuration file") as info:
        Config(tmp_path).from_pyfile("loop.py", silent=True)
    assert info.value.errno == errno.ELOOP


def test_from_pyfile_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("DEBUG = True\nSECRET_KEY = \n")
    with pytest.raises(SyntaxError) as info:
        Config(tmp_path).from_pyfile("broken.py")
    assert info.value.filename == str(tmp_path / "broken.py")
    assert info.value.lineno == 2


def test_from_pyfile_runtime_error_points_into_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("DEBUG = True\nPORT = int('eighty')\n")
    with pytest.raises(ValueError, match="eighty") as info:
        Config(tmp_path).from_pyfile("bad.py")
    frames = [(str(entry.path), entry.lineno + 1) for entry in info.traceback]
    assert (str(tmp_path / "bad.py"), 2) in frames


def test_an_oserror_inside_the_config_file_counts_as_the_file_failing(tmp_path: Path) -> None:
    # Flask runs the file inside its "unable to load" handling: a file the config
    # opens itself is reported the same way, and silent=True skips it if missing.
    (tmp_path / "reads.py").write_text(
        "import os\nwith open(os.path.join(os.path.dirname(__file__), 'key.txt')) as f:\n"
        "    SECRET_KEY = f.read()\n"
    )
    config = Config(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"Unable to load configuration file .*key\.txt"):
        config.from_pyfile("reads.py")
    assert config.from_pyfile("reads.py", silent=True) is False
    (tmp_path / "key.txt").write_text("from-key-file")
    assert config.from_pyfile("reads.py") is True
    assert config["SECRET_KEY"] == "from-key-file"


def test_from_envvar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "prod.cfg").write_text("DEBUG = False\nNAME = 'prod'\n")
    config = Config(tmp_path)
    monkeypatch.delenv("APP_SETTINGS", raising=False)
    with pytest.raises(RuntimeError) as info:
        config.from_envvar("APP_SETTINGS")
    assert str(info.value) == (
        "The environment variable 'APP_SETTINGS' is not set and as such configuration"
        " could not be loaded. Set this variable and make it point to a configuration file"
    )
    assert config.from_envvar("APP_SETTINGS", silent=True) is False
    monkeypatch.setenv("APP_SETTINGS", "")  # empty counts as not set
    with pytest.raises(RuntimeError, match="'APP_SETTINGS' is not set"):
        config.from_envvar("APP_SETTINGS")
    monkeypatch.setenv("APP_SETTINGS", str(tmp_path / "prod.cfg"))
    assert config.from_envvar("APP_SETTINGS") is True
    assert config["NAME"] == "prod"
    # A relative value resolves like from_pyfile: against the root path.
    monkeypatch.setenv("APP_SETTINGS", "prod.cfg")
    assert Config(tmp_path).from_envvar("APP_SETTINGS") is True
    # Set, but pointing at a missing file: silent still applies, else the file is named.
    monkeypatch.setenv("APP_SETTINGS", "gone.cfg")
    assert config.from_envvar("APP_SETTINGS", silent=True) is False
    with pytest.raises(FileNotFoundError, match=r"Unable to load configuration file .*gone\.cfg"):
        config.from_envvar("APP_SETTINGS")


def test_from_file_json_and_toml(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps({"SECRET_KEY": "json", "MAX_CONTENT_LENGTH": 16777216, "lower": 1})
    )
    (tmp_path / "config.toml").write_text('DEBUG = true\n[DATABASE]\nURI = "sqlite:///site.db"\n')
    config = Config(tmp_path)
    assert config.from_file("config.json", load=json.load) is True
    assert config == {"SECRET_KEY": "json", "MAX_CONTENT_LENGTH": 16777216}
    assert config.from_file("config.toml", load=tomllib.load, text=False) is True
    assert config["DEBUG"] is True
    assert config["DATABASE"] == {"URI": "sqlite:///site.db"}
    assert config.from_file("nope.json", load=json.load, silent=True) is False


def test_from_file_opens_text_or_binary(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"NAME": "caf\\u00e9"}', encoding="utf-8")
    modes: list[str] = []

    def load(f: object) -> dict[str, str]:
        modes.append(type(f).__name__)
        return json.load(f)  # type: ignore[arg-type]

    config = Config(tmp_path)
    config.from_file("c.json", load=load)
    config.from_file("c.json", load=load, text=False)  # json.load takes bytes too
    assert modes == ["TextIOWrapper", "BufferedReader"]
    assert config["NAME"] == "café"
    # docs/design.md, known error "TOML": tomllib.load needs a binary file.
    (tmp_path / "c.toml").write_text("A = 1\n")
    with pytest.raises(TypeError, match="binary mode"):
        config.from_file("c.toml", load=tomllib.load)


def test_from_mapping_and_kwargs() -> None:
    config = Config(".")
    assert config.from_mapping({"A": 1, "b": 2}, C=3, d=4) is True
    assert config == {"A": 1, "C": 3}
    assert config.from_mapping() is True and config.from_mapping(None) is True
    config.from_mapping({"A": "mapping"}, A="keyword")
    assert config["A"] == "keyword"  # keywords win over the mapping


def test_from_prefixed_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_SECRET_KEY", "env-secret")
    monkeypatch.setenv("FLASK_PORT", "8000")
    monkeypatch.setenv("FLASK_DEBUG", "true")
    monkeypatch.setenv("FLASK_RATIO", "1.5")
    monkeypatch.setenv("FLASK_HOSTS", '["a", "b"]')
    monkeypatch.setenv("FLASK_NOTHING", "null")
    monkeypatch.setenv("FLASK_EMPTY", "")
    monkeypatch.setenv("FLASK_QUOTED", '"8000"')
    monkeypatch.setenv("FLASK_DB__HOST", "db.local")
    monkeypatch.setenv("FLASK_DB__PORT", "5432")
    monkeypatch.setenv("FLASK_CACHE__REDIS__URL", "redis://x")
    monkeypatch.setenv("MYAPP_NAME", '"quoted"')
    monkeypatch.setenv("FLASKY_OTHER", "1")  # the prefix is FLASK_, not FLASK
    config = Config(".", {"DB": {"USER": "kept"}})
    assert config.from_prefixed_env() is True
    assert config["SECRET_KEY"] == "env-secret"  # not JSON: kept as a string
    assert (config["PORT"], config["DEBUG"], config["RATIO"]) == (8000, True, 1.5)
    assert (config["HOSTS"], config["NOTHING"], config["EMPTY"]) == (["a", "b"], None, "")
    assert config["QUOTED"] == "8000"  # JSON strings stay strings
    assert config["DB"] == {"USER": "kept", "HOST": "db.local", "PORT": 5432}
    assert config["CACHE"] == {"REDIS": {"URL": "redis://x"}}  # nesting creates dicts
    assert "NAME" not in config and "OTHER" not in config and "Y_OTHER" not in config
    config.from_prefixed_env("MYAPP", loads=str.upper)
    assert config["NAME"] == '"QUOTED"'


def test_from_prefixed_env_keeps_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    # Unlike the file and object loaders, Flask takes every variable under the
    # prefix as it is spelled: the environment is explicit already.
    monkeypatch.setenv("FLASK_lower_key", "1")
    config = Config(".")
    config.from_prefixed_env()
    assert config["lower_key"] == 1


def test_from_prefixed_env_a_failing_loads_keeps_the_string(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def strict(value: str) -> int:
        return int(value)

    monkeypatch.setenv("APP_PORT", "8000")
    monkeypatch.setenv("APP_NAME", "demo")
    config = Config(".")
    config.from_prefixed_env("APP", loads=strict)
    assert config == {"PORT": 8000, "NAME": "demo"}


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
    assert config.get_namespace("IMAGE_STORE_", lowercase=False) == {
        "TYPE": "fs",
        "PATH": "/var/app/images",
        "BASE_URL": "x",
    }
    assert config.get_namespace("NOPE_") == {}


def test_instance_relative_config(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text("SECRET_KEY = 'instance-secret'\n")
    (instance / "config.json").write_text('{"API_KEY": "from-instance"}')
    app = Flask(
        __name__,
        root_path=str(tmp_path),
        instance_path=str(instance),
        instance_relative_config=True,
    )
    assert app.config.root_path == str(instance)
    assert app.config.from_pyfile("config.py") is True
    assert app.secret_key == "instance-secret"
    assert app.config.from_file("config.json", load=json.load) is True
    assert app.config["API_KEY"] == "from-instance"
    # Without instance_relative_config the same names resolve against root_path.
    plain = Flask(__name__, root_path=str(tmp_path), instance_path=str(instance))
    assert plain.config.root_path == str(tmp_path)
    assert plain.config.from_pyfile("config.py", silent=True) is False
    with pytest.raises(FileNotFoundError) as info:
        plain.config.from_pyfile("config.py")
    assert info.value.filename == str(tmp_path / "config.py")


def test_instance_path_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="must be absolute"):
        Flask(__name__, instance_path="relative/instance")


def test_repr() -> None:
    assert repr(Config(".", {"A": 1})) == "<Config {'A': 1}>"
