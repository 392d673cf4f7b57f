"""Guide, "Configuration": every example, with its ``from flask import`` lines."""

from __future__ import annotations

import json
import os
import runpy
import tomllib
from pathlib import Path

import pytest
from flask import Flask, current_app, render_template_string


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return Flask(__name__, root_path=str(tmp_path))


def test_methods_for_loading_configuration(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.config["SECRET_KEY"] = "very-secret-string"

    class Config:
        DEBUG = True
        DATABASE_URI = "sqlite:///app.db"

    app.config.from_object(Config)
    assert (app.config["DEBUG"], app.config["DATABASE_URI"]) == (True, "sqlite:///app.db")

    assert app.config.from_pyfile("config.py", silent=True) is False  # no such file: silent

    (tmp_path / "settings.cfg").write_text("MAIL_SERVER = 'smtp.example.com'\n")
    # Run in terminal: export APP_SETTINGS='/path/to/settings.cfg'
    monkeypatch.setenv("APP_SETTINGS", str(tmp_path / "settings.cfg"))
    app.config.from_envvar("APP_SETTINGS")
    assert app.config["MAIL_SERVER"] == "smtp.example.com"


def test_accessing_configuration_in_the_app(app: Flask) -> None:
    app.config["KEY_NAME"] = "value"

    @app.route("/")
    def index() -> str:
        return current_app.config["KEY_NAME"] + render_template_string(" {{ config['KEY_NAME'] }}")

    assert app.test_client().get("/").text == "value value"
    assert app.config.get("KEY_NAME") == "value"


def test_loading_from_python_files(app: Flask, tmp_path: Path) -> None:
    (tmp_path / "config.py").write_text(
        "# config.py\n"
        "DEBUG = False\n"
        "SQLALCHEMY_DATABASE_URI = 'postgresql://user:pass@localhost/db'\n"
        "SECRET_KEY = 'prod-secret-key'\n"
    )
    app.config.from_pyfile("config.py")
    assert app.secret_key == "prod-secret-key"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql://user:pass@localhost/db"
    # Attempts to load local overrides; stays silent if the file doesn't exist
    assert app.config.from_pyfile("local_settings.py", silent=True) is False


def test_loading_from_json_files(app: Flask, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        '{\n  "SECRET_KEY": "json-secret-key",\n  "MAX_CONTENT_LENGTH": 16777216\n}\n'
    )
    # Use from_file with a custom loader
    app.config.from_file("config.json", load=json.load)
    assert app.config["SECRET_KEY"] == "json-secret-key"
    assert app.config["MAX_CONTENT_LENGTH"] == 16777216


def test_loading_from_toml_files(app: Flask, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '# Main settings\nDEBUG = true\nSECRET_KEY = "toml-secret-key"\n'
        '[DATABASE]\nURI = "sqlite:///site.db"\n'
    )
    # docs/design.md, known error "TOML": the guide's load=tomllib.loads with
    # text=False hands loads() a binary file and fails, as in Flask; tomllib.load
    # is the working form.
    with pytest.raises(AttributeError):
        app.config.from_file("config.toml", load=tomllib.loads, text=False)
    app.config.from_file("config.toml", load=tomllib.load, text=False)
    assert app.config["DEBUG"] is True
    assert app.config["DATABASE"] == {"URI": "sqlite:///site.db"}


def test_python_dotenv_integration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        "FLASK_APP=app.py\nFLASK_DEBUG=1\n"
        "DATABASE_URL=postgresql://user:password@localhost/dbname\n"
        "STRIPE_API_KEY=sk_test_4eC39HqLyjWDarjtTizdp7dc\n"
    )
    for key in ("DATABASE_URL", "STRIPE_API_KEY", "SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    # load_dotenv() finds the .env beside the calling module: run the guide's
    # lines from a module in the project folder, as an app would.
    (tmp_path / "settings.py").write_text(
        "import os\n"
        "from dotenv import load_dotenv\n"
        "\n"
        "# Manually load if not using the 'flask' CLI\n"
        "load_dotenv()\n"
        "\n"
        "database_uri = os.environ.get('DATABASE_URL')\n"
        "secret_key = os.environ.get('SECRET_KEY', 'default-safe-key')\n"
    )
    namespace = runpy.run_path(str(tmp_path / "settings.py"))
    database_uri, secret_key = namespace["database_uri"], namespace["secret_key"]
    assert database_uri == "postgresql://user:password@localhost/dbname"
    assert secret_key == "default-safe-key"
    for key in ("FLASK_APP", "FLASK_DEBUG", "DATABASE_URL", "STRIPE_API_KEY"):
        monkeypatch.delenv(key, raising=False)


def test_configuration_inheritance_and_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://prod/db")

    class Config:
        """Base config with settings common to all environments."""

        SECRET_KEY = os.environ.get("SECRET_KEY")
        SQLALCHEMY_TRACK_MODIFICATIONS = False
        MAIL_SERVER = "smtp.sendgrid.net"

    class DevelopmentConfig(Config):
        """Local development settings."""

        DEBUG = True
        SQLALCHEMY_DATABASE_URI = "sqlite:///dev.db"

    class ProductionConfig(Config):
        """Live production settings."""

        DEBUG = False
        # Use a robust database like PostgreSQL in production
        SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
        # Force HTTPS and secure cookies
        SESSION_COOKIE_SECURE = True
        REMEMBER_COOKIE_SECURE = True

    class TestingConfig(Config):
        """Settings for automated unit tests."""

        TESTING = True
        SQLALCHEMY_DATABASE_URI = "sqlite:///:memory:"  # Fast, in-memory DB
        WTF_CSRF_ENABLED = False  # Disable CSRF for easier form testing

    def create_app():  # type: ignore[no-untyped-def]
        app = Flask(__name__)
        # Map environment names to classes
        config_type = os.environ.get("FLASK_ENV", "development")
        if config_type == "production":
            app.config.from_object(ProductionConfig)
        elif config_type == "testing":
            app.config.from_object(TestingConfig)
        else:
            app.config.from_object(DevelopmentConfig)
        return app

    dev = create_app()
    assert (dev.debug, dev.config["SQLALCHEMY_DATABASE_URI"]) == (True, "sqlite:///dev.db")
    assert dev.config["MAIL_SERVER"] == "smtp.sendgrid.net"  # inherited
    monkeypatch.setenv("FLASK_ENV", "production")
    prod = create_app()
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["SQLALCHEMY_DATABASE_URI"] == "postgresql://prod/db"
    monkeypatch.setenv("FLASK_ENV", "testing")
    testing = create_app()
    assert testing.testing is True and testing.config["WTF_CSRF_ENABLED"] is False
