"""``flask.sansio.scaffold``: the registry class shared by app and blueprint."""

from ..scaffold import Scaffold, find_package, setupmethod

__all__ = ["Scaffold", "find_package", "setupmethod"]
