"""The SQLite store: URLs, WAL, schema and migrations, durability, concurrency, failures.

Behaviour shared with every store (merging, de-duplication, queries) is in test_store.py.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from voicegw.errors import ConfigurationError, ValidationError, VoiceError
from voicegw.models import CallEvent, CallRecord, CallStatus, EventKind, SendReceipt
from voicegw.serialization import dumps_model
from voicegw.sqlite_store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SQLiteStore,
    StoreError,
    migrate,
    open_store,
    register_scheme,
    sqlite_path,
)
from voicegw.store import MemoryStore, RecordStore, event_key

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
PROVIDER = "primary"
PLUGIN = "huawei"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ringing(call_id: str, seconds: float = 2, **raw: object) -> CallEvent:
    return CallEvent(
        kind=EventKind.RINGING,
        call_id=call_id,
        provider=PROVIDER,
        at=at(seconds),
        raw={"eventType": "alerting", "sessionId": call_id, **raw},
    )


def final(call_id: str, status: str, *, end: float, provider: str = PROVIDER) -> CallEvent:
    record = CallRecord(
        call_id=call_id,
        provider=provider,
        plugin=PLUGIN,
        status=status,
        ended_at=at(end),
        duration=int(end),
    )
    return CallEvent(
        kind=EventKind.RECORD,
        call_id=call_id,
        provider=provider,
        at=at(end),
        record=record,
        raw={"fee": True, "sessionId": call_id},
    )


def receipt(call_id: str, *, accepted: float = 0, reference: str | None = None) -> SendReceipt:
    return SendReceipt(
        call_id=call_id,
        provider=PROVIDER,
        plugin=PLUGIN,
        accepted_at=at(accepted),
        reference=reference,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "voicegw.db"


@pytest_asyncio.fixture
async def store(db: Path) -> AsyncIterator[SQLiteStore]:
    async with SQLiteStore(db) as opened:
        yield opened


@pytest.fixture
def raw_db(db: Path) -> Iterator[sqlite3.Connection]:
    """A second, independent connection to the store's file (another process, say)."""
    connection = sqlite3.connect(db, isolation_level=None)
    yield connection
    connection.close()


def count(connection: sqlite3.Connection, table: str) -> int:
    rows: int = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
    return rows


# ---------------------------------------------------------------------------------------------
# URLs and the factory


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///voicegw.db", "voicegw.db"),
        ("sqlite:///data/calls.db", "data/calls.db"),
        ("sqlite:////var/lib/voicegw/calls.db", "/var/lib/voicegw/calls.db"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite://", ":memory:"),
        ("SQLite:///upper.db", "upper.db"),
        ("calls.db", "calls.db"),
        ("/srv/calls.db", "/srv/calls.db"),
        (":memory:", ":memory:"),
        (Path("nested/calls.db"), "nested/calls.db"),
    ],
)
def test_sqlite_path_accepts_urls_and_plain_paths(url: str | Path, path: str) -> None:
    assert sqlite_path(url) == path


def test_sqlite_path_expands_the_home_directory() -> None:
    assert sqlite_path("sqlite:///~/calls.db") == str(Path("~/calls.db").expanduser())


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("sqlite://dbhost/calls.db", "no host"),
        ("sqlite:calls.db", "no host"),
        ("sqlite:///", "names no file"),
        ("sqlite:///calls.db?mode=ro", "query parameters"),
        ("postgresql://voicegw@db/voicegw", "not a SQLite URL"),
        ("", "must not be empty"),
    ],
)
def test_bad_urls_are_configuration_errors_naming_the_url(url: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint) as caught:
        SQLiteStore(url)
    assert repr(url) in caught.value.message or not url


def test_a_url_that_is_not_text_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="must be text, got int"):
        SQLiteStore(123)  # type: ignore[arg-type]


def test_negative_busy_timeout_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="busy_timeout"):
        SQLiteStore(":memory:", busy_timeout=-1)


async def test_relative_url_opens_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with SQLiteStore("sqlite:///relative.db") as store:
        await store.save_receipt(receipt("c1"))
    assert (tmp_path / "relative.db").is_file()


async def test_absolute_url_opens_that_file(tmp_path: Path) -> None:
    target = tmp_path / "abs.db"
    async with SQLiteStore(f"sqlite:///{target}") as store:  # "sqlite:///" + "/tmp/…"
        await store.save_receipt(receipt("c1"))
    assert target.is_file()


async def test_unopenable_path_is_a_configuration_error_naming_the_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no/such/dir/calls.db"
    store = SQLiteStore(url)
    with pytest.raises(ConfigurationError) as caught:
        await store.open()
    assert url in str(caught.value)
    with pytest.raises(StoreError, match="not open"):
        await store.get_record(PROVIDER, "c1")


@pytest.fixture
def garbage_db(db: Path) -> Path:
    db.write_bytes(b"this is a text file, not SQLite" * 100)
    return db


async def test_a_file_that_is_not_a_database_is_a_configuration_error(garbage_db: Path) -> None:
    db = garbage_db
    with pytest.raises(ConfigurationError, match="not a usable SQLite database"):
        await SQLiteStore(db).open()


def test_open_store_builds_the_store_the_url_names(db: Path) -> None:
    sqlite = open_store(f"sqlite:///{db}")
    assert isinstance(sqlite, SQLiteStore)
    assert sqlite.path == str(db)
    assert isinstance(open_store("sqlite:///:memory:"), SQLiteStore)
    assert isinstance(open_store("memory:"), MemoryStore)
    assert isinstance(open_store("MEMORY:"), MemoryStore)


@pytest.mark.parametrize("url", ["postgresql://db/voicegw", "voicegw.db", "redis:", "memory:x"])
def test_open_store_refuses_other_urls_listing_the_schemes(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_store(url)
    assert url in caught.value.message
    if url != "memory:x":
        assert "memory:, sqlite:" in caught.value.message


def test_open_store_uses_registered_schemes(monkeypatch: pytest.MonkeyPatch) -> None:
    import voicegw.sqlite_store as module

    monkeypatch.setattr(module, "_SCHEMES", dict(module._SCHEMES))
    made: list[str] = []

    def postgres_store(url: str) -> RecordStore:
        made.append(url)
        return MemoryStore()  # stands in for a server-backed RecordStore

    register_scheme("postgresql", postgres_store)
    assert isinstance(open_store("postgresql://voicegw@db/voicegw"), MemoryStore)
    assert made == ["postgresql://voicegw@db/voicegw"]
    with pytest.raises(ConfigurationError) as caught:
        open_store("mysql://x")
    assert "memory:, postgresql:, sqlite:" in caught.value.message
    with pytest.raises(ConfigurationError, match="plain word"):
        register_scheme("bad scheme", postgres_store)


def test_store_error_is_a_retryable_voice_error_that_says_nothing_about_the_call() -> None:
    error = StoreError("disk full")
    assert isinstance(error, VoiceError)
    assert error.retryable is True
    assert error.call_placed is None


# ---------------------------------------------------------------------------------------------
# Lifecycle and durability


async def test_wal_mode_and_synchronous_normal(
    store: SQLiteStore, raw_db: sqlite3.Connection
) -> None:
    assert store.journal_mode == "wal"
    assert raw_db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # it sticks to the file
    # synchronous is per connection: ask the store's own (1 = NORMAL)
    assert await store._run(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]) == 1
    assert await store._run(lambda c: c.execute("PRAGMA busy_timeout").fetchone()[0]) == 5000


async def test_everything_survives_close_and_reopen(db: Path) -> None:
    events = [ringing("c1"), final("c1", "completed", end=30), ringing("c2")]
    async with SQLiteStore(f"sqlite:///{db}") as first:
        await first.save_receipt(receipt("c1", reference="camp"), to="+8613800000017")
        await first.save_events(events, plugin=PLUGIN)
        record = await first.get_record(PROVIDER, "c1")
        everything = await first.find_records()
    async with SQLiteStore(db) as second:
        assert await second.get_record(PROVIDER, "c1") == record
        assert await second.find_records() == everything
        assert await second.get_events(PROVIDER, "c1") == events[:2]
        # de-duplication remembers across restarts
        assert await second.save_events(events, plugin=PLUGIN) == [False, False, False]
    assert record is not None
    assert record.status is CallStatus.COMPLETED


async def test_the_same_store_object_can_reopen(db: Path) -> None:
    store = SQLiteStore(db)
    await store.open()
    await store.open()  # idempotent
    await store.save_receipt(receipt("c1"))
    await store.close()
    await store.close()  # idempotent
    assert "closed" in repr(store)
    with pytest.raises(StoreError, match="not open") as caught:
        await store.get_record(PROVIDER, "c1")
    assert caught.value.retryable is False
    await store.open()
    assert "open" in repr(store)
    assert await store.get_record(PROVIDER, "c1") is not None
    await store.close()


async def test_memory_database_lives_as_long_as_the_store_is_open() -> None:
    store = SQLiteStore("sqlite:///:memory:")
    await store.open()
    assert store.journal_mode == "memory"
    await store.save_receipt(receipt("c1"))
    assert await store.get_record(PROVIDER, "c1") is not None
    await store.close()
    await store.open()
    assert await store.get_record(PROVIDER, "c1") is None
    await store.close()


async def test_close_waits_for_queued_writes(db: Path) -> None:
    store = SQLiteStore(db)
    await store.open()
    writes = [
        asyncio.ensure_future(store.save_events([ringing(f"c{i}")], plugin=PLUGIN))
        for i in range(50)
    ]
    await asyncio.sleep(0)  # let every write reach the worker's queue
    await store.close()
    assert await asyncio.gather(*writes) == [[True]] * 50
    async with SQLiteStore(db) as reopened:
        assert len(await reopened.find_records()) == 50


async def test_work_runs_on_one_dedicated_thread(store: SQLiteStore) -> None:
    names = {await store._run(lambda c: threading.current_thread().name) for _ in range(20)}
    assert len(names) == 1
    (worker,) = names
    assert worker.startswith("voicegw-sqlite")
    assert worker != threading.current_thread().name


# ---------------------------------------------------------------------------------------------
# Schema, raw events, timestamps


async def test_schema_tables_and_indexes(store: SQLiteStore, raw_db: sqlite3.Connection) -> None:
    assert await store.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    columns = {
        table: [row[1] for row in raw_db.execute(f"PRAGMA table_info({table})")]
        for table in ("records", "events")
    }
    assert set(columns["records"]) == {
        "provider",
        "call_id",
        "plugin",
        "reference",
        "status",
        "final",
        "submitted_at",
        "updated_at",
        "record",
    }
    assert set(columns["events"]) == {
        "event_key",
        "provider",
        "call_id",
        "plugin",
        "kind",
        "at",
        "received_at",
        "event",
    }
    indexes = {
        row[0] for row in raw_db.execute("SELECT name FROM sqlite_master WHERE type='index'")
    }
    assert {"records_reference", "records_status_submitted", "events_call"} <= indexes
    plan = " ".join(
        str(row[3])
        for row in raw_db.execute(
            "EXPLAIN QUERY PLAN SELECT record FROM records WHERE status = ? AND submitted_at >= ?",
            ("completed", "2024"),
        )
    )
    assert "records_status_submitted" in plan


async def test_rows_carry_the_columns_queries_need(db: Path, raw_db: sqlite3.Connection) -> None:
    clock_times = iter([at(1000), at(2000), at(3000)])
    async with SQLiteStore(db, clock=lambda: next(clock_times)) as store:
        await store.save_receipt(receipt("c1", accepted=0.5, reference="camp"))
        await store.save_events([ringing("c1", 2)], plugin=PLUGIN)
        await store.save_events([final("c1", "busy", end=9)], plugin=PLUGIN)
    row = raw_db.execute(
        "SELECT provider, call_id, plugin, reference, status, final, submitted_at, updated_at "
        "FROM records"
    ).fetchone()
    assert row == (
        PROVIDER,
        "c1",
        PLUGIN,
        "camp",
        "busy",
        1,
        "2024-05-01T09:00:00.500000+00:00",
        "2024-05-01T09:50:00.000000+00:00",  # the last write's clock
    )
    events = raw_db.execute(
        "SELECT event_key, provider, call_id, plugin, kind, at, received_at FROM events "
        "ORDER BY rowid"
    ).fetchall()
    assert events == [
        (
            event_key(ringing("c1", 2)),
            PROVIDER,
            "c1",
            PLUGIN,
            "ringing",
            "2024-05-01T09:00:02.000000+00:00",
            "2024-05-01T09:33:20.000000+00:00",
        ),
        (
            event_key(final("c1", "busy", end=9)),
            PROVIDER,
            "c1",
            PLUGIN,
            "record",
            "2024-05-01T09:00:09.000000+00:00",
            "2024-05-01T09:50:00.000000+00:00",
        ),
    ]


async def test_raw_events_are_kept_with_their_payload(store: SQLiteStore) -> None:
    events = [
        ringing("c1", 2, note="第一"),
        final("c1", "completed", end=30),
        ringing("c1", 2, note="第一"),  # a re-push: stored once
        ringing("other", 2),
    ]
    assert await store.save_events(events, plugin=PLUGIN) == [True, True, False, True]
    kept = await store.get_events(PROVIDER, "c1")
    assert kept == events[:2]
    assert kept[0].raw == {"eventType": "alerting", "sessionId": "c1", "note": "第一"}
    assert await store.get_events(PROVIDER, "nope") == []


class Opaque:
    def __str__(self) -> str:
        return "opaque thing"


async def test_a_raw_value_json_cannot_hold_is_kept_as_text(store: SQLiteStore) -> None:
    odd = CallEvent(
        kind=EventKind.RINGING,
        call_id="c1",
        provider=PROVIDER,
        at=at(2),
        raw={"sessionId": "c1", "payload": Opaque()},
    )
    assert await store.save_events([odd], plugin=PLUGIN) == [True]
    (kept,) = await store.get_events(PROVIDER, "c1")
    assert kept.raw == {"sessionId": "c1", "payload": "opaque thing"}
    assert await store.get_record(PROVIDER, "c1") is not None


async def test_the_final_flag_follows_the_status(
    store: SQLiteStore, raw_db: sqlite3.Connection
) -> None:
    await store.save_events([ringing("live"), final("done", "no_answer", end=20)], plugin=PLUGIN)
    flags = dict(raw_db.execute("SELECT call_id, final FROM records").fetchall())
    assert flags == {"live": 0, "done": 1}


async def test_naive_query_bounds_are_refused(store: SQLiteStore) -> None:
    with pytest.raises(ValidationError, match="since must be a timezone-aware"):
        await store.find_records(since=datetime(2024, 5, 1))
    with pytest.raises(ValidationError, match="until"):
        await store.find_records(until=datetime(2024, 5, 1))


async def test_find_records_come_oldest_first(store: SQLiteStore) -> None:
    for call_id, accepted in (("b", 20), ("a", 10), ("c", 30)):
        await store.save_receipt(receipt(call_id, accepted=accepted))
    await store.save_events([ringing("pushed-only")], plugin=PLUGIN)
    found = await store.find_records()
    assert [record.call_id for record in found] == ["a", "b", "c", "pushed-only"]


# ---------------------------------------------------------------------------------------------
# Migrations


def v1_database(db: Path) -> None:
    """A database as the first released version left it, with data in it."""
    connection = sqlite3.connect(db, isolation_level=None)
    assert migrate(connection, MIGRATIONS[:1]) == 1
    done = CallRecord(
        call_id="old-1",
        provider=PROVIDER,
        plugin=PLUGIN,
        status=CallStatus.COMPLETED,
        submitted_at=at(0),
        ended_at=at(60),
        reference="legacy",
    )
    live = CallRecord(
        call_id="old-2", provider=PROVIDER, plugin=PLUGIN, status="ringing", submitted_at=at(5)
    )
    for record in (done, live):
        connection.execute(
            "INSERT INTO records (provider, call_id, plugin, reference, status, submitted_at, "
            "updated_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.provider,
                record.call_id,
                record.plugin,
                record.reference,
                record.status.value,
                record.submitted_at.isoformat(timespec="microseconds")
                if record.submitted_at
                else None,
                "2024-05-01T10:00:00.000000+00:00",
                dumps_model(record),
            ),
        )
    old_event = ringing("old-2", 6)
    connection.execute(
        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event_key(old_event),
            PROVIDER,
            "old-2",
            PLUGIN,
            "ringing",
            "2024-05-01T09:00:06.000000+00:00",
            "2024-05-01T10:00:00.000000+00:00",
            dumps_model(old_event),
        ),
    )
    connection.close()


async def test_a_v1_database_is_migrated_and_keeps_its_data(
    db: Path, raw_db: sqlite3.Connection
) -> None:
    v1_database(db)
    assert raw_db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert "final" not in [row[1] for row in raw_db.execute("PRAGMA table_info(records)")]

    async with SQLiteStore(db) as store:
        assert await store.schema_version() == SCHEMA_VERSION
        old = await store.get_record(PROVIDER, "old-1")
        assert old is not None
        assert (old.status, old.ended_at, old.reference) == (CallStatus.COMPLETED, at(60), "legacy")
        assert [r.call_id for r in await store.find_records(status=CallStatus.COMPLETED)] == [
            "old-1"
        ]
        assert [r.call_id for r in await store.find_records(reference="legacy")] == ["old-1"]
        # old events still de-duplicate; new ones merge onto the migrated records
        assert await store.save_events(
            [ringing("old-2", 6), final("old-2", "busy", end=12)], plugin=PLUGIN
        ) == [False, True]
        migrated = await store.get_record(PROVIDER, "old-2")
        assert migrated is not None
        assert migrated.status is CallStatus.BUSY
        assert migrated.submitted_at == at(5)
        assert [e.kind for e in await store.get_events(PROVIDER, "old-2")] == [
            EventKind.RINGING,
            EventKind.RECORD,
        ]

    flags = dict(raw_db.execute("SELECT call_id, final FROM records").fetchall())
    assert flags == {"old-1": 1, "old-2": 1}  # old-1 back-filled by the migration
    indexes = {
        row[0] for row in raw_db.execute("SELECT name FROM sqlite_master WHERE type='index'")
    }
    assert "records_status_submitted" in indexes


def test_migrations_run_in_one_transaction(db: Path) -> None:
    v1_database(db)

    def broken(connection: sqlite3.Connection) -> None:
        connection.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk exploded")

    connection = sqlite3.connect(db, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="disk exploded"):
            migrate(connection, (*MIGRATIONS, broken))
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 1
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
        assert "half_done" not in tables
        assert "final" not in [row[1] for row in connection.execute("PRAGMA table_info(records)")]
        assert not connection.in_transaction
    finally:
        connection.close()


def test_migrate_is_a_no_op_when_current(db: Path) -> None:
    connection = sqlite3.connect(db, isolation_level=None)
    try:
        assert migrate(connection) == SCHEMA_VERSION
        assert migrate(connection) == SCHEMA_VERSION
    finally:
        connection.close()


async def test_a_newer_schema_is_refused(db: Path, raw_db: sqlite3.Connection) -> None:
    raw_db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigurationError, match="newer") as caught:
        await SQLiteStore(db).open()
    assert str(db) in caught.value.message
    assert raw_db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


# ---------------------------------------------------------------------------------------------
# Concurrency and atomicity


async def test_two_hundred_concurrent_writers_lose_nothing(
    store: SQLiteStore, raw_db: sqlite3.Connection
) -> None:
    # every writer pushes its own call's events, and a final record of one shared call
    ends = list(range(1, 201))
    statuses = ["busy", "no_answer", "completed", "failed", "rejected"]

    async def writer(i: int) -> list[bool]:
        return await store.save_events(
            [
                ringing(f"call-{i}", 1),
                final(f"call-{i}", "completed", end=10 + i),
                final("shared", statuses[i % len(statuses)], end=ends[i]),
            ],
            plugin=PLUGIN,
        )

    results = await asyncio.gather(*(writer(i) for i in range(200)))
    assert all(result == [True, True, True] for result in results)
    assert count(raw_db, "events") == 600
    assert count(raw_db, "records") == 201
    shared = await store.get_record(PROVIDER, "shared")
    assert shared is not None
    assert shared.ended_at == at(200)  # the call that ended last, whoever wrote last
    assert shared.status == statuses[199 % len(statuses)]
    for i in (0, 99, 199):
        record = await store.get_record(PROVIDER, f"call-{i}")
        assert record is not None
        assert (record.status, record.ringing_at) == (CallStatus.COMPLETED, at(1))


async def test_two_stores_on_one_file_merge_atomically(db: Path) -> None:
    # two processes (the webhook receiver and a script) modelled as two stores, two connections
    async with SQLiteStore(db) as one, SQLiteStore(db) as two:
        writes = [
            (one if i % 2 else two).save_events(
                [final("shared", "completed" if i % 3 else "busy", end=i), ringing(f"c{i}")],
                plugin=PLUGIN,
            )
            for i in range(1, 101)
        ]
        await asyncio.gather(*writes)
        shared = await one.get_record(PROVIDER, "shared")
        assert shared is not None
        assert shared.ended_at == at(100)
        assert shared.status is CallStatus.COMPLETED  # 100 % 3 != 0
        assert len(await two.find_records()) == 101


async def test_a_batch_is_one_transaction(store: SQLiteStore) -> None:
    statements: list[str] = []
    await store._run(lambda c: c.set_trace_callback(statements.append))
    batch = [final(f"cdr-{i}", "completed", end=i) for i in range(50)]
    assert await store.save_events(batch, plugin=PLUGIN) == [True] * 50
    await store._run(lambda c: c.set_trace_callback(None))
    begins = [s for s in statements if s.startswith("BEGIN")]
    commits = [s for s in statements if s == "COMMIT"]
    assert (begins, commits) == (["BEGIN IMMEDIATE"], ["COMMIT"])
    assert len(await store.find_records(status=CallStatus.COMPLETED)) == 50


async def test_a_failed_write_rolls_back_the_whole_batch(
    store: SQLiteStore, raw_db: sqlite3.Connection
) -> None:
    raw_db.execute(
        "CREATE TRIGGER poison BEFORE INSERT ON records WHEN NEW.call_id = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
    )
    with pytest.raises(StoreError, match="poisoned row") as caught:
        await store.save_events([ringing("good"), ringing("poison")], plugin=PLUGIN)
    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert count(raw_db, "events") == 0
    assert count(raw_db, "records") == 0
    # the store is still usable, and the good event was not marked as seen
    assert await store.save_events([ringing("good")], plugin=PLUGIN) == [True]


async def test_a_locked_database_is_a_retryable_store_error(
    db: Path, raw_db: sqlite3.Connection
) -> None:
    async with SQLiteStore(db, busy_timeout=0.05) as store:
        raw_db.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with pytest.raises(StoreError, match="locked") as caught:
                await store.save_receipt(receipt("c1"))
            assert caught.value.retryable is True
            # readers are not blocked by a writer in WAL mode
            assert await store.get_record(PROVIDER, "c1") is None
        finally:
            raw_db.execute("ROLLBACK")
        await store.save_receipt(receipt("c1"))  # the retry succeeds
        assert await store.get_record(PROVIDER, "c1") is not None


async def test_an_unreadable_row_is_a_store_error(
    store: SQLiteStore, raw_db: sqlite3.Connection
) -> None:
    await store.save_receipt(receipt("c1"))
    raw_db.execute("UPDATE records SET record = '{not json'")
    with pytest.raises(StoreError, match="unreadable") as caught:
        await store.get_record(PROVIDER, "c1")
    assert caught.value.retryable is False
