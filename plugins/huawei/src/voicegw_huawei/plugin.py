"""Registration of the ``huawei`` provider (entry point ``voicegw.plugins``)."""

from __future__ import annotations

from voicegw.hookspecs import hookimpl
from voicegw.plugins import PluginRegistry
from voicegw.provider import ProviderPlugin
from voicegw_huawei.aicc import AICC_CODES
from voicegw_huawei.codes import API_CODES
from voicegw_huawei.emulator import HuaweiEmulator
from voicegw_huawei.provider import ALL_CAPABILITIES, HuaweiProvider
from voicegw_huawei.settings import HuaweiSettings

__all__ = ["PLUGIN_SPEC", "voicegw_register_providers"]


def _factory(name: str, settings: HuaweiSettings) -> HuaweiProvider:
    return HuaweiProvider(name, settings)


PLUGIN_SPEC = ProviderPlugin(
    name="huawei",
    settings_type=HuaweiSettings,
    factory=_factory,
    capabilities=ALL_CAPABILITIES,
    emulator=HuaweiEmulator,
    codes={"api": API_CODES, "aicc": AICC_CODES},
    description=(
        "Huawei Cloud Voice Call: voice notifications (files and TTS templates), "
        "verification codes, click-to-call, voice-file upload through AICC; records "
        "arrive by push."
    ),
)


@hookimpl
def voicegw_register_providers(registry: PluginRegistry) -> None:
    """Register the Huawei provider."""
    registry.add(PLUGIN_SPEC)
