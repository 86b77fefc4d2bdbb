"""``make soak``: thousands of sends and their pushes, through the gateway and the receiver,
against both emulators with faults on; then the fuzz suites at a high example count.

What runs (all on loopback):

* the ITNIO Tech and Huawei emulators (in this process, so the soak reads their ledgers),
  each pushing to the receiver with its own re-push policy (ITNIO: 3 more tries; Huawei CDRs:
  6 more tries; Huawei status pushes: never re-pushed);
* the receiver, ``voicegw serve``, in a child process on one SQLite file;
* a gateway in this process (route ``hw`` → ``itn``) storing receipts into the same file, and
  ``voicegw bulk`` / ``voicegw send`` / ``voicegw record`` runs in child processes, beside it;
* faults: 5xx before acceptance (503, 500), read timeouts after acceptance, connections dropped
  before and after acceptance, malformed bodies, rate limiting, provider refusals, clock skew
  windows, the receiver killed (SIGKILL) and restarted mid-run, forged pushes, and genuine
  pushes replayed twice and out of order;
* reconciliation as a user does it: ITNIO records queried (``recordGroupQuery``) for calls
  whose record never arrived; Huawei records wait for the CDR re-push.

Then it counts, from the emulators' ledgers, the store and every captured log line and
output: ``duplicate_calls``, ``non_taxonomy_errors``, ``records_lost``, ``pushes_doubled``,
``forged_pushes_accepted``, ``secrets_leaked`` — all must be 0 — and writes
``bench/reliability.json``. The exit status is 1 when any of them is not 0 or a fuzz suite
failed.

``python -m bench.soak --sends 500 --no-fuzz`` runs a short one.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import io
import json
import logging
import os
import random
import secrets
import signal
import socket
import sys
import tempfile
import time
import wave
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import attrs

from bench._common import PYTHON, ROOT, machine, provider_table, voicegw_command
from voicegw import (
    AudioUpload,
    CallEvent,
    CallStatus,
    EventKind,
    Speech,
    VerificationCode,
    VoiceError,
    VoiceGateway,
    VoiceNotification,
)
from voicegw.cli_serve import JsonLogFormatter
from voicegw.config import load_config
from voicegw.sqlite_store import SQLiteStore
from voicegw.testing.emulator import Emulator, FaultKind
from voicegw.testing.scenarios import SCENARIOS, scenario_for
from voicegw_huawei import auth as huawei_auth
from voicegw_huawei.aicc_emulator import AiccEmulator
from voicegw_huawei.emulator import HuaweiEmulator
from voicegw_itniotech.emulator import ItnioEmulator

__all__ = ["MUST_BE_ZERO", "SoakParams", "main", "run_soak"]

#: The fields of the report that must be 0.
MUST_BE_ZERO = (
    "duplicate_calls",
    "non_taxonomy_errors",
    "records_lost",
    "pushes_doubled",
    "forged_pushes_accepted",
    "secrets_leaked",
)

ITN, HW = "itn", "hw"
#: Log lines that mean an error escaped the taxonomy (a plugin bug the gateway or the
#: receiver had to catch, or an exception aiohttp caught in a handler).
NON_TAXONOMY_MARKERS = (
    "raised outside the taxonomy",
    "push parser failed",
    "Error handling request",
    "Unhandled exception",
)
#: What the command line must never print: it reports every error as a VoiceError.
CLI_MARKERS = ("Traceback (most recent call last)",)
#: Transport faults and where they are injected (call-creating paths only).
FAULT_KINDS: tuple[tuple[FaultKind, dict[str, Any]], ...] = (
    (FaultKind.HTTP_ERROR, {"status": 503}),
    (FaultKind.HTTP_ERROR, {"status": 500}),
    (FaultKind.TIMEOUT_AFTER, {}),
    (FaultKind.DROP_BEFORE, {}),
    (FaultKind.DROP_AFTER, {}),
    (FaultKind.MALFORMED, {}),
    (FaultKind.RATE_LIMIT, {}),
    (FaultKind.PROVIDER_ERROR, {}),
)
SEND_PATHS = {ITN: "/voice/send", HW: "/rest/httpsessions/call"}
REFUSAL_CODES = {ITN: ("-18", "-10", "-22", "-999"), HW: ("1010001", "1013002", "1010002")}
TEXT = "Your parcel arrives today"


@attrs.frozen(kw_only=True)
class SoakParams:
    """How big and how hostile the soak is."""

    sends: int = 10_000
    concurrency: int = 48
    fault_rate: float = 0.12
    speed: float = 0.004
    receiver_kills: int = 2
    downtime: float = 2.5
    forged_every: int = 40
    replay_fraction: float = 0.05
    skew_windows: int = 4
    cli_bulk_rows: int = 300
    uploads: int = 3
    provider_timeout: float = 1.0
    push_retry_interval: float = 1.0
    settle_limit: float = 120.0
    seed: int = 20240305

    @classmethod
    def small(cls) -> SoakParams:
        """The reduced soak that runs inside ``make test``."""
        return cls(
            sends=400,
            concurrency=24,
            fault_rate=0.2,
            receiver_kills=1,
            downtime=1.5,
            forged_every=20,
            replay_fraction=0.2,
            skew_windows=1,
            cli_bulk_rows=20,
            uploads=1,
            settle_limit=40.0,
        )


# ---------------------------------------------------------------------------------------------
# Capturing every log line and output


class _Capture(logging.Handler):
    """Every log record of this process, formatted with its extras and exception."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonLogFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:
            self.lines.append(f"<unformattable {record.name} record>")


@attrs.define
class _Outputs:
    """Text captured from this process's logs and from every child process."""

    texts: dict[str, list[str]] = attrs.field(factory=lambda: collections.defaultdict(list))

    def add(self, source: str, text: str) -> None:
        self.texts[source].append(text)

    def joined(self) -> dict[str, str]:
        return {source: "\n".join(parts) for source, parts in self.texts.items()}


def _wav(seconds: float = 0.2) -> bytes:
    """A short mono 16-bit PCM WAV of silence."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(bytes(int(8000 * seconds) * 2))
    return buffer.getvalue()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# The receiver, in a child process that can be killed


class _Receiver:
    def __init__(self, config: Path, port: int, logs: Path) -> None:
        self.config = config
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.logs = logs
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0

    async def start(self) -> None:
        # The first run logs JSON lines at INFO, the restarts plain lines at DEBUG.
        verbosity = ["serve", "--log-json"] if self.starts == 0 else ["-vv", "serve"]
        command = [*voicegw_command()]
        command += [*verbosity, "--config", str(self.config), "--port", str(self.port)]
        out = (self.logs / f"receiver-{self.starts}.out").open("w")
        err = (self.logs / f"receiver-{self.starts}.err").open("w")
        try:
            self.process = await asyncio.create_subprocess_exec(
                *command, cwd=ROOT, stdout=out, stderr=err, stdin=asyncio.subprocess.DEVNULL
            )
        finally:
            out.close()
            err.close()
        self.starts += 1
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while True:
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(self.base + "/healthz") as resp:
                        if resp.status == 200:
                            return
                if self.process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError("the receiver did not start; see its logs")
                await asyncio.sleep(0.05)

    async def drained(self, limit: float) -> dict[str, int]:
        """Wait (at most ``limit`` seconds) until the receiver has read every push it stored.

        The receiver acknowledges a push once it is in the store's inbox and reads it into
        records right after; a push still waiting is not lost, but the verdict reads records.
        Returns the last ``/healthz`` inbox counts.
        """
        deadline = time.monotonic() + limit
        counts: dict[str, int] = {}
        async with aiohttp.ClientSession() as session:
            while True:
                with contextlib.suppress(aiohttp.ClientError, OSError, ValueError):
                    async with session.get(self.base + "/healthz") as resp:
                        health = await resp.json()
                    counts = {key: int(health.get(key, 0)) for key in ("queued", "failed")}
                    if counts["queued"] == 0:
                        return counts
                if time.monotonic() > deadline:
                    return counts
                await asyncio.sleep(0.1)

    async def kill(self) -> None:
        """SIGKILL: no clean shutdown, whatever it was doing."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
            self.kills += 1

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def output(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.logs.iterdir()))


# ---------------------------------------------------------------------------------------------
# The soak


@attrs.define
class _Tally:
    sends: int = 0
    accepted: int = 0
    refused: int = 0
    unknown: int = 0
    non_taxonomy: int = 0
    errors: collections.Counter[str] = attrs.field(factory=collections.Counter)
    faults: collections.Counter[str] = attrs.field(factory=collections.Counter)
    queued: collections.Counter[str] = attrs.field(factory=collections.Counter)
    forged_sent: int = 0
    forged_answered: int = 0
    forged_accepted: int = 0
    replayed: int = 0
    reconciled: int = 0
    cli_rows: int = 0


class Soak:
    def __init__(self, params: SoakParams, workdir: Path) -> None:
        self.params = params
        self.workdir = workdir
        self.rng = random.Random(params.seed)
        self.tally = _Tally()
        #: The receiver's inbox once settled: pushes still waiting to be read, and set aside.
        self.inbox: dict[str, int] = {}
        self.outputs = _Outputs()
        self.capture = _Capture()
        self.db = workdir / "soak.db"
        self.port = _free_port()
        self.hook = f"http://127.0.0.1:{self.port}"
        self.itnio = ItnioEmulator(
            speed=params.speed,
            api_secret=secrets.token_urlsafe(24),
            push_retries=3,
            push_retry_interval=params.push_retry_interval,
        )
        self.aicc = AiccEmulator(
            speed=params.speed, app_secret=secrets.token_urlsafe(24), review_delay=5.0
        )
        self.huawei = HuaweiEmulator(
            speed=params.speed,
            app_secret=secrets.token_urlsafe(24),
            push_retry_interval=params.push_retry_interval,
            fee_retries=6,
            max_concurrent_calls=400,
            fee_batch_delay=0.05,
            aicc=self.aicc,
        )
        self.emulators: dict[str, Emulator] = {ITN: self.itnio, HW: self.huawei}
        (workdir / "logs").mkdir()
        self.receiver = _Receiver(workdir / "soak.toml", self.port, workdir / "logs")
        self.settings: dict[str, dict[str, Any]] = {}
        self.receipts: list[tuple[str, str]] = []
        self.started_at = datetime.now(UTC)
        self._progress = asyncio.Condition()

    # -- set-up ----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.itnio.start()
        await self.huawei.start()
        for name, emulator in self.emulators.items():
            settings = emulator.provider_settings()
            settings.update(emulator.push_settings(f"{self.hook}/hooks/{name}"))
            settings.update(timeout=self.params.provider_timeout, rate_limit=2000)
            self.settings[name] = settings
        text = (
            '[gateway]\nroute = ["hw", "itn"]\nretries = 2\nretry_backoff = 0.05\n'
            "max_retry_wait = 1.0\ncooldown = 0.5\n\n"
            + provider_table(HW, self.settings[HW])
            + "\n"
            + provider_table(ITN, self.settings[ITN])
            + f'\n[store]\nurl = "sqlite:///{self.db}"\n'
            + f'\n[webhooks]\npublic_url = "{self.hook}"\n'
        )
        self.receiver.config.write_text(text, encoding="utf-8")
        await self.receiver.start()

    def secrets(self) -> dict[str, str]:
        """Every secret the soak's components hold, by name."""
        found = {
            "itn.api_secret": self.itnio.api_secret,
            "itn.push_token": self.itnio.push_token,
            "hw.app_secret": self.huawei.main_app.app_secret,
            "hw.aicc.app_secret": self.aicc.app_secret,
        }
        for index, token in enumerate(self.aicc.grants):
            found[f"hw.aicc.token[{index}]"] = token
        return found

    # -- sending ---------------------------------------------------------------------------

    def _number(self, i: int) -> str:
        roll = self.rng.random()
        suffix = (
            self.rng.choice(sorted(SCENARIOS)) if roll < 0.3 else f"{self.rng.randint(100, 999)}"
        )
        if suffix in SCENARIOS and roll >= 0.3:
            suffix = "100"
        return f"+86138{i % 100_000:05d}{suffix}"

    def _maybe_fault(self, target: str) -> None:
        if self.rng.random() >= self.params.fault_rate:
            return
        name = target if target != "route" else (HW if self.rng.random() < 0.8 else ITN)
        kind, options = self.rng.choice(FAULT_KINDS)
        options = dict(options)
        if kind is FaultKind.TIMEOUT_AFTER:
            options["seconds"] = self.params.provider_timeout * 1.5
        if kind is FaultKind.PROVIDER_ERROR:
            options["code"] = self.rng.choice(REFUSAL_CODES[name])
        self.emulators[name].inject(kind, path=SEND_PATHS[name], **options)
        self.tally.queued[f"{name}.{kind.value}{options.get('status', '')}"] += 1

    async def _send(self, gateway: VoiceGateway, i: int) -> None:
        roll = self.rng.random()
        target = "route" if roll < 0.4 else (ITN if roll < 0.7 else HW)
        prompt: Any = (
            VerificationCode(f"{i % 10_000:04d}", "en")
            if self.rng.random() < 0.2
            else Speech(TEXT, "en")
        )
        note = VoiceNotification(self._number(i), [prompt], reference=f"soak-{i}")
        self._maybe_fault(target)
        self.tally.sends += 1
        async with self._progress:
            self._progress.notify_all()
        try:
            receipt = await gateway.send(note, provider=None if target == "route" else target)
        except VoiceError as exc:
            self.tally.errors[type(exc).__name__] += 1
            if exc.call_placed is False:
                self.tally.refused += 1
            else:
                self.tally.unknown += 1
        except Exception as exc:
            self.tally.non_taxonomy += 1
            self.tally.errors[f"non-taxonomy {type(exc).__name__}"] += 1
        else:
            self.tally.accepted += 1
            self.receipts.append((receipt.provider, receipt.call_id))

    async def _send_all(self, gateway: VoiceGateway, progress: Callable[[str], None]) -> None:
        counter = iter(range(self.params.sends))
        every = max(1, self.params.sends // 10)

        async def worker() -> None:
            for i in counter:
                await self._send(gateway, i)
                if (i + 1) % every == 0:
                    progress(
                        f"{i + 1} sends: accepted {self.tally.accepted} refused "
                        f"{self.tally.refused} unknown {self.tally.unknown}"
                    )

        await asyncio.gather(*(worker() for _ in range(self.params.concurrency)))

    # -- hostile side tasks ----------------------------------------------------------------

    async def _reach(self, sends: int) -> None:
        """Wait until ``sends`` sends have started."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.tally.sends >= sends)

    async def _kill_receiver_midway(self) -> None:
        # Between two kills the receiver stays up long enough for every re-push of the
        # first outage to land: an outage longer than a provider's re-push window loses
        # records by design (the provider gives up), which is not what this measures.
        quiet = self.params.push_retry_interval * 4
        up_since = 0.0
        for k in range(self.params.receiver_kills):
            target = self.params.sends * (k + 1) // (self.params.receiver_kills + 1)
            await self._reach(target)
            await asyncio.sleep(max(0.0, quiet - (time.monotonic() - up_since)))
            await self.receiver.kill()
            self.tally.faults["receiver_killed"] += 1
            await asyncio.sleep(self.params.downtime)
            await self.receiver.start()
            up_since = time.monotonic()

    async def _skew_clocks(self) -> None:
        for w in range(self.params.skew_windows):
            await self._reach(self.params.sends * (2 * w + 1) // (2 * self.params.skew_windows + 1))
            name = (ITN, HW)[w % 2]
            emulator = self.emulators[name]
            emulator.clock_skew = 3600.0 * (1 if w % 4 < 2 else -1)
            self.tally.faults[f"{name}.clock_skew_window"] += 1
            await asyncio.sleep(0.3)
            emulator.clock_skew = 0.0

    async def _forge(self, session: aiohttp.ClientSession, n: int) -> None:
        """One forged push; counts whether the receiver took it."""
        kind = n % 5
        fake = f"forged{n}"
        real = self.rng.choice(self.receipts) if self.receipts else None
        at = datetime.now(UTC) + timedelta(hours=1)
        stamp = at.strftime("%Y-%m-%d %H:%M:%S")
        hw_target = real[1] if real and real[0] == HW and n % 2 else f"1201_{fake}@forged"
        fee = {
            "eventType": "fee",
            "feeLst": [
                {
                    "sessionId": hw_target,
                    "calleeNum": "+8613800000017",
                    "callOutStartTime": stamp,
                    "callEndTime": stamp,
                    "failTime": stamp,
                    "callOutUnaswRsn": 17,
                    "ulFailReason": 518,
                    "sipStatusCode": 486,
                    "userData": f"forged-{n}",
                    "hostName": "forged.example",
                }
            ],
        }
        url: str
        headers: dict[str, str] = {"Content-Type": "application/json;charset=UTF-8"}
        if kind == 0:  # right shape, wrong secret
            url = f"{self.hook}/hooks/{HW}/record"
            headers = huawei_auth.sign_push_headers(
                self.huawei.main_app.app_key, "not-the-secret", url, now=at, nonce=fake
            )
            body = json.dumps(fee).encode()
        elif kind == 1:  # no signature at all
            url = f"{self.hook}/hooks/{HW}/status"
            body = json.dumps(
                {
                    "eventType": "disconnect",
                    "statusInfo": {"sessionId": hw_target, "timestamp": stamp, "stateCode": 8102},
                }
            ).encode()
        elif kind == 2:  # signed with the right secret, for another address
            url = f"{self.hook}/hooks/{HW}/record"
            headers = huawei_auth.sign_push_headers(
                self.huawei.main_app.app_key,
                self.huawei.main_app.app_secret,
                "https://elsewhere.example/hooks/hw/record",
                now=at,
                nonce=fake,
            )
            body = json.dumps(fee).encode()
        else:  # ITNIO: no token, or a wrong one
            token = "" if kind == 3 else f"?token={secrets.token_urlsafe(24)}"
            url = f"{self.hook}/hooks/{ITN}/record{token}"
            itn_target = real[1] if real and real[0] == ITN and n % 2 else fake
            body = json.dumps(
                {
                    "voiceId": itn_target,
                    "callee": "8613800000017",
                    "submitTime": int(at.timestamp() * 1000),
                    "hangupTime": int(at.timestamp() * 1000),
                    "terminationCode": "486",
                    "sipCode": "486",
                    "calledInfo": f"forged-{n}",
                }
            ).encode()
        self.tally.forged_sent += 1
        for _ in range(50):  # while the receiver is down, try again a little later
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
            except (aiohttp.ClientError, OSError):
                await asyncio.sleep(0.1)
                continue
            self.tally.forged_answered += 1
            if 200 <= resp.status < 300:
                self.tally.forged_accepted += 1
            return

    async def _forger(self) -> None:
        every = self.params.forged_every
        async with aiohttp.ClientSession() as session:
            for n in range(self.params.sends // every):
                await self._reach((n + 1) * every)
                await self._forge(session, n)

    async def _cli(self) -> None:
        """The command line beside the gateway: a bulk run, sends, a record lookup."""
        await self._reach(self.params.sends // 3)
        rows = self.workdir / "campaign.csv"
        with rows.open("w", encoding="utf-8") as handle:
            handle.write("to,text,language,reference\n")
            for i in range(self.params.cli_bulk_rows):
                handle.write(f"+86139{i:05d}{100 + i % 900},{TEXT},en,cli-bulk-{i}\n")
        config = str(self.receiver.config)
        journal = str(self.workdir / "campaign.jsonl")
        self.itnio.inject(FaultKind.MALFORMED, path=SEND_PATHS[ITN], times=2)
        self.huawei.inject(FaultKind.TIMEOUT_AFTER, path=SEND_PATHS[HW], seconds=1.5)
        bulk = await self._run_cli(
            ["bulk", str(rows), "--results", journal, "--config", config, "--json"]
        )
        with contextlib.suppress(ValueError, IndexError):
            summary = json.loads(bulk.strip().splitlines()[-1])
            self.tally.cli_rows += int(summary["accepted"] + summary["refused"])
            self.tally.cli_rows += int(summary["unknown"])
        send = ["send", "--config", config, "--to", "+8613800000100", "--text", TEXT]
        await self._run_cli([*send, "--reference", "cli-send-0"])
        self.itnio.inject(FaultKind.HTTP_ERROR, path=SEND_PATHS[ITN], status=500)
        await self._run_cli([*send, "--reference", "cli-send-1", "-p", ITN, "--json"])
        self.huawei.inject(FaultKind.DROP_AFTER, path=SEND_PATHS[HW])
        await self._run_cli(["-vv", *send, "--reference", "cli-send-2", "-p", HW])
        self.tally.cli_rows += 3
        itn_calls = [call_id for provider, call_id in self.receipts if provider == ITN]
        if itn_calls:
            await self._run_cli(["-vv", "record", itn_calls[0], "-p", ITN, "--config", config])
        await self._run_cli(["providers"])

    async def _run_cli(self, args: list[str]) -> str:
        process = await asyncio.create_subprocess_exec(
            *voicegw_command(),
            *args,
            cwd=self.workdir,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        out, err = await process.communicate()
        text = out.decode(errors="replace")
        self.outputs.add(f"cli {args[0] if args[0] != '-vv' else args[1]}", text)
        self.outputs.add("cli stderr", err.decode(errors="replace"))
        return text

    async def _uploads(self, gateway: VoiceGateway) -> None:
        for i in range(self.params.uploads):
            upload = AudioUpload(data=_wav(), filename=f"soak-{i}.wav", language="zh-CN")
            try:
                await gateway.upload_audio(upload, provider=HW)
            except VoiceError as exc:
                self.tally.errors[f"upload {type(exc).__name__}: {exc.message[:80]}"] += 1
            except Exception as exc:  # counting them is the point
                self.tally.non_taxonomy += 1
                self.tally.errors[f"upload non-taxonomy {type(exc).__name__}"] += 1

    # -- after the sends -------------------------------------------------------------------

    async def _settle(self) -> None:
        """Wait for every call to end and every push (with its re-pushes) to finish."""
        for emulator in self.emulators.values():
            emulator.clear_faults()
            emulator.clock_skew = 0.0
        await asyncio.gather(
            *(emulator.drain(self.params.settle_limit) for emulator in self.emulators.values())
        )
        self.inbox = await self.receiver.drained(self.params.settle_limit)

    async def _replay(self, session: aiohttp.ClientSession) -> None:
        """Genuine pushes again: duplicates, and stale ones after the final record."""
        fraction = self.params.replay_fraction
        app = self.huawei.main_app
        hw_pushes: list[tuple[str, dict[str, Any]]] = [
            ("status", body) for body in self.huawei.status_pushes
        ] + [("record", body) for body in self.huawei.fee_pushes]
        sample = self.rng.sample(hw_pushes, int(len(hw_pushes) * fraction))
        sample.sort(key=lambda item: item[0] == "record", reverse=True)  # stale status last
        for kind, body in sample:
            url = f"{self.hook}/hooks/{HW}/{kind}"
            headers = huawei_auth.sign_push_headers(
                app.app_key, app.app_secret, url, now=datetime.now(UTC), nonce=secrets.token_hex(8)
            )
            await self._post(session, url, json.dumps(body).encode(), headers)
        calls = [c for c in self.itnio.calls.values() if c.ended is not None]
        for call in self.rng.sample(calls, int(len(calls) * fraction)):
            final = call.wire(
                push=True,
                bill_period=self.itnio.bill_period,
                currency=self.itnio.currency,
                quote_exchange=self.itnio.quote_exchange,
            )
            stale = {**final, "hangupTime": None, "terminationCode": "", "sipCode": ""}
            stale.update(answerTime=None, callDuration=0, cost="")
            assert self.itnio.push_url is not None
            for record in (final, stale, final):
                await self._post(session, self.itnio.push_url, json.dumps(record).encode(), {})

    async def _post(
        self, session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
    ) -> None:
        headers = {"Content-Type": "application/json;charset=UTF-8", **headers}
        try:
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
        except (aiohttp.ClientError, OSError):
            return  # not delivered: not a replay
        self.tally.replayed += 1
        self.tally.faults["push_replayed"] += 1

    async def _reconcile(self, gateway: VoiceGateway, store: SQLiteStore) -> None:
        """ITNIO can be asked: query every record of the run and store what is missing."""
        provider: Any = gateway.provider(ITN)
        start = self.started_at - timedelta(minutes=1)
        end = datetime.now(UTC) + timedelta(minutes=1)
        async for record in provider.iter_records(start, end):
            stored = await store.get_record(ITN, record.call_id)
            if stored is not None and stored.status.is_final:
                continue
            event = CallEvent(
                kind=EventKind.RECORD,
                call_id=record.call_id,
                provider=ITN,
                at=record.ended_at,
                record=record,
                reference=record.reference,
                raw=record.raw,
            )
            await store.save_events([event], plugin=record.plugin)
            self.tally.reconciled += 1

    # -- the verdict -----------------------------------------------------------------------

    async def _verdict(self, store: SQLiteStore) -> dict[str, Any]:
        placed = [(ITN, p) for p in self.itnio.placed] + [(HW, p) for p in self.huawei.placed]
        references = collections.Counter(p.reference for _, p in placed if p.reference)
        duplicate_calls = sum(n - 1 for n in references.values() if n > 1)
        lost: list[str] = []
        wrong: list[str] = []
        doubled = 0
        for name, call in placed:
            record = await store.get_record(name, call.call_id)
            if record is None or not record.status.is_final:
                lost.append(f"{name}:{call.call_id}")
                continue
            expected: CallStatus = scenario_for(call.callee).status
            if record.status is not expected and record.status is not CallStatus.CANCELED:
                wrong.append(f"{name}:{call.call_id} {record.status.value} != {expected.value}")
            events = await store.get_events(name, call.call_id)
            seen = collections.Counter(
                (e.kind.value, json.dumps(dict(e.raw), sort_keys=True, default=str)) for e in events
            )
            doubled += sum(n - 1 for n in seen.values() if n > 1)
        forged_stored = 0
        for record in await store.find_records():
            raw = json.dumps(dict(record.raw), default=str)
            if (record.reference or "").startswith("forged") or "forged" in raw:
                forged_stored += 1
        texts = self.outputs.joined()
        texts["logs (this process)"] = "\n".join(self.capture.lines)
        texts["receiver logs"] = self.receiver.output()
        leaks = {
            f"{name} in {source}": text.count(value)
            for name, value in self.secrets().items()
            for source, text in texts.items()
            if value and value in text
        }
        non_taxonomy = {
            f"{marker!r} in {source}": text.count(marker)
            for source, text in texts.items()
            for marker in NON_TAXONOMY_MARKERS + (CLI_MARKERS if source.startswith("cli") else ())
            if marker in text
        }
        accepted = {call_id for _, call_id in self.receipts}
        unknown_placed = sum(
            1
            for _, call in placed
            if call.call_id not in accepted and (call.reference or "").startswith("soak-")
        )
        faults = dict(self.tally.faults)
        for name, emulator in self.emulators.items():
            faults[f"{name}.switches_triggered"] = emulator.faults_injected
        faults = {key: value for key, value in faults.items() if value}
        faults["forged_push"] = self.tally.forged_sent
        sends = self.tally.sends + self.tally.cli_rows
        return {
            "sends": sends,
            "faults_injected": sum(faults.values()),
            "duplicate_calls": duplicate_calls,
            "non_taxonomy_errors": self.tally.non_taxonomy + sum(non_taxonomy.values()),
            "records_lost": len(lost),
            "pushes_doubled": doubled,
            "forged_pushes_accepted": self.tally.forged_accepted + forged_stored,
            "secrets_leaked": sum(leaks.values()),
            "details": {
                "calls_placed": len(placed),
                "gateway_sends": self.tally.sends,
                "cli_sends": self.tally.cli_rows,
                "accepted": self.tally.accepted,
                "refused_not_placed": self.tally.refused,
                "outcome_unknown": self.tally.unknown,
                "unknown_but_placed": unknown_placed,
                "errors": dict(self.tally.errors),
                "faults": faults,
                "fault_switches_queued": dict(sorted(self.tally.queued.items())),
                "forged_pushes": {
                    "sent": self.tally.forged_sent,
                    "answered": self.tally.forged_answered,
                    "accepted": self.tally.forged_accepted,
                    "stored": forged_stored,
                },
                "pushes_replayed": self.tally.replayed,
                "itnio_records_reconciled_by_query": self.tally.reconciled,
                "receiver": {
                    "starts": self.receiver.starts,
                    "kills": self.receiver.kills,
                    "inbox_after_settling": self.inbox,
                },
                "final_status_wrong": len(wrong),
                "final_status_wrong_sample": wrong[:5],
                "records_lost_sample": lost[:5],
                "secrets_checked": sorted(self.secrets()),
                "secret_hits": leaks,
                "non_taxonomy_hits": non_taxonomy,
                "captured_log_lines": len(self.capture.lines),
                "captured_output_chars": sum(len(t) for t in texts.values()),
            },
        }

    # -- the whole run ---------------------------------------------------------------------

    async def run(self, progress: Callable[[str], None]) -> dict[str, Any]:
        started = time.monotonic()
        store = SQLiteStore(str(self.db))
        await self.start()
        try:
            config = load_config(self.receiver.config)
            gateway = VoiceGateway(config, store=store)
            async with gateway:
                progress(f"receiver on {self.hook}; sending {self.params.sends}")
                side: list[Awaitable[Any]] = [
                    self._kill_receiver_midway(),
                    self._skew_clocks(),
                    self._forger(),
                    self._cli(),
                    self._uploads(gateway),
                ]
                tasks = [asyncio.ensure_future(coro) for coro in side]
                try:
                    await self._send_all(gateway, progress)
                    await asyncio.gather(*tasks)
                finally:
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                progress("sends done; letting calls end and pushes settle")
                await self._settle()
                async with aiohttp.ClientSession() as session:
                    await self._replay(session)
                await self._settle()
                progress("reconciling ITNIO records by query")
                try:
                    await self._reconcile(gateway, store)
                except VoiceError as exc:  # what it could not fetch shows in records_lost
                    self.tally.errors[f"reconcile {type(exc).__name__}"] += 1
                except Exception as exc:  # counting them is the point
                    self.tally.non_taxonomy += 1
                    self.tally.errors[f"reconcile non-taxonomy {type(exc).__name__}"] += 1
                verdict = await self._verdict(store)
        finally:
            await self.receiver.stop()
            for emulator in (*self.emulators.values(), self.aicc):
                await emulator.close()
        verdict["seconds"] = round(time.monotonic() - started, 1)
        return verdict


async def run_soak(
    params: SoakParams, workdir: Path, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run the soak in ``workdir`` (which it fills); the report."""
    soak = Soak(params, workdir)
    lines: list[str] = []

    def say(text: str) -> None:
        lines.append(text)
        if progress is not None:
            progress(text)

    root = logging.getLogger()
    level = root.level
    root.addHandler(soak.capture)
    root.setLevel(logging.DEBUG)
    try:
        report = await soak.run(say)
    finally:
        root.removeHandler(soak.capture)
        root.setLevel(level)
    # What the soak itself printed is output too.
    for name, value in soak.secrets().items():
        if any(value in line for line in lines):
            report["secrets_leaked"] += 1
            report["details"]["secret_hits"][f"{name} in soak output"] = 1
    return report


def run_fuzz(examples: int) -> dict[str, Any]:
    """The hypothesis suites for every parser and mapper, at ``examples`` examples each."""
    import subprocess

    env = {**os.environ, "VOICEGW_FUZZ_EXAMPLES": str(examples)}
    command = [
        PYTHON,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/integration/test_fuzz.py",
    ]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    return {
        "examples_per_test": examples,
        "passed": done.returncode == 0,
        "summary": tail,
        "seconds": round(time.monotonic() - started, 1),
        "failures": done.stdout[-4000:] if done.returncode else "",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--sends", type=int, default=SoakParams().sends)
    parser.add_argument("--fuzz-examples", type=int, default=1500)
    parser.add_argument("--no-fuzz", action="store_true", help="skip the fuzz suites")
    parser.add_argument("--output", default=str(Path(__file__).parent / "reliability.json"))
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    params = attrs.evolve(SoakParams(), sends=args.sends)

    def progress(text: str) -> None:
        sys.stderr.write(f"soak: {text}\n")
        sys.stderr.flush()

    workdir = Path(tempfile.mkdtemp(prefix="voicegw-soak-"))
    try:
        report = asyncio.run(run_soak(params, workdir, progress))
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
        else:
            progress(f"work directory kept: {workdir}")
    report["machine"] = machine()
    report["params"] = attrs.asdict(params)
    if not args.no_fuzz:
        progress(f"fuzzing every parser and mapper, {args.fuzz_examples} examples each")
        report["fuzz"] = run_fuzz(args.fuzz_examples)
    failed = [field for field in MUST_BE_ZERO if report[field]]
    if report.get("fuzz") and not report["fuzz"]["passed"]:
        failed.append("fuzz")
    if report["sends"] < params.sends:
        failed.append("sends")
    report["passed"] = not failed
    Path(args.output).write_text(json.dumps(report, indent=2, default=str) + "\n")
    summary = {key: report[key] for key in ("sends", "faults_injected", *MUST_BE_ZERO)}
    print(json.dumps(summary, indent=2))
    print(f"{'PASSED' if not failed else 'FAILED: ' + ', '.join(failed)}  → {args.output}")
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
