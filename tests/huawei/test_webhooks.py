"""Status pushes (§9) and CDR pushes (§10) → normalized events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicegw.errors import AuthenticationError, InvalidRequest, UnsupportedFeature, VoiceError
from voicegw.models import CallEvent, CallStatus, EventKind, HangupCategory
from voicegw_huawei import auth
from voicegw_huawei.provider import HuaweiProvider
from voicegw_huawei.pushes import parse_fee_push, parse_status_push, record_from_cdr

from .samples import APP_KEY, APP_SECRET, NOW, SESSION, SPEC_CDR, STATUS_URL

FEE_URL = "https://hooks.example.org/hw/fee"


def status(event: str, **info: Any) -> bytes:
    return json.dumps({"eventType": event, "statusInfo": {"sessionId": SESSION, **info}}).encode()


def fee(*cdrs: dict[str, Any]) -> bytes:
    return json.dumps({"eventType": "fee", "feeLst": list(cdrs)}).encode()


def signed(url: str) -> dict[str, str]:
    return auth.sign_push_headers(APP_KEY, APP_SECRET, url, now=NOW, nonce="abc123")


# -- status pushes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "kind"),
    [
        ("callout", EventKind.INITIATED),
        ("alerting", EventKind.RINGING),
        ("answer", EventKind.ANSWERED),
    ],
)
def test_progress_events(event: str, kind: EventKind) -> None:
    body = status(
        event,
        timestamp="2024-03-05 08:15:43",
        caller="+862087654321",
        called="+8613900001111",
        userData="order-20240305-0042",
    )
    [parsed] = parse_status_push(body, provider="hw")
    assert parsed.kind is kind
    assert parsed.call_id == SESSION
    assert parsed.provider == "hw"
    assert parsed.at == datetime(2024, 3, 5, 8, 15, 43, tzinfo=UTC)
    assert parsed.reference == "order-20240305-0042"
    assert parsed.record is None
    assert parsed.raw["eventType"] == event


def test_collect_info_carries_the_digits() -> None:
    body = status("collectInfo", timestamp="2024-03-05 09:10:31", digitInfo="1")
    [parsed] = parse_status_push(body, provider="hw")
    assert parsed.kind is EventKind.DIGITS
    assert parsed.digits == "1"


def test_normal_disconnect_is_a_completed_record() -> None:
    body = status(
        "disconnect",
        timestamp="2024-03-05 08:21:09",
        caller="+862087654321",
        called="+8613700002222",
        stateCode=0,
        stateDesc="The user releases the call.",
        userData="order-20240305-0042",
    )
    [parsed] = parse_status_push(body, provider="hw")
    assert parsed.kind is EventKind.ENDED
    record = parsed.record
    assert record is not None
    assert record.status is CallStatus.COMPLETED
    assert record.hangup is not None
    assert record.hangup.category is HangupCategory.NORMAL
    assert record.hangup.provider_code == "0"
    assert record.ended_at == datetime(2024, 3, 5, 8, 21, 9, tzinfo=UTC)
    assert record.to == "+8613700002222"
    assert record.caller_id == "+862087654321"
    assert record.reference == "order-20240305-0042"
    assert record.plugin == "huawei"


@pytest.mark.parametrize(
    ("code", "status_", "category"),
    [
        (8102, CallStatus.BUSY, HangupCategory.BUSY),
        (8101, CallStatus.NO_ANSWER, HangupCategory.NO_ANSWER),
        (8004, CallStatus.REJECTED, HangupCategory.REJECTED),
        (8100, CallStatus.FAILED, HangupCategory.INVALID_NUMBER),
        (8017, CallStatus.CANCELED, HangupCategory.CANCELED),
        (8010, CallStatus.COMPLETED, HangupCategory.NORMAL),
        ("8103", CallStatus.FAILED, HangupCategory.UNREACHABLE),
        (9999, CallStatus.FAILED, HangupCategory.UNKNOWN),
    ],
)
def test_disconnect_state_codes(code: Any, status_: CallStatus, category: HangupCategory) -> None:
    [parsed] = parse_status_push(status("disconnect", stateCode=code), provider="hw")
    assert parsed.record is not None
    assert parsed.record.status is status_
    assert parsed.record.hangup is not None
    assert parsed.record.hangup.category is category
    assert parsed.record.hangup.provider_code == str(code)


def test_unix_timestamps_are_accepted() -> None:
    [parsed] = parse_status_push(status("callout", timestamp="1709626543"), provider="hw")
    assert parsed.at == datetime(2024, 3, 5, 8, 15, 43, tzinfo=UTC)


def test_unknown_event_types_are_ignored() -> None:
    assert parse_status_push(status("callin"), provider="hw") == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"eventType": "callout"}',
        b'{"eventType": 3, "statusInfo": {}}',
        b'{"eventType": "callout", "statusInfo": {}}',
        b'{"eventType": "callout", "statusInfo": {"sessionId": 5}}',
        b'{"eventType": "callout", "statusInfo": {"sessionId": "s", "timestamp": "yesterday"}}',
        b'{"eventType": "disconnect", "statusInfo": {"sessionId": "s", "stateCode": "busy"}}',
    ],
)
def test_malformed_status_pushes_are_invalid(body: bytes) -> None:
    with pytest.raises(InvalidRequest):
        parse_status_push(body, provider="hw")


# -- CDR pushes ---------------------------------------------------------------------------------


def test_the_spec_cdr_is_a_completed_recorded_callback() -> None:
    [event] = parse_fee_push(fee(SPEC_CDR), provider="hw")
    assert event.kind is EventKind.RECORD
    assert event.call_id == SESSION
    record = event.record
    assert record is not None
    assert record.status is CallStatus.COMPLETED
    assert record.to == "+8613700002222"
    assert record.caller_id == "+862087654321"
    at = datetime(2024, 3, 5, 8, 15, 43, tzinfo=UTC)
    assert record.started_at == at
    assert record.ringing_at == datetime(2024, 3, 5, 8, 15, 57, tzinfo=UTC)
    assert record.answered_at == datetime(2024, 3, 5, 8, 16, 5, tzinfo=UTC)
    assert record.ended_at == datetime(2024, 3, 5, 8, 21, 9, tzinfo=UTC)
    assert record.duration == 304  # callEndTime − fwdAnswerTime
    assert record.hangup is not None
    assert record.hangup.category is HangupCategory.NORMAL
    assert record.hangup.provider_code == "0"
    assert record.recording is not None
    assert record.recording.url == SPEC_CDR["recordFileDownloadUrl"]
    assert record.recording.file_id == "1201_3417_20240305081611.wav"
    assert record.recording.expires_at == record.ended_at + timedelta(days=7)
    assert record.reference == "order-20240305-0042"
    assert event.at == record.ended_at
    assert record.raw["recordDomain"] == "rec-cn1.example-obs.com"


NOTIFY_CDR: dict[str, Any] = {
    "direction": 0,
    "spId": "sp",
    "appKey": APP_KEY,
    "bindNum": "+862087654321",
    "sessionId": "s-notify",
    "callerNum": "+862087654321",
    "calleeNum": "+8613800000017",
    "callOutStartTime": "2024-03-05 08:15:43",
    "callOutAlertingTime": "",
    "callOutAnswerTime": "",
    "callEndTime": "2024-03-05 08:15:44",
    "failTime": "2024-03-05 08:15:44",
    "callOutUnaswRsn": 17,
    "ulFailReason": 518,
    "sipStatusCode": 486,
    "serviceType": "001",
}


def test_an_unanswered_notification_takes_its_q850_cause() -> None:
    record = record_from_cdr(NOTIFY_CDR, provider="hw")
    assert record.status is CallStatus.BUSY
    assert record.to == "+8613800000017"
    assert record.answered_at is None
    assert record.duration == 0
    assert record.hangup is not None
    assert (record.hangup.q850, record.hangup.sip, record.hangup.provider_code) == (17, 486, "518")
    assert record.recording is None


@pytest.mark.parametrize(
    ("changes", "status_", "category"),
    [
        ({"callOutUnaswRsn": 0, "sipStatusCode": 480}, CallStatus.NO_ANSWER, "no_answer"),
        ({"callOutUnaswRsn": 0, "sipStatusCode": 0, "ulFailReason": 486}, CallStatus.BUSY, "busy"),
        (
            {"callOutUnaswRsn": 0, "sipStatusCode": 0, "ulFailReason": 1003},
            CallStatus.CANCELED,
            "canceled",
        ),
        ({"callOutUnaswRsn": 1, "sipStatusCode": 404}, CallStatus.FAILED, "invalid_number"),
        (
            {"callOutUnaswRsn": 0, "sipStatusCode": 0, "ulFailReason": None},
            CallStatus.FAILED,
            None,
        ),
        (
            {"callOutAnswerTime": "2024-03-05 08:15:44", "ulFailReason": 100},
            CallStatus.COMPLETED,
            "normal",
        ),
    ],
)
def test_cdr_outcomes(changes: dict[str, Any], status_: CallStatus, category: str | None) -> None:
    record = record_from_cdr({**NOTIFY_CDR, **changes}, provider="hw")
    assert record.status is status_
    if category is None:
        assert record.hangup is None
    else:
        assert record.hangup is not None
        assert record.hangup.category.value == category


def test_a_callback_whose_first_leg_fails_uses_the_first_leg_cause() -> None:
    cdr = {
        **SPEC_CDR,
        "callOutAnswerTime": "",
        "fwdStartTime": "",
        "fwdAlertingTime": "",
        "fwdAnswerTime": "",
        "callOutUnaswRsn": 19,
        "fwdUnaswRsn": 0,
        "ulFailReason": 514,
        "sipStatusCode": 480,
        "recordFlag": 0,
        "recordObjectName": "",
        "recordFileDownloadUrl": "",
    }
    record = record_from_cdr(cdr, provider="hw")
    assert record.status is CallStatus.NO_ANSWER
    assert record.ringing_at == datetime(2024, 3, 5, 8, 15, 47, tzinfo=UTC)
    assert record.recording is None


def test_a_fee_push_of_fifty_cdrs() -> None:
    cdrs = [{**NOTIFY_CDR, "sessionId": f"s{i}"} for i in range(50)]
    events = parse_fee_push(fee(*cdrs), provider="hw")
    assert [e.call_id for e in events] == [f"s{i}" for i in range(50)]
    assert all(e.kind is EventKind.RECORD and e.record is not None for e in events)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b'{"eventType": "callout", "feeLst": []}', "eventType"),
        (b'{"eventType": "fee"}', "feeLst"),
        (b'{"eventType": "fee", "feeLst": [1]}', r"feeLst\[0\]"),
        (b'{"eventType": "fee", "feeLst": [{"sessionId": ""}]}', r"feeLst\[0\]\.sessionId"),
        (
            b'{"eventType": "fee", "feeLst": [{"sessionId": "s", "callEndTime": "x"}]}',
            r"feeLst\[0\]\.callEndTime",
        ),
        (
            b'{"eventType": "fee", "feeLst": [{"sessionId": "s", "ulFailReason": []}]}',
            r"feeLst\[0\]\.ulFailReason",
        ),
    ],
)
def test_malformed_fee_pushes_are_invalid(body: bytes, match: str) -> None:
    with pytest.raises(InvalidRequest, match=match):
        parse_fee_push(body, provider="hw")


def test_far_future_times_do_not_overflow() -> None:
    cdr = {**SPEC_CDR, "callEndTime": "9999-12-31 23:59:59"}
    record = record_from_cdr(cdr, provider="hw")
    assert record.recording is not None and record.recording.expires_at is None


# -- through the provider -----------------------------------------------------------------------


async def test_parse_webhook_verifies_then_parses(provider: HuaweiProvider) -> None:
    body = fee(SPEC_CDR)
    [event] = provider.parse_webhook("record", signed(FEE_URL), body, FEE_URL)
    assert event.record is not None and event.record.provider == "hw"
    with pytest.raises(AuthenticationError):
        provider.parse_webhook("record", signed(FEE_URL), body, STATUS_URL)
    with pytest.raises(UnsupportedFeature):
        provider.parse_webhook("review", signed(FEE_URL), body, FEE_URL)


async def test_parse_webhook_errors_carry_the_provider(provider: HuaweiProvider) -> None:
    with pytest.raises(InvalidRequest) as caught:
        provider.parse_webhook("status", signed(STATUS_URL), b"[]", STATUS_URL)
    assert caught.value.provider == "hw"


async def test_webhook_replies(provider: HuaweiProvider) -> None:
    reply = provider.webhook_reply("record", accepted=True)
    assert reply.status == 200
    assert json.loads(reply.body) == {"resultcode": "0", "resultdesc": "Success"}
    assert provider.webhook_reply("status", accepted=False).status != 200


# -- any input → events or a VoiceError --------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)

_FIELD_VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.text(max_size=25),
    st.sampled_from(["2024-03-05 08:15:43", "0001-01-01 00:00:00", "9999-12-31 23:59:59", "0"]),
    st.just("1709626543"),
    st.lists(st.integers(), max_size=2),
)

_STATUS_KEYS = ["sessionId", "timestamp", "caller", "called", "stateCode", "digitInfo", "userData"]
_CDR_KEYS = [
    "sessionId",
    "serviceType",
    "callOutStartTime",
    "callOutAlertingTime",
    "callOutAnswerTime",
    "fwdAnswerTime",
    "fwdAlertingTime",
    "callEndTime",
    "failTime",
    "callOutUnaswRsn",
    "fwdUnaswRsn",
    "ulFailReason",
    "sipStatusCode",
    "recordFlag",
    "recordObjectName",
    "recordFileDownloadUrl",
    "fwdDstNum",
    "userData",
]


def _check(events: list[CallEvent]) -> None:
    assert isinstance(events, list)
    for event in events:
        assert isinstance(event, CallEvent)
        assert event.at is None or event.at.utcoffset() == timedelta(0)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.binary(max_size=200), _JSON.map(lambda v: json.dumps(v).encode())))
def test_any_body_gives_events_or_a_voice_error(body: bytes) -> None:
    for parse in (parse_status_push, parse_fee_push):
        try:
            events = parse(body, provider="hw")
        except VoiceError:
            continue
        _check(events)


@settings(max_examples=300, deadline=None)
@given(
    event=st.sampled_from(["callout", "alerting", "answer", "collectInfo", "disconnect", "x"]),
    info=st.dictionaries(st.sampled_from(_STATUS_KEYS), _FIELD_VALUES),
)
def test_plausible_status_pushes_give_events_or_a_voice_error(
    event: str, info: dict[str, Any]
) -> None:
    body = json.dumps({"eventType": event, "statusInfo": info}).encode()
    try:
        events = parse_status_push(body, provider="hw")
    except VoiceError:
        return
    _check(events)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cdrs=st.lists(st.dictionaries(st.sampled_from(_CDR_KEYS), _FIELD_VALUES), max_size=3))
def test_plausible_fee_pushes_give_events_or_a_voice_error(cdrs: list[dict[str, Any]]) -> None:
    body = json.dumps({"eventType": "fee", "feeLst": cdrs}).encode()
    try:
        events = parse_fee_push(body, provider="hw")
    except VoiceError:
        return
    _check(events)
    for event in events:
        assert event.record is not None
        record = event.record
        assert record.duration is None or record.duration >= 0
