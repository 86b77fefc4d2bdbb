"""The sandbox through the gateway: the default config, every scenario, rehearsed failures."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
import pytest_asyncio

from voicegw import (
    Audio,
    AudioStatus,
    AudioUpload,
    CallStatus,
    DigitCollection,
    EventKind,
    HangupCategory,
    Speech,
    Template,
    VerificationCode,
    VoiceGateway,
    VoiceNotification,
    VoiceProvider,
    converter,
)
from voicegw.errors import (
    AuthenticationError,
    ConfigurationError,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    RequestExpired,
    TransportError,
    UnsupportedFeature,
    ValidationError,
)
from voicegw.models import utcnow
from voicegw.sandbox import (
    SIGNATURE_HEADER,
    SandboxEmulator,
    SandboxProvider,
    SandboxSettings,
    sign_push,
)
from voicegw.testing.scenarios import number_for

URL = "https://hooks.example.com/hooks/sandbox/record"

#: scenario → (final status, hang-up category or None for "answered, no failure cause").
EXPECTED: dict[str, tuple[CallStatus, HangupCategory | None]] = {
    "answered": (CallStatus.COMPLETED, None),
    "busy": (CallStatus.BUSY, HangupCategory.BUSY),
    "no_answer": (CallStatus.NO_ANSWER, HangupCategory.NO_ANSWER),
    "rejected": (CallStatus.REJECTED, HangupCategory.REJECTED),
    "invalid_number": (CallStatus.FAILED, HangupCategory.INVALID_NUMBER),
    "unreachable": (CallStatus.FAILED, HangupCategory.UNREACHABLE),
    "congestion": (CallStatus.FAILED, HangupCategory.CONGESTION),
    "network_error": (CallStatus.FAILED, HangupCategory.NETWORK_ERROR),
}


@pytest_asyncio.fixture
async def gateway() -> AsyncIterator[VoiceGateway]:
    async with VoiceGateway.from_config() as gateway:
        yield gateway


def sandbox_of(gateway: VoiceGateway) -> SandboxProvider:
    provider = gateway.provider("sandbox")
    assert isinstance(provider, SandboxProvider)
    return provider


def note(number: str = "+8613800000100", **kwargs: object) -> VoiceNotification:
    return VoiceNotification(number, [Speech("Your table is ready", "en")], **kwargs)  # type: ignore[arg-type]


# -- the default configuration ----------------------------------------------------------------


async def test_no_configuration_gives_the_sandbox(gateway: VoiceGateway) -> None:
    assert list(gateway.providers) == ["sandbox"]
    provider = gateway.provider("sandbox")
    assert isinstance(provider, VoiceProvider)
    assert provider.plugin == "sandbox"
    assert gateway.config.gateway.route == ("sandbox",)


# -- scenarios ----------------------------------------------------------------------------------


def test_every_scenario_is_expected() -> None:
    from voicegw.testing.scenarios import all_scenarios

    assert {scenario.name for _, scenario in all_scenarios()} == set(EXPECTED)


@pytest.mark.parametrize("scenario", list(EXPECTED))
async def test_scenario_outcome(gateway: VoiceGateway, scenario: str) -> None:
    status, category = EXPECTED[scenario]
    number = number_for(scenario)
    receipt = await gateway.send(note(number, reference=f"ref-{scenario}"))
    assert receipt.provider == "sandbox"
    record = await gateway.get_record(receipt)
    assert record.call_id == receipt.call_id
    assert record.status is status
    if category is None:
        assert record.hangup is None or record.hangup.category is HangupCategory.NORMAL
        assert record.answered_at is not None
        assert record.duration is not None
        assert record.duration > 0
    else:
        assert record.hangup is not None
        assert record.hangup.category is category
        assert record.hangup.q850 is not None
        assert record.answered_at is None
        assert record.duration == 0
    assert record.to == number
    assert record.reference == f"ref-{scenario}"
    assert record.raw["scenario"] == scenario


async def test_answered_calls_press_1_only_when_digits_are_collected(
    gateway: VoiceGateway,
) -> None:
    collected = await gateway.send(note(collect=DigitCollection(max_digits=1)))
    plain = await gateway.send(note())
    busy = await gateway.send(note(number_for("busy"), collect=DigitCollection()))
    assert (await gateway.get_record(collected)).digits == "1"
    assert (await gateway.get_record(plain)).digits is None
    assert (await gateway.get_record(busy)).digits is None


async def test_an_answered_record_is_complete_and_billed(gateway: VoiceGateway) -> None:
    before = utcnow()
    record = await gateway.get_record(await gateway.send(note()))
    times = [record.submitted_at, record.started_at, record.ringing_at, record.answered_at]
    assert all(t is not None for t in times)
    assert record.submitted_at is not None
    assert record.submitted_at >= before - timedelta(seconds=1)
    assert times == sorted(times)  # type: ignore[type-var]
    assert record.ended_at is not None
    assert record.answered_at is not None
    assert record.ended_at - record.answered_at == timedelta(seconds=record.duration or 0)
    assert record.billed_duration == 60  # a started minute
    assert record.cost is not None
    assert (record.cost.amount, record.cost.currency) == (Decimal("0.01"), "USD")


async def test_unanswered_calls_cost_nothing(gateway: VoiceGateway) -> None:
    record = await gateway.get_record(await gateway.send(note(number_for("no_answer"))))
    assert record.billed_duration == 0
    assert record.cost is not None
    assert record.cost.amount == 0


async def test_caller_id_comes_from_the_notification_or_the_settings() -> None:
    gateway = VoiceGateway.from_config(
        {"providers": {"sandbox": {"plugin": "sandbox", "caller_id": "+84912345678"}}}
    )
    async with gateway:
        default = await gateway.get_record(await gateway.send(note()))
        chosen = await gateway.get_record(await gateway.send(note(caller_id="+14155550123")))
    assert default.caller_id == "+84912345678"
    assert chosen.caller_id == "+14155550123"


async def test_price_and_currency_are_settings() -> None:
    gateway = VoiceGateway.from_config(
        {"providers": {"sb": {"plugin": "sandbox", "price_per_minute": "0.05", "currency": "EUR"}}}
    )
    async with gateway:
        record = await gateway.get_record(await gateway.send(note()))
    assert record.cost is not None
    assert (record.cost.amount, record.cost.currency) == (Decimal("0.05"), "EUR")


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"currency": "usd"}, "providers.sb.currency"),
        ({"currency": "DOLLARS"}, "providers.sb.currency"),
        ({"price_per_minute": "abc"}, "providers.sb.price_per_minute"),
    ],
)
def test_bad_sandbox_settings_are_refused_at_load(settings: dict[str, str], path: str) -> None:
    # Refused when the configuration loads, naming the key - not at the first send.
    with pytest.raises(ConfigurationError) as info:
        VoiceGateway.from_config({"providers": {"sb": {"plugin": "sandbox", **settings}}})
    assert str(info.value).startswith(f"{path}: ")


def test_a_float_price_keeps_its_written_value() -> None:
    gateway = VoiceGateway.from_config(
        {"providers": {"sb": {"plugin": "sandbox", "price_per_minute": 0.02}}}
    )
    settings = gateway.config.providers["sb"]
    assert isinstance(settings, SandboxSettings)
    assert settings.price_per_minute == Decimal("0.02")


@pytest.mark.parametrize(
    "prompt",
    [Template("welcome", ["Ada"]), Audio("sbx-audio-1"), VerificationCode("583021", "vi")],
)
async def test_every_prompt_type_is_accepted(gateway: VoiceGateway, prompt: object) -> None:
    receipt = await gateway.send(VoiceNotification("+8613800000100", prompt))  # type: ignore[arg-type]
    assert receipt.call_id.startswith("sbx-")


async def test_call_ids_are_unique(gateway: VoiceGateway) -> None:
    ids = {(await gateway.send(note())).call_id for _ in range(20)}
    assert len(ids) == 20


async def test_text_too_long_is_refused_before_sending(gateway: VoiceGateway) -> None:
    with pytest.raises(ValidationError, match=r"prompts\[0\]\.text: at most 1000") as info:
        await gateway.send(VoiceNotification("+8613800000100", [Speech("x" * 1001)]))
    assert info.value.call_placed is False
    assert sandbox_of(gateway).records == {}


async def test_connect_places_a_click_to_call(gateway: VoiceGateway) -> None:
    receipt = await gateway.connect("+84912345678", number_for("busy"), reference="c2c")
    record = await gateway.get_record(receipt)
    assert record.status is CallStatus.BUSY
    assert record.caller_id == "+84912345678"
    assert record.reference == "c2c"


async def test_iter_records_by_submission_time(gateway: VoiceGateway) -> None:
    receipt = await gateway.send(note())
    provider = sandbox_of(gateway)
    now = utcnow()
    found = [r async for r in provider.iter_records(now - timedelta(minutes=1), now + timedelta(1))]
    assert [r.call_id for r in found] == [receipt.call_id]
    later = [r async for r in provider.iter_records(now + timedelta(1), now + timedelta(2))]
    assert later == []


# -- rehearsed failures ------------------------------------------------------------------------


async def test_fail_next_raises_once_then_works(gateway: VoiceGateway) -> None:
    sandbox_of(gateway).fail_next(InsufficientFunds("balance too low", code="-10"))
    with pytest.raises(InsufficientFunds) as info:
        await gateway.send(note())
    assert (info.value.provider, info.value.plugin, info.value.code) == (
        "sandbox",
        "sandbox",
        "-10",
    )
    assert [a.error for a in info.value.attempts] == ["InsufficientFunds"]
    assert (await gateway.send(note())).provider == "sandbox"


async def test_fail_next_several_times(gateway: VoiceGateway) -> None:
    sandbox_of(gateway).fail_next(NotFound("gone"), times=2)
    for _ in range(2):
        with pytest.raises(NotFound):
            await gateway.get_record("sbx-x")
    with pytest.raises(NotFound, match="no call 'sbx-x'"):
        await gateway.get_record("sbx-x")


async def test_a_retryable_rehearsed_failure_is_retried_by_the_gateway() -> None:
    gateway = VoiceGateway.from_config({"gateway": {"retries": 1, "retry_backoff": 0}})
    async with gateway:
        sandbox_of(gateway).fail_next(ProviderUnavailable("sandbox failure"))
        receipt = await gateway.send(note())
    assert [a.error for a in receipt.attempts] == ["ProviderUnavailable", None]


# -- audio ------------------------------------------------------------------------------------


async def test_upload_audio_then_play_it(gateway: VoiceGateway) -> None:
    audio = await gateway.upload_audio(AudioUpload(data=b"RIFF....WAVE", filename="hello.wav"))
    assert audio.provider == "sandbox"
    assert audio.status is AudioStatus.APPROVED
    assert sandbox_of(gateway).audio[audio.file_id] == audio
    receipt = await gateway.send(VoiceNotification("+8613800000100", Audio(audio.file_id)))
    assert (await gateway.get_record(receipt)).status is CallStatus.COMPLETED


async def test_upload_audio_can_fail_next(gateway: VoiceGateway) -> None:
    sandbox_of(gateway).fail_next(InvalidRequest("bad format"))
    with pytest.raises(InvalidRequest):
        await gateway.upload_audio(AudioUpload(data=b"x", filename="a.mp3"))


# -- hang-up ----------------------------------------------------------------------------------


async def test_hangup_of_an_ended_call_is_refused(gateway: VoiceGateway) -> None:
    receipt = await gateway.send(note())
    with pytest.raises(InvalidRequest, match="has already ended") as info:
        await gateway.hangup(receipt)
    assert info.value.provider == "sandbox"
    assert (await gateway.get_record(receipt)).status is CallStatus.COMPLETED


async def test_hangup_of_an_unknown_call(gateway: VoiceGateway) -> None:
    with pytest.raises(NotFound):
        await gateway.hangup("sbx-nope")


async def test_hangup_of_a_live_call_cancels_it() -> None:
    async with SandboxEmulator(speed=0.05) as emulator:
        gateway = VoiceGateway.from_config({"providers": {"sandbox": emulator.provider_settings()}})
        async with gateway:
            receipt = await gateway.send(note())
            assert (await gateway.get_record(receipt)).status is CallStatus.QUEUED
            await gateway.hangup(receipt)
            record = await gateway.get_record(receipt)
            assert record.status is CallStatus.CANCELED
            assert record.hangup is not None
            assert record.hangup.category is HangupCategory.CANCELED
            await emulator.drain()
            assert (await gateway.get_record(receipt)).status is CallStatus.CANCELED
        assert [p.call_id for p in emulator.placed] == [receipt.call_id]


# -- the attached emulator ----------------------------------------------------------------------


async def test_an_attached_emulator_checks_the_token() -> None:
    async with SandboxEmulator() as emulator:
        settings = emulator.provider_settings(token="wrong-token-value")
        async with VoiceGateway.from_config({"providers": {"sandbox": settings}}) as gateway:
            with pytest.raises(AuthenticationError) as info:
                await gateway.send(note())
    assert "wrong-token-value" not in str(info.value)
    assert emulator.placed == []


async def test_an_attached_emulator_with_a_skewed_clock_refuses() -> None:
    async with SandboxEmulator() as emulator:
        emulator.clock_skew = 3600
        config = {
            "gateway": {"retries": 0},
            "providers": {"sandbox": emulator.provider_settings()},
        }
        async with VoiceGateway.from_config(config) as gateway:
            with pytest.raises(RequestExpired):
                await gateway.send(note())


async def test_a_missing_emulator_is_a_transport_error() -> None:
    gateway = VoiceGateway.from_config(
        {
            "gateway": {"retries": 0},
            "providers": {"sandbox": {"plugin": "sandbox", "emulator": "sandbox-gone"}},
        }
    )
    async with gateway:
        with pytest.raises(TransportError) as info:
            await gateway.send(note(), provider="sandbox")
    assert info.value.call_placed is False


async def test_emulator_settings_keep_the_token_secret() -> None:
    async with SandboxEmulator(token="tok-SECRET-123") as emulator:
        settings = SandboxSettings(**emulator.provider_settings())
        assert settings.token == "tok-SECRET-123"
        assert "tok-SECRET-123" not in repr(settings)


# -- pushes -----------------------------------------------------------------------------------


async def test_parse_webhook_round_trip(gateway: VoiceGateway) -> None:
    await gateway.send(note(reference="push-1"))
    await gateway.send(note(number_for("busy")))
    events = sandbox_of(gateway).events
    assert [e.kind for e in events] == [EventKind.RECORD, EventKind.RECORD]
    body = json.dumps([converter.unstructure(e) for e in events]).encode()
    assert gateway.parse_webhook("sandbox", "record", {}, body, URL) == events


async def test_parse_webhook_takes_a_single_event(gateway: VoiceGateway) -> None:
    await gateway.send(note())
    event = sandbox_of(gateway).events[0]
    body = json.dumps(converter.unstructure(event)).encode()
    assert gateway.parse_webhook("sandbox", "record", {}, body, URL) == [event]


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[1, 2]", b'{"kind": "exploded"}', b"\xff", b"null"]
)
def test_parse_webhook_refuses_garbage(body: bytes) -> None:
    provider = SandboxProvider("sandbox", SandboxSettings())
    with pytest.raises(InvalidRequest, match="not a sandbox push"):
        provider.parse_webhook("record", {}, body, URL)


def test_parse_webhook_knows_only_record_pushes() -> None:
    provider = SandboxProvider("sandbox", SandboxSettings())
    with pytest.raises(UnsupportedFeature):
        provider.parse_webhook("status", {}, b"[]", URL)


def test_parse_webhook_checks_the_signature_when_a_token_is_set() -> None:
    provider = SandboxProvider("sandbox", SandboxSettings(token="tok"))
    body = b"[]"
    good = sign_push("tok", URL, body)
    assert provider.parse_webhook("record", {SIGNATURE_HEADER.lower(): good}, body, URL) == []
    with pytest.raises(AuthenticationError):
        provider.parse_webhook("record", {SIGNATURE_HEADER: good}, body, URL + "?x=1")
    with pytest.raises(AuthenticationError):
        provider.parse_webhook("record", {}, body, URL)


async def test_an_attached_emulator_pushes_signed_records() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    received: list[tuple[str, bytes, str]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((str(request.url), await request.read(), request.headers[SIGNATURE_HEADER]))
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_post("/hooks/sandbox/record", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with SandboxEmulator() as emulator:
            base = str(server.make_url("/hooks/sandbox")).rstrip("/")
            settings = {**emulator.provider_settings(), **emulator.push_settings(base)}
            async with VoiceGateway.from_config({"providers": {"sandbox": settings}}) as gateway:
                receipt = await gateway.send(note(number_for("rejected")))
                await emulator.drain()
                assert len(received) == 1
                url, body, _ = received[0]
                headers = {SIGNATURE_HEADER: received[0][2]}
                events = gateway.parse_webhook("sandbox", "record", headers, body, url)
            assert [e.call_id for e in events] == [receipt.call_id]
            assert events[0].record is not None
            assert events[0].record.status is CallStatus.REJECTED
    finally:
        await server.close()


def test_webhook_reply(gateway: VoiceGateway) -> None:
    provider = gateway.provider("sandbox")
    assert provider.webhook_reply("record", accepted=True).status == 200
    assert provider.webhook_reply("record", accepted=False).status >= 500
