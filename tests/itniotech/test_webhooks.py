"""Pushes: one object or an array, epoch milliseconds, the URL token, the reply."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicegw.errors import AuthenticationError, InvalidRequest, UnsupportedFeature, VoiceError
from voicegw.models import CallEvent, CallStatus, EventKind, Money
from voicegw_itniotech.provider import ItniotechProvider

from .samples import PUSH_TOKEN, SEED_RECORD, make_settings

HOOK = f"https://hooks.example.com/hooks/itn/record?token={PUSH_TOKEN}"

#: The push example of spec §3.2, with the values the spec marks as assumed filled in.
PUSH: dict[str, Any] = {
    "voiceId": "22121121451211349002",
    "type": 1,
    "callee": "63123456788",
    "displayNum": "6311012125",
    "submitTime": 1670939112097,
    "callTime": 1670939568000,
    "ringingTime": 1670939570000,
    "answerTime": 1670939582000,
    "hangupTime": 1670939595000,
    "chargedDuration": 20,
    "callDuration": 13,
    "billPeriod": "20+20",
    "code": "India(Karnataka)",
    "voiceFileId": "12043042052c5b61378df42324286fe4a4ace40ve.mp3",
    "rate": "0.023625",
    "baseCost": "0.007875",
    "cost": "0.007875",
    "terminationCode": "200",
    "terminationReason": "success",
    "sipCode": "200",
    "feedbackValue": "-1",
    "calledInfo": "order-42",
    "ringDuration": 12,
    "currency": "",
    "settleRate": "",
    "quoteExchange": "",
    "settlePay": "",
    "outRecallCount": 0,
}


@pytest.fixture
def guarded() -> ItniotechProvider:
    return ItniotechProvider("itn", make_settings(push_token=PUSH_TOKEN))


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_one_object_gives_one_record_event(guarded: ItniotechProvider) -> None:
    (event,) = guarded.parse_webhook("record", {}, body(PUSH), HOOK)
    assert isinstance(event, CallEvent)
    assert event.kind is EventKind.RECORD
    assert event.call_id == "22121121451211349002"
    assert event.provider == "itn"
    assert event.reference == "order-42"
    assert event.at == datetime(2022, 12, 13, 13, 53, 15, tzinfo=UTC)
    record = event.record
    assert record is not None
    assert record.status is CallStatus.COMPLETED
    assert record.submitted_at == datetime(2022, 12, 13, 13, 45, 12, 97000, tzinfo=UTC)
    assert record.answered_at == datetime(2022, 12, 13, 13, 53, 2, tzinfo=UTC)
    assert record.duration == 13
    assert record.billed_duration == 20
    assert record.cost == Money("0.007875", "USD")
    assert record.digits is None
    assert record.to == "+63123456788"
    assert record.raw["outRecallCount"] == 0
    assert event.raw == PUSH


def test_an_array_gives_one_event_per_record(guarded: ItniotechProvider) -> None:
    busy = {**PUSH, "voiceId": "2", "sipCode": "486", "terminationCode": "486", "answerTime": None}
    events = guarded.parse_webhook("record", {}, body([PUSH, busy]), HOOK)
    assert [e.call_id for e in events] == ["22121121451211349002", "2"]
    assert events[1].record is not None
    assert events[1].record.status is CallStatus.BUSY
    assert guarded.parse_webhook("record", {}, b"[]", HOOK) == []


def test_query_shaped_records_are_accepted_too(guarded: ItniotechProvider) -> None:
    (event,) = guarded.parse_webhook("record", {}, body(SEED_RECORD), HOOK)
    assert event.record is not None
    assert event.record.cost == Money("2", "EUR")


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/hooks/itn/record",
        "https://hooks.example.com/hooks/itn/record?token=",
        f"https://hooks.example.com/hooks/itn/record?token={PUSH_TOKEN[:-1]}",
        f"https://hooks.example.com/hooks/itn/record?token={PUSH_TOKEN}x",
        f"https://hooks.example.com/hooks/itn/record?other={PUSH_TOKEN}",
        f"https://hooks.example.com/hooks/itn/{PUSH_TOKEN}/record",
        "http://[::1/record?token=x",
    ],
)
def test_a_push_without_the_token_is_refused(guarded: ItniotechProvider, url: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        guarded.parse_webhook("record", {}, body(PUSH), url)
    assert PUSH_TOKEN not in str(caught.value)
    assert PUSH_TOKEN not in repr(caught.value)


def test_the_token_is_checked_before_the_body(guarded: ItniotechProvider) -> None:
    with pytest.raises(AuthenticationError):
        guarded.parse_webhook("record", {}, b"not json", "https://h/record")


def test_the_token_may_sit_among_other_parameters(guarded: ItniotechProvider) -> None:
    url = f"https://h/hooks/itn/record?a=1&token={PUSH_TOKEN}&b=2"
    assert len(guarded.parse_webhook("record", {}, body(PUSH), url)) == 1


def test_the_token_is_compared_in_constant_time(
    guarded: ItniotechProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr("voicegw_itniotech.provider.hmac.compare_digest", spy)
    guarded.parse_webhook("record", {}, body(PUSH), HOOK)
    assert compared == [(PUSH_TOKEN.encode(), PUSH_TOKEN.encode())]


def test_without_a_configured_token_every_push_is_accepted() -> None:
    open_provider = ItniotechProvider("itn", make_settings())
    events = open_provider.parse_webhook("record", {}, body(PUSH), "https://h/hooks/itn/record")
    assert len(events) == 1


def test_only_record_pushes_exist(guarded: ItniotechProvider) -> None:
    assert guarded.webhook_kinds == frozenset({"record"})
    with pytest.raises(UnsupportedFeature):
        guarded.parse_webhook("status", {}, body(PUSH), HOOK)


@pytest.mark.parametrize(
    "payload",
    [b"", b"not json", b"NaN", b'"text"', b"42", b"[1, 2]", b"{}", b'[{"voiceId": "1"}, 3]'],
)
def test_unreadable_pushes_are_invalid_requests(guarded: ItniotechProvider, payload: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        guarded.parse_webhook("record", {}, payload, HOOK)
    assert caught.value.provider == "itn"


def test_the_reply_is_small_json_or_503(guarded: ItniotechProvider) -> None:
    accepted = guarded.webhook_reply("record", accepted=True)
    assert accepted.status == 200
    assert accepted.content_type == "application/json"
    assert json.loads(accepted.body) == {"status": "0", "reason": "success"}
    refused = guarded.webhook_reply("record", accepted=False)
    assert refused.status == 503


def test_the_push_token_never_shows(guarded: ItniotechProvider) -> None:
    assert PUSH_TOKEN not in repr(guarded)
    assert PUSH_TOKEN not in repr(guarded.settings)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=25,
)
_RECORDISH = st.fixed_dictionaries(
    {"voiceId": st.text(min_size=1, max_size=20) | st.integers()},
    optional={
        key: _JSON | st.sampled_from(["", "-1", "200", "486"]) for key in PUSH if key != "voiceId"
    },
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payload=st.one_of(
        st.binary(max_size=200),
        _JSON.map(lambda v: json.dumps(v).encode()),
        _RECORDISH.map(lambda v: json.dumps(v).encode()),
        st.lists(_RECORDISH, max_size=3).map(lambda v: json.dumps(v).encode()),
    )
)
def test_any_push_gives_events_or_a_voice_error(guarded: ItniotechProvider, payload: bytes) -> None:
    try:
        events = guarded.parse_webhook("record", {}, payload, HOOK)
    except VoiceError:
        return
    assert isinstance(events, list)
    for event in events:
        assert isinstance(event, CallEvent)
        assert event.kind is EventKind.RECORD
        assert event.record is not None
        assert event.at is None or event.at.tzinfo is not None
