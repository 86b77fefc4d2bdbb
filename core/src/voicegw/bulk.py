"""Bulk campaigns: stream recipients from CSV or JSONL, send with bounded concurrency, resume.

Memory stays constant: rows are read one at a time and at most ``concurrency`` sends are in
flight. Results go to a JSONL journal, one line when a row is *about to be sent* (``pending``)
and one when its outcome is known. A re-run reads the journal first and skips:

* rows whose reference was accepted (``accepted``);
* rows whose outcome is unknown (``unknown``) — the call may exist;
* rows that were pending when the previous run died — the request may have reached the
  provider; they are reported as ``interrupted`` and sent again only with
  ``retry_interrupted=True``, after you have reconciled them.

So an interrupted campaign never calls anyone twice. Rows need a ``reference`` (the key of
resumption) and a ``to``; prompts come from ``text``/``language``, ``code``, ``template`` +
``params`` (``|``-separated in CSV) or ``audio``.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import attrs

from voicegw.errors import ValidationError, VoiceError
from voicegw.gateway import VoiceGateway
from voicegw.models import Audio, Prompt, Speech, Template, VerificationCode, VoiceNotification

__all__ = ["BulkSummary", "iter_rows", "notification_from_row", "read_journal", "run_bulk"]

PENDING = "pending"
ACCEPTED = "accepted"
REFUSED = "refused"
UNKNOWN = "unknown"
INVALID = "invalid"
SKIPPED = "skipped"
INTERRUPTED = "interrupted"
DUPLICATE = "duplicate"


def _digest(reference: str) -> int:
    return int.from_bytes(hashlib.blake2b(reference.encode(), digest_size=8).digest(), "big")


@attrs.define
class BulkSummary:
    """What a bulk run did, by outcome."""

    accepted: int = 0
    refused: int = 0
    unknown: int = 0
    invalid: int = 0
    skipped: int = 0
    interrupted: int = 0

    @property
    def processed(self) -> int:
        return self.accepted + self.refused + self.unknown + self.invalid

    def as_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


def iter_rows(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Rows of a ``.csv`` file (with a header line) or a ``.jsonl`` file, one at a time."""
    source = Path(path)
    with source.open(encoding="utf-8", newline="") as handle:
        if source.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    yield {"__error__": f"line {number}: not JSON"}
                    continue
                yield (
                    row if isinstance(row, dict) else {"__error__": f"line {number}: not an object"}
                )
        else:
            yield from csv.DictReader(handle)


def notification_from_row(row: Mapping[str, Any]) -> VoiceNotification:
    """The notification a row asks for; ``ValidationError`` naming what is wrong."""
    if "__error__" in row:
        raise ValidationError(str(row["__error__"]))
    reference = str(row.get("reference") or "").strip()
    if not reference:
        raise ValidationError("reference is required: it is what makes a campaign resumable")
    language = str(row.get("language") or "en")
    prompts: list[Prompt] = []
    if row.get("text"):
        prompts.append(Speech(str(row["text"]), language))
    if row.get("code"):
        prompts.append(VerificationCode(str(row["code"]), language))
    if row.get("template"):
        params = row.get("params") or ()
        if isinstance(params, str):
            params = [p for p in params.split("|") if p] if params else []
        elif not isinstance(params, list | tuple):
            raise ValidationError("params must be text (a|b) or a list of strings")
        prompts.append(Template(str(row["template"]), tuple(str(p) for p in params)))
    if row.get("audio"):
        prompts.append(Audio(str(row["audio"])))
    if not prompts:
        raise ValidationError("a row needs text, code, template or audio")
    return VoiceNotification(
        str(row.get("to") or ""),
        prompts,
        caller_id=row.get("caller_id") or None,
        reference=reference,
    )


def read_journal(path: str | os.PathLike[str]) -> dict[str, str]:
    """The last state of each reference in a results journal (missing file: empty)."""
    states: dict[str, str] = {}
    journal = Path(path)
    if not journal.exists():
        return states
    with journal.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: the pending line before it counts
            reference, state = entry.get("reference"), entry.get("state")
            if isinstance(reference, str) and isinstance(state, str):
                states[reference] = state
    return states


class _Journal:
    """Append-only JSONL with a flush (and fsync for pending lines) per write."""

    def __init__(self, path: Path) -> None:
        self._handle = path.open("a", encoding="utf-8")

    def write(self, entry: Mapping[str, Any], *, durable: bool) -> None:
        self._handle.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        self._handle.flush()
        if durable:
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()


class _Progress:
    """One self-rewriting line on a terminal; a plain line every ``every`` rows otherwise."""

    def __init__(self, out: TextIO | None, every: int = 1000) -> None:
        self.out = out
        self.tty = bool(out is not None and out.isatty())
        self.every = every
        self.started = time.monotonic()
        self._last = 0.0

    def update(self, summary: BulkSummary, *, final: bool = False) -> None:
        if self.out is None:
            return
        done = summary.processed + summary.skipped + summary.interrupted
        rate = summary.processed / max(time.monotonic() - self.started, 1e-9)
        text = (
            f"{done} rows  accepted {summary.accepted}  refused {summary.refused}  "
            f"unknown {summary.unknown}  invalid {summary.invalid}  skipped "
            f"{summary.skipped + summary.interrupted}  ({rate:.0f}/s)"
        )
        if self.tty:
            now = time.monotonic()
            if final or now - self._last > 0.1:
                self._last = now
                self.out.write("\r\x1b[2K" + text + ("\n" if final else ""))
                self.out.flush()
        elif final or (done and done % self.every == 0):
            self.out.write(text + "\n")
            self.out.flush()


async def _rows(path: str | os.PathLike[str]) -> AsyncIterator[dict[str, Any]]:
    for row in iter_rows(path):
        yield row


async def run_bulk(
    gateway: VoiceGateway,
    source: str | os.PathLike[str],
    results: str | os.PathLike[str],
    *,
    concurrency: int = 20,
    provider: str | None = None,
    retry_interrupted: bool = False,
    progress: TextIO | None = None,
) -> BulkSummary:
    """Send every row of ``source`` through ``gateway``, journaling to ``results``."""
    if concurrency < 1:
        raise ValidationError("concurrency must be at least 1")
    states = read_journal(results)
    summary = BulkSummary()
    journal = _Journal(Path(results))
    meter = _Progress(progress)
    queue: asyncio.Queue[tuple[int, dict[str, Any]] | None] = asyncio.Queue(concurrency * 2)
    # Digests, not the references: memory stays flat over long campaigns (8 bytes of
    # BLAKE2b each). A duplicate is journaled, so even a digest collision is visible.
    seen: set[int] = set()

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            number, row = item
            await _one(number, row)

    async def _one(number: int, row: dict[str, Any]) -> None:
        reference = str(row.get("reference") or "")
        entry: dict[str, Any] = {"row": number, "reference": reference, "to": row.get("to")}
        try:
            notification = notification_from_row(row)
        except VoiceError as exc:
            summary.invalid += 1
            journal.write({**entry, "state": INVALID, "error": exc.message}, durable=False)
            return
        journal.write({**entry, "state": PENDING}, durable=True)
        try:
            receipt = await gateway.send(notification, provider=provider)
        except VoiceError as exc:
            state = UNKNOWN if exc.call_placed is not False else REFUSED
            if state == UNKNOWN:
                summary.unknown += 1
            else:
                summary.refused += 1
            journal.write(
                {
                    **entry,
                    "state": state,
                    "error": type(exc).__name__,
                    "code": exc.code,
                    "message": exc.message,
                    "provider": exc.provider,
                },
                durable=False,
            )
        else:
            summary.accepted += 1
            journal.write(
                {
                    **entry,
                    "state": ACCEPTED,
                    "call_id": receipt.call_id,
                    "provider": receipt.provider,
                    "plugin": receipt.plugin,
                    "attempts": len(receipt.attempts),
                },
                durable=False,
            )
        meter.update(summary)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        number = 0
        async for row in _rows(source):
            number += 1
            reference = str(row.get("reference") or "")
            previous = states.get(reference) if reference else None
            digest = _digest(reference) if reference else 0
            if reference and previous in (ACCEPTED, UNKNOWN):
                summary.skipped += 1
                continue
            if reference and digest in seen:
                summary.skipped += 1
                # no "reference" key: this line must not change the reference's own state
                journal.write(
                    {"row": number, "duplicate_of": reference, "state": DUPLICATE}, durable=False
                )
                continue
            if previous in (PENDING, INTERRUPTED) and not retry_interrupted:
                summary.interrupted += 1
                journal.write(
                    {"row": number, "reference": reference, "state": INTERRUPTED},
                    durable=False,
                )
                continue
            if reference:
                seen.add(digest)
            await queue.put((number, row))
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        journal.close()
    meter.update(summary, final=True)
    return summary
