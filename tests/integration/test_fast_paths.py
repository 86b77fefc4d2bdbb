"""The fast paths the benchmarks led to give exactly what the straightforward code gave.

* :func:`voicegw.store.event_key_and_data` unstructures an event once to get both its key and
  its stored form. Keys must never change (stored keys de-duplicate re-pushes across
  upgrades), so the key is checked against the original two-unstructure computation, and the
  stored JSON against ``converter.unstructure``.
* Huawei push times in the documented form are read with ``datetime.fromisoformat`` instead
  of ``strptime``: same datetimes, same refusals.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicegw import (
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
)
from voicegw.errors import InvalidRequest
from voicegw.serialization import converter
from voicegw.store import event_key, event_key_and_data
from voicegw_huawei.pushes import parse_time


def original_event_key(event: CallEvent) -> str:
    """The key as first written: the event without its payloads, then the payloads."""
    record = event.record
    bare = attrs.evolve(
        event, raw={}, record=None if record is None else attrs.evolve(record, raw={})
    )
    data = converter.unstructure(bare)
    data["raw"] = event.raw
    data["record_raw"] = None if record is None else record.raw
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


payload_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=10)
    | st.decimals(allow_nan=False, places=3).map(Decimal)
    | st.floats(allow_nan=False)
    | st.just(b"bytes")
    | st.just(("a", 1)),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
payloads = st.dictionaries(st.text(max_size=8), payload_values, max_size=4)
times = st.none() | st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
causes = st.none() | st.builds(
    HangupCause,
    st.sampled_from(list(HangupCategory)),
    q850=st.none() | st.integers(0, 127),
    sip=st.none() | st.integers(200, 699),
    provider_code=st.none() | st.text(max_size=5),
    description=st.none() | st.text(max_size=10),
)
records = st.builds(
    CallRecord,
    call_id=st.text(min_size=1, max_size=8),
    provider=st.sampled_from(["itn", "hw"]),
    plugin=st.sampled_from(["itniotech", "huawei"]),
    to=st.none() | st.just("+8613800000100"),
    status=st.sampled_from(list(CallStatus)),
    hangup=causes,
    submitted_at=times,
    answered_at=times,
    ended_at=times,
    duration=st.none() | st.integers(0, 1000),
    cost=st.none() | st.builds(Money, st.decimals(0, 10, places=4).map(str), st.just("USD")),
    digits=st.none() | st.text("0123456789", max_size=3),
    recording=st.none() | st.builds(RecordingRef, url=st.none() | st.just("https://r/1.wav")),
    reference=st.none() | st.text(max_size=8),
    raw=payloads,
)
events = st.builds(
    CallEvent,
    kind=st.sampled_from(list(EventKind)),
    call_id=st.text(min_size=1, max_size=8),
    provider=st.sampled_from(["itn", "hw"]),
    at=times,
    digits=st.none() | st.text(max_size=3),
    record=st.none() | records,
    audio=st.none()
    | st.builds(
        AudioFile,
        file_id=st.just("f1"),
        provider=st.just("hw"),
        status=st.sampled_from(list(AudioStatus)),
    ),
    reference=st.none() | st.text(max_size=8),
    raw=payloads,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_the_key_is_the_original_key(event: CallEvent) -> None:
    try:
        expected = original_event_key(event)
    except (TypeError, ValueError):
        return  # nothing the original could key (and nothing the store stores)
    key, data = event_key_and_data(event)
    assert key == expected
    assert event_key(event) == expected
    assert data == converter.unstructure(event)


def test_a_known_key_never_changes() -> None:
    """A key computed by the original code, frozen: upgrades must keep de-duplicating."""
    record = CallRecord(
        call_id="c-1",
        provider="hw",
        plugin="huawei",
        status=CallStatus.BUSY,
        ended_at=datetime(2024, 3, 5, 8, 16, 9, tzinfo=UTC),
        raw={"sessionId": "c-1", "callOutUnaswRsn": 17},
    )
    event = CallEvent(
        kind=EventKind.RECORD,
        call_id="c-1",
        provider="hw",
        at=datetime(2024, 3, 5, 8, 16, 9, tzinfo=UTC),
        record=record,
        reference="order-1",
        raw={"sessionId": "c-1", "callOutUnaswRsn": 17},
    )
    assert event_key(event) == original_event_key(event)
    # computed by the code released before the fast path
    assert event_key(event) == "aa0b279b5a761206f809b2dbe0bbd8797ec9fc60a67d267079b0014b501cb2cf"


def strptime_only(text: str) -> datetime | None:
    """What ``parse_time`` did for a ``yyyy-MM-dd HH:mm:ss`` text before the fast path."""
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


two = st.integers(0, 99).map(lambda n: f"{n:02d}")
push_times = st.builds(
    lambda y, mo, d, h, mi, s: f"{y:04d}-{mo}-{d} {h}:{mi}:{s}",
    st.integers(0, 9999),
    two,
    two,
    two,
    two,
    two,
)


@settings(max_examples=500, deadline=None)
@given(push_times | st.datetimes().map(lambda t: t.strftime("%Y-%m-%d %H:%M:%S")))
def test_push_times_read_as_strptime_read_them(text: str) -> None:
    expected = strptime_only(text)
    try:
        got = parse_time(text, "t")
    except InvalidRequest:
        assert expected is None
    else:
        assert got == expected
