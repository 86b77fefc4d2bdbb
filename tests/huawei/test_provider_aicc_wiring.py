"""The Huawei provider with AICC wired in: uploads, review pushes, playing approved files."""

from __future__ import annotations

import json
import struct

import pytest

from voicegw.errors import InvalidRequest, RateLimited, UnsupportedFeature
from voicegw.models import Audio, AudioStatus, AudioUpload, EventKind, VoiceNotification
from voicegw.provider import Capability
from voicegw.testing.emulator import FaultKind
from voicegw_huawei.aicc import UPLOAD_PATH
from voicegw_huawei.emulator import HuaweiEmulator
from voicegw_huawei.provider import HuaweiProvider

from .conftest import ProviderFactory
from .samples import Receiver

WAV = (
    b"RIFF"
    + struct.pack("<I", 36 + 800)
    + b"WAVEfmt "
    + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    + b"data"
    + struct.pack("<I", 800)
    + b"\x00" * 800
)


def upload(name: str = "Welcome01") -> AudioUpload:
    return AudioUpload(data=WAV, filename="welcome.wav", language="zh-CN", name=name)


async def test_without_aicc_there_is_no_upload(make_provider: ProviderFactory) -> None:
    provider = await make_provider()
    assert provider.aicc is None
    assert Capability.AUDIO_UPLOAD not in provider.capabilities
    with pytest.raises(UnsupportedFeature, match="aicc"):
        await provider.upload_audio(upload())
    with pytest.raises(UnsupportedFeature, match="aicc"):
        provider.parse_webhook("review", {}, b"{}", "https://h/hooks/hw/review")


async def test_upload_review_and_play(
    emu: HuaweiEmulator, emu_provider: tuple[HuaweiProvider, Receiver]
) -> None:
    provider, receiver = emu_provider
    assert provider.aicc is not None
    assert Capability.AUDIO_UPLOAD in provider.capabilities
    audio = await provider.upload_audio(upload())
    assert audio.status is AudioStatus.PENDING
    assert audio.provider == "hw"
    await emu.drain()
    [(kind, headers, body)] = [p for p in receiver.pushes if p[0] == "review"]
    [event] = provider.parse_webhook(kind, headers, body, receiver.url(kind))
    assert event.kind is EventKind.AUDIO_REVIEWED
    assert event.audio is not None
    assert (event.audio.file_id, event.audio.status) == (audio.file_id, AudioStatus.APPROVED)
    reply = provider.webhook_reply("review", accepted=True)
    assert (reply.status, json.loads(reply.body)) == (200, {"returnCode": "0"})
    assert json.loads(provider.webhook_reply("review", accepted=False).body) != {"returnCode": "0"}
    # the approved file plays: the call is answered and ends normally
    receiver.pushes.clear()
    await provider.send(VoiceNotification("+8613800000100", [Audio(audio.file_id)]))
    await emu.drain()
    assert receiver.bodies("status")[-1]["statusInfo"]["stateCode"] == 0


async def test_a_rejected_file_does_not_play(
    emu: HuaweiEmulator, emu_provider: tuple[HuaweiProvider, Receiver]
) -> None:
    provider, receiver = emu_provider
    audio = await provider.upload_audio(upload(name="PleaseReject"))
    await emu.drain()
    assert not emu.aicc.is_approved(audio.file_id)
    receiver.pushes.clear()
    await provider.send(VoiceNotification("+8613800000100", [Audio(audio.file_id)]))
    await emu.drain()
    assert receiver.bodies("status")[-1]["statusInfo"]["stateCode"] == 8006


async def test_faults_on_aicc_paths_answer_as_aicc(
    emu: HuaweiEmulator, emu_provider: tuple[HuaweiProvider, Receiver]
) -> None:
    provider, _ = emu_provider
    emu.inject(FaultKind.PROVIDER_ERROR, code="HTTP 500", path=UPLOAD_PATH)
    with pytest.raises(InvalidRequest):
        await provider.upload_audio(upload())
    emu.inject(FaultKind.RATE_LIMIT, path=UPLOAD_PATH)
    with pytest.raises(RateLimited):
        await provider.upload_audio(upload())


def test_emulator_settings_carry_the_aicc_table() -> None:
    emu = HuaweiEmulator()
    emu.base_url = "http://127.0.0.1:9"
    settings = emu.provider_settings()
    assert settings["aicc"]["base_url"] == "http://127.0.0.1:9"
    pushes = emu.push_settings("http://127.0.0.1:8/hooks/hw")
    assert pushes["aicc"]["review_callback_url"] == "http://127.0.0.1:8/hooks/hw/review"
    unreachable = emu.unreachable_settings(7)
    assert unreachable["base_url"] == "http://127.0.0.1:7"
    assert unreachable["aicc"]["base_url"] == "http://127.0.0.1:7"
