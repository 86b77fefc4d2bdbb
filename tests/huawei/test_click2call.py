"""Click-to-call (``click2Call/v2.0``), hang-up (``callStop/v2.0``) and recordings (§8)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from voicegw.errors import InvalidRequest, NotFound, OutcomeUnknown, ValidationError, VoiceError
from voicegw.gateway import VoiceGateway
from voicegw.models import CallRecord, CallStatus, ClickToCall, EventKind, RecordingRef
from voicegw_huawei import auth
from voicegw_huawei.emulator import HuaweiEmulator
from voicegw_huawei.provider import HuaweiProvider
from voicegw_huawei.pushes import record_from_cdr
from voicegw_huawei.settings import ProductApp

from .conftest import ProviderFactory, ReceiverFactory
from .samples import (
    BASE,
    DISPLAY,
    FEE_B64,
    NOW,
    SESSION,
    SPEC_CDR,
    STATUS_B64,
    X_AKSK,
    MockedApi,
    Receiver,
    ok,
    refusal,
)

CALLBACK = f"{BASE}/rest/httpsessions/click2Call/v2.0"
STOP = f"{BASE}/rest/httpsessions/callStop/v2.0"
RECORD = f"{BASE}/rest/provision/voice/record/v1.0"
A, B = "+8613900001111", "+8613700002222"


async def test_click_to_call_is_the_exact_wire_request(
    provider: HuaweiProvider, mocked: MockedApi
) -> None:
    mocked.post(CALLBACK, payload=ok(idlePort=7))
    receipt = await provider.connect(
        ClickToCall(
            caller=A,
            callee=B,
            max_duration=30 * 60,
            record=True,
            reference="order-20240305-0042",
            options={"lastMinToUE": "both", "calleeMedia": "all", "returnIdlePort": "true"},
        )
    )
    [(headers, body)] = mocked.sent("POST", CALLBACK)
    assert headers["X-AKSK"] == X_AKSK
    assert body == {
        "displayNbr": DISPLAY,
        "callerNbr": A,
        "displayCalleeNbr": DISPLAY,
        "calleeNbr": B,
        "maxDuration": 30,
        "recordFlag": "true",
        "statusUrl": STATUS_B64,
        "feeUrl": FEE_B64,
        "userData": "order-20240305-0042",
        "lastMinToUE": "both",
        "calleeMedia": "all",
        "returnIdlePort": "true",
    }
    assert receipt.call_id == SESSION
    assert receipt.reference == "order-20240305-0042"


async def test_display_numbers_for_each_leg(provider: HuaweiProvider, mocked: MockedApi) -> None:
    mocked.post(CALLBACK, payload=ok())
    await provider.connect(
        ClickToCall(caller=A, callee=B, caller_id="+862000000001", callee_display="+862000000002")
    )
    [(_, body)] = mocked.sent("POST", CALLBACK)
    assert body["displayNbr"] == "+862000000001"
    assert body["displayCalleeNbr"] == "+862000000002"
    assert "recordFlag" not in body
    assert "maxDuration" not in body


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_duration": 90}, "max_duration must be whole minutes"),
        ({"max_duration": 1441 * 60}, r"max_duration \(maxDuration\) must be between 0 and 1440"),
        ({"caller": "+14155550100"}, r"caller \(callerNbr\) must be a mainland China"),
        ({"callee": "+14155550100"}, r"callee \(calleeNbr\) must be a mainland China"),
        ({"options": {"calleeMedia": "some"}}, "options.calleeMedia must be one of"),
        ({"options": {"lastMinVoice": "x.wav"}}, "lastMinVoice needs maxDuration"),
        ({"options": {"callerNbr": A}}, "options.callerNbr is set by the model: use caller"),
        ({"options": {"calleeNbr": A}}, "options.calleeNbr is set by the model: use callee"),
    ],
)
async def test_bad_click_to_calls_are_refused_before_sending(
    provider: HuaweiProvider, mocked: MockedApi, kwargs: dict[str, Any], match: str
) -> None:
    values: dict[str, Any] = {"caller": A, "callee": B, **kwargs}
    with pytest.raises(ValidationError, match=match) as caught:
        await provider.connect(ClickToCall(**values))
    assert caught.value.provider == "hw"
    assert not mocked.requests


async def test_the_callback_app_is_used(make_provider: ProviderFactory, mocked: MockedApi) -> None:
    provider = await make_provider(
        click_to_call=ProductApp(app_key="cbKey", app_secret="cbSecret", caller_id="+862000000009")
    )
    mocked.post(CALLBACK, payload=ok())
    receipt = await provider.connect(ClickToCall(caller=A, callee=B))
    [(headers, body)] = mocked.sent("POST", CALLBACK)
    fields = auth.parse_x_aksk(headers["X-AKSK"])
    assert fields is not None and fields["Username"] == "cbKey"
    assert body["displayNbr"] == "+862000000009"
    # the hang-up of that call is signed by the same app
    mocked.post(STOP, payload={"resultcode": "0", "resultdesc": "Success"})
    await provider.hangup(receipt.call_id)
    [(stop_headers, stop_body)] = mocked.sent("POST", STOP)
    stop_fields = auth.parse_x_aksk(stop_headers["X-AKSK"])
    assert stop_fields is not None and stop_fields["Username"] == "cbKey"
    assert stop_body == {"sessionid": SESSION, "signal": "call_stop"}


# -- hang-up ----------------------------------------------------------------------------------


async def test_hangup_is_the_exact_wire_request(
    provider: HuaweiProvider, mocked: MockedApi
) -> None:
    mocked.post(STOP, payload={"resultcode": "0", "resultdesc": "Success"})
    await provider.hangup(SESSION)
    [(headers, body)] = mocked.sent("POST", STOP)
    assert headers["X-AKSK"] == X_AKSK
    assert body == {"sessionid": SESSION, "signal": "call_stop"}


@pytest.mark.parametrize(("code", "error"), [("1020152", NotFound), ("1010002", InvalidRequest)])
async def test_hangup_of_an_unknown_call(
    provider: HuaweiProvider, mocked: MockedApi, code: str, error: type[VoiceError]
) -> None:
    mocked.post(STOP, status=403, payload=refusal(code))
    with pytest.raises(error) as caught:
        await provider.hangup("gone")
    assert caught.value.call_placed is False


async def test_hangup_checks_the_call_id(provider: HuaweiProvider, mocked: MockedApi) -> None:
    with pytest.raises(ValidationError, match=r"call_id \(sessionid\)"):
        await provider.hangup("x" * 257)
    assert not mocked.requests


# -- recordings -------------------------------------------------------------------------------


async def test_recording_address_is_the_301_location(
    provider: HuaweiProvider, mocked: MockedApi
) -> None:
    url = f"{RECORD}?fileName=f.wav&recordDomain=rec.example.com"
    location = "https://rec.example.com/f.wav?AccessKeyId=a&Expires=1&Signature=s"
    mocked.get(url, status=301, headers={"Location": location}, body=b"")
    ref = await provider.recording_url("f.wav", "rec.example.com")
    assert ref == RecordingRef(url=location, file_id="f.wav", expires_at=NOW + timedelta(days=7))
    [(headers, body)] = mocked.sent("GET", url)
    assert headers["X-AKSK"] == X_AKSK
    assert body is None


async def test_recording_errors(provider: HuaweiProvider, mocked: MockedApi) -> None:
    url = f"{RECORD}?fileName=f.wav&recordDomain=d"
    mocked.get(url, status=403, payload=refusal("1010002"))
    with pytest.raises(InvalidRequest):
        await provider.recording_url("f.wav", "d")
    mocked.get(url, status=200, payload={"resultcode": "0", "resultdesc": "Success"})
    with pytest.raises(OutcomeUnknown, match="no Location"):
        await provider.recording_url("f.wav", "d")
    with pytest.raises(ValidationError, match="record_domain"):
        await provider.recording_url("f.wav", "")


async def test_fetch_recording_uses_the_cdr(provider: HuaweiProvider, mocked: MockedApi) -> None:
    record = record_from_cdr(SPEC_CDR, provider="hw")
    url = f"{RECORD}?fileName=1201_3417_20240305081611.wav&recordDomain=rec-cn1.example-obs.com"
    mocked.get(url, status=301, headers={"Location": "https://x/y.wav"})
    ref = await provider.fetch_recording(record)
    assert ref.url == "https://x/y.wav"
    without_domain = record_from_cdr({**SPEC_CDR, "recordDomain": ""}, provider="hw")
    assert await provider.fetch_recording(without_domain) == without_domain.recording
    plain = CallRecord(call_id="c", provider="hw", plugin="huawei")
    with pytest.raises(NotFound):
        await provider.fetch_recording(plain)


# -- over loopback, against the emulator ------------------------------------------------------


async def test_gateway_connect_through_the_emulator(
    emu: HuaweiEmulator, receiver_factory: ReceiverFactory
) -> None:
    receiver: Receiver = await receiver_factory()
    settings = emu.provider_settings()
    settings.update(emu.push_settings(receiver.base))
    async with VoiceGateway.from_config({"providers": {"hw": settings}}) as gateway:
        receipt = await gateway.connect(A, B, record=True, reference="c2c-1")
        await emu.drain()
        provider = gateway.provider("hw")
        assert isinstance(provider, HuaweiProvider)
        events = []
        for kind, headers, body in receiver.pushes:
            events.extend(provider.parse_webhook(kind, headers, body, receiver.url(kind)))
        kinds = [e.kind for e in events if e.call_id == receipt.call_id]
        assert kinds == [
            EventKind.INITIATED,
            EventKind.RINGING,
            EventKind.ANSWERED,
            EventKind.INITIATED,
            EventKind.RINGING,
            EventKind.ANSWERED,
            EventKind.ENDED,
            EventKind.RECORD,
        ]
        record = events[-1].record
        assert record is not None
        assert record.status is CallStatus.COMPLETED
        assert record.to == B
        assert record.reference == "c2c-1"
        assert record.recording is not None
        fresh = await provider.fetch_recording(record)
        assert fresh.url is not None and fresh.url.startswith(emu.base_url)


async def test_a_failing_second_leg_is_the_calls_outcome(
    emu: HuaweiEmulator, emu_provider: tuple[HuaweiProvider, Receiver]
) -> None:
    provider, receiver = emu_provider
    receipt = await provider.connect(ClickToCall(caller=A, callee="+8613800000017"))
    await emu.drain()
    [fee] = receiver.bodies("record")
    [cdr] = fee["feeLst"]
    assert cdr["fwdUnaswRsn"] == 17
    assert cdr["callOutAnswerTime"]
    record = record_from_cdr(cdr, provider="hw")
    assert record.call_id == receipt.call_id
    assert record.status is CallStatus.BUSY
    assert record.hangup is not None and record.hangup.q850 == 17


async def test_hangup_of_a_live_call_through_the_emulator(
    emu: HuaweiEmulator, emu_provider: tuple[HuaweiProvider, Receiver]
) -> None:
    provider, receiver = emu_provider
    emu.speed = 0.05
    receipt = await provider.connect(ClickToCall(caller=A, callee="+8613800000019"))
    await asyncio.sleep(0.1)
    await provider.hangup(receipt.call_id)
    emu.speed = 0.0
    await emu.drain()
    disconnect = receiver.bodies("status")[-1]
    assert disconnect["eventType"] == "disconnect"
    assert disconnect["statusInfo"]["stateCode"] == 8017
    [fee] = receiver.bodies("record")
    assert fee["feeLst"][0]["ulFailReason"] == 1003
    record = record_from_cdr(fee["feeLst"][0], provider="hw")
    assert record.status is CallStatus.CANCELED
    with pytest.raises(NotFound):
        await provider.hangup(receipt.call_id)
