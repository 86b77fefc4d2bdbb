"""Bulk campaigns: streamed rows, bounded concurrency, a journal that makes re-runs safe."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from voicegw import InsufficientFunds, SendReceipt, VoiceGateway, VoiceNotification
from voicegw.bulk import iter_rows, notification_from_row, read_journal, run_bulk
from voicegw.errors import ValidationError
from voicegw.sandbox import SandboxEmulator
from voicegw.testing.emulator import FaultKind


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[SandboxEmulator]:
    async with SandboxEmulator() as emulator:
        yield emulator


@pytest_asyncio.fixture
async def gateway(emulator: SandboxEmulator) -> AsyncIterator[VoiceGateway]:
    config = {
        "providers": {"sbx": emulator.provider_settings(timeout=0.2)},
        "gateway": {"retries": 0},
    }
    async with VoiceGateway.from_config(config) as gateway:
        yield gateway


def write_csv(path: Path, count: int, *, start: int = 0) -> Path:
    lines = ["to,text,language,reference"]
    lines += [f"+86138{i:08d},Hello,en,ref-{i}" for i in range(start, start + count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def states(journal: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in journal.read_text().splitlines()]


async def test_every_row_is_sent_once_and_journaled(
    gateway: VoiceGateway, emulator: SandboxEmulator, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "people.csv", 50)
    journal = tmp_path / "results.jsonl"
    summary = await run_bulk(gateway, source, journal, concurrency=7)
    assert summary.accepted == 50
    assert len(emulator.placed) == 50
    assert not emulator.duplicate_references()
    final = read_journal(journal)
    assert set(final.values()) == {"accepted"}
    assert len(final) == 50
    accepted = [e for e in states(journal) if e["state"] == "accepted"]
    assert all(e["call_id"].startswith("sbx-") for e in accepted)


async def test_a_re_run_skips_what_was_accepted(
    gateway: VoiceGateway, emulator: SandboxEmulator, tmp_path: Path
) -> None:
    journal = tmp_path / "results.jsonl"
    await run_bulk(gateway, write_csv(tmp_path / "a.csv", 20), journal)
    summary = await run_bulk(gateway, write_csv(tmp_path / "b.csv", 30), journal)
    assert summary.skipped == 20
    assert summary.accepted == 10
    assert len(emulator.placed) == 30
    assert not emulator.duplicate_references()


async def test_an_interrupted_run_never_calls_anyone_twice(
    gateway: VoiceGateway, emulator: SandboxEmulator, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "people.csv", 200)
    journal = tmp_path / "results.jsonl"
    original = gateway.send

    async def slow_send(note: VoiceNotification, provider: str | None = None) -> SendReceipt:
        await asyncio.sleep(0.001)
        return await original(note, provider)

    gateway.send = slow_send  # type: ignore[method-assign]
    task = asyncio.create_task(run_bulk(gateway, source, journal, concurrency=10))
    while len(emulator.placed) < 60:
        await asyncio.sleep(0.001)
    task.cancel()  # the kill: sends in flight are lost mid-way
    with pytest.raises(asyncio.CancelledError):
        await task
    with journal.open("a") as handle:
        handle.write('{"row": 999, "reference": "ref-1')  # a line cut short by the kill
    before = list(read_journal(journal).values())
    summary = await run_bulk(gateway, source, journal, concurrency=10)
    references = [p.reference for p in emulator.placed]
    assert len(references) == len(set(references)), "somebody was called twice"
    assert summary.skipped == before.count("accepted")
    assert summary.interrupted == before.count("pending") >= 1
    assert summary.accepted + summary.skipped + summary.interrupted == 200


async def test_refused_and_unknown_rows(
    gateway: VoiceGateway, emulator: SandboxEmulator, tmp_path: Path
) -> None:
    sandbox = gateway.provider("sbx")
    sandbox.fail_next(InsufficientFunds("low balance"))  # type: ignore[attr-defined]
    emulator.inject(FaultKind.TIMEOUT_AFTER, seconds=1)
    journal = tmp_path / "results.jsonl"
    summary = await run_bulk(gateway, write_csv(tmp_path / "a.csv", 4), journal, concurrency=1)
    assert (summary.refused, summary.unknown, summary.accepted) == (1, 1, 2)
    again = await run_bulk(gateway, write_csv(tmp_path / "a.csv", 4), journal, concurrency=1)
    # the refused row is tried again; the unknown one is not (it may have been placed)
    assert (again.accepted, again.skipped) == (1, 3)
    assert not emulator.duplicate_references()


async def test_invalid_rows_are_journaled_and_not_sent(
    gateway: VoiceGateway, emulator: SandboxEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "people.jsonl"
    rows = [
        {"to": "+8613800000100", "text": "hi", "reference": "ok"},
        {"to": "12345", "text": "hi", "reference": "bad-number"},
        {"to": "+8613800000100", "text": "hi"},
        {"to": "+8613800000100", "reference": "no-prompt"},
        [1, 2],
    ]
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    journal = tmp_path / "results.jsonl"
    summary = await run_bulk(gateway, source, journal)
    assert summary.accepted == 1
    assert summary.invalid == 5
    assert len(emulator.placed) == 1
    errors = [e["error"] for e in states(journal) if e["state"] == "invalid"]
    assert any("E.164" in e for e in errors)
    assert any("reference is required" in e for e in errors)


async def test_duplicate_references_in_one_file_are_sent_once(
    gateway: VoiceGateway, emulator: SandboxEmulator, tmp_path: Path
) -> None:
    source = tmp_path / "dupes.csv"
    source.write_text("to,text,reference\n+8613800000100,a,same\n+8613800000101,b,same\n")
    journal = tmp_path / "r.jsonl"
    summary = await run_bulk(gateway, source, journal)
    assert (summary.accepted, summary.skipped) == (1, 1)
    assert len(emulator.placed) == 1
    assert {"row": 2, "duplicate_of": "same", "state": "duplicate"} in states(journal)
    assert read_journal(journal) == {"same": "accepted"}  # the duplicate line changes nothing
    again = await run_bulk(gateway, source, journal)
    assert again.accepted == 0
    assert len(emulator.placed) == 1


async def test_concurrency_is_bounded(gateway: VoiceGateway, tmp_path: Path) -> None:
    in_flight = peak = 0
    original = gateway.send

    async def counting_send(note: VoiceNotification, provider: str | None = None) -> SendReceipt:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.002)
        try:
            return await original(note, provider)
        finally:
            in_flight -= 1

    gateway.send = counting_send  # type: ignore[method-assign]
    await run_bulk(gateway, write_csv(tmp_path / "a.csv", 60), tmp_path / "r.jsonl", concurrency=5)
    assert peak == 5


async def test_concurrency_must_be_positive(gateway: VoiceGateway, tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        await run_bulk(gateway, write_csv(tmp_path / "a.csv", 1), tmp_path / "r", concurrency=0)


def test_rows_are_streamed(tmp_path: Path) -> None:
    rows = iter_rows(write_csv(tmp_path / "a.csv", 3))
    assert next(rows)["reference"] == "ref-0"  # a generator: nothing more read yet


def test_template_params_from_csv() -> None:
    note = notification_from_row(
        {"to": "+8613800000100", "template": "t1", "params": "a|b", "reference": "x"}
    )
    assert note.prompts[0].params == ("a", "b")  # type: ignore[union-attr]


def test_missing_journal_is_empty(tmp_path: Path) -> None:
    assert read_journal(tmp_path / "none.jsonl") == {}
