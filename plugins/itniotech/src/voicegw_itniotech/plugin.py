"""Registration: the ``itniotech`` provider plugin, found through its entry point.

``pyproject.toml`` declares ``[project.entry-points."voicegw.plugins"] itniotech =
"voicegw_itniotech.plugin"``; voicegw calls :func:`voicegw_register_providers` once.
"""

from __future__ import annotations

from voicegw.hookspecs import hookimpl
from voicegw.plugins import PluginRegistry
from voicegw.provider import ProviderPlugin
from voicegw_itniotech.codes import API_CODES
from voicegw_itniotech.emulator import ItnioEmulator
from voicegw_itniotech.provider import CAPABILITIES, ItniotechProvider
from voicegw_itniotech.settings import PLUGIN, ItniotechSettings

__all__ = ["PLUGIN_SPEC", "voicegw_register_providers"]


def _factory(name: str, settings: ItniotechSettings) -> ItniotechProvider:
    return ItniotechProvider(name, settings)


PLUGIN_SPEC = ProviderPlugin(
    name=PLUGIN,
    settings_type=ItniotechSettings,
    factory=_factory,
    capabilities=CAPABILITIES,
    emulator=ItnioEmulator,
    codes={"api": API_CODES},
    description="ITNIO Tech voice API: TTS and audio-file calls, records by query and push.",
)


@hookimpl
def voicegw_register_providers(registry: PluginRegistry) -> None:
    """Register the ``itniotech`` provider."""
    registry.add(PLUGIN_SPEC)
