"""The voicegw conformance kit, run against the Huawei plugin and its emulator."""

from __future__ import annotations

from voicegw.models import Template
from voicegw.testing.conformance import ProviderConformance


class TestConformance(ProviderConformance):
    plugin = "huawei"
    number_prefix = "+8613800000"  # mainland China mobile numbers: Huawei calls nowhere else
    secret_setting = "app_secret"
    template = Template("voicegw-notice", ("张三", "3"))
    # no audio_file_id: the kit uploads a file through AICC (mounted in the emulator) and plays it
