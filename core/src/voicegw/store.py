"""Durable records and events: the store interface, the monotonic merge, an in-memory store.

Records only move forward: :func:`merge_record` never turns a final status back, never
replaces a known value with nothing, and prefers the record whose call ended last when two
final records disagree. Every store implements :class:`RecordStore`; the SQLite store in
:mod:`voicegw.sqlite_store` is the embedded default.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from voicegw.models import CallEvent, CallRecord, CallStatus, EventKind, SendReceipt
from voicegw.serialization import converter

__all__ = [
    "MemoryStore",
    "PushInbox",
    "QueuedPush",
    "RecordStore",
    "event_key",
    "event_key_and_data",
    "is_authoritative",
    "merge_record",
    "push_digest",
    "record_from_event",
    "record_from_receipt",
]

_STATUS_FOR_EVENT = {
    EventKind.INITIATED: CallStatus.QUEUED,
    EventKind.RINGING: CallStatus.RINGING,
    EventKind.ANSWERED: CallStatus.IN_PROGRESS,
    EventKind.DIGITS: CallStatus.IN_PROGRESS,
}

_OUTCOME_FIELDS = ("status", "hangup", "ended_at", "duration", "billed_duration", "cost")
_TIME_FIELDS = ("submitted_at", "started_at", "ringing_at", "answered_at", "ended_at")


def event_key(event: CallEvent) -> str:
    """A stable identity for an event, to drop the same push delivered twice.

    It covers everything the event says, so a re-delivered push is a duplicate while an event
    that adds anything (a record that now carries its cost) is new.
    """
    return event_key_and_data(event)[0]


def event_key_and_data(event: CallEvent) -> tuple[str, dict[str, Any]]:
    """:func:`event_key` and ``converter.unstructure(event)``, from one unstructuring.

    The key is the SHA-256 of the event as JSON (sorted keys) with its raw payloads set
    apart: ``raw`` and ``record.raw`` as the provider sent them (anything JSON cannot hold as
    its ``repr``), every other field as the converter writes it. Stores use the data as the
    event's stored form, so the event is unstructured once per write instead of twice.
    """
    data = converter.unstructure(event)
    keyed = dict(data)
    # raw payloads are the provider's JSON, but keep the key total for anything a parser left
    keyed["raw"] = event.raw
    record = event.record
    if record is None:
        keyed["record_raw"] = None
    else:
        keyed["record"] = {**data["record"], "raw": {}}
        keyed["record_raw"] = record.raw
    text = json.dumps(keyed, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(text.encode()).hexdigest(), data


def record_from_event(event: CallEvent, plugin: str) -> CallRecord | None:
    """The record an event implies on its own (before merging with what is known).

    None for events about something other than a call (an audio file's review).
    """
    if event.kind is EventKind.AUDIO_REVIEWED:
        return None
    if event.record is not None:
        return event.record
    status = _STATUS_FOR_EVENT.get(event.kind, CallStatus.QUEUED)
    fields: dict[str, Any] = {}
    if event.kind is EventKind.INITIATED:
        fields["started_at"] = event.at
    elif event.kind is EventKind.RINGING:
        fields["ringing_at"] = event.at
    elif event.kind is EventKind.ANSWERED:
        fields["answered_at"] = event.at
    elif event.kind is EventKind.DIGITS:
        fields["digits"] = event.digits
    return CallRecord(
        call_id=event.call_id,
        provider=event.provider,
        plugin=plugin,
        status=status,
        reference=event.reference,
        **fields,
    )


def record_from_receipt(receipt: SendReceipt, to: str | None = None) -> CallRecord:
    """The queued record an accepted call starts as."""
    return CallRecord(
        call_id=receipt.call_id,
        provider=receipt.provider,
        plugin=receipt.plugin,
        to=to,
        status=CallStatus.QUEUED,
        submitted_at=receipt.accepted_at,
        reference=receipt.reference,
    )


def is_authoritative(event: CallEvent) -> bool:
    """True for the provider's own final record of a call (a CDR, a queried record)."""
    return event.kind is EventKind.RECORD and event.record is not None


def merge_record(
    old: CallRecord | None, new: CallRecord, *, authoritative: bool = False
) -> CallRecord:
    """Merge ``new`` into ``old`` so that the record only moves forward.

    * a final status is never replaced by a non-final one;
    * between two final statuses the one whose call ended later wins; on a tie an
      ``authoritative`` record (the provider's own final record: a CDR, a queried record) wins
      over one pieced together from status pushes, else the more complete one, else the older;
    * a non-final status only advances (queued → ringing → in progress);
    * fields the newer record does not know keep their old value; times keep the earliest
      known value except ``ended_at``, which follows the winning status.
    """
    if old is None:
        return new
    if old.status.is_final and new.status.is_final:
        if new.ended_at is not None and old.ended_at is not None and new.ended_at != old.ended_at:
            new_wins = new.ended_at > old.ended_at
        elif authoritative:
            new_wins = True
        else:  # same end (or unknown): the more complete record wins, the older one on a tie
            new_wins = _known_fields(new) > _known_fields(old)
    elif old.status.is_final:
        new_wins = False
    elif new.status.is_final:
        new_wins = True
    else:
        new_wins = new.status.rank > old.status.rank
    base, other = (new, old) if new_wins else (old, new)
    changes: dict[str, Any] = {}
    for field in attrs.fields(CallRecord):
        name = field.name
        mine, theirs = getattr(base, name), getattr(other, name)
        if name in _OUTCOME_FIELDS:
            # The outcome travels with the status: only a record that says the same status
            # may fill in what the winner does not know.
            if mine is None and theirs is not None and other.status is base.status:
                changes[name] = theirs
            continue
        if name in _TIME_FIELDS:
            known = [t for t in (mine, theirs) if t is not None]
            if known:
                changes[name] = min(known)
            continue
        if name == "raw":
            if not mine and theirs:
                changes[name] = theirs
            continue
        if (mine is None or mine == "") and theirs not in (None, ""):
            changes[name] = theirs
    return attrs.evolve(base, **changes) if changes else base


def _known_fields(record: CallRecord) -> int:
    return sum(getattr(record, f.name) not in (None, "", {}) for f in attrs.fields(CallRecord))


@runtime_checkable
class RecordStore(Protocol):
    """Where records and events live. Implement this to back voicegw with another database."""

    async def open(self) -> None:
        """Prepare the store (create tables, run migrations)."""
        ...

    async def close(self) -> None:
        """Release the store."""
        ...

    async def save_receipt(self, receipt: SendReceipt, *, to: str | None = None) -> None:
        """Remember an accepted call as a queued record."""
        ...

    async def save_events(self, events: Sequence[CallEvent], *, plugin: str) -> list[bool]:
        """Store events and merge them into their records; one bool per event, False if seen."""
        ...

    async def get_record(self, provider: str, call_id: str) -> CallRecord | None:
        """The merged record, or None."""
        ...

    async def find_records(
        self,
        *,
        reference: str | None = None,
        status: CallStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        provider: str | None = None,
    ) -> list[CallRecord]:
        """Records matching every given filter (times compare ``submitted_at``)."""
        ...


@attrs.frozen
class QueuedPush:
    """A verified push, stored as it arrived, waiting to be read into events."""

    #: Position in the inbox: pushes are read in the order they were stored.
    id: int
    #: The configured provider name the push was addressed to.
    provider: str
    #: The push kind (the last part of the receiver's route).
    kind: str
    #: The body exactly as received.
    body: bytes = attrs.field(repr=False)
    received_at: datetime
    #: Why it could not be read (``None`` while it waits to be read).
    failure: str | None = None


def push_digest(provider: str, kind: str, body: bytes) -> str:
    """The identity of a push in the inbox: the same body re-pushed to the same route.

    BLAKE2b: as collision-resistant as SHA-256 and about twice as fast on large bodies.
    """
    digest = hashlib.blake2b(f"{provider}\0{kind}\0".encode(), digest_size=32)
    digest.update(body)
    return digest.hexdigest()


@runtime_checkable
class PushInbox(Protocol):
    """A durable queue of verified pushes, so the receiver can acknowledge before parsing.

    A store that implements it next to :class:`RecordStore` gets store-first ingestion (see
    :mod:`voicegw.webhooks`). :meth:`complete_push` must save the events and remove the push
    in one transaction, or at least in that order: a push read twice is harmless (events are
    de-duplicated), a push removed before its events are saved would be lost.
    """

    async def enqueue_push(self, provider: str, kind: str, body: bytes) -> bool:
        """Store a verified push. False if the same push (:func:`push_digest`) is held."""
        ...

    async def queued_pushes(self, limit: int = 100, *, failed: bool = False) -> list[QueuedPush]:
        """The oldest pushes waiting to be read — or, with ``failed``, those set aside."""
        ...

    async def complete_push(
        self, push_id: int, events: Sequence[CallEvent], *, plugin: str
    ) -> list[bool]:
        """:meth:`RecordStore.save_events` for the push's events, and remove the push."""
        ...

    async def fail_push(self, push_id: int, reason: str) -> None:
        """Set a push that cannot be read aside, with the reason. It is kept, not dropped."""
        ...

    async def retry_failed_pushes(self) -> int:
        """Queue every push set aside again (after fixing the plugin). Returns how many."""
        ...

    async def count_pushes(self) -> dict[str, int]:
        """``{"queued": …, "failed": …}``."""
        ...


class MemoryStore:
    """A :class:`RecordStore` and :class:`PushInbox` in dicts: for tests and short scripts."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], CallRecord] = {}
        self.events: dict[str, CallEvent] = {}
        self.inbox: dict[int, QueuedPush] = {}
        self._held: dict[str, int] = {}  # push_digest → id of the push held in the inbox
        self._next_push = 1

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def save_receipt(self, receipt: SendReceipt, *, to: str | None = None) -> None:
        record = record_from_receipt(receipt, to)
        key = (receipt.provider, receipt.call_id)
        self.records[key] = merge_record(self.records.get(key), record)

    async def save_events(self, events: Sequence[CallEvent], *, plugin: str) -> list[bool]:
        fresh: list[bool] = []
        for event in events:
            key = event_key(event)
            if key in self.events:
                fresh.append(False)
                continue
            self.events[key] = event
            fresh.append(True)
            implied = record_from_event(event, plugin)
            if implied is None:
                continue
            record_key = (event.provider, event.call_id)
            self.records[record_key] = merge_record(
                self.records.get(record_key), implied, authoritative=is_authoritative(event)
            )
        return fresh

    async def get_record(self, provider: str, call_id: str) -> CallRecord | None:
        return self.records.get((provider, call_id))

    async def find_records(
        self,
        *,
        reference: str | None = None,
        status: CallStatus | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        provider: str | None = None,
    ) -> list[CallRecord]:
        found = []
        for record in self.records.values():
            if reference is not None and record.reference != reference:
                continue
            if status is not None and record.status is not status:
                continue
            if provider is not None and record.provider != provider:
                continue
            at = record.submitted_at
            if since is not None and (at is None or at < since):
                continue
            if until is not None and (at is None or at >= until):
                continue
            found.append(record)
        return found

    # -- the push inbox ------------------------------------------------------------------

    async def enqueue_push(self, provider: str, kind: str, body: bytes) -> bool:
        digest = push_digest(provider, kind, body)
        if digest in self._held:
            return False
        push = QueuedPush(self._next_push, provider, kind, bytes(body), datetime.now(UTC))
        self._next_push += 1
        self.inbox[push.id] = push
        self._held[digest] = push.id
        return True

    async def queued_pushes(self, limit: int = 100, *, failed: bool = False) -> list[QueuedPush]:
        held = (p for p in self.inbox.values() if (p.failure is not None) == failed)
        return sorted(held, key=lambda push: push.id)[:limit]

    async def complete_push(
        self, push_id: int, events: Sequence[CallEvent], *, plugin: str
    ) -> list[bool]:
        fresh = await self.save_events(events, plugin=plugin)
        push = self.inbox.pop(push_id, None)
        if push is not None:
            del self._held[push_digest(push.provider, push.kind, push.body)]
        return fresh

    async def fail_push(self, push_id: int, reason: str) -> None:
        push = self.inbox.get(push_id)
        if push is not None:
            self.inbox[push_id] = attrs.evolve(push, failure=reason)

    async def retry_failed_pushes(self) -> int:
        failed = [push for push in self.inbox.values() if push.failure is not None]
        for push in failed:
            self.inbox[push.id] = attrs.evolve(push, failure=None)
        return len(failed)

    async def count_pushes(self) -> dict[str, int]:
        failed = sum(push.failure is not None for push in self.inbox.values())
        return {"queued": len(self.inbox) - failed, "failed": failed}
