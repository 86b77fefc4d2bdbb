"""The sandbox passes the same conformance kit every provider plugin passes."""

from voicegw.models import Template
from voicegw.testing.conformance import ProviderConformance


class TestSandboxConformance(ProviderConformance):
    plugin = "sandbox"
    number_prefix = "+8613800000"
    template = Template("welcome", ("Ada",))
    secret_setting = "token"
