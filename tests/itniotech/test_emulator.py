"""The emulator over loopback: the spec's check order, money, scenarios, pushes, faults."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from voicegw.errors import (
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    RequestExpired,
)
from voicegw.models import (
    Audio,
    AudioUpload,
    CallStatus,
    Money,
    Speech,
    VerificationCode,
    VoiceNotification,
)
from voicegw.testing.emulator import FaultKind
from voicegw.testing.scenarios import ANSWERED, SCENARIOS, Scenario
from voicegw_itniotech.auth import sign, sign_headers
from voicegw_itniotech.emulator import ItnioEmulator, charged_seconds
from voicegw_itniotech.provider import ItniotechProvider
from voicegw_itniotech.settings import ItniotechSettings

from .conftest import ReceiverFactory

PREFIX = "+9198765"


def note(suffix: str = "100", **kwargs: Any) -> VoiceNotification:
    prompts = kwargs.pop("prompts", [Speech("Hello from the emulator", "en")])
    return VoiceNotification(PREFIX + suffix, prompts, **kwargs)


async def call(
    emu: ItnioEmulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    timestamp: float | None = None,
    data: bytes | None = None,
) -> tuple[int, Any]:
    """One raw request to the emulator, signed with its credentials unless told otherwise."""
    signed = sign_headers(emu.api_key, emu.api_secret, now=timestamp or time.time())
    signed.update(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, emu.base_url + path, data=data, headers=signed) as resp,
    ):
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text


def code_body(emu: ItnioEmulator, callee: str = "9198765100", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "callee": callee,
        "language": "EN",
        "text": "hello world",
        "appId": emu.app_id,
    }
    body.update(fields)
    return body


def provider_for(emu: ItnioEmulator, **overrides: Any) -> ItniotechProvider:
    return ItniotechProvider("itn", ItniotechSettings(**emu.provider_settings(**overrides)))


# -- the check order -------------------------------------------------------------------------


async def test_check_order_key_before_ip() -> None:
    async with ItnioEmulator(ip_allowlist=["10.0.0.0/8"]) as emu:
        status, answer = await call(
            emu, "POST", "/voice/sendCode", {}, headers={"Api-Key": "nobody"}
        )
        assert (status, answer["status"]) == (200, "-1")
        _, answer = await call(emu, "POST", "/voice/sendCode", {}, timestamp=1)
        assert answer["status"] == "-2"  # IP before the timestamp window


async def test_check_order_timestamp_before_signature(emu: ItnioEmulator) -> None:
    _, answer = await call(
        emu, "POST", "/voice/sendCode", {}, timestamp=time.time() - 3600, headers={"Sign": "0" * 32}
    )
    assert answer == {"status": "-16", "reason": "timestamp expires"}
    _, answer = await call(emu, "POST", "/voice/sendCode", {}, headers={"Sign": "0" * 32})
    assert answer["status"] == "-1"


@pytest.mark.parametrize("timestamp", ["", "soon", "1.5", "-1"])
async def test_a_garbage_timestamp_is_an_authentication_error(
    emu: ItnioEmulator, timestamp: str
) -> None:
    _, answer = await call(emu, "POST", "/voice/sendCode", {}, headers={"Timestamp": timestamp})
    assert answer["status"] == "-1"


async def test_the_sign_is_compared_case_insensitively(emu: ItnioEmulator) -> None:
    now = int(time.time())
    upper = sign(emu.api_key, emu.api_secret, now).upper()
    _, answer = await call(
        emu, "POST", "/voice/sendCode", code_body(emu), timestamp=now, headers={"Sign": upper}
    )
    assert answer["status"] == "0"


async def test_the_window_is_1800_seconds_both_ways(emu: ItnioEmulator) -> None:
    for skew, expected in [(-1790, "0"), (1790, "0"), (-1810, "-16"), (1810, "-16")]:
        _, answer = await call(
            emu, "POST", "/voice/sendCode", code_body(emu), timestamp=time.time() + skew
        )
        assert answer["status"] == expected, skew


async def test_check_order_parameters_fee_balance() -> None:
    async with ItnioEmulator(rates={"84": "0.6"}, balance="0") as emu:
        _, answer = await call(emu, "POST", "/voice/sendCode", code_body(emu, loopCount=10))
        assert answer["status"] == "-22"  # parameters before the fee
        assert "loopCount" in answer["reason"]
        _, answer = await call(emu, "POST", "/voice/sendCode", code_body(emu))
        assert answer["status"] == "-26"  # no rate for +91, before the balance
        _, answer = await call(emu, "POST", "/voice/sendCode", code_body(emu, "84912345678"))
        assert answer["status"] == "-10"
        assert emu.placed == []


@pytest.mark.parametrize(
    ("fields", "word"),
    [
        ({"language": "XX"}, "language"),
        ({"text": "a" * 300, "language": "VN"}, "text"),
        ({"text": "a" * 801}, "text"),
        ({"appId": "someone-else"}, "appId"),
        ({"callee": "123"}, "callee"),
        ({"recallCount": "1", "recallInterval": "0"}, "recallInterval"),
        ({"maxRingingTime": 10}, "maxRingingTime"),
    ],
)
async def test_parameters_are_refused_with_minus_22(
    emu: ItnioEmulator, fields: dict[str, Any], word: str
) -> None:
    _, answer = await call(emu, "POST", "/voice/sendCode", code_body(emu, **fields))
    assert answer["status"] == "-22"
    assert word in answer["reason"]


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b""])
async def test_a_body_that_is_not_an_object_is_minus_22(emu: ItnioEmulator, data: bytes) -> None:
    _, answer = await call(emu, "POST", "/voice/sendCode", data=data)
    assert answer["status"] == "-22"


async def test_unknown_paths_and_methods(emu: ItnioEmulator) -> None:
    status, _ = await call(emu, "POST", "/voice/nothing", {})
    assert status == 404
    status, _ = await call(emu, "GET", "/voice/sendCode")
    assert status == 405


# -- the seed's own samples ------------------------------------------------------------------


async def test_the_php_sample_is_accepted_as_it_is(emu: ItnioEmulator) -> None:
    # PHP: every value a string, headers written as 'Name:value'.
    body = {
        "callee": "9198765100",
        "displayNum": "1008122211",
        "language": "EN",
        "appId": emu.app_id,
        "text": "hello world",
        "loopCount": "2",
        "calledInfo": "calledInfo",
        "recallCount": "0",
        "recallInterval": "0",
        "maxDuration": "120",
        "maxRingingTime": "60",
    }
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json;charset=UTF-8",
        "Sign": sign(emu.api_key, emu.api_secret, stamp),
        "Timestamp": stamp,
        "Api-Key": emu.api_key,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            emu.base_url + "/voice/sendCode", data=json.dumps(body), headers=headers
        ) as resp,
    ):
        answer = await resp.json()
    assert resp.status == 200
    assert answer["status"] == "0"
    assert answer["reason"] == "success"
    assert len(answer["data"]) == 19
    await emu.drain()
    assert emu.calls[answer["data"]].loop_count == 2


async def test_the_java_sample_is_accepted_as_it_is(emu: ItnioEmulator) -> None:
    # Java (hutool): numbers as numbers, null values left out of the JSON.
    body = {
        "callee": "9198765100",
        "language": "EN",
        "text": "hello world",
        "appId": emu.app_id,
        "loopCount": 1,
        "maxRingingTime": 60,
    }
    status, answer = await call(emu, "POST", "/voice/sendCode", body)
    assert (status, answer["status"]) == (200, "0")
    status, record = await call(emu, "GET", f"/voice/recordGroup/{answer['data']}")
    assert record["status"] == "0"
    assert record["data"]["voiceId"] == answer["data"]


# -- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "period", "charged"),
    [
        (0, (20, 20), 0),
        (1, (20, 20), 20),
        (20, (20, 20), 20),
        (21, (20, 20), 40),
        (61, (60, 1), 61),
    ],
)
def test_billing_blocks(duration: int, period: tuple[int, int], charged: int) -> None:
    assert charged_seconds(duration, period) == charged


async def test_the_balance_runs_out() -> None:
    async with ItnioEmulator(rates={"": "0.6"}, balance="0.3", bill_period="20+20") as emu:
        provider = provider_for(emu)
        try:
            receipt = await provider.send(note())
            await emu.drain()
            record = await provider.get_record(receipt.call_id)
            assert record.billed_duration == 20
            assert record.cost == Money("0.2", "USD")
            _, balance = await call(emu, "GET", "/sms/getBalance")
            assert balance["balance"] == "0.100000"
            with pytest.raises(InsufficientFunds) as caught:
                await provider.send(note())
            assert caught.value.code == "-10"
            assert len(emu.placed) == 1
        finally:
            await provider.aclose()


async def test_unpriced_destinations_are_minus_26() -> None:
    async with ItnioEmulator(rates={"84": "0.1"}) as emu:
        provider = provider_for(emu)
        try:
            with pytest.raises(ProviderError) as caught:
                await provider.send(note())
            assert caught.value.code == "-26"
        finally:
            await provider.aclose()


async def test_a_foreign_quote_currency_fills_the_settlement_fields() -> None:
    async with ItnioEmulator(currency="EUR", rates={"": "0.6"}) as emu:
        provider = provider_for(emu)
        try:
            receipt = await provider.send(note())
            await emu.drain()
            record = await provider.get_record(receipt.call_id)
        finally:
            await provider.aclose()
    assert record.cost == Money("0.2", "EUR")
    assert record.raw["currency"] == "EUR"
    assert record.raw["quoteExchange"] == "0.938"
    assert record.raw["settlePay"] == "0.200000"


# -- scenarios --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "scenario"),
    [("100", ANSWERED), *SCENARIOS.items()],
    ids=[ANSWERED.name, *(s.name for s in SCENARIOS.values())],
)
async def test_scenarios_are_rendered_as_sip_codes(
    emu: ItnioEmulator, emu_provider: ItniotechProvider, suffix: str, scenario: Scenario
) -> None:
    receipt = await emu_provider.send(note(suffix, reference=f"r-{suffix}"))
    await emu.drain()
    record = await emu_provider.get_record(receipt.call_id)
    assert record.raw["terminationCode"] == str(scenario.sip)
    assert record.status is scenario.status
    assert record.hangup is not None
    assert record.hangup.sip == scenario.sip
    assert (record.answered_at is not None) is scenario.answered
    assert (record.ringing_at is not None) is (scenario.ring_seconds > 0)
    assert record.reference == f"r-{suffix}"
    assert record.raw["feedbackValue"] == "-1"
    assert record.digits is None
    if scenario.answered:
        assert record.duration == scenario.talk_seconds
        assert record.raw["terminationReason"] == "success"
    else:
        assert record.duration == 0
        assert record.cost == Money("0", "USD")


async def test_query_times_carry_plus_8(
    emu: ItnioEmulator, emu_provider: ItniotechProvider
) -> None:
    receipt = await emu_provider.send(note())
    await emu.drain()
    _, answer = await call(emu, "GET", f"/voice/recordGroup/{receipt.call_id}")
    data = answer["data"]
    for field in ("submitTime", "callTime", "ringingTime", "answerTime", "hangupTime"):
        assert data[field].endswith("+08:00"), field
    assert isinstance(data["callDuration"], int)
    assert data["cost"] == "0.007875"  # 0.023625 per minute, 20 s billed


async def test_no_answer_can_be_rendered_as_487(emu_provider: ItniotechProvider) -> None:
    async with ItnioEmulator(no_answer_sip=487) as emu:
        provider = provider_for(emu)
        try:
            receipt = await provider.send(note("019"))
            await emu.drain()
            record = await provider.get_record(receipt.call_id)
        finally:
            await provider.aclose()
    assert record.raw["terminationCode"] == "487"
    assert record.status is CallStatus.NO_ANSWER  # it rang: the ring timer ended it


async def test_feedback_value_only_when_asked(emu_provider: ItniotechProvider) -> None:
    async with ItnioEmulator(feedback_value="1") as emu:
        provider = provider_for(emu)
        try:
            answered = await provider.send(note())
            busy = await provider.send(note("017"))
            await emu.drain()
            assert (await provider.get_record(answered.call_id)).digits == "1"
            assert (await provider.get_record(busy.call_id)).digits is None
        finally:
            await provider.aclose()


async def test_ring_and_talk_limits_are_honoured(
    emu: ItnioEmulator, emu_provider: ItniotechProvider
) -> None:
    unanswered = await emu_provider.send(note("019", ring_timeout=30))
    long_talk = await emu_provider.send(note(repeat=2))
    cut = await emu_provider.send(note(repeat=2, max_duration=20))
    await emu.drain()
    record = await emu_provider.get_record(unanswered.call_id)
    assert record.ringing_at is not None and record.ended_at is not None
    assert (record.ended_at - record.ringing_at).total_seconds() == 30
    assert (await emu_provider.get_record(long_talk.call_id)).duration == 2 * ANSWERED.talk_seconds
    assert (await emu_provider.get_record(cut.call_id)).duration == 20


async def test_a_record_in_progress() -> None:
    async with ItnioEmulator(speed=0.05) as emu:
        provider = provider_for(emu)
        try:
            receipt = await provider.send(note())
            record = await provider.get_record(receipt.call_id)
            assert record.status is CallStatus.QUEUED
            assert record.raw["terminationCode"] == ""
            assert record.raw["hangupTime"] is None
            assert record.cost is None
            await emu.drain()
            assert (await provider.get_record(receipt.call_id)).status is CallStatus.COMPLETED
        finally:
            await provider.aclose()


async def test_unknown_and_malformed_voice_ids(emu_provider: ItniotechProvider) -> None:
    with pytest.raises(NotFound):
        await emu_provider.get_record("2203031113381000002")
    with pytest.raises(InvalidRequest) as caught:
        await emu_provider.get_record("not-an-id")
    assert caught.value.code == "-22"


# -- pushes -----------------------------------------------------------------------------------


async def test_the_record_is_pushed_to_the_configured_url(
    emu: ItnioEmulator, receiver_factory: ReceiverFactory
) -> None:
    receiver = await receiver_factory()
    overrides = emu.push_settings(receiver.base)
    provider = provider_for(emu, **overrides)
    try:
        receipt = await provider.send(note(reference="order-1"))
        await emu.drain()
        ((url, headers, payload),) = receiver.pushes
        assert url.endswith(f"/hooks/record?token={overrides['push_token']}")
        assert headers["Content-Type"] == "application/json;charset=UTF-8"
        assert "Sign" not in headers  # ITNIO signs no push
        pushed = json.loads(payload)
        assert pushed["voiceId"] == receipt.call_id
        assert pushed["type"] == 2
        assert pushed["sipCode"] == pushed["terminationCode"] == "200"
        assert pushed["outRecallCount"] == 0
        assert pushed["ringDuration"] == 4
        for field in ("submitTime", "callTime", "ringingTime", "answerTime", "hangupTime"):
            assert isinstance(pushed[field], int), field
        (event,) = provider.parse_webhook("record", headers, payload, url)
        queried = await provider.get_record(receipt.call_id)
        assert event.record is not None
        assert event.record.status is queried.status
        assert event.record.reference == "order-1"
        assert event.record.duration == queried.duration
        assert event.record.cost == queried.cost
    finally:
        await provider.aclose()


async def test_pushes_are_retried_three_times(receiver_factory: ReceiverFactory) -> None:
    async with ItnioEmulator() as emu:
        flaky = await receiver_factory([500, 503, 404])
        emu.push_settings(flaky.base)
        provider = provider_for(emu)
        try:
            await provider.send(note())
            await emu.drain()
            assert len(flaky.pushes) == 4  # three failures, then accepted
            dead = await receiver_factory([500] * 10)
            emu.push_settings(dead.base)
            await provider.send(note())
            await emu.drain()
            assert len(dead.pushes) == 4  # the first try and 3 retries, then given up
            assert [a.attempt for a in emu.push_log[-4:]] == [1, 2, 3, 4]
        finally:
            await provider.aclose()


async def test_push_retries_wait_the_configured_interval(receiver_factory: ReceiverFactory) -> None:
    async with ItnioEmulator(push_retry_interval=0.2) as emu:
        receiver = await receiver_factory([500])
        emu.push_settings(receiver.base)
        provider = provider_for(emu)
        try:
            started = time.monotonic()
            await provider.send(note())
            await emu.drain()
            assert time.monotonic() - started >= 0.2
            assert len(receiver.pushes) == 2
        finally:
            await provider.aclose()


async def test_a_dead_receiver_url_is_retried_too(emu: ItnioEmulator) -> None:
    emu.push_url = "http://127.0.0.1:9/hooks/record"
    provider = provider_for(emu)
    try:
        await provider.send(note())
        await emu.drain()
    finally:
        await provider.aclose()
    assert len(emu.push_log) == 4
    assert all(a.status is None and a.error for a in emu.push_log)


async def test_batch_mode_pushes_arrays(receiver_factory: ReceiverFactory) -> None:
    async with ItnioEmulator(push_batch=True) as emu:
        receiver = await receiver_factory()
        provider = provider_for(emu, **emu.push_settings(receiver.base))
        try:
            await provider.send(note("017"))
            await emu.drain()
            ((url, headers, payload),) = receiver.pushes
            assert isinstance(json.loads(payload), list)
            (event,) = provider.parse_webhook("record", headers, payload, url)
            assert event.record is not None
            assert event.record.status is CallStatus.BUSY
        finally:
            await provider.aclose()


async def test_recalls_push_only_the_final_attempt(receiver_factory: ReceiverFactory) -> None:
    async with ItnioEmulator() as emu:
        receiver = await receiver_factory()
        provider = provider_for(emu, **emu.push_settings(receiver.base))
        try:
            options = {"recallCount": 2, "recallInterval": 5}
            busy = await provider.send(note("017", options=options))
            answered = await provider.send(note("100", options=options))
            await emu.drain()
            pushes = {p["voiceId"]: p for p in (json.loads(b) for _, _, b in receiver.pushes)}
            assert len(pushes) == 2
            assert pushes[busy.call_id]["outRecallCount"] == 2
            assert pushes[answered.call_id]["outRecallCount"] == 0
            assert len(emu.placed) == 2  # a recall is not a new submission
            record = await provider.get_record(busy.call_id)
            assert record.submitted_at is not None and record.started_at is not None
            assert record.started_at - record.submitted_at >= timedelta(minutes=10)
        finally:
            await provider.aclose()


# -- fault switches, rate limit, allowlist ----------------------------------------------------


async def test_error_response_is_the_platform_envelope(emu: ItnioEmulator) -> None:
    emu.inject(FaultKind.PROVIDER_ERROR, code="-18")
    status, answer = await call(emu, "POST", "/voice/sendCode", code_body(emu))
    assert status == 200
    assert answer == {"status": "-18", "reason": "port program unusual"}
    emu.inject(FaultKind.RATE_LIMIT)
    status, answer = await call(emu, "GET", "/voice/recordGroup/1")
    assert (status, answer["status"]) == (200, "-15")
    emu.inject(FaultKind.PROVIDER_ERROR)  # no code given: the platform's internal error
    _, answer = await call(emu, "GET", "/sms/getBalance")
    assert answer["status"] == "-18"
    _, answer = await call(emu, "GET", "/sms/getBalance")
    assert answer == {
        "status": "0",
        "reason": "success",
        "balance": "1000.000000",
        "gift": "0.000000",
        "credit": "0",
    }
    assert emu.placed == []


async def test_injected_codes_reach_the_provider(
    emu: ItnioEmulator, emu_provider: ItniotechProvider
) -> None:
    emu.inject(FaultKind.PROVIDER_ERROR, code="-2")
    with pytest.raises(PermissionDenied):
        await emu_provider.send(note())
    emu.inject(FaultKind.PROVIDER_ERROR, code="-16")  # once: re-signed and retried
    receipt = await emu_provider.send(note())
    assert emu.placed[-1].call_id == receipt.call_id


async def test_clock_skew_is_request_expired(
    emu: ItnioEmulator, emu_provider: ItniotechProvider
) -> None:
    emu.clock_skew = 1801
    with pytest.raises(RequestExpired):
        await emu_provider.send(note())
    emu.clock_skew = 1700
    assert (await emu_provider.send(note())).call_id


async def test_the_per_key_rate_limit_answers_minus_15() -> None:
    async with ItnioEmulator(rate_limit=2) as emu:
        provider = provider_for(emu)
        try:
            await provider.send(note())
            await provider.send(note())
            with pytest.raises(RateLimited) as caught:
                await provider.send(note())
            assert caught.value.code == "-15"
            assert caught.value.call_placed is False
            assert len(emu.placed) == 2
            await asyncio.sleep(1.05)
            await provider.send(note())
        finally:
            await provider.aclose()


@pytest.mark.parametrize(
    ("allowlist", "allowed"),
    [(["10.0.0.0/8"], False), (["127.0.0.1"], True), (["127.0.0.0/8", "::1"], True), ([], True)],
)
async def test_the_ip_allowlist(allowlist: list[str], allowed: bool) -> None:
    async with ItnioEmulator(ip_allowlist=allowlist) as emu:
        provider = provider_for(emu)
        try:
            if allowed:
                assert (await provider.send(note())).call_id
            else:
                with pytest.raises(PermissionDenied) as caught:
                    await provider.send(note())
                assert caught.value.code == "-2"
        finally:
            await provider.aclose()


async def test_wrong_credentials_are_minus_1(emu: ItnioEmulator) -> None:
    for override in ({"api_secret": "wrong-secret"}, {"api_key": "wrongkey"}):
        provider = provider_for(emu, **override)
        try:
            with pytest.raises(ProviderError) as caught:
                await provider.send(note())
            assert type(caught.value).__name__ == "AuthenticationError"
            assert "wrong-secret" not in str(caught.value)
        finally:
            await provider.aclose()


# -- audio ------------------------------------------------------------------------------------


async def test_upload_then_play_an_audio_file(
    emu: ItnioEmulator, emu_provider: ItniotechProvider, receiver_factory: ReceiverFactory
) -> None:
    receiver = await receiver_factory()
    emu.push_settings(receiver.base)
    uploaded = await emu_provider.upload_audio(
        AudioUpload(data=b"RIFF....WAVEfmt ", filename="welcome.wav")
    )
    assert uploaded.file_id.endswith(".wav")
    assert emu.files[uploaded.file_id] == "welcome.wav"
    with pytest.raises(InvalidRequest) as caught:
        await emu_provider.upload_audio(AudioUpload(data=b"x", filename="welcome.wav"))
    assert caught.value.code == "-20"
    receipt = await emu_provider.send(note(prompts=[Audio(uploaded.file_id)], reference="a-1"))
    await emu.drain()
    record = await emu_provider.get_record(receipt.call_id)
    assert record.raw["voiceFileId"] == uploaded.file_id
    assert record.reference == "a-1"
    assert json.loads(receiver.pushes[0][2])["type"] == 1
    _, listing = await call(emu, "POST", "/voice/fileQuery", {"current": 1, "size": 10})
    assert listing["data"]["records"] == [{"fileId": uploaded.file_id, "fileName": "welcome.wav"}]


async def test_an_unknown_file_is_minus_22(emu_provider: ItniotechProvider) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await emu_provider.send(note(prompts=[Audio("1nothing.mp3")]))
    assert caught.value.code == "-22"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"fileName": "tone.wav", "file": "not base64!"}, "-21"),
        ({"fileName": "tone.wav", "file": ""}, "-22"),
        ({"fileName": "tone.ogg", "file": base64.b64encode(b"x").decode()}, "-22"),
        ({"fileName": ".mp3", "file": base64.b64encode(b"x").decode()}, "-22"),
    ],
)
async def test_upload_checks(emu: ItnioEmulator, body: dict[str, str], code: str) -> None:
    _, answer = await call(emu, "POST", "/voice/fileUpload", body)
    assert answer["status"] == code


async def test_verification_codes_play_through_send_code(
    emu: ItnioEmulator, emu_provider: ItniotechProvider
) -> None:
    receipt = await emu_provider.send(note(prompts=[VerificationCode("583021", "hi")]))
    assert emu.calls[receipt.call_id].kind == 2


# -- record search ----------------------------------------------------------------------------


async def test_iter_records_finds_every_call_newest_first(
    emu: ItnioEmulator, emu_provider: ItniotechProvider
) -> None:
    receipts = [await emu_provider.send(note(s)) for s in ("100", "017", "019")]
    await emu.drain()
    now = datetime.now(UTC)
    found = [
        r
        async for r in emu_provider.iter_records(now - timedelta(hours=1), now + timedelta(hours=1))
    ]
    assert {r.call_id for r in found} == {r.call_id for r in receipts}
    stamps = [r.submitted_at for r in found if r.submitted_at is not None]
    assert len(stamps) == 3
    assert stamps == sorted(stamps, reverse=True)
    assert {r.status for r in found} == {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
    }


async def test_record_query_rules(emu: ItnioEmulator) -> None:
    def query(start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
        return {
            "current": 1,
            "size": 20,
            **extra,
            "params": {"strTime": start.isoformat(), "endTime": end.isoformat()},
        }

    now = datetime.now(UTC)
    _, answer = await call(
        emu, "POST", "/voice/recordGroupQuery", query(now, now + timedelta(days=32))
    )
    assert answer["status"] == "-22"
    old = now - timedelta(days=70)
    _, answer = await call(
        emu, "POST", "/voice/recordGroupQuery", query(old, old + timedelta(days=1))
    )
    assert answer["status"] == "-22"
    _, answer = await call(
        emu, "POST", "/voice/recordGroupQuery", query(now, now + timedelta(days=1), size=101)
    )
    assert answer["status"] == "-22"
    naive = {"params": {"strTime": "2022-02-18T00:00:00", "endTime": "2022-02-19T00:00:00"}}
    _, answer = await call(emu, "POST", "/voice/recordGroupQuery", naive)
    assert answer["status"] == "-22"
    _, answer = await call(
        emu, "POST", "/voice/recordGroupQuery", query(now, now + timedelta(days=1))
    )
    assert answer["status"] == "0"
    assert answer["data"]["records"] == []
    assert answer["data"]["searchCount"] is True


async def test_query_pages(emu: ItnioEmulator, emu_provider: ItniotechProvider) -> None:
    for _ in range(3):
        await emu_provider.send(note())
    await emu.drain()
    now = datetime.now(UTC)
    params = {
        "strTime": (now - timedelta(hours=1)).isoformat(),
        "endTime": (now + timedelta(hours=1)).isoformat(),
    }
    _, answer = await call(
        emu, "POST", "/voice/recordGroupQuery", {"current": 2, "size": 2, "params": params}
    )
    data = answer["data"]
    assert (data["total"], data["pages"], data["current"], len(data["records"])) == (3, 2, 2, 1)


# -- settings the emulator hands out ----------------------------------------------------------


async def test_credentials_are_per_instance_or_given() -> None:
    one, two = ItnioEmulator(), ItnioEmulator()
    assert one.api_key != two.api_key
    assert one.api_secret != two.api_secret
    given_creds = ItnioEmulator(api_key="bDqJFiq9", api_secret="7bz1lzh9", app_id="4luaKsL2")
    settings = given_creds.provider_settings(timeout=5)
    assert settings["api_key"] == "bDqJFiq9"
    assert settings["api_secret"] == "7bz1lzh9"
    assert settings["app_id"] == "4luaKsL2"
    assert settings["plugin"] == "itniotech"
    assert settings["timeout"] == 5
    assert "push_token" not in settings
    given_creds.push_settings("http://127.0.0.1:1/hooks/x")
    assert given_creds.provider_settings()["push_token"] == given_creds.push_token
    unstarted = given_creds.provider_settings(base_url="http://127.0.0.1:1")
    assert ItniotechSettings(**unstarted).push_token == given_creds.push_token
