"""The record store's behaviour, the same for every RecordStore: MemoryStore and SQLiteStore.

Records only move forward: a final status is never overwritten by a late or repeated push,
out-of-order events merge by time, and between two final records the later end wins.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import reduce
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicegw.models import (
    AudioFile,
    AudioStatus,
    CallEvent,
    CallRecord,
    CallStatus,
    EventKind,
    HangupCategory,
    HangupCause,
    Money,
    RecordingRef,
    SendReceipt,
)
from voicegw.sqlite_store import SQLiteStore
from voicegw.store import MemoryStore, RecordStore, event_key, merge_record, record_from_event

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
PROVIDER = "primary"
PLUGIN = "sandbox"
FINAL_STATUSES = [status for status in CallStatus if status.is_final]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def receipt(
    call_id: str = "c1",
    *,
    provider: str = PROVIDER,
    accepted: float = 0,
    reference: str | None = None,
) -> SendReceipt:
    return SendReceipt(
        call_id=call_id,
        provider=provider,
        plugin=PLUGIN,
        accepted_at=at(accepted),
        reference=reference,
        raw={"callId": call_id},
    )


def event(
    kind: EventKind | str,
    call_id: str = "c1",
    *,
    seconds: float | None = None,
    provider: str = PROVIDER,
    record: CallRecord | None = None,
    digits: str | None = None,
    reference: str | None = None,
    raw: dict[str, Any] | None = None,
) -> CallEvent:
    return CallEvent(
        kind=kind,
        call_id=call_id,
        provider=provider,
        at=None if seconds is None else at(seconds),
        record=record,
        digits=digits,
        reference=reference,
        raw=raw or {"push": str(kind), "at": seconds},
    )


def call_record(
    status: CallStatus | str,
    call_id: str = "c1",
    *,
    ended: float | None = None,
    provider: str = PROVIDER,
    **fields: Any,
) -> CallRecord:
    return CallRecord(
        call_id=call_id,
        provider=provider,
        plugin=PLUGIN,
        status=status,
        ended_at=None if ended is None else at(ended),
        **fields,
    )


def ended(status: CallStatus | str, call_id: str = "c1", *, end: float, **fields: Any) -> CallEvent:
    """The provider's final record of a call that ended ``end`` seconds after T0."""
    record = call_record(status, call_id, ended=end, **fields)
    return event(EventKind.RECORD, call_id, seconds=end, record=record)


def new_store(kind: str, tmp_path: Path | None = None) -> RecordStore:
    if kind == "memory":
        return MemoryStore()
    return SQLiteStore(":memory:" if tmp_path is None else tmp_path / "voicegw.db")


@pytest_asyncio.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RecordStore]:
    instance = new_store(request.param, tmp_path)
    await instance.open()
    yield instance
    await instance.close()


async def status_of(store: RecordStore, call_id: str = "c1") -> CallStatus:
    record = await store.get_record(PROVIDER, call_id)
    assert record is not None
    return record.status


# ---------------------------------------------------------------------------------------------
# Receipts and events


async def test_every_store_implements_the_protocol(store: RecordStore) -> None:
    assert isinstance(store, RecordStore)


async def test_unknown_call_has_no_record(store: RecordStore) -> None:
    assert await store.get_record(PROVIDER, "nope") is None
    assert await store.find_records() == []


async def test_receipt_becomes_a_queued_record(store: RecordStore) -> None:
    await store.save_receipt(receipt(reference="order-7"), to="+8613800000017")
    record = await store.get_record(PROVIDER, "c1")
    assert record == CallRecord(
        call_id="c1",
        provider=PROVIDER,
        plugin=PLUGIN,
        to="+8613800000017",
        status=CallStatus.QUEUED,
        submitted_at=T0,
        reference="order-7",
    )


async def test_saving_a_receipt_twice_changes_nothing(store: RecordStore) -> None:
    await store.save_receipt(receipt(), to="+8613800000017")
    first = await store.get_record(PROVIDER, "c1")
    await store.save_receipt(receipt(), to="+8613800000017")
    assert await store.get_record(PROVIDER, "c1") == first
    assert len(await store.find_records()) == 1


async def test_events_advance_the_record(store: RecordStore) -> None:
    await store.save_receipt(receipt(), to="+8613800000017")
    fresh = await store.save_events(
        [
            event(EventKind.INITIATED, seconds=1),
            event(EventKind.RINGING, seconds=2),
            event(EventKind.ANSWERED, seconds=5),
            event(EventKind.DIGITS, seconds=7, digits="1"),
        ],
        plugin=PLUGIN,
    )
    assert fresh == [True, True, True, True]
    record = await store.get_record(PROVIDER, "c1")
    assert record is not None
    assert record.status is CallStatus.IN_PROGRESS
    assert (record.started_at, record.ringing_at, record.answered_at) == (at(1), at(2), at(5))
    assert record.digits == "1"
    assert record.to == "+8613800000017"
    assert record.submitted_at == T0


async def test_events_before_the_receipt_still_make_one_record(store: RecordStore) -> None:
    # the push can beat the send's own bookkeeping
    await store.save_events([event(EventKind.RINGING, seconds=2)], plugin=PLUGIN)
    await store.save_receipt(receipt(reference="r"), to="+8613800000017")
    record = await store.get_record(PROVIDER, "c1")
    assert record is not None
    assert record.status is CallStatus.RINGING
    assert (record.to, record.submitted_at, record.reference) == ("+8613800000017", T0, "r")


async def test_final_record_round_trips_exactly(store: RecordStore) -> None:
    record = CallRecord(
        call_id="c1",
        provider=PROVIDER,
        plugin=PLUGIN,
        to="+8613800000017",
        caller_id="+8613800000001",
        status=CallStatus.BUSY,
        hangup=HangupCause(
            HangupCategory.BUSY, q850=17, sip=486, provider_code="17", description="x"
        ),
        submitted_at=at(0.000001),
        started_at=at(1.25),
        ringing_at=at(2),
        ended_at=at(9.5),
        duration=0,
        billed_duration=0,
        cost=Money(Decimal("0.023625"), "USD"),
        recording=RecordingRef(url="https://example.test/r.wav", expires_at=at(3600)),
        reference="campaign-1/row-9",
        raw={"nested": {"list": [1, "二"]}, "cost": "0.023625"},
    )
    assert await store.save_events(
        [event(EventKind.RECORD, seconds=9.5, record=record)], plugin=PLUGIN
    ) == [True]
    stored = await store.get_record(PROVIDER, "c1")
    assert stored == record
    assert stored is not None
    assert stored.cost is not None
    assert stored.cost.amount == Decimal("0.023625")
    assert stored.raw == record.raw


async def test_same_call_id_at_two_providers_is_two_records(store: RecordStore) -> None:
    await store.save_receipt(receipt(provider="a"))
    await store.save_receipt(receipt(provider="b"))
    await store.save_events([event("ringing", seconds=1, provider="b")], plugin=PLUGIN)
    a, b = await store.get_record("a", "c1"), await store.get_record("b", "c1")
    assert a is not None
    assert b is not None
    assert (a.status, b.status) == (CallStatus.QUEUED, CallStatus.RINGING)


# ---------------------------------------------------------------------------------------------
# De-duplication


async def test_a_repeated_push_is_reported_as_seen(store: RecordStore) -> None:
    batch = [event(EventKind.RINGING, seconds=2), ended("completed", end=30, duration=20)]
    assert await store.save_events(batch, plugin=PLUGIN) == [True, True]
    before = await store.get_record(PROVIDER, "c1")
    assert await store.save_events(batch, plugin=PLUGIN) == [False, False]
    assert await store.get_record(PROVIDER, "c1") == before


async def test_a_duplicate_inside_one_batch_counts_once(store: RecordStore) -> None:
    ring = event(EventKind.RINGING, seconds=2)
    fresh = await store.save_events(
        [ring, event(EventKind.ANSWERED, seconds=4), ring], plugin=PLUGIN
    )
    assert fresh == [True, True, False]


async def test_a_mixed_batch_reports_each_event(store: RecordStore) -> None:
    await store.save_events([event(EventKind.RINGING, seconds=2)], plugin=PLUGIN)
    fresh = await store.save_events(
        [event(EventKind.ANSWERED, seconds=4), event(EventKind.RINGING, seconds=2)],
        plugin=PLUGIN,
    )
    assert fresh == [True, False]


async def test_same_kind_at_another_time_is_not_a_duplicate(store: RecordStore) -> None:
    fresh = await store.save_events(
        [event("digits", seconds=7, digits="1"), event("digits", seconds=8, digits="1")],
        plugin=PLUGIN,
    )
    assert fresh == [True, True]


async def test_an_empty_batch_is_fine(store: RecordStore) -> None:
    assert await store.save_events([], plugin=PLUGIN) == []


def test_event_key_is_stable_and_distinguishes_calls() -> None:
    one = event(EventKind.RINGING, seconds=2)
    assert event_key(one) == event_key(event(EventKind.RINGING, seconds=2))  # a re-push
    assert event_key(one) != event_key(event(EventKind.RINGING, seconds=2, raw={"other": 1}))
    assert event_key(one) != event_key(event(EventKind.RINGING, "c2", seconds=2))
    assert event_key(one) != event_key(event(EventKind.RINGING, seconds=2, provider="b"))
    assert event_key(one) != event_key(event(EventKind.ANSWERED, seconds=2))
    assert len(event_key(one)) == 64


# ---------------------------------------------------------------------------------------------
# Records only move forward


async def test_final_status_is_never_overwritten_by_a_late_push(store: RecordStore) -> None:
    await store.save_events([ended("completed", end=30, duration=20)], plugin=PLUGIN)
    late = [
        event(EventKind.ANSWERED, seconds=10),
        event(EventKind.INITIATED, seconds=1),
        event(EventKind.RECORD, seconds=40, record=call_record("in_progress")),
    ]
    assert await store.save_events(late, plugin=PLUGIN) == [True, True, True]
    record = await store.get_record(PROVIDER, "c1")
    assert record is not None
    assert record.status is CallStatus.COMPLETED
    assert record.ended_at == at(30)
    assert record.duration == 20
    # what the late pushes knew is not lost: times the final record lacked are filled in
    assert (record.started_at, record.answered_at) == (at(1), at(10))


async def test_a_receipt_after_the_end_does_not_requeue(store: RecordStore) -> None:
    await store.save_events([ended("no_answer", end=45)], plugin=PLUGIN)
    await store.save_receipt(receipt(reference="r"), to="+8613800000019")
    record = await store.get_record(PROVIDER, "c1")
    assert record is not None
    assert record.status is CallStatus.NO_ANSWER
    assert (record.submitted_at, record.to, record.reference) == (T0, "+8613800000019", "r")


async def test_ringing_after_ended_keeps_the_end(store: RecordStore) -> None:
    await store.save_events([ended("busy", end=8)], plugin=PLUGIN)
    await store.save_events([event(EventKind.RINGING, seconds=3)], plugin=PLUGIN)
    record = await store.get_record(PROVIDER, "c1")
    assert record is not None
    assert record.status is CallStatus.BUSY
    assert record.ringing_at == at(3)
    assert record.ended_at == at(8)


async def test_non_final_status_only_advances(store: RecordStore) -> None:
    await store.save_events([event(EventKind.ANSWERED, seconds=5)], plugin=PLUGIN)
    await store.save_events([event(EventKind.RINGING, seconds=2)], plugin=PLUGIN)
    await store.save_receipt(receipt())
    assert await status_of(store) is CallStatus.IN_PROGRESS


@pytest.mark.parametrize("later_first", [False, True])
async def test_two_final_records_the_later_end_wins(store: RecordStore, later_first: bool) -> None:
    early = ended("no_answer", end=40)
    late = ended("completed", end=95, duration=50)
    batches = [[late], [early]] if later_first else [[early], [late]]
    for batch in batches:
        await store.save_events(batch, plugin=PLUGIN)
    record = await store.get_record(PROVIDER, "c1")
    assert record is not None
    assert record.status is CallStatus.COMPLETED
    assert record.ended_at == at(95)
    assert record.duration == 50


async def test_one_batch_merges_in_order_like_separate_batches(
    store: RecordStore, tmp_path: Path
) -> None:
    events = [
        event(EventKind.ANSWERED, seconds=5),
        ended("completed", end=60, duration=55),
        event(EventKind.RINGING, seconds=2),
        ended("failed", end=20),
        event(EventKind.ANSWERED, "c2", seconds=3),
    ]
    await store.save_events(events, plugin=PLUGIN)
    reference = MemoryStore()
    for one in events:
        await reference.save_events([one], plugin=PLUGIN)
    for call_id in ("c1", "c2"):
        assert await store.get_record(PROVIDER, call_id) == await reference.get_record(
            PROVIDER, call_id
        )


# ---------------------------------------------------------------------------------------------
# Queries


async def seed(store: RecordStore) -> None:
    await store.save_receipt(receipt("a1", accepted=0, reference="camp-A"))
    await store.save_receipt(receipt("a2", accepted=60, reference="camp-A"))
    await store.save_receipt(receipt("b1", accepted=120, reference="camp-B"))
    await store.save_receipt(receipt("x1", accepted=60, reference="camp-A", provider="backup"))
    await store.save_events(
        [ended("completed", "a1", end=30), ended("busy", "b1", end=130)], plugin=PLUGIN
    )
    # known only from a push, never sent through this store: no submitted_at
    await store.save_events([ended("completed", "p1", end=10)], plugin=PLUGIN)


def ids(records: Sequence[CallRecord]) -> set[tuple[str, str]]:
    return {(record.provider, record.call_id) for record in records}


async def test_find_by_reference(store: RecordStore) -> None:
    await seed(store)
    found = await store.find_records(reference="camp-A")
    assert ids(found) == {(PROVIDER, "a1"), (PROVIDER, "a2"), ("backup", "x1")}
    assert await store.find_records(reference="nobody") == []


async def test_find_by_status(store: RecordStore) -> None:
    await seed(store)
    assert ids(await store.find_records(status=CallStatus.COMPLETED)) == {
        (PROVIDER, "a1"),
        (PROVIDER, "p1"),
    }
    assert ids(await store.find_records(status=CallStatus.QUEUED)) == {
        (PROVIDER, "a2"),
        ("backup", "x1"),
    }


async def test_find_by_time_range_since_inclusive_until_exclusive(store: RecordStore) -> None:
    await seed(store)
    assert ids(await store.find_records(since=at(60), until=at(120))) == {
        (PROVIDER, "a2"),
        ("backup", "x1"),
    }
    assert ids(await store.find_records(since=at(120))) == {(PROVIDER, "b1")}
    assert ids(await store.find_records(until=at(60))) == {(PROVIDER, "a1")}
    # a non-UTC bound means the same instant
    tz = datetime.fromisoformat("2024-05-01T17:02:00+08:00")
    assert ids(await store.find_records(since=tz)) == {(PROVIDER, "b1")}


async def test_find_by_status_and_time_range(store: RecordStore) -> None:
    await seed(store)
    found = await store.find_records(status=CallStatus.COMPLETED, since=at(0), until=at(300))
    assert ids(found) == {(PROVIDER, "a1")}  # p1 has no submitted_at: outside every range


async def test_find_by_provider_and_combined_filters(store: RecordStore) -> None:
    await seed(store)
    assert ids(await store.find_records(provider="backup")) == {("backup", "x1")}
    found = await store.find_records(
        provider=PROVIDER, reference="camp-A", status=CallStatus.QUEUED
    )
    assert ids(found) == {(PROVIDER, "a2")}


async def test_find_without_filters_returns_everything(store: RecordStore) -> None:
    await seed(store)
    assert len(await store.find_records()) == 5


# ---------------------------------------------------------------------------------------------
# Properties


seconds = st.integers(min_value=0, max_value=600)
progress_events = st.builds(
    lambda kind, s, digits: event(
        kind, seconds=s, digits=digits if kind is EventKind.DIGITS else None
    ),
    st.sampled_from([EventKind.INITIATED, EventKind.RINGING, EventKind.ANSWERED, EventKind.DIGITS]),
    seconds,
    st.sampled_from(["1", "42"]),
)
record_events = st.builds(
    lambda kind, status, end, s, duration: event(
        kind,
        seconds=s,
        record=call_record(status, ended=end if status.is_final else None, duration=duration),
    ),
    st.sampled_from([EventKind.RECORD, EventKind.ENDED]),
    st.sampled_from(list(CallStatus)),
    st.none() | seconds,
    st.none() | seconds,
    st.none() | st.integers(min_value=0, max_value=90),
)
call_events = st.lists(st.one_of(progress_events, record_events), min_size=1, max_size=8)


def carries_final(one: CallEvent) -> bool:
    return one.record is not None and one.record.status.is_final


def final_ends_distinct(events: Sequence[CallEvent]) -> bool:
    ends = [one.record.ended_at for one in events if one.record and one.record.status.is_final]
    return all(end is not None for end in ends) and len(set(ends)) == len(ends)


def winner(events: Sequence[CallEvent]) -> CallStatus:
    """The status of the final record that ended last."""
    finals = [one.record for one in events if one.record and one.record.status.is_final]
    return max(finals, key=lambda record: record.ended_at or T0).status


def implied_records(events: Sequence[CallEvent]) -> list[CallRecord]:
    records = [record_from_event(one, PLUGIN) for one in events]
    assert all(record is not None for record in records)  # every generated event is a call's
    return [record for record in records if record is not None]


def in_batches(events: Sequence[CallEvent], rnd: random.Random) -> list[list[CallEvent]]:
    batches: list[list[CallEvent]] = []
    rest = list(events)
    while rest:
        size = rnd.randint(1, len(rest))
        batches.append(rest[:size])
        rest = rest[size:]
    return batches


def replay(kind: str, batches: list[list[CallEvent]]) -> CallRecord | None:
    async def run() -> CallRecord | None:
        store = new_store(kind)
        await store.open()
        try:
            for batch in batches:
                await store.save_events(batch, plugin=PLUGIN)
            return await store.get_record(PROVIDER, "c1")
        finally:
            await store.close()

    return asyncio.run(run())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=call_events, rnd=st.randoms(use_true_random=False))
def test_any_order_of_events_is_final_iff_a_final_event_came(
    events: list[CallEvent], rnd: random.Random
) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    batches = in_batches(shuffled, rnd)
    memory, sqlite = replay("memory", batches), replay("sqlite", batches)
    assert memory is not None
    assert memory == sqlite  # both stores agree on every field
    assert memory.status.is_final == any(carries_final(one) for one in events)
    if memory.status.is_final and final_ends_distinct(events):
        assert memory.status is winner(events)


@settings(max_examples=400)
@given(events=call_events, rnd=st.randoms(use_true_random=False))
def test_merge_record_final_status_does_not_depend_on_order(
    events: list[CallEvent], rnd: random.Random
) -> None:
    records = implied_records(events)
    shuffled = list(records)
    rnd.shuffle(shuffled)
    merged: Callable[[list[CallRecord]], CallRecord | None] = lambda rs: reduce(  # noqa: E731
        merge_record, rs, None
    )
    forward, other = merged(records), merged(shuffled)
    assert forward is not None
    assert other is not None
    assert forward.status.is_final == other.status.is_final == any(map(carries_final, events))
    if forward.status.is_final and final_ends_distinct(events):
        assert forward.status is other.status is winner(events)


@given(events=call_events)
def test_merge_record_never_moves_back(events: list[CallEvent]) -> None:
    current: CallRecord | None = None
    for one in events:
        implied = record_from_event(one, PLUGIN)
        assert implied is not None
        merged = merge_record(current, implied)
        if current is not None:
            assert merged.status.rank >= current.status.rank
            if current.status.is_final:
                assert merged.status.is_final
        current = merged


@given(events=call_events)
def test_merging_the_same_record_twice_is_idempotent(events: list[CallEvent]) -> None:
    records = implied_records(events)
    merged = reduce(merge_record, records, None)
    assert merged is not None
    for record in records:
        assert merge_record(merge_record(merged, record), record) == merge_record(merged, record)


# ---------------------------------------------------------------------------------------------
# Regressions: bugs this suite found in voicegw.store, fixed there


async def test_a_later_final_record_does_not_inherit_the_losers_outcome(
    store: RecordStore,
) -> None:
    busy = HangupCause(HangupCategory.BUSY, q850=17)
    await store.save_events([ended("busy", end=8, hangup=busy, duration=0)], plugin=PLUGIN)
    await store.save_events([ended("completed", end=60)], plugin=PLUGIN)
    record = await store.get_record(PROVIDER, "c1")
    assert record is not None
    assert record.status is CallStatus.COMPLETED
    assert (record.hangup, record.duration) == (None, None)


async def test_final_records_with_the_same_status_fill_each_others_gaps(
    store: RecordStore,
) -> None:
    # Huawei: the "disconnect" status push knows the cause, the CDR knows the cost
    normal = HangupCause(HangupCategory.NORMAL, q850=16)
    ended_push = CallEvent(
        kind=EventKind.ENDED,
        call_id="c1",
        provider=PROVIDER,
        at=at(60),
        record=call_record("completed", ended=60, hangup=normal),
    )
    await store.save_events([ended_push], plugin=PLUGIN)
    await store.save_events(
        [ended("completed", end=60, duration=50, cost=Money("0.05", "USD"))], plugin=PLUGIN
    )
    record = await store.get_record(PROVIDER, "c1")
    assert record is not None
    assert (record.status, record.hangup, record.duration, record.cost) == (
        CallStatus.COMPLETED,
        normal,
        50,
        Money("0.05", "USD"),
    )


async def test_a_record_with_new_information_is_not_a_duplicate(store: RecordStore) -> None:
    # what gateway.get_record stores on each query: a record event without a time
    first = call_record("completed", ended=60, duration=50)
    richer = call_record("completed", ended=60, duration=50, cost=Money("0.05", "USD"))
    await store.save_events([event(EventKind.RECORD, record=first)], plugin=PLUGIN)
    fresh = await store.save_events([event(EventKind.RECORD, record=richer)], plugin=PLUGIN)
    record = await store.get_record(PROVIDER, "c1")
    assert record is not None
    assert (fresh, record.cost) == ([True], Money("0.05", "USD"))


async def test_an_audio_review_makes_no_call_record(store: RecordStore) -> None:
    review = CallEvent(
        kind=EventKind.AUDIO_REVIEWED,
        call_id="file-1",
        provider=PROVIDER,
        at=at(5),
        audio=AudioFile(file_id="file-1", provider=PROVIDER, status=AudioStatus.APPROVED),
    )
    assert await store.save_events([review], plugin=PLUGIN) == [True]
    assert await store.find_records() == []


async def test_the_providers_final_record_wins_a_tie_with_the_pushed_status(
    store: RecordStore,
) -> None:
    # Huawei: the disconnect push gives a busy record with the stateCode cause, then the CDR
    # ends at the same second with the Q.850 and SIP causes. The CDR is the provider's word.
    state_code = HangupCause(HangupCategory.BUSY, provider_code="8102", description="busy")
    pushed = call_record("busy", ended=9, hangup=state_code, duration=0, reference="r", to="+1")
    cdr_cause = HangupCause(HangupCategory.BUSY, q850=17, sip=486, provider_code="17")
    cdr = call_record("busy", ended=9, hangup=cdr_cause)
    await store.save_events([event(EventKind.ENDED, seconds=9, record=pushed)], plugin=PLUGIN)
    await store.save_events([ended("busy", end=9, hangup=cdr_cause)], plugin=PLUGIN)
    record = await store.get_record(PROVIDER, "c1")
    assert record is not None
    assert record.hangup == cdr.hangup
    assert record.reference == "r"  # what the CDR did not say is kept
    assert record.duration == 0
