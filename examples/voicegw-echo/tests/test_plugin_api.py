"""Registration: the entry point, and the plugin API version voicegw checks at load time."""

from __future__ import annotations

import importlib.metadata
from types import SimpleNamespace

import attrs
import pytest
from voicegw import PLUGIN_API_VERSION
from voicegw.errors import ConfigurationError
from voicegw.hookspecs import hookimpl
from voicegw.plugins import PluginRegistry, default_registry

from voicegw_echo import plugin


def test_the_entry_point_is_installed() -> None:
    points = importlib.metadata.entry_points(group="voicegw.plugins")
    declared = {ep.name: ep.value for ep in points}
    assert declared["echo"] == "voicegw_echo.plugin"


def test_voicegw_lists_the_plugin() -> None:
    assert "echo" in default_registry().providers()
    assert "echo" not in default_registry().unavailable()


def test_written_for_the_installed_plugin_api() -> None:
    # Fails the day voicegw changes its plugin API: read the changes, then raise API_VERSION.
    assert plugin.API_VERSION == PLUGIN_API_VERSION
    assert plugin.PLUGIN_SPEC.api_version == plugin.API_VERSION


def _module_registering(spec: object) -> SimpleNamespace:
    @hookimpl
    def voicegw_register_providers(registry: PluginRegistry) -> None:
        registry.add(spec)  # type: ignore[arg-type]

    return SimpleNamespace(voicegw_register_providers=voicegw_register_providers)


def test_voicegw_loads_it_under_its_own_api_version() -> None:
    registry = PluginRegistry(entry_points=False)
    registry.register(_module_registering(plugin.PLUGIN_SPEC), "echo-module")
    assert registry.get("echo") is plugin.PLUGIN_SPEC


@pytest.mark.parametrize("version", [PLUGIN_API_VERSION - 1, PLUGIN_API_VERSION + 1])
def test_voicegw_refuses_another_api_version(version: int) -> None:
    other = attrs.evolve(plugin.PLUGIN_SPEC, api_version=version)
    registry = PluginRegistry(entry_points=False)
    with pytest.raises(ConfigurationError, match=f"plugin API {version}"):
        registry.register(_module_registering(other), "echo-module")
    assert "echo" not in registry.providers()
    assert f"plugin API {version}" in registry.unavailable()["echo-module"]
