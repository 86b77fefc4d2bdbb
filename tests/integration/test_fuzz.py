"""Fuzzing every parser and mapper: any input gives a model (or a plain value) or a VoiceError.

Anything else escaping — KeyError, TypeError, ValueError, JSONDecodeError, a cattrs error —
is a bug. Inputs are random JSON, random bytes, and valid samples with fields replaced,
dropped or added (which reach much deeper than random text). Pushes are signed correctly for
most examples so the parsers behind the signature check are reached.

``VOICEGW_FUZZ_EXAMPLES`` sets the examples per test: a few dozen inside ``make test``,
thousands under ``make soak``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from voicegw import (
    Audio,
    CallEvent,
    CallRecord,
    CallStatus,
    Config,
    EventKind,
    HangupCause,
    SendReceipt,
    Speech,
    Template,
    VerificationCode,
    VoiceError,
    VoiceNotification,
)
from voicegw.bulk import notification_from_row
from voicegw.causes import from_q850, from_sip
from voicegw.config import load_config
from voicegw.http import HttpResponse, error_for_status, parse_retry_after
from voicegw.models import AudioFile, HangupCategory
from voicegw.store import event_key, merge_record
from voicegw_huawei import auth as hw_auth
from voicegw_huawei import codes as hw_codes
from voicegw_huawei import wire as hw_wire
from voicegw_huawei.aicc import (
    AiccSettings,
    audio_file_from_response,
    parse_review,
    token_from_response,
)
from voicegw_huawei.provider import HuaweiProvider
from voicegw_huawei.pushes import parse_fee_push, parse_status_push, record_from_cdr
from voicegw_huawei.settings import HuaweiSettings, SpeechTemplate
from voicegw_itniotech.codes import API_CODES as ITN_CODES
from voicegw_itniotech.provider import ItniotechProvider
from voicegw_itniotech.settings import ItniotechSettings
from voicegw_itniotech.wire import WireRequest, build_send, record_from_wire, records_from_push

EXAMPLES = int(os.environ.get("VOICEGW_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NOW = datetime(2024, 3, 5, 8, 15, 42, tzinfo=UTC)
ITN_TOKEN = "fuzz-push-token-0123456789abcdef"
HW_KEY, HW_SECRET = "fuzzAppKey0001", "fuzzAppSecret0001"
HOOK = "https://hooks.example.org/hooks"

# -- strategies -----------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "0", "-1", "200", "486", "1e400", "NaN", "2024-03-05 08:15:43"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def mutated(sample: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``sample`` with some fields replaced by random values, some dropped, some added."""
    keys = sorted(sample)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        data = dict(sample)
        for key in draw(st.lists(st.sampled_from(keys), max_size=len(keys), unique=True)):
            if draw(st.booleans()):
                data[key] = draw(json_values)
            else:
                del data[key]
        data.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
        return data

    return build()


def bodies(*samples: Any) -> st.SearchStrategy[bytes]:
    """Push bodies: random bytes, random JSON, cut-off JSON, and mutated samples."""
    structured = [st.just(sample) for sample in samples]
    as_json = st.one_of(json_values, *structured).map(lambda v: json.dumps(v).encode())
    cut = as_json.flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n]))
    return st.one_of(st.binary(max_size=200), as_json, cut)


def responses(*samples: Any) -> st.SearchStrategy[HttpResponse]:
    """HTTP answers: any status, odd Retry-After and Location headers, any body."""
    statuses = st.sampled_from([200, 201, 204, 301, 400, 401, 403, 404, 405, 413, 429, 500, 503])
    header_values = st.text(max_size=30) | st.sampled_from(["5", "Wed, 21 Oct 2015 07:28:00 GMT"])

    def make(status: int, headers: dict[str, str], body: bytes) -> HttpResponse:
        return HttpResponse(
            status=status,
            headers=CIMultiDictProxy(CIMultiDict(headers)),
            body=body,
            url="http://127.0.0.1:9/x",
        )

    return st.builds(
        make,
        statuses | st.integers(100, 599),
        st.dictionaries(st.sampled_from(["Retry-After", "Location"]), header_values, max_size=2),
        bodies(*samples),
    )


#: Found by the soak's fuzzing: a Retry-After that str.isdigit() accepts and float() does not.
ODD_RETRY_AFTER = HttpResponse(
    status=503,
    headers=CIMultiDictProxy(CIMultiDict({"Retry-After": "²"})),
    body=b"<html>busy</html>",
    url="http://127.0.0.1:9/x",
)


def must_be_model_or_voice_error(call: Callable[[], Any], *models: type) -> None:
    try:
        result = call()
    except VoiceError:
        return
    if models:
        items = result if isinstance(result, list) else [result]
        for item in items:
            assert isinstance(item, models), f"got {type(item).__name__}"


# -- samples --------------------------------------------------------------------------------

ITN_RECORD = {
    "voiceId": "2403050815421000001",
    "callee": "8613800000100",
    "displayNum": "14155550100",
    "submitTime": 1709626542000,
    "callTime": 1709626544000,
    "ringingTime": 1709626545000,
    "answerTime": 1709626549000,
    "hangupTime": 1709626561000,
    "callDuration": 12,
    "chargedDuration": 20,
    "terminationCode": "200",
    "sipCode": "200",
    "cost": "0.007875",
    "currency": "",
    "feedbackValue": "1",
    "calledInfo": "order-1",
    "type": 2,
}
ITN_QUERY_RECORD = {**ITN_RECORD, "submitTime": "2024-03-05T16:15:42+08:00", "hangupTime": ""}
HW_CDR = {
    "sessionId": "1201_3417_4294967295_20240305081543@callenabler245.huaweicaas.com",
    "callerNum": "+862000000000",
    "calleeNum": "+8613800000100",
    "fwdDstNum": "",
    "callInTime": "2024-03-05 08:15:43",
    "callOutStartTime": "2024-03-05 08:15:43",
    "callOutAlertingTime": "2024-03-05 08:15:47",
    "callOutAnswerTime": "2024-03-05 08:15:52",
    "callEndTime": "2024-03-05 08:16:09",
    "failTime": "",
    "callOutUnaswRsn": 0,
    "ulFailReason": 0,
    "sipStatusCode": 0,
    "recordFlag": 0,
    "serviceType": "001",
    "userData": "order-1",
}
HW_STATUS_INFO: dict[str, Any] = {
    "sessionId": HW_CDR["sessionId"],
    "timestamp": "2024-03-05 08:16:09",
    "caller": "+862000000000",
    "called": "+8613800000100",
    "stateCode": 0,
    "digitInfo": "1",
    "userData": "order-1",
}
HW_STATUS = {"eventType": "disconnect", "statusInfo": HW_STATUS_INFO}
HW_REVIEW = {"fileId": "12", "status": "2", "comment": "ok"}


def itn_provider() -> ItniotechProvider:
    settings_ = ItniotechSettings(
        api_key="fuzzKey1",
        api_secret="fuzzSecret1",
        app_id="fuzzApp1",
        base_url="http://127.0.0.1:9",
        caller_id="+14155550100",
        push_token=ITN_TOKEN,
    )
    return ItniotechProvider("itn", settings_, clock=lambda: NOW.timestamp())


def hw_provider() -> HuaweiProvider:
    settings_ = HuaweiSettings(
        app_key=HW_KEY,
        app_secret=HW_SECRET,
        base_url="http://127.0.0.1:9",
        caller_id="+862000000000",
        verify_pre_tone="code_intro.wav",
        speech_template=SpeechTemplate(template_id="t1", languages=("zh", "en")),
        aicc=AiccSettings(
            app_key="aiccKey", app_secret="aiccSecret", base_url="http://127.0.0.1:9"
        ),
    )
    return HuaweiProvider("hw", settings_, clock=lambda: NOW, nonce=lambda: "abc123")


def answering(provider: Any, response: HttpResponse) -> None:
    """Make ``provider`` answer every request with ``response`` (no network)."""

    async def request(*args: Any, **kwargs: Any) -> HttpResponse:
        return response

    provider.http.request = request


numbers = st.sampled_from(
    ["+8613800000100", "+8613800000017", "+14155550123", "+84912345678", "+8613800000001"]
) | st.text(max_size=16)
texts = st.text(max_size=60) | st.sampled_from(["Your parcel arrives today", "你好", "x" * 900])
languages = st.sampled_from(["en", "zh", "zh-CN", "vi", "th", "xx", "", "EN"]) | st.text(max_size=6)
prompts = st.one_of(
    st.builds(Speech, texts, languages),
    st.builds(VerificationCode, st.text("0123456789", min_size=1, max_size=12), languages),
    st.builds(Template, st.text(max_size=12), st.lists(st.text(max_size=40), max_size=6)),
    st.builds(Audio, st.text(max_size=40)),
)


@st.composite
def notifications(draw: st.DrawFn) -> VoiceNotification | None:
    """A notification built from random parts; None when the model itself refused them."""
    try:
        return VoiceNotification(
            draw(numbers),
            draw(st.lists(prompts, min_size=0, max_size=6)),
            caller_id=draw(st.none() | numbers),
            repeat=draw(st.integers(-1, 12)),
            reference=draw(st.none() | st.text(max_size=300)),
            max_duration=draw(st.none() | st.integers(-5, 200)),
            ring_timeout=draw(st.none() | st.integers(-5, 200)),
            options=draw(st.dictionaries(st.text(max_size=12), json_values, max_size=3)),
        )
    except VoiceError:
        return None


# -- ITNIO ----------------------------------------------------------------------------------


@FUZZ
@given(bodies(ITN_RECORD, [ITN_RECORD, ITN_QUERY_RECORD]))
def test_itnio_push_bodies(body: bytes) -> None:
    must_be_model_or_voice_error(lambda: records_from_push(body, provider="itn"), CallRecord)


@FUZZ
@given(mutated(ITN_RECORD) | mutated(ITN_QUERY_RECORD) | json_values)
def test_itnio_records(item: Any) -> None:
    must_be_model_or_voice_error(lambda: record_from_wire(item, provider="itn"), CallRecord)


@FUZZ
@given(
    st.sampled_from(["record", "status", "review", "x"]),
    st.sampled_from([f"{HOOK}/itn/record?token={ITN_TOKEN}", f"{HOOK}/itn/record", "::"]),
    bodies(ITN_RECORD, [ITN_RECORD]),
)
def test_itnio_parse_webhook(kind: str, url: str, body: bytes) -> None:
    provider = itn_provider()
    must_be_model_or_voice_error(lambda: provider.parse_webhook(kind, {}, body, url), CallEvent)


@FUZZ
@given(
    responses(
        {"status": "0", "reason": "success", "data": "2403050815421000001"},
        {"status": "-16", "reason": "timestamp expires"},
        {"status": "0", "reason": "success", "data": ITN_QUERY_RECORD},
        {"status": "0", "data": {"records": [ITN_QUERY_RECORD], "pages": 3, "current": 1}},
        {"status": "0", "data": [{"voiceId": "1", "callee": "8613800000100"}]},
    ),
    st.sampled_from(["send", "audio", "record", "records"]),
)
@example(ODD_RETRY_AFTER, "send")
def test_itnio_answers(response: HttpResponse, operation: str) -> None:
    provider = itn_provider()
    answering(provider, response)

    async def go() -> Any:
        if operation == "send":
            return await provider.send(
                VoiceNotification("+8613800000100", [Speech("Hello", "en")], reference="r")
            )
        if operation == "audio":
            return await provider.send(VoiceNotification("+8613800000100", [Audio("f1.mp3")]))
        if operation == "record":
            return await provider.get_record("2403050815421000001")
        return [r async for r in provider.iter_records(NOW - timedelta(days=2), NOW)]

    must_be_model_or_voice_error(lambda: asyncio.run(go()), SendReceipt, CallRecord)


@FUZZ
@given(notifications())
def test_itnio_build_send(notification: VoiceNotification | None) -> None:
    if notification is None:
        return
    settings_ = itn_provider().itnio
    must_be_model_or_voice_error(lambda: build_send(notification, settings_), WireRequest)


@FUZZ
@given(st.text(max_size=12) | st.integers().map(str), st.none() | st.text(max_size=40))
def test_itnio_codes(code: str, reason: str | None) -> None:
    assert isinstance(ITN_CODES.error(code, reason, provider="itn"), VoiceError)


# -- Huawei ---------------------------------------------------------------------------------


@FUZZ
@given(bodies(HW_STATUS, {"eventType": "fee", "feeLst": [HW_CDR]}))
def test_huawei_push_bodies(body: bytes) -> None:
    must_be_model_or_voice_error(lambda: parse_status_push(body, provider="hw"), CallEvent)
    must_be_model_or_voice_error(lambda: parse_fee_push(body, provider="hw"), CallEvent)


@FUZZ
@given(mutated(HW_CDR) | mutated({**HW_CDR, "fwdDstNum": "+8613700002222", "serviceType": "002"}))
def test_huawei_cdrs(cdr: dict[str, Any]) -> None:
    must_be_model_or_voice_error(lambda: record_from_cdr(cdr, provider="hw"), CallRecord)


@FUZZ
@given(mutated(HW_STATUS_INFO), st.text(max_size=12))
def test_huawei_status_infos(info: dict[str, Any], event: str) -> None:
    for event_type in ("callout", "alerting", "answer", "collectInfo", "disconnect", event):
        body = json.dumps({"eventType": event_type, "statusInfo": info}).encode()
        must_be_model_or_voice_error(partial(parse_status_push, body, provider="hw"), CallEvent)


@FUZZ
@given(
    st.sampled_from(["status", "record", "review", "other"]),
    bodies(HW_STATUS, {"eventType": "fee", "feeLst": [HW_CDR, HW_CDR]}, HW_REVIEW),
    st.sampled_from(["signed", "signed", "signed", "random", "none"]),
    st.dictionaries(st.sampled_from(["X-AKSK", "x-aksk", "Authorization"]), st.text(max_size=80)),
)
def test_huawei_parse_webhook(kind: str, body: bytes, signing: str, noise: dict[str, str]) -> None:
    provider = hw_provider()
    url = f"{HOOK}/hw/{kind}"
    headers: dict[str, str] = {}
    if signing == "signed":
        headers = hw_auth.sign_push_headers(HW_KEY, HW_SECRET, url, now=NOW, nonce="n0nce")
    elif signing == "random":
        headers = noise
    must_be_model_or_voice_error(
        lambda: provider.parse_webhook(kind, headers, body, url), CallEvent
    )


@FUZZ
@given(st.dictionaries(st.text(max_size=10), st.text(max_size=120), max_size=4), st.text())
def test_huawei_verify_push_never_raises(headers: dict[str, str], url: str) -> None:
    assert hw_auth.verify_push(headers, url, [HW_SECRET, ""]) in (None, *hw_auth.PUSH_VARIANTS)


@FUZZ
@given(
    responses(
        {"resultcode": "0", "resultdesc": "Success", "sessionId": "s-1"},
        {"resultcode": "1010013", "resultdesc": "expired"},
        {"resultcode": "1020165", "resultdesc": "busy"},
    ),
    st.sampled_from(["speech", "code", "template", "connect", "hangup"]),
)
@example(ODD_RETRY_AFTER, "speech")
def test_huawei_answers(response: HttpResponse, operation: str) -> None:
    from voicegw import ClickToCall

    provider = hw_provider()
    answering(provider, response)
    prompt: Any = {
        "speech": Speech("你好", "zh"),
        "code": VerificationCode("1234", "zh"),
        "template": Template("tpl", ("a",)),
    }.get(operation, Speech("hi", "en"))

    async def go() -> Any:
        if operation == "connect":
            return await provider.connect(
                ClickToCall(caller="+8613800000100", callee="+8613800000101")
            )
        if operation == "hangup":
            return await provider.hangup("s-1")
        return await provider.send(VoiceNotification("+8613800000100", [prompt]))

    must_be_model_or_voice_error(lambda: asyncio.run(go()), SendReceipt, type(None))


@FUZZ
@given(notifications())
def test_huawei_bodies(notification: VoiceNotification | None) -> None:
    if notification is None:
        return
    settings_ = hw_provider().huawei
    app = settings_.main_app()
    must_be_model_or_voice_error(lambda: hw_wire.notify_body(notification, settings_, app), dict)
    must_be_model_or_voice_error(lambda: hw_wire.verify_body(notification, settings_, app), dict)


@FUZZ
@given(
    responses(
        {"AccessToken": "tok", "Expires": "600"},
        {"returnCode": "0", "fileId": "12"},
        {"returnCode": "0201006", "description": "bad"},
    )
)
def test_huawei_aicc_answers(response: HttpResponse) -> None:
    must_be_model_or_voice_error(
        lambda: token_from_response(response, requested=600, obtained_at=0.0, provider="hw")
    )
    must_be_model_or_voice_error(
        lambda: audio_file_from_response(response, provider="hw"), AudioFile
    )


@FUZZ
@given(bodies(HW_REVIEW, {**HW_REVIEW, "status": "3"}))
def test_huawei_review_pushes(body: bytes) -> None:
    must_be_model_or_voice_error(lambda: parse_review(body, "hw"), CallEvent)


@FUZZ
@given(st.integers(min_value=-(2**40), max_value=2**40))
def test_huawei_cause_tables(value: int) -> None:
    for mapper in (hw_codes.cause_from_q850, hw_codes.cause_from_state_code):
        assert isinstance(mapper(value), HangupCause)
    assert isinstance(hw_codes.cause_from_teardown(value), HangupCause)


# -- core -----------------------------------------------------------------------------------


@FUZZ
@given(responses({"error": "x"}))
@example(ODD_RETRY_AFTER)
def test_error_for_status(response: HttpResponse) -> None:
    assert isinstance(error_for_status(response, provider="p", plugin="q"), VoiceError)


@FUZZ
@given(st.none() | st.text(max_size=40))
@example("²")  # found by the soak's fuzzing: str.isdigit() accepts it, float() does not
def test_retry_after_never_raises(value: str | None) -> None:
    result = parse_retry_after(value, now=NOW.timestamp())
    assert result is None or result >= 0


@FUZZ
@given(st.integers(min_value=-(2**40), max_value=2**40) | st.booleans())
def test_cause_mappers(value: int) -> None:
    assert isinstance(from_q850(value).category, HangupCategory)
    assert isinstance(from_sip(value).category, HangupCategory)


@FUZZ
@given(
    mutated(
        {
            "to": "+8613800000100",
            "text": "Hello",
            "language": "en",
            "reference": "r-1",
            "code": "1234",
            "template": "t1",
            "params": "a|b",
            "audio": "f1.wav",
            "caller_id": "+14155550100",
        }
    )
)
@example({"to": "+8613800000100", "reference": "r-1", "template": "t1", "params": 1})
def test_bulk_rows(row: dict[str, Any]) -> None:
    must_be_model_or_voice_error(lambda: notification_from_row(row), VoiceNotification)


@FUZZ
@given(
    mutated(
        {
            "plugin": "itniotech",
            "api_key": "k",
            "api_secret": "s",
            "app_id": "a",
            "rate_limit": 5,
            "language_codes": {"zh": "ZH"},
            "timeout": 3,
        }
    )
    | mutated(
        {
            "plugin": "huawei",
            "app_key": "k",
            "app_secret": "s",
            "speech_template": {"template_id": "t", "languages": ["zh"]},
            "verification": {"app_key": "k2", "app_secret": "s2"},
            "push_secrets": ["old"],
            "aicc": {"app_key": "a", "app_secret": "b"},
        }
    ),
    mutated({"route": ["p"], "retries": 1, "cooldown": 3}),
    mutated({"public_url": "https://h.example", "max_body": 10}),
)
def test_config(provider: dict[str, Any], gateway: dict[str, Any], hooks: dict[str, Any]) -> None:
    raw = {"providers": {"p": provider}, "gateway": gateway, "webhooks": hooks}
    must_be_model_or_voice_error(lambda: load_config(raw, environ={}), Config)


times = st.none() | st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2024, 1, 2), timezones=st.just(UTC)
)
records = st.builds(
    CallRecord,
    call_id=st.just("c1"),
    provider=st.just("p"),
    plugin=st.just("x"),
    status=st.sampled_from(list(CallStatus)),
    started_at=times,
    answered_at=times,
    ended_at=times,
    duration=st.none() | st.integers(0, 100),
    reference=st.none() | st.text(max_size=5),
    raw=st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=4), max_size=2),
)


@FUZZ
@given(st.lists(records, min_size=1, max_size=6), st.lists(st.booleans(), min_size=6))
def test_merge_only_moves_forward(sequence: list[CallRecord], flags: list[bool]) -> None:
    merged: CallRecord | None = None
    for record, authoritative in zip(sequence, flags, strict=False):
        before = merged
        merged = merge_record(merged, record, authoritative=authoritative)
        assert isinstance(merged, CallRecord)
        if before is not None and before.status.is_final:
            assert merged.status.is_final
        if before is not None and not before.status.is_final and not merged.status.is_final:
            assert merged.status.rank >= before.status.rank


@FUZZ
@given(records, st.sampled_from(list(EventKind)), json_values)
def test_event_keys_are_stable(record: CallRecord, kind: EventKind, raw: Any) -> None:
    payload = raw if isinstance(raw, dict) else {"v": raw}

    def event() -> CallEvent:
        return CallEvent(kind=kind, call_id="c1", provider="p", at=NOW, record=record, raw=payload)

    try:
        key = event_key(event())
    except (TypeError, ValueError):
        # A payload JSON cannot hold: the SQLite store turns this into a StoreError.
        return
    assert key == event_key(event())
    assert len(key) == 64


# -- the receiver, end to end ---------------------------------------------------------------


class _Parsers(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.failures: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "parser failed" in record.getMessage():
            self.failures.append(record.getMessage())


@pytest.fixture(scope="module")
def receiver() -> Any:
    """One receiver (itn + hw, memory store) on a loop of its own, shared by the examples."""
    from aiohttp.test_utils import TestClient, TestServer

    from voicegw import VoiceGateway
    from voicegw.store import MemoryStore
    from voicegw.webhooks import create_app

    loop = asyncio.new_event_loop()
    config = {
        "providers": {
            "itn": {
                "plugin": "itniotech",
                "api_key": "k1234567",
                "api_secret": "s1234567",
                "app_id": "a1",
                "push_token": ITN_TOKEN,
            },
            "hw": {"plugin": "huawei", "app_key": HW_KEY, "app_secret": HW_SECRET},
        },
        "webhooks": {"public_url": HOOK.rsplit("/hooks", 1)[0], "max_body": 4096},
    }
    gateway = VoiceGateway.from_config(config, store=MemoryStore())
    client = TestClient(TestServer(create_app(gateway)), loop=loop)
    loop.run_until_complete(client.start_server())
    handler = _Parsers()
    logging.getLogger("voicegw.webhooks").addHandler(handler)
    yield loop, client, handler
    logging.getLogger("voicegw.webhooks").removeHandler(handler)
    loop.run_until_complete(client.close())
    loop.close()


@FUZZ
@given(
    st.sampled_from(["itn/record", "hw/status", "hw/record", "hw/review", "hw/nope", "zz/record"]),
    bodies(ITN_RECORD, HW_STATUS, {"eventType": "fee", "feeLst": [HW_CDR]}),
    st.booleans(),
    st.sampled_from(["", f"?token={ITN_TOKEN}", "?token=wrong", "?a=1&token="]),
)
def test_the_receiver_answers_every_push(
    receiver: Any, route: str, body: bytes, sign: bool, query: str
) -> None:
    loop, client, handler = receiver
    path = f"/hooks/{route}{query}"
    headers = {"Content-Type": "application/json"}
    if sign:
        url = HOOK.rsplit("/hooks", 1)[0] + path
        headers.update(hw_auth.sign_push_headers(HW_KEY, HW_SECRET, url, now=NOW, nonce="n1"))

    async def post() -> int:
        async with client.post(path, data=body, headers=headers) as resp:
            await resp.read()
            return int(resp.status)

    status = loop.run_until_complete(post())
    assert status in (200, 400, 401, 404, 405, 413), status
    assert not handler.failures


def test_examples_setting_is_used() -> None:
    assert FUZZ.max_examples == EXAMPLES >= 1
