"""Huawei Cloud Voice Call provider for voicegw (plugin name ``huawei``).

>>> from voicegw_huawei import HuaweiEmulator, HuaweiProvider, HuaweiSettings
"""

from voicegw_huawei.emulator import HuaweiEmulator
from voicegw_huawei.provider import HuaweiProvider
from voicegw_huawei.settings import HuaweiSettings, ProductApp, SpeechTemplate

#: The distribution's version; ``pyproject.toml`` reads it from here (the single source).
__version__ = "0.1.0"

__all__ = ["HuaweiEmulator", "HuaweiProvider", "HuaweiSettings", "ProductApp", "SpeechTemplate"]
