"""Versions: one source per distribution, and the registry knows which distribution a plugin
came from (``voicegw providers`` shows it)."""

from __future__ import annotations

import importlib.metadata

import voicegw
from voicegw.plugins import Distribution, PluginRegistry


def test_the_package_version_is_the_metadata_version() -> None:
    assert voicegw.__version__ == importlib.metadata.version("voicegw")


def test_the_registry_names_the_distribution_of_an_installed_plugin() -> None:
    registry = PluginRegistry()
    sandbox = registry.distribution("sandbox")
    assert sandbox == Distribution("voicegw", importlib.metadata.version("voicegw"))


def test_a_plugin_registered_by_hand_has_no_distribution() -> None:
    registry = PluginRegistry(entry_points=False)
    assert registry.distribution("sandbox") is None
