"""ITNIO Tech voice API provider for voicegw (plugin name ``itniotech``).

Install it beside ``voicegw``; its entry point registers the provider. The pieces:

* :class:`ItniotechSettings` — ``api_key``, ``api_secret``, ``app_id``, ``push_token`` …;
* :class:`ItniotechProvider` — send, records (query, search, push), audio upload;
* :class:`ItnioEmulator` — the API on loopback (``voicegw emulate itniotech``).
"""

from voicegw_itniotech.emulator import ItnioEmulator
from voicegw_itniotech.provider import ItniotechProvider
from voicegw_itniotech.settings import ItniotechSettings

#: The distribution's version; ``pyproject.toml`` reads it from here (the single source).
__version__ = "0.1.0"

__all__ = ["ItnioEmulator", "ItniotechProvider", "ItniotechSettings"]
