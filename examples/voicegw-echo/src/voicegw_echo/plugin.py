"""Registers the echo provider with voicegw.

voicegw finds this module through the entry point declared in ``pyproject.toml``::

    [project.entry-points."voicegw.plugins"]
    echo = "voicegw_echo.plugin"
"""

from __future__ import annotations

from voicegw.hookspecs import hookimpl
from voicegw.plugins import PluginRegistry
from voicegw.provider import ProviderPlugin

from voicegw_echo.codes import API_CODES
from voicegw_echo.emulator import EchoEmulator
from voicegw_echo.provider import CAPABILITIES, EchoProvider
from voicegw_echo.settings import PLUGIN, EchoSettings

__all__ = ["API_VERSION", "PLUGIN_SPEC", "voicegw_register_providers"]

#: The voicegw plugin API this plugin was written for. voicegw refuses to load a plugin that
#: declares another version than its own ``PLUGIN_API_VERSION``: review the changes, then
#: raise this number.
API_VERSION = 1


def _factory(name: str, settings: EchoSettings) -> EchoProvider:
    return EchoProvider(name, settings)


PLUGIN_SPEC = ProviderPlugin(
    name=PLUGIN,
    settings_type=EchoSettings,
    factory=_factory,
    capabilities=CAPABILITIES,
    emulator=EchoEmulator,
    codes={"api": API_CODES},
    description="Echo: the example provider of the plugin author's guide.",
    api_version=API_VERSION,
)


@hookimpl
def voicegw_register_providers(registry: PluginRegistry) -> None:
    """Add the echo provider."""
    registry.add(PLUGIN_SPEC)
