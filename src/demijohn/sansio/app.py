"""``flask.sansio.app``: the application class under Flask's protocol-free name."""

from ..app import Flask as App

__all__ = ["App"]
