"""The push inbox: both stores keep verified pushes as received until they are read."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from voicegw.models import CallEvent, CallRecord, CallStatus, EventKind
from voicegw.sqlite_store import SQLiteStore
from voicegw.store import MemoryStore, PushInbox, push_digest

PROVIDER = "hw"
PLUGIN = "huawei"
AT = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def cdr_body(count: int, tag: str = "c") -> bytes:
    """A JSON push the size of a real CDR batch: repetitive, so it compresses."""
    return json.dumps(
        {
            "eventType": "fee",
            "feeLst": [{"sessionId": f"{tag}{i}", "x": "y" * 40} for i in range(count)],
        }
    ).encode()


def record_event(call_id: str) -> CallEvent:
    record = CallRecord(
        call_id=call_id,
        provider=PROVIDER,
        plugin=PLUGIN,
        status=CallStatus.COMPLETED,
        ended_at=AT,
        raw={"sessionId": call_id},
    )
    return CallEvent(
        kind=EventKind.RECORD, call_id=call_id, provider=PROVIDER, at=AT, record=record, raw={}
    )


@pytest_asyncio.fixture(params=["memory", "sqlite"])
async def inbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield MemoryStore()
        return
    async with SQLiteStore(tmp_path / "inbox.db") as store:
        yield store


def test_both_stores_are_inboxes() -> None:
    assert isinstance(MemoryStore(), PushInbox)
    assert isinstance(SQLiteStore("sqlite:///:memory:"), PushInbox)


async def test_pushes_come_back_as_received_oldest_first(inbox: Any) -> None:
    bodies = [b"[]", cdr_body(50), "naïve ünïcode".encode(), b"\x00\xff binary"]
    for index, body in enumerate(bodies):
        assert await inbox.enqueue_push(PROVIDER, f"kind{index}", body)
    queued = await inbox.queued_pushes()
    assert [push.body for push in queued] == bodies
    assert [push.kind for push in queued] == ["kind0", "kind1", "kind2", "kind3"]
    assert all(push.provider == PROVIDER and push.failure is None for push in queued)
    assert [push.id for push in queued] == sorted(push.id for push in queued)
    assert all(push.received_at.tzinfo is not None for push in queued)
    assert [push.body for push in await inbox.queued_pushes(2)] == bodies[:2]
    assert await inbox.count_pushes() == {"queued": 4, "failed": 0}


async def test_the_same_push_twice_is_held_once(inbox: Any) -> None:
    body = cdr_body(50)
    assert await inbox.enqueue_push(PROVIDER, "record", body)
    assert not await inbox.enqueue_push(PROVIDER, "record", body)
    # the same body to another route, or to another provider, is another push
    assert await inbox.enqueue_push(PROVIDER, "status", body)
    assert await inbox.enqueue_push("other", "record", body)
    assert await inbox.count_pushes() == {"queued": 3, "failed": 0}


async def test_completing_a_push_stores_its_events_and_removes_it(inbox: Any) -> None:
    await inbox.enqueue_push(PROVIDER, "record", b"one")
    await inbox.enqueue_push(PROVIDER, "record", b"two")
    first, second = await inbox.queued_pushes()
    assert await inbox.complete_push(first.id, [record_event("c1")], plugin=PLUGIN) == [True]
    # read again (say, after a crash before it was removed): nothing is new, nothing doubles
    assert await inbox.complete_push(second.id, [record_event("c1")], plugin=PLUGIN) == [False]
    record = await inbox.get_record(PROVIDER, "c1")
    assert record is not None and record.status is CallStatus.COMPLETED
    assert await inbox.queued_pushes() == []
    assert await inbox.count_pushes() == {"queued": 0, "failed": 0}
    # once read and removed, a re-push is held again (and its events de-duplicate then)
    assert await inbox.enqueue_push(PROVIDER, "record", b"one")


async def test_a_push_set_aside_is_kept_with_its_reason_until_retried(inbox: Any) -> None:
    await inbox.enqueue_push(PROVIDER, "record", b"{not json")
    await inbox.enqueue_push(PROVIDER, "record", b"[]")
    bad, good = await inbox.queued_pushes()
    await inbox.fail_push(bad.id, "InvalidRequest: not JSON")
    assert [push.id for push in await inbox.queued_pushes()] == [good.id]
    [aside] = await inbox.queued_pushes(failed=True)
    assert (aside.id, aside.body, aside.failure) == (
        bad.id,
        b"{not json",
        "InvalidRequest: not JSON",
    )
    assert await inbox.count_pushes() == {"queued": 1, "failed": 1}
    # a re-push of a body set aside is not held twice
    assert not await inbox.enqueue_push(PROVIDER, "record", b"{not json")
    assert await inbox.retry_failed_pushes() == 1
    assert [push.id for push in await inbox.queued_pushes()] == [bad.id, good.id]
    assert await inbox.retry_failed_pushes() == 0


async def test_sqlite_keeps_large_bodies_compressed(tmp_path: Path) -> None:
    body = cdr_body(50)
    async with SQLiteStore(tmp_path / "inbox.db") as store:
        await store.enqueue_push(PROVIDER, "record", body)
        await store.enqueue_push(PROVIDER, "record", b"[]")
    with sqlite3.connect(tmp_path / "inbox.db") as raw:
        rows = raw.execute("SELECT encoding, length(body) FROM inbox ORDER BY id").fetchall()
    assert rows[0][0] == "zlib" and rows[0][1] < len(body) // 4
    assert rows[1] == ("identity", 2)


async def test_queued_pushes_survive_a_reopen(tmp_path: Path) -> None:
    body = cdr_body(50)
    async with SQLiteStore(tmp_path / "inbox.db") as store:
        await store.enqueue_push(PROVIDER, "record", body)
    async with SQLiteStore(tmp_path / "inbox.db") as store:
        [push] = await store.queued_pushes()
        assert push.body == body
        assert not await store.enqueue_push(PROVIDER, "record", body)


def test_the_digest_names_the_route_and_the_body() -> None:
    digest = push_digest("a", "record", b"x")
    assert digest == push_digest("a", "record", b"x")
    assert len({digest, push_digest("b", "record", b"x"), push_digest("a", "status", b"x")}) == 3
    assert digest != push_digest("a", "record", b"y")
    # the separator keeps the fields apart: ("ab", "c") is not ("a", "bc")
    assert push_digest("ab", "c", b"") != push_digest("a", "bc", b"")


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=5000) | st.text(max_size=3000).map(str.encode))
def test_any_body_round_trips_through_sqlite(body: bytes) -> None:
    async def round_trip() -> bytes:
        async with SQLiteStore("sqlite:///:memory:") as store:
            await store.enqueue_push(PROVIDER, "record", body)
            [push] = await store.queued_pushes()
            return push.body

    assert asyncio.run(round_trip()) == body


async def test_sqlite_writes_concurrent_pushes_together_each_with_its_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SQLiteStore(tmp_path / "inbox.db") as store:
        batches: list[int] = []
        write = store._enqueue_pushes

        def counting(connection: sqlite3.Connection, pushes: list[Any]) -> list[bool]:
            batches.append(len(pushes))
            return write(connection, pushes)

        monkeypatch.setattr(store, "_enqueue_pushes", counting)
        bodies = [cdr_body(5, f"t{i}") for i in range(20)]
        held = await asyncio.gather(
            *(store.enqueue_push(PROVIDER, "record", body) for body in [*bodies, bodies[3]])
        )
        assert sorted(held) == [False] + [True] * 20  # the repeat is held once
        assert held[3] != held[20]
        assert sum(batches) == 21
        assert len(batches) < 21  # written in fewer transactions than pushes
        assert [push.body for push in await store.queued_pushes()] == bodies


async def test_sqlite_a_failed_group_write_fails_every_push_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voicegw.errors import StoreError

    async with SQLiteStore(tmp_path / "inbox.db") as store:

        def broken(connection: sqlite3.Connection, pushes: list[Any]) -> list[bool]:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(store, "_enqueue_pushes", broken)
        outcomes = await asyncio.gather(
            *(store.enqueue_push(PROVIDER, "record", cdr_body(1, str(i))) for i in range(5)),
            return_exceptions=True,
        )
        assert all(isinstance(outcome, StoreError) for outcome in outcomes)
        monkeypatch.undo()
        assert await store.enqueue_push(PROVIDER, "record", b"[]")  # the next write works
