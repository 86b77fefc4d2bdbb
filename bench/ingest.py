"""``webhook_ingest_vs_raw_sqlite``: CDRs per second through the receiver ÷ raw SQLite inserts.

* **receiver** — ``voicegw serve`` (a process of its own, a ``huawei`` provider, the SQLite
  store, default settings: ``webhooks.ingest = "queued"``) receives Huawei fee pushes of 50
  CDRs each over HTTP: every push is signed (``X-AKSK``, fresh nonce) for the URL it is
  posted to and verified by the receiver, stored durably in the inbox (de-duplicated by its
  digest) and acknowledged. The rate is CDRs acknowledged per second — what the provider
  sees. The pusher (this process, four pushes in flight) signs every push before the clock
  starts.
* **materialised** (reported, not the ratio) — the clock runs on until the receiver's
  background reader has parsed every CDR into a record, de-duplicated it against what is
  stored (``event_key``), stored it as an event and merged it into its record: the
  sustained rate, for a stream that never lets up. ``inline_cdrs_per_s`` is the same
  receiver with ``webhooks.ingest = "inline"`` (parse, store, then acknowledge).
* **raw SQLite** — the same CDRs as rows ``(provider, call_id, status, started_at,
  answered_at, ended_at, cdr JSON)`` built before the clock starts, inserted with one
  ``executemany`` (``INSERT OR IGNORE`` on the ``(provider, call_id)`` key) and one
  transaction per 50-row push, into a file in WAL mode with ``synchronous = NORMAL`` — the
  store's own durability settings.

Rounds interleave the two, each with fresh CDRs; the ratio is the median of the rounds'.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench._common import ROOT, median, voicegw_command
from voicegw_huawei import auth

APP_KEY = "benchIngestAppKey01"
APP_SECRET = "benchIngestS3cr3tS3cr3t"  # noqa: S105 - a throwaway for loopback only
PROVIDER = "hw"
BATCH = 50
IN_FLIGHT = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cdr(i: int, tag: str, at: datetime) -> dict[str, Any]:
    """One CDR of an answered notification call, shaped as the platform sends it."""

    def t(seconds: int) -> str:
        return (at + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")

    session = f"1201_{tag}{i}_4294967295_{at:%Y%m%d%H%M%S}@callenabler245.huaweicaas.com"
    return {
        "direction": 0,
        "spId": "sp_bench",
        "appKey": APP_KEY,
        "icid": f"ims.bench.{tag}{i}",
        "bindNum": "+862000000000",
        "sessionId": session,
        "callerNum": "+862000000000",
        "calleeNum": f"+8613{i % 10**9:09d}",
        "callInTime": t(0),
        "callOutStartTime": t(0),
        "callOutAlertingTime": t(1),
        "callOutAnswerTime": t(5),
        "callEndTime": t(17),
        "callOutUnaswRsn": 0,
        "ulFailReason": 0,
        "sipStatusCode": 0,
        "serviceType": "001",
        "hostName": "callenabler245.huaweicaas.com",
        "dynIVRStartTime": t(5),
        "ttsPlayTimes": 1,
        "userData": f"{tag}-{i}",
    }


def pushes(count: int, tag: str) -> list[list[dict[str, Any]]]:
    at = datetime.now(UTC).replace(microsecond=0)
    return [[cdr(p * BATCH + j, tag, at) for j in range(BATCH)] for p in range(count)]


@contextmanager
def receiver(tmp: Path, ingest: str = "queued") -> Iterator[str]:
    """``voicegw serve`` on a free port with a huawei provider and a SQLite store."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp / f"serve-{ingest}.toml"
    config.write_text(
        f"""
[providers.{PROVIDER}]
plugin = "huawei"
base_url = "http://127.0.0.1:9"
app_key = "{APP_KEY}"
app_secret = "{APP_SECRET}"

[store]
url = "sqlite:///{tmp / f"receiver-{ingest}.db"}"

[webhooks]
public_url = "{base}"
ingest = "{ingest}"
""",
        encoding="utf-8",
    )
    command = [*voicegw_command(), "serve", "--config", str(config), "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    _, err = process.communicate()
                    raise RuntimeError(f"voicegw serve did not start: {err[-2000:]}") from None
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


async def _drained(session: aiohttp.ClientSession, base: str) -> None:
    """Until the receiver's inbox holds no push waiting to be read."""
    while True:
        async with session.get(f"{base}/healthz") as resp:
            health = await resp.json()
        if health.get("failed"):
            raise RuntimeError(f"the receiver set pushes aside: {health}")
        if not health.get("queued"):
            return
        await asyncio.sleep(0.005)


async def _post_all(base: str, batches: list[list[dict[str, Any]]]) -> tuple[float, float]:
    """Seconds until every push was acknowledged, and until every CDR was read."""
    url = f"{base}/hooks/{PROVIDER}/record"
    now = datetime.now(UTC)
    signed = [
        (
            json.dumps({"eventType": "fee", "feeLst": batch}, separators=(",", ":")).encode(),
            auth.sign_push_headers(APP_KEY, APP_SECRET, url, now=now, nonce=auth.new_nonce()),
        )
        for batch in batches
    ]
    queue = iter(signed)
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            for body, headers in queue:
                async with session.post(url, data=body, headers=headers) as resp:
                    reply = await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"push refused: {resp.status} {reply[:200]!r}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        acknowledged = time.perf_counter() - started
        await _drained(session, base)
        return acknowledged, time.perf_counter() - started


def receiver_round(base: str, count: int, tag: str) -> tuple[float, float]:
    """CDRs per second acknowledged by the receiver, and read into records."""
    batches = pushes(count, tag)
    acknowledged, read = asyncio.run(_post_all(base, batches))
    return count * BATCH / acknowledged, count * BATCH / read


def open_raw(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(
        """CREATE TABLE IF NOT EXISTS cdrs (
            provider    TEXT NOT NULL,
            call_id     TEXT NOT NULL,
            status      TEXT NOT NULL,
            started_at  TEXT,
            answered_at TEXT,
            ended_at    TEXT,
            cdr         TEXT NOT NULL,
            PRIMARY KEY (provider, call_id)
        )"""
    )
    return connection


def raw_round(connection: sqlite3.Connection, count: int, tag: str) -> float:
    """CDRs per second of hand-written inserts: executemany, one transaction per push."""
    rows = [
        [
            (
                PROVIDER,
                c["sessionId"],
                "completed",
                c["callOutStartTime"],
                c["callOutAnswerTime"],
                c["callEndTime"],
                json.dumps(c, separators=(",", ":")),
            )
            for c in batch
        ]
        for batch in pushes(count, tag)
    ]
    started = time.perf_counter()
    for batch_rows in rows:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT OR IGNORE INTO cdrs VALUES (?, ?, ?, ?, ?, ?, ?)", batch_rows
        )
        connection.execute("COMMIT")
    return count * BATCH / (time.perf_counter() - started)


def run(rounds: int = 5, count: int = 60) -> dict[str, Any]:
    """The ratio and the rates behind it (``count`` pushes of 50 CDRs per round)."""
    ours: list[float] = []
    read: list[float] = []
    inline: list[float] = []
    raw: list[float] = []
    ratios: list[float] = []
    with (
        tempfile.TemporaryDirectory(prefix="voicegw-bench-") as tmp,
        receiver(Path(tmp)) as base,
        receiver(Path(tmp), "inline") as inline_base,
    ):
        connection = open_raw(Path(tmp) / "raw.db")
        try:
            receiver_round(base, 4, "warm")
            receiver_round(inline_base, 4, "warm")
            raw_round(connection, 4, "warm")
            for r in range(rounds):
                if r % 2 == 0:
                    a, m = receiver_round(base, count, f"r{r}x")
                    b = raw_round(connection, count, f"r{r}x")
                else:
                    b = raw_round(connection, count, f"r{r}x")
                    a, m = receiver_round(base, count, f"r{r}x")
                inline.append(receiver_round(inline_base, count, f"r{r}i")[0])
                ours.append(a)
                read.append(m)
                raw.append(b)
                ratios.append(a / b)
        finally:
            connection.close()
    return {
        "ratio": median(ratios),
        "rounds": [round(x, 4) for x in ratios],
        "pushes_per_round": count,
        "cdrs_per_push": BATCH,
        "pushes_in_flight": IN_FLIGHT,
        "receiver_cdrs_per_s": round(median(ours), 1),
        "raw_sqlite_rows_per_s": round(median(raw), 1),
        "materialised_cdrs_per_s": round(median(read), 1),
        "materialised_vs_raw_sqlite": round(median(read) / median(raw), 4),
        "inline_cdrs_per_s": round(median(inline), 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
