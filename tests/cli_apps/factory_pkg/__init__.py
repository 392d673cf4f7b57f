"""A package whose app comes from a factory taking arguments."""

import click
from flask import Flask


def create_app(config_name="default", debug=False):
    app = Flask(__name__)
    app.config["CONFIG_NAME"] = config_name

    @app.cli.command("which-config")
    def which_config():
        """Print the configuration the factory was called with."""
        click.echo(f"{app.config['CONFIG_NAME']} debug={debug}")

    return app
