"""The ITNIO plugin passes the conformance kit every provider passes, over loopback HTTP."""

from __future__ import annotations

from voicegw.testing.conformance import ProviderConformance


class TestConformance(ProviderConformance):
    plugin = "itniotech"
    number_prefix = "+9198765"
    secret_setting = "api_secret"
