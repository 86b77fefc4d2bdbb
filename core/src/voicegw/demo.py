"""``voicegw demo``: the whole job, on this machine, in a few seconds.

It starts the providers' emulators and the push receiver on loopback, configures a gateway
whose route is Huawei then ITNIO Tech (two sandbox emulators stand in for any plugin that is
not installed), and then:

1. places calls to scenario numbers that end answered, busy, unanswered, rejected, invalid;
2. makes the first provider refuse, so the second places the call (a fail-over);
3. makes the first provider time out *after* accepting, so the outcome is unknown — and shows
   that voicegw did NOT fail that one over (the second provider's ledger has no such call);
4. waits for the pushes, and prints the normalized records side by side, and where the store
   file is.

No credentials, no network beyond loopback.
"""

from __future__ import annotations

import asyncio
import socket
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs
from aiohttp import web

from voicegw.config import load_config
from voicegw.errors import OutcomeUnknown, VoiceError
from voicegw.gateway import VoiceGateway
from voicegw.models import CallRecord, SendReceipt, Speech, VoiceNotification
from voicegw.plugins import PluginRegistry, default_registry
from voicegw.provider import Capability
from voicegw.testing.emulator import Emulator, FaultKind
from voicegw.webhooks import create_app

__all__ = ["DemoProvider", "run_demo"]


@attrs.frozen
class DemoProvider:
    """How the demo drives one plugin: settings beyond its emulator's, a refusal code."""

    name: str
    plugin: str
    refusal_code: str
    number_prefix: str = "+8613800000"
    extra_settings: dict[str, Any] = attrs.field(factory=dict)
    emulator_options: dict[str, Any] = attrs.field(factory=dict)


#: The route of the demo, first choice first, with what each plugin needs.
PREFERRED = (
    DemoProvider("huawei", "huawei", refusal_code="1013002"),
    DemoProvider("itniotech", "itniotech", refusal_code="-10"),
)

SCENARIO_CALLS = (
    ("answered", "100"),
    ("busy", "017"),
    ("no answer", "019"),
    ("rejected", "021"),
    ("invalid number", "001"),
)


def demo_route(registry: PluginRegistry) -> list[DemoProvider]:
    """The preferred plugins where installed; the sandbox stands in for any that is not."""
    available = registry.providers()
    route = []
    for choice in PREFERRED:
        if choice.plugin in available and available[choice.plugin].emulator is not None:
            route.append(choice)
        else:
            route.append(DemoProvider(choice.name, "sandbox", refusal_code="funds"))
    return route


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def run_demo(
    out: TextIO,
    *,
    store_path: str | None = None,
    speed: float = 0.002,
    registry: PluginRegistry | None = None,
) -> int:
    """Run the demo, writing its report to ``out``. Returns 0 when every step behaved."""
    from voicegw.sqlite_store import SQLiteStore

    registry = registry or default_registry()
    started = time.monotonic()
    route = demo_route(registry)
    path = Path(store_path) if store_path else Path(tempfile.mkdtemp()) / "voicegw-demo.db"
    store = SQLiteStore(str(path))
    sock = _free_socket()
    receiver_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    emulators: dict[str, Emulator] = {}
    runner: web.AppRunner | None = None
    try:
        providers: dict[str, Any] = {}
        for hop in route:
            spec = registry.get(hop.plugin)
            assert spec.emulator is not None
            emulator = spec.emulator(speed=speed, **hop.emulator_options)
            await emulator.start()
            emulators[hop.name] = emulator
            settings = emulator.provider_settings()
            settings.update(emulator.push_settings(f"{receiver_url}/hooks/{hop.name}"))
            if hop.plugin != "sandbox":
                settings.update(hop.extra_settings)
            settings["timeout"] = 1.5  # keeps the ambiguous-timeout step short
            providers[hop.name] = settings
        config = load_config(
            {
                "gateway": {"route": [hop.name for hop in route], "retries": 0},
                "providers": providers,
                "webhooks": {"public_url": receiver_url},
            },
            registry=registry,
        )
        gateway = VoiceGateway(config, registry=registry, store=store)
        async with gateway:
            runner = web.AppRunner(create_app(gateway), access_log=None)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            ok = await _script(out, gateway, route, emulators)
            records = await _collect(gateway, emulators, ok.receipts)
            _report(out, route, ok.receipts, records, ok.notes)
        out.write(f"\nstore: {path}\nfinished in {time.monotonic() - started:.1f}s\n")
        return 0 if ok.passed and all(r.status.is_final for r in records.values()) else 1
    finally:
        if runner is not None:
            await runner.cleanup()
        for emulator in emulators.values():
            await emulator.close()
        sock.close()


@attrs.define
class _Outcome:
    receipts: list[tuple[str, SendReceipt]] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    passed: bool = True


async def _script(
    out: TextIO,
    gateway: VoiceGateway,
    route: Sequence[DemoProvider],
    emulators: dict[str, Emulator],
) -> _Outcome:
    first, second = route[0], route[1]
    primary, backup = emulators[first.name], emulators[second.name]
    result = _Outcome()
    prefix = first.number_prefix
    out.write(f"route: {' → '.join(f'{h.name} ({h.plugin})' for h in route)}\n\n")

    for label, suffix in SCENARIO_CALLS:
        note = VoiceNotification(
            prefix + suffix, [Speech("Your parcel arrives today", "en")], reference=f"demo-{suffix}"
        )
        receipt = await gateway.send(note)
        result.receipts.append((label, receipt))
        out.write(f"sent {label:<15} → {receipt.provider:<10} call {receipt.call_id}\n")

    # Fail-over: the first provider refuses, the second places the call.
    primary.inject(FaultKind.PROVIDER_ERROR, code=first.refusal_code)
    note = VoiceNotification(
        prefix + "200", [Speech("Your parcel arrives today", "en")], reference="demo-failover"
    )
    receipt = await gateway.send(note)
    result.receipts.append(("fail-over", receipt))
    tried = "; ".join(
        f"{a.provider}: {a.error or 'accepted'}{' ' + a.code if a.code else ''}"
        for a in receipt.attempts
    )
    out.write(f"sent fail-over       → {receipt.provider:<10} call {receipt.call_id}  ({tried})\n")
    if receipt.provider != second.name:
        result.passed = False

    # Ambiguous: the first provider accepts, then its answer never comes.
    primary.inject(FaultKind.TIMEOUT_AFTER, seconds=5.0)
    note = VoiceNotification(
        prefix + "300", [Speech("Your parcel arrives today", "en")], reference="demo-ambiguous"
    )
    try:
        await gateway.send(note)
    except OutcomeUnknown as exc:
        on_backup = [p for p in backup.placed if p.reference == "demo-ambiguous"]
        on_primary = [p for p in primary.placed if p.reference == "demo-ambiguous"]
        line = (
            f"sent ambiguous       → OutcomeUnknown from {exc.provider}: not failed over "
            f"({first.name} placed {len(on_primary)}, {second.name} placed {len(on_backup)})"
        )
        out.write(line + "\n")
        result.notes.append(line)
        if on_backup or len(on_primary) != 1:
            result.passed = False
    except VoiceError as exc:  # pragma: no cover - would be a bug worth seeing
        out.write(f"ambiguous send raised {type(exc).__name__}, expected OutcomeUnknown\n")
        result.passed = False
    else:  # pragma: no cover
        out.write("ambiguous send succeeded, expected OutcomeUnknown\n")
        result.passed = False
    primary.clear_faults()
    duplicates = {**primary.duplicate_references(), **backup.duplicate_references()}
    if duplicates:
        result.passed = False
        out.write(f"duplicate calls: {duplicates}\n")
    return result


async def _collect(
    gateway: VoiceGateway,
    emulators: dict[str, Emulator],
    receipts: Sequence[tuple[str, SendReceipt]],
    patience: float = 20.0,
) -> dict[str, CallRecord]:
    """Final records of every accepted call: queried where possible, else as pushed."""
    await asyncio.gather(*(emulator.drain(patience) for emulator in emulators.values()))
    deadline = time.monotonic() + patience
    records: dict[str, CallRecord] = {}
    while True:
        for _, receipt in receipts:
            provider = gateway.provider(receipt.provider)
            if Capability.RECORD_QUERY in provider.capabilities:
                records[receipt.call_id] = await gateway.get_record(receipt)
            elif gateway.store is not None:
                stored = await gateway.store.get_record(receipt.provider, receipt.call_id)
                if stored is not None:
                    records[receipt.call_id] = stored
        done = all(r.call_id in records and records[r.call_id].status.is_final for _, r in receipts)
        if done or time.monotonic() > deadline:
            return records
        await asyncio.sleep(0.05)


def _report(
    out: TextIO,
    route: Sequence[DemoProvider],
    receipts: Sequence[tuple[str, SendReceipt]],
    records: dict[str, CallRecord],
    notes: Sequence[str],
) -> None:
    header = ["call", "provider", "plugin", "status", "hang-up", "Q.850", "SIP", "secs", "cost"]
    rows: list[list[str]] = []
    for label, receipt in receipts:
        record = records.get(receipt.call_id)
        if record is None:
            rows.append([label, receipt.provider, receipt.plugin, "(no record)", *[""] * 5])
            continue
        hangup = record.hangup
        rows.append(
            [
                label,
                record.provider,
                record.plugin,
                record.status.value,
                hangup.category.value if hangup else "—",
                str(hangup.q850) if hangup and hangup.q850 is not None else "—",
                str(hangup.sip) if hangup and hangup.sip is not None else "—",
                "—" if record.duration is None else str(record.duration),
                f"{record.cost.amount} {record.cost.currency}" if record.cost else "—",
            ]
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    out.write("\n")
    for row in [header, [("-" * w) for w in widths], *rows]:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        out.write("\n")
