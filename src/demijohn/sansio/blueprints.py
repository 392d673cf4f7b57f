"""``flask.sansio.blueprints``: blueprint classes."""

from ..blueprints import Blueprint, BlueprintSetupState

__all__ = ["Blueprint", "BlueprintSetupState"]
