"""Records: the seed's example field by field, outcomes from SIP codes, queries, search."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aioresponses import aioresponses
from hypothesis import given, settings
from hypothesis import strategies as st

from voicegw.errors import InvalidRequest, NotFound, OutcomeUnknown, ValidationError, VoiceError
from voicegw.models import CallRecord, CallStatus, HangupCategory, HangupCause, Money
from voicegw_itniotech.provider import ItniotechProvider
from voicegw_itniotech.wire import (
    build_record_query,
    format_time,
    query_windows,
    record_from_wire,
)

from .samples import BASE, SEED_RECORD, envelope, sent, sent_json

UTC8_NOON = datetime(2022, 1, 18, 6, 42, 40, tzinfo=UTC)


def wire(**changes: Any) -> dict[str, Any]:
    record = dict(SEED_RECORD)
    record.update(changes)
    return record


def test_the_seed_example_maps_field_by_field() -> None:
    record = record_from_wire(SEED_RECORD, provider="itn")
    assert record.call_id == "2203031113381000002"
    assert record.provider == "itn"
    assert record.plugin == "itniotech"
    assert record.to == "+91856321412"
    assert record.caller_id == "+1008122211"
    assert record.status is CallStatus.COMPLETED
    assert record.hangup == HangupCause(
        HangupCategory.NORMAL, q850=None, sip=200, provider_code="200", description="OK"
    )
    assert record.submitted_at == datetime(2022, 1, 18, 6, 42, 40, tzinfo=UTC)
    assert record.started_at == datetime(2022, 1, 18, 6, 42, 45, tzinfo=UTC)
    assert record.ringing_at == datetime(2022, 1, 18, 6, 42, 47, tzinfo=UTC)
    assert record.answered_at == datetime(2022, 1, 18, 6, 42, 50, tzinfo=UTC)
    assert record.ended_at == datetime(2022, 1, 18, 6, 42, 55, tzinfo=UTC)
    for moment in (record.submitted_at, record.ended_at):
        assert moment is not None
        assert moment.utcoffset() == timedelta(0)
    assert record.duration == 5
    assert record.billed_duration == 5
    assert record.cost == Money(Decimal("2"), "EUR")
    assert record.digits == "1"
    assert record.recording is None  # voiceFileId is the audio played, not a recording
    assert record.reference is None  # the example carries no calledInfo
    assert record.raw == SEED_RECORD


def test_the_record_serializes_through_the_converter() -> None:
    from voicegw.serialization import dumps_model, loads_model

    record = record_from_wire(SEED_RECORD, provider="itn")
    assert loads_model(dumps_model(record), CallRecord) == record


def test_called_info_comes_back_as_reference() -> None:
    assert record_from_wire(wire(calledInfo="order-42"), provider="p").reference == "order-42"


@pytest.mark.parametrize(
    "field",
    [
        "displayNum",
        "ringingTime",
        "answerTime",
        "cost",
        "feedbackValue",
        "calledInfo",
        "currency",
        "voiceFileId",
    ],
)
def test_empty_strings_are_none(field: str) -> None:
    record = record_from_wire(wire(**{field: ""}), provider="p")
    shown = {
        "displayNum": record.caller_id,
        "ringingTime": record.ringing_at,
        "answerTime": record.answered_at,
        "cost": record.cost,
        "feedbackValue": record.digits,
        "calledInfo": record.reference,
    }
    if field == "currency":
        assert record.cost == Money("2", "USD")  # USD when currency is empty
    elif field == "voiceFileId":
        assert record.recording is None
    else:
        assert shown[field] is None


def test_nulls_and_absent_fields_are_none_too() -> None:
    record = record_from_wire({"voiceId": "1"}, provider="p")
    assert record.status is CallStatus.QUEUED
    assert record.hangup is None
    assert record.to is None
    assert record.cost is None
    assert record.duration is None


def test_money_is_decimal_in_the_quote_currency() -> None:
    assert record_from_wire(wire(cost="0.023625", currency=""), provider="p").cost == Money(
        Decimal("0.023625"), "USD"
    )
    assert record_from_wire(wire(cost="1.5", currency="usd"), provider="p").cost == Money(
        "1.5", "USD"
    )
    older = {k: v for k, v in SEED_RECORD.items() if k not in ("cost", "currency")}
    assert record_from_wire({**older, "costEur": "0.5"}, provider="p").cost == Money("0.5", "EUR")


def test_feedback_minus_one_is_no_digits() -> None:
    assert record_from_wire(wire(feedbackValue="-1"), provider="p").digits is None
    assert record_from_wire(wire(feedbackValue=-1), provider="p").digits is None
    assert record_from_wire(wire(feedbackValue="5"), provider="p").digits == "5"


def test_times_without_an_offset_are_read_as_utc_plus_8() -> None:
    record = record_from_wire(wire(submitTime="2022-01-18 14:42:40"), provider="p")
    assert record.submitted_at == UTC8_NOON


def test_push_times_are_epoch_milliseconds() -> None:
    record = record_from_wire(
        wire(submitTime=1670939112097, callTime="1670939568000", ringingTime=0),
        provider="p",
    )
    assert record.submitted_at == datetime(2022, 12, 13, 13, 45, 12, 97000, tzinfo=UTC)
    assert record.started_at == datetime(2022, 12, 13, 13, 52, 48, tzinfo=UTC)
    assert record.ringing_at is None  # 0 means "never"


@pytest.mark.parametrize(
    ("code", "changes", "status", "category"),
    [
        ("200", {}, CallStatus.COMPLETED, HangupCategory.NORMAL),
        ("486", {"answerTime": None}, CallStatus.BUSY, HangupCategory.BUSY),
        ("600", {"answerTime": None}, CallStatus.BUSY, HangupCategory.BUSY),
        ("480", {"answerTime": None}, CallStatus.NO_ANSWER, HangupCategory.NO_ANSWER),
        ("408", {"answerTime": None}, CallStatus.NO_ANSWER, HangupCategory.NO_ANSWER),
        ("487", {"answerTime": None}, CallStatus.NO_ANSWER, HangupCategory.NO_ANSWER),
        (
            "487",
            {"answerTime": None, "ringingTime": None},
            CallStatus.CANCELED,
            HangupCategory.CANCELED,
        ),
        ("603", {"answerTime": None}, CallStatus.REJECTED, HangupCategory.REJECTED),
        ("403", {"answerTime": None}, CallStatus.REJECTED, HangupCategory.REJECTED),
        ("404", {"answerTime": None}, CallStatus.FAILED, HangupCategory.INVALID_NUMBER),
        ("484", {"answerTime": None}, CallStatus.FAILED, HangupCategory.INVALID_NUMBER),
        ("502", {"answerTime": None}, CallStatus.FAILED, HangupCategory.UNREACHABLE),
        ("503", {"answerTime": None}, CallStatus.FAILED, HangupCategory.CONGESTION),
        ("500", {"answerTime": None}, CallStatus.FAILED, HangupCategory.NETWORK_ERROR),
        ("0", {}, CallStatus.COMPLETED, HangupCategory.NORMAL),  # legacy "0 = success"
        ("0", {"answerTime": None}, CallStatus.FAILED, HangupCategory.UNKNOWN),
        ("garbage", {"answerTime": None}, CallStatus.FAILED, HangupCategory.UNKNOWN),
    ],
)
def test_outcomes_from_the_sip_code(
    code: str, changes: dict[str, Any], status: CallStatus, category: HangupCategory
) -> None:
    record = record_from_wire(wire(terminationCode=code, **changes), provider="p")
    assert record.status is status
    assert record.hangup is not None
    assert record.hangup.category is category
    assert record.hangup.provider_code == code


def test_sip_code_wins_over_termination_code() -> None:
    record = record_from_wire(
        wire(terminationCode="0", sipCode="486", answerTime=None), provider="p"
    )
    assert record.status is CallStatus.BUSY
    assert record.hangup is not None
    assert record.hangup.sip == 486
    assert record.hangup.q850 == 17


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"callTime": None, "ringingTime": None, "answerTime": None}, CallStatus.QUEUED),
        ({"answerTime": None}, CallStatus.RINGING),
        ({}, CallStatus.IN_PROGRESS),
    ],
)
def test_records_in_progress(changes: dict[str, Any], status: CallStatus) -> None:
    pending = wire(hangupTime=None, terminationCode="", terminationReason="", **changes)
    record = record_from_wire(pending, provider="p")
    assert record.status is status
    assert record.hangup is None
    assert not record.status.is_final


@pytest.mark.parametrize(
    "item",
    [
        None,
        [],
        "record",
        {},
        {"voiceId": ""},
        {"voiceId": "x" * 65},
        wire(submitTime="yesterday"),
        wire(callDuration=-1),
        wire(callDuration="five"),
        wire(cost="two euros"),
        wire(currency="euro"),
        wire(submitTime=True),
        wire(hangupTime=10**30),
        wire(calledInfo={"a": 1}),
    ],
)
def test_unreadable_records_raise_invalid_request(item: Any) -> None:
    with pytest.raises(InvalidRequest, match="unreadable ITNIO record"):
        record_from_wire(item, provider="p")


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["", "-1", "200", "486", "0", "2022-01-18T14:42:40+08:00", "1670939112097"])
)
_FIELDS = [*SEED_RECORD, "sipCode", "type", "recordingFileId", "costEur", "outRecallCount"]


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.dictionaries(st.sampled_from(_FIELDS), _SCALARS | st.lists(_SCALARS, max_size=2)),
        st.fixed_dictionaries({}, optional=dict.fromkeys(_FIELDS, _SCALARS)),
        _SCALARS,
        st.lists(_SCALARS, max_size=3),
    )
)
def test_any_record_gives_a_model_or_a_voice_error(item: Any) -> None:
    try:
        record = record_from_wire(item, provider="p")
    except VoiceError:
        return
    assert isinstance(record, CallRecord)
    for moment in (record.submitted_at, record.answered_at, record.ended_at):
        assert moment is None or moment.utcoffset() == timedelta(0)
    json.dumps(record.raw)  # raw stays JSON-ready


# -- get_record over the wire ----------------------------------------------------------------


async def test_get_record_is_a_signed_get_without_body(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    url = f"{BASE}/voice/recordGroup/2203031113381000002"
    mocked.get(url, payload=envelope(SEED_RECORD))
    record = await provider.get_record("2203031113381000002")
    ((method, caught_url, kwargs),) = sent(mocked)
    assert (method, caught_url) == ("GET", url)
    headers = dict(kwargs["headers"])
    headers.pop("User-Agent")
    assert headers == {
        "Content-Type": "application/json;charset=UTF-8",
        "Sign": "05d7a50893e22a5c4bb3216ae3396c7c",
        "Timestamp": "1630468800",
        "Api-Key": "bDqJFiq9",
    }
    assert kwargs.get("data") is None
    assert record == record_from_wire(SEED_RECORD, provider="itn")


async def test_ids_are_escaped_in_the_path(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.get(f"{BASE}/voice/recordGroup/a%2Fb%3Fc", payload=envelope(SEED_RECORD))
    await provider.get_record("a/b?c")
    assert len(sent(mocked)) == 1


@pytest.mark.parametrize("data", [None, "", {}])
async def test_unknown_voice_id_is_not_found(
    provider: ItniotechProvider, mocked: aioresponses, data: Any
) -> None:
    mocked.get(f"{BASE}/voice/recordGroup/1", payload=envelope(data))
    with pytest.raises(NotFound):
        await provider.get_record("1")


@pytest.mark.parametrize("call_id", ["", "   ", "x" * 65])
async def test_impossible_ids_are_refused_locally(
    provider: ItniotechProvider, mocked: aioresponses, call_id: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        await provider.get_record(call_id)
    assert caught.value.message.startswith("call_id must be an ITNIO voiceId")
    assert sent(mocked) == []


async def test_an_unreadable_record_is_outcome_unknown(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.get(f"{BASE}/voice/recordGroup/1", payload=envelope(wire(submitTime="soon")))
    with pytest.raises(OutcomeUnknown, match="unreadable"):
        await provider.get_record("1")


# -- recordGroupQuery ----------------------------------------------------------------------------


def test_query_times_are_written_in_utc_plus_8() -> None:
    request = build_record_query(UTC8_NOON, UTC8_NOON + timedelta(days=1), current=2, size=50)
    assert request.path == "/voice/recordGroupQuery"
    assert request.body == {
        "current": 2,
        "size": 50,
        "params": {
            "strTime": "2022-01-18T14:42:40+08:00",
            "endTime": "2022-01-19T14:42:40+08:00",
        },
    }
    assert format_time(datetime(2022, 2, 18, 0, 0, 0, 999, tzinfo=UTC)) == (
        "2022-02-18T08:00:00+08:00"
    )


def test_long_ranges_are_cut_into_31_day_windows() -> None:
    start = datetime(2022, 1, 1, tzinfo=UTC)
    windows = query_windows(start, start + timedelta(days=70, microseconds=1))
    assert [(b - a).days for a, b in windows] == [31, 31, 8]
    assert windows[0][0] == start
    assert windows[-1][1] == start + timedelta(days=70, seconds=1)  # end rounded up
    assert all(a < b for a, b in windows)
    assert all(windows[i][1] == windows[i + 1][0] for i in range(len(windows) - 1))


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (UTC8_NOON, UTC8_NOON),
        (UTC8_NOON, UTC8_NOON - timedelta(seconds=1)),
        (UTC8_NOON.replace(tzinfo=None), UTC8_NOON),
    ],
)
def test_impossible_ranges_are_refused(start: datetime, end: datetime) -> None:
    with pytest.raises(ValidationError):
        query_windows(start, end)


async def test_iter_records_pages_and_deduplicates(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    url = f"{BASE}/voice/recordGroupQuery"
    first = [wire(voiceId="1"), wire(voiceId="2")]
    mocked.post(
        url, payload=envelope({"total": 3, "size": 2, "current": 1, "pages": 2, "records": first})
    )
    mocked.post(
        url,
        payload=envelope(
            {"total": 3, "size": 2, "current": 2, "pages": 2, "records": [wire(voiceId="3")]}
        ),
    )
    # The second window repeats a record at the edge.
    mocked.post(
        url,
        payload=envelope(
            {"total": 1, "size": 100, "current": 1, "pages": 1, "records": [wire(voiceId="3")]}
        ),
    )
    start = datetime(2022, 1, 1, tzinfo=UTC)
    ids = [r.call_id async for r in provider.iter_records(start, start + timedelta(days=40))]
    assert ids == ["1", "2", "3"]
    bodies = [sent_json(kwargs) for _, _, kwargs in sent(mocked)]
    assert [b["current"] for b in bodies] == [1, 2, 1]
    assert bodies[0]["size"] == 100
    assert bodies[0]["params"] == {
        "strTime": "2022-01-01T08:00:00+08:00",
        "endTime": "2022-02-01T08:00:00+08:00",
    }
    assert bodies[2]["params"]["strTime"] == "2022-02-01T08:00:00+08:00"


async def test_iter_records_stops_on_an_empty_page(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(
        f"{BASE}/voice/recordGroupQuery",
        payload=envelope({"total": 0, "size": 100, "current": 1, "pages": 0, "records": []}),
    )
    start = datetime(2022, 1, 1, tzinfo=UTC)
    assert [r async for r in provider.iter_records(start, start + timedelta(days=1))] == []
    assert len(sent(mocked)) == 1


@pytest.mark.parametrize("data", [None, [], {"records": "no"}, {"records": [1]}])
async def test_iter_records_on_an_unreadable_page(
    provider: ItniotechProvider, mocked: aioresponses, data: Any
) -> None:
    mocked.post(f"{BASE}/voice/recordGroupQuery", payload=envelope(data))
    start = datetime(2022, 1, 1, tzinfo=UTC)
    with pytest.raises(OutcomeUnknown):
        _ = [r async for r in provider.iter_records(start, start + timedelta(days=1))]
