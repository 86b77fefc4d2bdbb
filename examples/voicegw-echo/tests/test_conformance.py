"""The echo provider passes voicegw's conformance kit against its emulator."""

from voicegw.testing.conformance import ProviderConformance


class TestConformance(ProviderConformance):
    plugin = "echo"
    number_prefix = "+447700900"  # scenario numbers: this prefix and a 3-digit suffix
    secret_setting = "api_secret"
