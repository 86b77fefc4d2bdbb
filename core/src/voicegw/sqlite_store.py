"""The embedded default :class:`~voicegw.store.RecordStore`: SQLite, standard library only.

``SQLiteStore("sqlite:///voicegw.db")`` keeps every call record and every raw event in one
file. All SQLite work runs in one dedicated worker thread that owns the only connection, so
the event loop never blocks on disk and concurrent writers in one process are serialized.
The database runs in WAL mode (readers never wait for the writer) with ``synchronous=NORMAL``
and a busy timeout, so several processes (the webhook receiver and a campaign script, say)
can share one file.

Every write is a read-modify-write inside one ``BEGIN IMMEDIATE`` transaction that merges with
:func:`voicegw.store.merge_record`: records only move forward, whatever order pushes arrive
in. The schema is versioned (``PRAGMA user_version``) and :data:`MIGRATIONS` brings an older
file up to date when the store opens.

>>> store = open_store("sqlite:///:memory:")
>>> isinstance(store, SQLiteStore)
True
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import sqlite3
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeAlias, TypeVar

from voicegw.errors import ConfigurationError, StoreError, ValidationError
from voicegw.models import CallEvent, CallRecord, CallStatus, SendReceipt
from voicegw.serialization import converter
from voicegw.store import (
    MemoryStore,
    QueuedPush,
    RecordStore,
    event_key_and_data,
    is_authoritative,
    merge_record,
    push_digest,
    record_from_event,
    record_from_receipt,
)

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "SQLiteStore",
    "StoreError",
    "migrate",
    "open_store",
    "register_scheme",
    "sqlite_path",
]

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Schema and migrations

#: One migration: SQL statements run in order, or a function given the connection (for data
#: migrations). Either runs inside the single transaction :func:`migrate` opens.
Migration: TypeAlias = Sequence[str] | Callable[[sqlite3.Connection], None]

_FINAL_STATUSES = tuple(status.value for status in CallStatus if status.is_final)


def _final_flag_and_indexes(connection: sqlite3.Connection) -> None:
    """Version 2: the ``final`` flag (back-filled from the stored status) and query indexes."""
    connection.execute(
        "ALTER TABLE records ADD COLUMN final INTEGER NOT NULL DEFAULT 0 CHECK (final IN (0, 1))"
    )
    marks = ", ".join("?" for _ in _FINAL_STATUSES)
    connection.execute(
        f"UPDATE records SET final = 1 WHERE status IN ({marks})",  # noqa: S608 - only "?"s
        _FINAL_STATUSES,
    )
    for statement in (
        "CREATE INDEX records_reference ON records (reference)",
        "CREATE INDEX records_status_submitted ON records (status, submitted_at)",
        "CREATE INDEX records_provider_submitted ON records (provider, submitted_at)",
        "CREATE INDEX records_submitted ON records (submitted_at)",
        "CREATE INDEX events_call ON events (provider, call_id)",
    ):
        connection.execute(statement)


#: The schema's history, oldest first: the database's ``PRAGMA user_version`` is the number of
#: migrations applied. Append new steps; never edit a released one.
MIGRATIONS: tuple[Migration, ...] = (
    # 1: merged records (the record itself as JSON) and the raw events they came from.
    (
        """
        CREATE TABLE records (
            provider     TEXT NOT NULL,
            call_id      TEXT NOT NULL,
            plugin       TEXT NOT NULL,
            reference    TEXT,
            status       TEXT NOT NULL,
            submitted_at TEXT,
            updated_at   TEXT NOT NULL,
            record       TEXT NOT NULL,
            PRIMARY KEY (provider, call_id)
        )
        """,
        """
        CREATE TABLE events (
            event_key   TEXT PRIMARY KEY,
            provider    TEXT NOT NULL,
            call_id     TEXT NOT NULL,
            plugin      TEXT NOT NULL,
            kind        TEXT NOT NULL,
            at          TEXT,
            received_at TEXT NOT NULL,
            event       TEXT NOT NULL
        )
        """,
    ),
    # 2: the final flag, and indexes for the queries find_records and get_events make.
    _final_flag_and_indexes,
    # 3: the push inbox — verified pushes stored as received, read into events afterwards.
    (
        """
        CREATE TABLE inbox (
            id          INTEGER PRIMARY KEY,
            digest      TEXT NOT NULL UNIQUE,
            provider    TEXT NOT NULL,
            kind        TEXT NOT NULL,
            received_at TEXT NOT NULL,
            encoding    TEXT NOT NULL CHECK (encoding IN ('identity', 'zlib')),
            body        BLOB NOT NULL,
            failure     TEXT
        )
        """,
    ),
)
#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(connection: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the migrations ``connection``'s database lacks, all in one transaction.

    ``connection`` must be in autocommit mode (``isolation_level=None``). Returns the schema
    version afterwards. A database newer than ``migrations`` is refused with
    :class:`~voicegw.errors.ConfigurationError`: this code cannot know what it would break.
    """
    target = len(migrations)
    if _user_version(connection) == target:
        return target
    connection.execute("BEGIN IMMEDIATE")
    try:
        current = _user_version(connection)  # again, under the write lock: others may migrate
        if current > target:
            raise ConfigurationError(
                f"the database has schema version {current}, newer than the {target} this "
                "version of voicegw knows: upgrade voicegw"
            )
        for step in migrations[current:]:
            if callable(step):
                step(connection)
            else:
                for statement in step:
                    connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {target:d}")
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return target


def _user_version(connection: sqlite3.Connection) -> int:
    version: int = connection.execute("PRAGMA user_version").fetchone()[0]
    return version


# ---------------------------------------------------------------------------------------------
# URLs


def sqlite_path(path_or_url: str | os.PathLike[str]) -> str:
    """The file (or ``":memory:"``) that a SQLite URL or a plain path names.

    >>> sqlite_path("sqlite:///voicegw.db"), sqlite_path("sqlite:////var/lib/voicegw.db")
    ('voicegw.db', '/var/lib/voicegw.db')
    >>> sqlite_path("sqlite:///:memory:"), sqlite_path("calls.db")
    (':memory:', 'calls.db')

    Relative paths are relative to the working directory when the store opens.
    """
    text = os.fspath(path_or_url) if isinstance(path_or_url, str | os.PathLike) else None
    if not isinstance(text, str):
        raise ConfigurationError(f"store url must be text, got {type(path_or_url).__name__}")
    scheme, colon, rest = text.partition(":")
    if colon and scheme.lower() == "sqlite":
        if rest in ("", "//"):
            return ":memory:"  # SQLAlchemy's spelling of an in-memory database
        if not rest.startswith("///"):
            raise ConfigurationError(
                f"store url {text!r}: a SQLite URL has no host; write sqlite:///relative.db, "
                "sqlite:////absolute/path.db or sqlite:///:memory:"
            )
        path = rest[3:]
        if not path:
            raise ConfigurationError(f"store url {text!r} names no file")
        if "?" in path:
            raise ConfigurationError(
                f"store url {text!r}: query parameters are not supported by the SQLite store"
            )
        return path if path == ":memory:" else os.path.expanduser(path)
    if "://" in text:
        raise ConfigurationError(
            f"store url {text!r} is not a SQLite URL or path (expected sqlite:///file.db)"
        )
    if not text:
        raise ConfigurationError("store path must not be empty")
    return text if text == ":memory:" else os.path.expanduser(text)


# ---------------------------------------------------------------------------------------------
# The store


def _timestamp(value: datetime | None) -> str | None:
    """Fixed-width UTC ISO-8601 text: sorts in time order and stays readable in ``sqlite3``."""
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def _query_bound(value: datetime | None, name: str) -> str | None:
    if value is not None and (
        not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None
    ):
        raise ValidationError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return _timestamp(value)


def _dumps(model: Any) -> str:
    return _dumps_data(converter.unstructure(model))


def _dumps_data(data: Any) -> str:
    # default=str: a plugin that left a non-JSON value in a raw payload must not make the
    # push unstorable (and so re-pushed forever); the value is kept as its text
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


def _loads(text: str, cls: type[T], where: str) -> T:
    try:
        return converter.structure(json.loads(text), cls)
    except Exception as exc:  # any decoding failure is one thing to the caller: a bad row
        raise StoreError(f"stored {where} is unreadable: {exc}", retryable=False) from exc


#: Push bodies at least this long are stored zlib-compressed (provider JSON shrinks 5–20×).
_COMPRESS_FROM = 1024


def _encode_body(body: bytes) -> tuple[str, bytes]:
    if len(body) < _COMPRESS_FROM:
        return "identity", body
    return "zlib", zlib.compress(body, 1)


def _decode_body(encoding: str, stored: bytes) -> bytes:
    if encoding == "zlib":
        return zlib.decompress(stored)
    return bytes(stored)


def _keyed(events: Sequence[CallEvent]) -> list[tuple[str, dict[str, Any]]]:
    """Each event's key and stored form, from one unstructuring per event."""
    try:
        return [event_key_and_data(event) for event in events]
    except (TypeError, ValueError) as exc:  # a raw payload JSON cannot hold
        raise StoreError(f"an event cannot be stored: {exc}", retryable=False) from exc


def _is_busy(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc)


_UPSERT_RECORD = """
    INSERT INTO records
        (provider, call_id, plugin, reference, status, final, submitted_at, updated_at, record)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (provider, call_id) DO UPDATE SET
        plugin = excluded.plugin,
        reference = excluded.reference,
        status = excluded.status,
        final = excluded.final,
        submitted_at = excluded.submitted_at,
        updated_at = excluded.updated_at,
        record = excluded.record
"""
_INSERT_EVENT = """
    INSERT INTO events (event_key, provider, call_id, plugin, kind, at, received_at, event)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
_CHUNK = 500  # bound parameters per IN (...) query, well under SQLite's limit


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SQLiteStore:
    """A :class:`~voicegw.store.RecordStore` in one SQLite file.

    ``path_or_url`` is ``sqlite:///relative.db``, ``sqlite:////absolute/path.db``,
    ``sqlite:///:memory:`` (gone when the store closes) or a plain path. ``busy_timeout`` is
    how many seconds a write waits for another process holding the lock before it fails with
    a retryable :class:`StoreError`. ``clock`` stamps ``updated_at`` and ``received_at``.

    ::

        async with SQLiteStore("sqlite:///voicegw.db") as store:
            await store.save_events(events, plugin="huawei")
            record = await store.get_record("primary", call_id)

    A call cancelled while its write runs does not stop the write: it commits or rolls back
    as a whole in the worker thread.
    """

    def __init__(
        self,
        path_or_url: str | os.PathLike[str] = "sqlite:///voicegw.db",
        *,
        busy_timeout: float = 5.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.path = sqlite_path(path_or_url)
        self.url = os.fspath(path_or_url)
        if isinstance(busy_timeout, bool) or not busy_timeout >= 0:
            raise ConfigurationError(f"busy_timeout must be seconds ≥ 0, got {busy_timeout!r}")
        self.busy_timeout = float(busy_timeout)
        self.clock = clock
        #: ``wal`` for a file once open (``memory`` for ``:memory:``).
        self.journal_mode: str | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None  # touched only in the worker thread
        self._lifecycle = asyncio.Lock()
        # group commit of inbox writes: pushes waiting for the batch being written
        self._enqueued: list[tuple[str, str, bytes, asyncio.Future[bool]]] = []
        self._flushing: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        state = "open" if self._executor is not None else "closed"
        return f"SQLiteStore({self.url!r}, {state})"

    async def __aenter__(self) -> SQLiteStore:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file, switch on WAL and bring the schema up to date. Idempotent."""
        async with self._lifecycle:
            if self._executor is not None:
                return
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voicegw-sqlite")
            try:
                await asyncio.get_running_loop().run_in_executor(executor, self._connect)
            except BaseException:  # failed, or cancelled while connecting: close what opened
                executor.submit(self._disconnect)
                executor.shutdown(wait=False)
                raise
            self._executor = executor

    async def close(self) -> None:
        """Finish queued work, close the connection and stop the worker. Idempotent."""
        async with self._lifecycle:
            executor, self._executor = self._executor, None
            if executor is None:
                return
            try:
                await asyncio.get_running_loop().run_in_executor(executor, self._disconnect)
            finally:
                await asyncio.to_thread(executor.shutdown, True)

    def _connect(self) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConfigurationError(
                f"store url {self.url!r}: cannot open {self.path!r}: {exc}"
            ) from exc
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000):d}")
            self.journal_mode = str(connection.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            connection.execute("PRAGMA synchronous = NORMAL")
            migrate(connection)
        except BaseException as exc:
            connection.close()
            if isinstance(exc, ConfigurationError):
                raise ConfigurationError(f"store url {self.url!r}: {exc.message}") from exc
            if not isinstance(exc, sqlite3.Error):
                raise
            if _is_busy(exc):
                raise StoreError(
                    f"store url {self.url!r}: the database stayed locked while opening: {exc}"
                ) from exc
            raise ConfigurationError(
                f"store url {self.url!r}: {self.path!r} is not a usable SQLite database: {exc}"
            ) from exc
        self._connection = connection

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        executor = self._executor
        if executor is None:
            raise StoreError(
                f"the store {self.url!r} is not open: call open() first", retryable=False
            )
        call = functools.partial(self._guarded, work, *args)
        return await asyncio.get_running_loop().run_in_executor(executor, call)

    def _guarded(self, work: Callable[..., T], *args: Any) -> T:
        connection = self._connection
        if connection is None:
            raise StoreError(f"the store {self.url!r} is closed", retryable=False)
        try:
            return work(connection, *args)
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.url!r}: {exc}") from exc

    @staticmethod
    @contextlib.contextmanager
    def _transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock before the first read, so a read-modify-write cannot
        # interleave with another process's.
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            raise

    # -- writes --------------------------------------------------------------------------

    async def save_receipt(self, receipt: SendReceipt, *, to: str | None = None) -> None:
        """Remember an accepted call as a queued record (merged with anything already known)."""
        await self._run(self._save_records, [record_from_receipt(receipt, to)])

    def _save_records(self, connection: sqlite3.Connection, records: list[CallRecord]) -> None:
        with self._transaction(connection):
            keyed = [((r.provider, r.call_id), r, False) for r in records]
            self._merge(connection, keyed, _timestamp(self.clock()))

    async def save_events(self, events: Sequence[CallEvent], *, plugin: str) -> list[bool]:
        """Store events and merge them into their records, the whole batch in one transaction.

        Returns one bool per event: False for an event already stored (same
        :func:`~voicegw.store.event_key`, in an earlier batch or earlier in this one).
        """
        if not events:
            return []
        return await self._run(self._save_events, list(events), plugin)

    def _save_events(
        self, connection: sqlite3.Connection, events: list[CallEvent], plugin: str
    ) -> list[bool]:
        keyed = _keyed(events)
        with self._transaction(connection):
            return self._write_events(connection, events, keyed, plugin)

    def _write_events(
        self,
        connection: sqlite3.Connection,
        events: list[CallEvent],
        keyed: list[tuple[str, dict[str, Any]]],
        plugin: str,
    ) -> list[bool]:
        """Insert the new events and merge their records (inside the caller's transaction)."""
        received_at = _timestamp(self.clock())
        seen = self._stored_keys(connection, sorted({key for key, _ in keyed}))
        fresh: list[bool] = []
        rows: list[tuple[Any, ...]] = []
        records: list[tuple[tuple[str, str], CallRecord, bool]] = []
        # records whose unstructured form the event already holds: id → (record, data)
        known: dict[int, tuple[CallRecord, Any]] = {}
        for event, (key, data) in zip(events, keyed, strict=True):
            if key in seen:
                fresh.append(False)
                continue
            seen.add(key)
            fresh.append(True)
            rows.append(
                (
                    key,
                    event.provider,
                    event.call_id,
                    plugin,
                    event.kind.value,
                    _timestamp(event.at),
                    received_at,
                    _dumps_data(data),
                )
            )
            # keyed by the event, like MemoryStore: the event names the call it is about
            implied = record_from_event(event, plugin)
            if implied is not None:  # None: the event is not about a call
                record_key = (event.provider, event.call_id)
                records.append((record_key, implied, is_authoritative(event)))
                if implied is event.record:
                    known[id(implied)] = (implied, data["record"])
        connection.executemany(_INSERT_EVENT, rows)
        self._merge(connection, records, received_at, known)
        return fresh

    # -- the push inbox (PushInbox) -------------------------------------------------------

    async def enqueue_push(self, provider: str, kind: str, body: bytes) -> bool:
        """Store a verified push as received; False if the same push is already held.

        Pushes that arrive while an earlier batch is being written are written together, in
        one transaction (group commit): a burst costs one commit per batch, not per push.
        """
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._enqueued.append((provider, kind, bytes(body), waiter))
        if self._flushing is None:
            self._flushing = asyncio.ensure_future(self._flush_enqueued())
        return await waiter

    async def _flush_enqueued(self) -> None:
        try:
            while self._enqueued:
                batch, self._enqueued = self._enqueued, []
                try:
                    held = await self._run(
                        self._enqueue_pushes, [(p, k, b) for p, k, b, _ in batch]
                    )
                except BaseException as exc:  # every push of the batch failed alike
                    for *_, waiter in batch:
                        if not waiter.done():
                            waiter.set_exception(
                                exc if isinstance(exc, Exception) else StoreError(repr(exc))
                            )
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (*_, waiter), new in zip(batch, held, strict=True):
                    if not waiter.done():
                        waiter.set_result(new)
        finally:
            self._flushing = None

    def _enqueue_pushes(
        self, connection: sqlite3.Connection, pushes: list[tuple[str, str, bytes]]
    ) -> list[bool]:
        # Hashed and compressed here, in the worker thread: hashlib and zlib let go of the
        # GIL on large inputs, so the event loop goes on answering pushes meanwhile.
        rows = []
        received_at = _timestamp(self.clock())
        for provider, kind, body in pushes:
            encoding, stored = _encode_body(body)
            # the digest of the stored form: compression is lossless, so equal bodies ⇔
            # equal stored forms (within one zlib build), and hashing 1 KiB beats 30 KiB
            digest = push_digest(provider, kind, encoding.encode() + b"\0" + stored)
            rows.append((digest, provider, kind, received_at, encoding, stored))
        held: list[bool] = []
        with self._transaction(connection):
            for row in rows:
                cursor = connection.execute(
                    "INSERT OR IGNORE INTO inbox "
                    "(digest, provider, kind, received_at, encoding, body) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    row,
                )
                held.append(cursor.rowcount == 1)
        return held

    async def queued_pushes(self, limit: int = 100, *, failed: bool = False) -> list[QueuedPush]:
        """The oldest pushes waiting to be read, or (``failed``) those set aside."""
        return await self._run(self._queued_pushes, limit, failed)

    @staticmethod
    def _queued_pushes(
        connection: sqlite3.Connection, limit: int, failed: bool
    ) -> list[QueuedPush]:
        where = "failure IS NOT NULL" if failed else "failure IS NULL"
        rows = connection.execute(
            "SELECT id, provider, kind, encoding, body, received_at, failure "  # noqa: S608
            f"FROM inbox WHERE {where} ORDER BY id LIMIT ?",
            (limit,),
        )
        return [
            QueuedPush(
                id=push_id,
                provider=provider,
                kind=kind,
                body=_decode_body(encoding, body),
                received_at=datetime.fromisoformat(received_at),
                failure=failure,
            )
            for push_id, provider, kind, encoding, body, received_at, failure in rows
        ]

    async def complete_push(
        self, push_id: int, events: Sequence[CallEvent], *, plugin: str
    ) -> list[bool]:
        """Save the push's events and remove the push, in one transaction."""
        return await self._run(self._complete_push, push_id, list(events), plugin)

    def _complete_push(
        self, connection: sqlite3.Connection, push_id: int, events: list[CallEvent], plugin: str
    ) -> list[bool]:
        keyed = _keyed(events)
        with self._transaction(connection):
            fresh = self._write_events(connection, events, keyed, plugin) if events else []
            connection.execute("DELETE FROM inbox WHERE id = ?", (push_id,))
        return fresh

    async def fail_push(self, push_id: int, reason: str) -> None:
        """Set a push aside with the reason it could not be read."""
        await self._run(self._fail_push, push_id, reason)

    def _fail_push(self, connection: sqlite3.Connection, push_id: int, reason: str) -> None:
        with self._transaction(connection):
            connection.execute("UPDATE inbox SET failure = ? WHERE id = ?", (reason, push_id))

    async def retry_failed_pushes(self) -> int:
        """Queue every push set aside again; how many."""
        return await self._run(self._retry_failed_pushes)

    def _retry_failed_pushes(self, connection: sqlite3.Connection) -> int:
        with self._transaction(connection):
            cursor = connection.execute("UPDATE inbox SET failure = NULL WHERE failure IS NOT NULL")
            return cursor.rowcount

    async def count_pushes(self) -> dict[str, int]:
        """``{"queued": …, "failed": …}``."""
        return await self._run(self._count_pushes)

    @staticmethod
    def _count_pushes(connection: sqlite3.Connection) -> dict[str, int]:
        queued, failed = connection.execute(
            "SELECT COUNT(*) - COUNT(failure), COUNT(failure) FROM inbox"
        ).fetchone()
        return {"queued": int(queued), "failed": int(failed)}

    @staticmethod
    def _stored_keys(connection: sqlite3.Connection, keys: Sequence[str]) -> set[str]:
        stored: set[str] = set()
        for chunk in _chunks(keys):
            marks = ", ".join("?" for _ in chunk)
            query = f"SELECT event_key FROM events WHERE event_key IN ({marks})"  # noqa: S608
            stored.update(row[0] for row in connection.execute(query, chunk))
        return stored

    def _merge(
        self,
        connection: sqlite3.Connection,
        records: Sequence[tuple[tuple[str, str], CallRecord, bool]],
        updated_at: str | None,
        known: dict[int, tuple[CallRecord, Any]] | None = None,
    ) -> None:
        """Merge ``records`` in order into what is stored; write the records that changed.

        ``known`` holds records already unstructured (by ``id``), so a merged record that is
        one of them is not unstructured again.
        """
        if not records:
            return
        stored = self._load_records(connection, {key for key, _, _ in records})
        merged = dict(stored)
        for key, record, authoritative in records:
            merged[key] = merge_record(merged.get(key), record, authoritative=authoritative)
        known = known or {}

        def text(record: CallRecord) -> str:
            held = known.get(id(record))
            if held is not None and held[0] is record:
                return _dumps_data(held[1])
            return _dumps(record)

        connection.executemany(
            _UPSERT_RECORD,
            [
                (
                    provider,
                    call_id,
                    record.plugin,
                    record.reference,
                    record.status.value,
                    int(record.status.is_final),
                    _timestamp(record.submitted_at),
                    updated_at,
                    text(record),
                )
                for (provider, call_id), record in merged.items()
                if stored.get((provider, call_id)) != record
            ],
        )

    @staticmethod
    def _load_records(
        connection: sqlite3.Connection, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], CallRecord]:
        by_provider: dict[str, list[str]] = {}
        for provider, call_id in sorted(keys):
            by_provider.setdefault(provider, []).append(call_id)
        found: dict[tuple[str, str], CallRecord] = {}
        for provider, call_ids in by_provider.items():
            for chunk in _chunks(call_ids):
                marks = ", ".join("?" for _ in chunk)
                query = (
                    "SELECT call_id, record FROM records "  # noqa: S608 - only "?"s
                    f"WHERE provider = ? AND call_id IN ({marks})"
                )
                for call_id, text in connection.execute(query, (provider, *chunk)):
                    found[provider, call_id] = _loads(text, CallRecord, f"record {call_id!r}")
        return found

    # -- reads ---------------------------------------------------------------------------

    async def get_record(self, provider: str, call_id: str) -> CallRecord | None:
        """The merged record of ``call_id`` at ``provider``, or None."""
        return await self._run(self._get_record, provider, call_id)

    @staticmethod
    def _get_record(
        connection: sqlite3.Connection, provider: str, call_id: str
    ) -> CallRecord | None:
        row = connection.execute(
            "SELECT record FROM records WHERE provider = ? AND call_id = ?", (provider, call_id)
        ).fetchone()
        return None if row is None else _loads(row[0], CallRecord, f"record {call_id!r}")

    async def find_records(
        self,
        *,
        reference: str | None = None,
        status: CallStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        provider: str | None = None,
    ) -> list[CallRecord]:
        """Records matching every given filter, oldest ``submitted_at`` first.

        ``since`` is inclusive and ``until`` exclusive; with either, records whose
        ``submitted_at`` is unknown are left out.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if reference is not None:
            clauses.append("reference = ?")
            params.append(reference)
        if status is not None:
            clauses.append("status = ?")
            params.append(CallStatus(status).value)
        if provider is not None:
            clauses.append("provider = ?")
            params.append(provider)
        if since is not None:
            clauses.append("submitted_at >= ?")
            params.append(_query_bound(since, "since"))
        if until is not None:
            clauses.append("submitted_at < ?")
            params.append(_query_bound(until, "until"))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        query = (
            f"SELECT call_id, record FROM records {where} "  # noqa: S608 - constant clauses
            "ORDER BY submitted_at IS NULL, submitted_at, provider, call_id"
        )
        return await self._run(self._find_records, query, params)

    @staticmethod
    def _find_records(
        connection: sqlite3.Connection, query: str, params: list[Any]
    ) -> list[CallRecord]:
        return [
            _loads(text, CallRecord, f"record {call_id!r}")
            for call_id, text in connection.execute(query, params)
        ]

    async def get_events(self, provider: str, call_id: str) -> list[CallEvent]:
        """Every distinct event stored for a call, raw payload included, in arrival order."""
        return await self._run(self._get_events, provider, call_id)

    @staticmethod
    def _get_events(connection: sqlite3.Connection, provider: str, call_id: str) -> list[CallEvent]:
        rows = connection.execute(
            "SELECT event_key, event FROM events WHERE provider = ? AND call_id = ? ORDER BY rowid",
            (provider, call_id),
        )
        return [_loads(text, CallEvent, f"event {key}") for key, text in rows]

    async def schema_version(self) -> int:
        """The database's schema version (:data:`SCHEMA_VERSION` once open)."""
        return await self._run(_user_version)


# ---------------------------------------------------------------------------------------------
# Choosing a store from the config


StoreFactory: TypeAlias = Callable[[str], RecordStore]


def _memory_store(url: str) -> RecordStore:
    if url.partition(":")[2] not in ("", "//"):
        raise ConfigurationError(f"store.url {url!r}: write just 'memory:' for the memory store")
    return MemoryStore()


_SCHEMES: dict[str, StoreFactory] = {"sqlite": SQLiteStore, "memory": _memory_store}


def register_scheme(scheme: str, factory: StoreFactory) -> None:
    """Make :func:`open_store` build ``factory(url)`` for URLs that start with ``scheme:``."""
    if not scheme or not scheme.isidentifier():
        raise ConfigurationError(
            f"a store scheme is a plain word like 'postgresql', got {scheme!r}"
        )
    _SCHEMES[scheme.lower()] = factory


def open_store(url: str) -> RecordStore:
    """The store that ``[store] url`` names, not yet opened (``await store.open()``).

    * ``sqlite:///voicegw.db``, ``sqlite:////var/lib/voicegw.db``, ``sqlite:///:memory:`` —
      :class:`SQLiteStore`, the embedded default;
    * ``memory:`` — :class:`~voicegw.store.MemoryStore`, gone with the process.

    Anything else raises :class:`~voicegw.errors.ConfigurationError` naming the schemes
    that are supported.

    To keep records in a server database, write a class that implements
    :class:`~voicegw.store.RecordStore` (open, close, save_receipt, save_events, get_record,
    find_records; merge every write with :func:`~voicegw.store.merge_record` inside one
    transaction, and de-duplicate events by :func:`~voicegw.store.event_key`), then register
    its URL scheme once at start-up::

        register_scheme("postgresql", PostgresStore)   # PostgresStore(url) -> RecordStore
        store = open_store("postgresql://voicegw@db/voicegw")
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"store.url must be text, got {type(url).__name__}")
    scheme, colon, _ = url.partition(":")
    factory = _SCHEMES.get(scheme.lower()) if colon else None
    if factory is None:
        supported = ", ".join(f"{name}:" for name in sorted(_SCHEMES))
        raise ConfigurationError(
            f"store.url {url!r}: unsupported store; supported schemes are {supported} "
            "(e.g. sqlite:///voicegw.db or memory:)"
        )
    return factory(url)
