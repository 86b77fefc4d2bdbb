"""Huawei Cloud Voice Call provider for voicegw (plugin name ``huawei``).

>>> from voicegw_huawei import HuaweiEmulator, HuaweiProvider, HuaweiSettings
"""

from voicegw_huawei.emulator import HuaweiEmulator
from voicegw_huawei.provider import HuaweiProvider
from voicegw_huawei.settings import HuaweiSettings, ProductApp, SpeechTemplate

__all__ = ["HuaweiEmulator", "HuaweiProvider", "HuaweiSettings", "ProductApp", "SpeechTemplate"]
