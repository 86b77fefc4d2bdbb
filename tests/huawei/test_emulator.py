"""The emulator over loopback: authentication, body rules, call lifecycles, pushes, faults."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from voicegw.models import CallStatus, ClickToCall, DigitCollection, EventKind, Template
from voicegw.models import VoiceNotification as Note
from voicegw.testing.emulator import FaultKind
from voicegw.testing.scenarios import ANSWERED, SCENARIOS, Scenario
from voicegw_huawei import auth, wire
from voicegw_huawei.codes import cause_from_state_code, http_status_for
from voicegw_huawei.emulator import (
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    DEFAULT_DISPLAY_NUMBER,
    EmulatedApp,
    HuaweiEmulator,
    state_code_for,
)
from voicegw_huawei.provider import HuaweiProvider
from voicegw_huawei.pushes import parse_status_push, record_from_cdr

from .conftest import ReceiverFactory
from .samples import AUTHORIZATION, Receiver

CALLEE = "+8613800000100"


def notify_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayNbr": DEFAULT_DISPLAY_NUMBER,
        "calleeNbr": CALLEE,
        "playInfoList": [{"notifyVoice": "notice.wav"}],
    }
    body.update(changes)
    return body


def signed(
    *,
    key: str = DEFAULT_APP_KEY,
    secret: str = DEFAULT_APP_SECRET,
    now: datetime | None = None,
    nonce: str | None = None,
    beijing: bool = False,
) -> dict[str, str]:
    return auth.sign_headers(
        key,
        secret,
        now=now or datetime.now(UTC),
        nonce=nonce or auth.new_nonce(),
        beijing=beijing,
    )


class Client:
    """Raw HTTP to the emulator, to see exactly what it answers."""

    def __init__(self, emu: HuaweiEmulator, session: aiohttp.ClientSession) -> None:
        self.emu = emu
        self.session = session

    async def post(
        self, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with self.session.post(
            self.emu.base_url + path, data=data, headers=signed() if headers is None else headers
        ) as resp:
            return resp.status, await resp.json(content_type=None)

    async def notify(self, headers: dict[str, str] | None = None, **changes: Any) -> Any:
        return await self.post(wire.NOTIFY_PATH, notify_body(**changes), headers)


@pytest_asyncio.fixture
async def client(emu: HuaweiEmulator) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(emu, session)


async def test_a_signed_notification_is_placed(client: Client, emu: HuaweiEmulator) -> None:
    status, body = await client.notify(returnIdlePort="true", userData="r-1")
    assert status == 200
    assert body["resultcode"] == "0"
    assert body["sessionId"].endswith("@callenabler245.huaweicaas.com")
    assert body["idlePort"] == 9
    assert [(p.call_id, p.callee, p.reference) for p in emu.placed] == [
        (body["sessionId"], CALLEE, "r-1")
    ]


# -- authentication -----------------------------------------------------------------------------


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


def _aksk(**fields: str) -> str:
    return "UsernameToken " + ",".join(f'{k}="{v}"' for k, v in fields.items())


def _fields() -> dict[str, str]:
    headers = signed()
    parsed = auth.parse_x_aksk(headers["X-AKSK"])
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda h: _without(h, "Authorization"), "1023006"),
        (lambda h: {**h, "Authorization": 'AKSK profile="UsernameToken",type="Appkey"'}, "1023007"),
        (lambda h: {**h, "Authorization": 'AKSK realm="SDP",type="Appkey"'}, "1023008"),
        (lambda h: {**h, "Authorization": AUTHORIZATION.replace("SDP", "XYZ")}, "1023009"),
        (lambda h: {**h, "Authorization": AUTHORIZATION.replace('e="User', 'e="Pass')}, "1023010"),
        (lambda h: {**h, "Authorization": AUTHORIZATION.replace("Appkey", "Token")}, "1023011"),
        (lambda h: {**h, "Authorization": 'AKSK realm="SDP",profile="UsernameToken"'}, "1023012"),
        (lambda h: _without(h, "X-AKSK"), "1023033"),
        (lambda h: {**h, "X-AKSK": h["X-AKSK"].replace("UsernameToken", "Token")}, "1023033"),
        (lambda h: {**h, "X-AKSK": _aksk(**_drop(_fields(), "Username"))}, "1023034"),
        (lambda h: {**h, "X-AKSK": _aksk(**_drop(_fields(), "Nonce"))}, "1023035"),
        (lambda h: {**h, "X-AKSK": _aksk(**_drop(_fields(), "Created"))}, "1023036"),
        (lambda h: {**h, "X-AKSK": _aksk(**_drop(_fields(), "PasswordDigest"))}, "1023037"),
        (lambda h: {**h, "X-AKSK": _aksk(**{**_fields(), "Nonce": "has-dash"})}, "1023035"),
        (lambda h: signed(key="unknownKey"), "1010003"),
        (lambda h: signed(secret="wrong"), "1010010"),
        (lambda h: signed(now=datetime.now(UTC) - timedelta(minutes=6)), "1010013"),
        (lambda h: signed(now=datetime.now(UTC) + timedelta(minutes=6)), "1010013"),
    ],
)
async def test_authentication_refusals(client: Client, mutate: Any, code: str) -> None:
    status, body = await client.notify(headers=mutate(signed()))
    assert body["resultcode"] == code
    assert status == http_status_for(code)
    assert not client.emu.placed


def _drop(fields: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in fields.items() if k != name}


async def test_created_in_beijing_time_is_tolerated_unless_strict(client: Client) -> None:
    status, body = await client.notify(headers=signed(beijing=True))
    assert (status, body["resultcode"]) == (200, "0")
    client.emu.strict_utc = True
    status, body = await client.notify(headers=signed(beijing=True))
    assert body["resultcode"] == "1010013"


async def test_skew_window_and_clock_skew(client: Client) -> None:
    status, body = await client.notify(headers=signed(now=datetime.now(UTC) - timedelta(minutes=4)))
    assert body["resultcode"] == "0"
    client.emu.clock_skew = 3 * 3600
    status, body = await client.notify()
    assert (status, body["resultcode"]) == (401, "1010013")


async def test_nonce_replay_is_refused_when_switched_on(client: Client) -> None:
    headers = signed()
    assert (await client.notify(headers=headers))[1]["resultcode"] == "0"
    assert (await client.notify(headers=headers))[1]["resultcode"] == "0"
    client.emu.reject_replayed_nonces = True
    headers = signed()
    assert (await client.notify(headers=headers))[1]["resultcode"] == "0"
    assert (await client.notify(headers=headers))[1]["resultcode"] == "1010010"


async def test_ip_whitelist(client: Client) -> None:
    client.emu.main_app.ip_whitelist = frozenset({"10.0.0.1"})
    status, body = await client.notify()
    assert (status, body["resultcode"]) == (403, "1020166")


# -- body rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"calleeNbr": "+14155550100"}, "calleeNbr"),
        ({"calleeNbr": "8613800000100"}, "calleeNbr"),
        ({"playInfoList": []}, "playInfoList"),
        ({"playInfoList": [{"notifyVoice": "a.wav"}] * 6}, "playInfoList"),
        ({"playInfoList": [{"notifyVoice": "a.wav", "templateId": "t"}]}, "playInfoList[0]"),
        (
            {"playInfoList": [{"notifyVoice": "a.wav", "collectInd": 33}]},
            "playInfoList[0].collectInd",
        ),
        ({"statusUrl": "not base64!"}, "statusUrl"),
        ({"userData": "{x}"}, "userData"),
        ({"displayNbr": None}, "displayNbr"),
    ],
)
async def test_invalid_bodies_name_the_field(
    client: Client, changes: dict[str, Any], field: str
) -> None:
    status, body = await client.notify(**changes)
    assert (status, body["resultcode"]) == (403, "1010002")
    assert body["resultdesc"].startswith("Invalid request. " + field)
    assert not client.emu.placed


async def test_a_body_that_is_not_json(client: Client) -> None:
    status, body = await client.post(wire.NOTIFY_PATH, b"{nope")
    assert (status, body["resultcode"]) == (403, "1010002")


async def test_v1_plays_files_only(client: Client) -> None:
    template = {"templateId": "voicegw-speech", "templateParas": ["x"]}
    _, body = await client.post(wire.NOTIFY_V1_PATH, notify_body(playInfoList=[template]))
    assert body["resultcode"] == "1010002"
    _, body = await client.post(wire.NOTIFY_V1_PATH, notify_body())
    assert body["resultcode"] == "0"


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"templateId": "nope"}, "1012003"),
        ({"templateId": "voicegw-pending", "templateParas": ["x"]}, "1012002"),
        ({"templateId": "voicegw-notice", "templateParas": ["x"]}, "1012004"),
        ({"templateId": "voicegw-notice", "templateParas": ["x", "123456789"]}, "1012005"),
        ({"templateId": "voicegw-notice", "templateParas": ["x", "12345678"]}, "0"),
    ],
)
async def test_templates_must_exist_be_approved_and_fit(
    client: Client, item: dict[str, Any], code: str
) -> None:
    _, body = await client.notify(playInfoList=[item])
    assert body["resultcode"] == code
    if code == "1012005":
        assert body["resultdesc"].startswith("1 of templateParas")


async def test_display_numbers_belong_to_the_app(client: Client) -> None:
    status, body = await client.notify(displayNbr="+862099999999")
    assert (status, body["resultcode"]) == (403, "1010023")


async def test_recording_needs_the_capability(client: Client) -> None:
    client.emu.main_app.recording = False
    callback = {
        "displayNbr": DEFAULT_DISPLAY_NUMBER,
        "callerNbr": "+8613800000101",
        "displayCalleeNbr": DEFAULT_DISPLAY_NUMBER,
        "calleeNbr": "+8613800000102",
        "recordFlag": "true",
    }
    _, body = await client.post(wire.CALLBACK_PATH, callback)
    assert body["resultcode"] == "1012012"


async def test_concurrent_calls_are_limited(client: Client, emu: HuaweiEmulator) -> None:
    emu.max_concurrent_calls = 2
    emu.speed = 1.0  # calls last seconds: they stay live
    assert (await client.notify())[1]["resultcode"] == "0"
    assert (await client.notify())[1]["resultcode"] == "0"
    status, body = await client.notify()
    assert (status, body["resultcode"]) == (403, "1020165")
    assert len(emu.placed) == 2


# -- lifecycles and pushes ----------------------------------------------------------------------


@pytest_asyncio.fixture
async def hooked(
    emu: HuaweiEmulator, emu_provider: tuple[HuaweiProvider, Receiver]
) -> tuple[HuaweiEmulator, HuaweiProvider, Receiver]:
    provider, receiver = emu_provider
    return emu, provider, receiver


def _events(provider: HuaweiProvider, receiver: Receiver, call_id: str) -> list[Any]:
    events = []
    for kind, headers, body in receiver.pushes:
        events.extend(provider.parse_webhook(kind, headers, body, receiver.url(kind)))
    return [e for e in events if e.call_id == call_id]


async def test_notification_lifecycle_in_the_documented_order(
    hooked: tuple[HuaweiEmulator, HuaweiProvider, Receiver],
) -> None:
    emu, provider, receiver = hooked
    receipt = await provider.send(
        Note(CALLEE, [Template("voicegw-speech", ["你好"])], collect=DigitCollection())
    )
    await emu.drain()
    events = _events(provider, receiver, receipt.call_id)
    assert [e.kind for e in events] == [
        EventKind.INITIATED,
        EventKind.RINGING,
        EventKind.ANSWERED,
        EventKind.DIGITS,
        EventKind.ENDED,
        EventKind.RECORD,
    ]
    assert events[3].digits == "1"
    times = [e.at for e in events[:5]]
    assert times == sorted(times)
    record = events[-1].record
    assert record is not None
    assert record.status is CallStatus.COMPLETED
    assert record.duration == ANSWERED.talk_seconds
    assert record.answered_at is not None and record.started_at is not None
    assert (record.answered_at - record.started_at).total_seconds() == 1 + ANSWERED.ring_seconds


async def test_verification_lifecycle(
    hooked: tuple[HuaweiEmulator, HuaweiProvider, Receiver],
) -> None:
    from voicegw.models import VerificationCode

    emu, provider, receiver = hooked
    receipt = await provider.send(Note(CALLEE, [VerificationCode("1234", "zh")]))
    await emu.drain()
    kinds = [e.kind for e in _events(provider, receiver, receipt.call_id)]
    assert kinds == [
        EventKind.INITIATED,
        EventKind.RINGING,
        EventKind.ANSWERED,
        EventKind.ENDED,
        EventKind.RECORD,
    ]
    [fee] = receiver.bodies("record")
    assert fee["feeLst"][0]["serviceType"] == "001"


@pytest.mark.parametrize(("suffix", "scenario"), sorted(SCENARIOS.items()))
async def test_every_scenario_renders_in_huawei_codes(
    hooked: tuple[HuaweiEmulator, HuaweiProvider, Receiver], suffix: str, scenario: Scenario
) -> None:
    emu, provider, receiver = hooked
    receipt = await provider.send(Note("+8613800000" + suffix, [Template("voicegw-speech", ["x"])]))
    await emu.drain()
    statuses = receiver.bodies("status")
    assert statuses[-1]["eventType"] == "disconnect"
    code = statuses[-1]["statusInfo"]["stateCode"]
    assert code == state_code_for(scenario)
    assert cause_from_state_code(code).category is scenario.category
    assert "answer" not in [s["eventType"] for s in statuses]
    [fee] = receiver.bodies("record")
    [cdr] = fee["feeLst"]
    assert cdr["callOutUnaswRsn"] == scenario.q850
    assert cdr["sipStatusCode"] == scenario.sip
    record = record_from_cdr(cdr, provider="hw")
    assert record.call_id == receipt.call_id
    assert record.status is scenario.status
    assert record.hangup is not None and record.hangup.category is scenario.category
    # the disconnect push alone gives the same outcome
    [ended] = parse_status_push(json.dumps(statuses[-1]), provider="hw")
    assert ended.record is not None and ended.record.status is scenario.status


async def test_a_missing_voice_file_fails_after_answer(
    hooked: tuple[HuaweiEmulator, HuaweiProvider, Receiver],
) -> None:
    from voicegw.models import Audio

    emu, provider, receiver = hooked
    await provider.send(Note(CALLEE, [Audio("never-uploaded.wav")]))
    await emu.drain()
    assert receiver.bodies("status")[-1]["statusInfo"]["stateCode"] == 8006
    assert receiver.bodies("record")[0]["feeLst"][0]["ulFailReason"] == 524


async def test_pushes_are_signed_as_spec_2_5(
    hooked: tuple[HuaweiEmulator, HuaweiProvider, Receiver],
) -> None:
    emu, provider, receiver = hooked
    await provider.send(Note(CALLEE, [Template("voicegw-speech", ["x"])]))
    await emu.drain()
    assert receiver.pushes
    for kind, headers, _ in receiver.pushes:
        assert headers["Authorization"] == AUTHORIZATION
        variant = auth.verify_push(headers, receiver.url(kind), [DEFAULT_APP_SECRET])
        assert variant == "newline"
        fields = auth.parse_x_aksk(headers["X-AKSK"])
        assert fields is not None and fields["Username"] == DEFAULT_APP_KEY
        created = auth.parse_created(fields["Created"])
        assert created is not None
        # Created is Beijing time written with a literal Z
        beijing = datetime.now(UTC) + timedelta(hours=8)
        assert abs((created - beijing).total_seconds()) < 60


async def test_per_call_push_urls_win_over_the_console(
    emu: HuaweiEmulator, client: Client, receiver_factory: ReceiverFactory
) -> None:
    console, per_call = await receiver_factory(), await receiver_factory()
    emu.push_settings(console.base)
    await client.notify(statusUrl=wire.b64_url(per_call.url("status")))
    await emu.drain()
    assert [k for k, _, _ in per_call.pushes] == ["status"] * 4
    assert [k for k, _, _ in console.pushes] == ["record"]


async def test_status_pushes_are_never_repushed(
    emu: HuaweiEmulator, client: Client, receiver_factory: ReceiverFactory
) -> None:
    receiver = await receiver_factory(answers=[500] * 4)
    emu.push_settings(receiver.base)
    await client.notify()
    await emu.drain()
    statuses = [p for p in emu.push_log if p.url.endswith("/status")]
    assert len(statuses) == 4
    assert {p.attempt for p in statuses} == {1}


async def test_fee_pushes_are_repushed_until_http_200(
    emu: HuaweiEmulator, client: Client, receiver_factory: ReceiverFactory
) -> None:
    receiver = await receiver_factory()
    emu.push_settings(receiver.base)
    emu.push_retry_interval = 0.01
    receiver.answers = [200] * 4 + [503, 202, 500]  # four status pushes, then the CDR
    await client.notify()
    await emu.drain()
    fees = [p for p in emu.push_log if p.url.endswith("/record")]
    assert [(p.attempt, p.status) for p in fees] == [(1, 503), (2, 202), (3, 500), (4, 200)]


async def test_fee_pushes_give_up_after_six_repushes(
    emu: HuaweiEmulator, client: Client, receiver_factory: ReceiverFactory
) -> None:
    receiver = await receiver_factory()
    emu.push_settings(receiver.base)
    emu.push_retry_interval = 0.0
    receiver.answers = [200] * 4 + [500] * 20
    await client.notify()
    await emu.drain()
    fees = [p for p in emu.push_log if p.url.endswith("/record")]
    assert len(fees) == 7  # the push and 6 re-pushes


async def test_cdrs_with_the_same_end_time_are_batched(
    emu: HuaweiEmulator, client: Client, receiver_factory: ReceiverFactory
) -> None:
    receiver = await receiver_factory()
    emu.push_settings(receiver.base)
    fixed = datetime.now(UTC).replace(microsecond=0)
    emu.now = lambda: fixed  # type: ignore[method-assign]
    emu.fee_batch_delay = 0.2
    results = await asyncio.gather(*(client.notify() for _ in range(5)))
    assert all(body["resultcode"] == "0" for _, body in results)
    await emu.drain()
    fees = receiver.bodies("record")
    assert len(fees) == 1
    assert len(fees[0]["feeLst"]) == 5
    assert {c["sessionId"] for c in fees[0]["feeLst"]} == {b["sessionId"] for _, b in results}


async def test_batches_hold_at_most_fifty_cdrs(
    emu: HuaweiEmulator, client: Client, receiver_factory: ReceiverFactory
) -> None:
    receiver = await receiver_factory()
    emu.push_settings(receiver.base)
    emu.max_concurrent_calls = 100
    fixed = datetime.now(UTC).replace(microsecond=0)
    emu.now = lambda: fixed  # type: ignore[method-assign]
    emu.fee_batch_delay = 0.5
    await asyncio.gather(*(client.notify() for _ in range(55)))
    await emu.drain()
    assert sorted(len(f["feeLst"]) for f in receiver.bodies("record")) == [5, 50]


# -- callStop and recordings ----------------------------------------------------------------------


async def test_call_stop_ends_a_live_call(client: Client, emu: HuaweiEmulator) -> None:
    emu.speed = 1.0
    _, placed = await client.notify(calleeNbr="+8613800000019")
    stop = {"sessionid": placed["sessionId"], "signal": "call_stop"}
    status, body = await client.post(wire.STOP_PATH, stop)
    assert (status, body) == (200, {"resultcode": "0", "resultdesc": "Success"})
    await emu.drain()
    assert emu.status_pushes[-1]["statusInfo"]["stateCode"] == 8017
    assert emu.fee_pushes[-1]["feeLst"][0]["ulFailReason"] == 1003
    status, body = await client.post(wire.STOP_PATH, stop)
    assert (status, body["resultcode"]) == (403, "1020152")


@pytest.mark.parametrize(
    ("stop", "code"),
    [
        ({"sessionid": "unknown", "signal": "call_stop"}, "1020152"),
        ({"sessionid": "unknown", "signal": "stop"}, "1010002"),
        ({"sessionId": "unknown", "signal": "call_stop"}, "1010002"),
    ],
)
async def test_call_stop_refusals(client: Client, stop: dict[str, str], code: str) -> None:
    _, body = await client.post(wire.STOP_PATH, stop)
    assert body["resultcode"] == code


async def test_call_stop_code_for_unknown_sessions_is_configurable(client: Client) -> None:
    client.emu.stop_unknown_code = "1010002"
    _, body = await client.post(wire.STOP_PATH, {"sessionid": "x", "signal": "call_stop"})
    assert body["resultcode"] == "1010002"


async def test_call_stop_of_another_apps_call_is_refused(client: Client) -> None:
    client.emu.apps["otherApp"] = EmulatedApp(app_key="otherApp", app_secret="otherSecret")
    client.emu.speed = 1.0
    _, placed = await client.notify()
    stop = {"sessionid": placed["sessionId"], "signal": "call_stop"}
    _, body = await client.post(wire.STOP_PATH, stop, signed(key="otherApp", secret="otherSecret"))
    assert body["resultcode"] == "1020152"


async def test_recording_address_is_a_301(
    hooked: tuple[HuaweiEmulator, HuaweiProvider, Receiver],
) -> None:
    emu, provider, receiver = hooked
    await provider.connect(ClickToCall(caller="+8613800000101", callee=CALLEE, record=True))
    await emu.drain()
    cdr = receiver.bodies("record")[0]["feeLst"][0]
    assert cdr["recordFlag"] == 1
    query = {"fileName": cdr["recordObjectName"], "recordDomain": cdr["recordDomain"]}
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            emu.base_url + wire.RECORD_PATH,
            params=query,
            headers=signed(),
            allow_redirects=False,
        ) as resp,
    ):
        assert resp.status == 301
        assert await resp.read() == b""
        location = resp.headers["Location"]
    async with aiohttp.ClientSession() as session, session.get(location) as audio:
        assert audio.status == 200
        assert (await audio.read())[:4] == b"RIFF"
    with pytest.raises(Exception, match="fileName"):
        await provider.recording_url("nope.wav", cdr["recordDomain"])


# -- the toolkit's hooks ------------------------------------------------------------------------


async def test_provider_error_fault_answers_the_envelope(client: Client) -> None:
    client.emu.inject(FaultKind.PROVIDER_ERROR, code="1010001")
    status, body = await client.notify()
    assert (status, body["resultcode"]) == (500, "1010001")
    client.emu.inject(FaultKind.PROVIDER_ERROR, code="1023006")
    status, body = await client.notify()
    assert (status, body["resultcode"]) == (400, "1023006")
    assert not client.emu.placed


async def test_rate_limit_fault_is_the_port_limit(client: Client) -> None:
    client.emu.inject(FaultKind.RATE_LIMIT)
    status, body = await client.notify()
    assert (status, body["resultcode"]) == (403, "1020165")


def test_provider_and_push_settings() -> None:
    emu = HuaweiEmulator(app_key="k1", app_secret="s1", display_numbers=["+862000000005"])
    emu.base_url = "http://127.0.0.1:1"
    settings = emu.provider_settings(timeout=5)
    assert settings["plugin"] == "huawei"
    assert settings["base_url"] == "http://127.0.0.1:1"
    assert (settings["app_key"], settings["app_secret"]) == ("k1", "s1")
    assert settings["caller_id"] == "+862000000005"
    assert settings["timeout"] == 5
    overrides = emu.push_settings("http://127.0.0.1:2/hooks")
    assert overrides["status_url"] == "http://127.0.0.1:2/hooks/status"
    assert overrides["fee_url"] == "http://127.0.0.1:2/hooks/record"
    assert overrides["aicc"]["review_callback_url"] == "http://127.0.0.1:2/hooks/review"
    assert emu.main_app.status_url == overrides["status_url"]
    assert emu.main_app.fee_url == overrides["fee_url"]
    assert "s1" not in repr(emu.main_app)
