"""``throughput_vs_sequential_sample_client``: ``voicegw bulk`` ÷ a client like the samples.

Both place calls on the ITNIO emulator set to answer each request after 50 ms, as a provider
across the internet would:

* **sample client** — what the providers' published samples do: one blocking request at a
  time, a new connection for each (``urllib.request``), the ``Sign`` header computed per
  request;
* **voicegw bulk** — the command, ``voicegw bulk rows.csv --concurrency 100 --quiet``, in a
  process of its own, timed from start to exit (interpreter start-up, config, the journal
  with its fsync per row and the SQLite store included).

Calls per second of each; rounds interleave the two; the ratio is the median of the rounds'.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench._common import ROOT, EmulatorProcess, emulator_process, median, voicegw_command

LATENCY = 0.05
TEXT = "Your parcel arrives today between 9 and 11"


def write_rows(path: Path, count: int, tag: str) -> Path:
    """A campaign CSV of ``count`` recipients (answered-scenario numbers)."""
    with path.open("w", encoding="utf-8") as handle:
        handle.write("to,text,language,reference\n")
        for i in range(count):
            handle.write(f"+8613{i:09d},{TEXT},en,{tag}-{i}\n")
    return path


def write_config(path: Path, emulator: EmulatorProcess, store: Path) -> Path:
    path.write_text(
        "[gateway]\nretries = 0\n\n" + emulator.table + f'\n[store]\nurl = "sqlite:///{store}"\n',
        encoding="utf-8",
    )
    return path


def sequential_round(settings: dict[str, Any], count: int, tag: str) -> float:
    """Calls per second of a sample-style client: blocking, one at a time, new connections."""
    key, secret, app_id = settings["api_key"], settings["api_secret"], settings["app_id"]
    url = settings["base_url"] + "/voice/sendCode"
    display = settings["caller_id"].lstrip("+")
    started = time.perf_counter()
    for i in range(count):
        timestamp = str(int(time.time()))
        sign = hashlib.md5(f"{key}{secret}{timestamp}".encode(), usedforsecurity=False)
        body = json.dumps(
            {
                "callee": f"8613{i:09d}",
                "displayNum": display,
                "language": "EN",
                "text": TEXT,
                "appId": app_id,
                "calledInfo": f"{tag}-{i}",
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback emulator
            url,
            data=body,
            headers={
                "Content-Type": "application/json;charset=UTF-8",
                "Sign": sign.hexdigest(),
                "Timestamp": timestamp,
                "Api-Key": key,
                "Connection": "close",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            answer = json.loads(response.read())
        if answer.get("status") != "0":
            raise RuntimeError(f"refused: {answer}")
    return count / (time.perf_counter() - started)


def bulk_round(emulator: EmulatorProcess, count: int, tag: str, tmp: Path) -> float:
    """Calls per second of ``voicegw bulk --concurrency 100``, process start to exit."""
    rows = write_rows(tmp / f"{tag}.csv", count, tag)
    config = write_config(tmp / f"{tag}.toml", emulator, tmp / f"{tag}.db")
    journal = tmp / f"{tag}.jsonl"
    command = [
        *voicegw_command(),
        "bulk",
        str(rows),
        "--results",
        str(journal),
        "--config",
        str(config),
        "--concurrency",
        "100",
        "--quiet",
        "--json",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"voicegw bulk failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    if summary["accepted"] != count:
        raise RuntimeError(f"voicegw bulk accepted {summary['accepted']} of {count}")
    return count / elapsed


def run(rounds: int = 3, sequential: int = 40, bulk: int = 3000) -> dict[str, Any]:
    """The ratio and the rates behind it."""
    seq_rates: list[float] = []
    bulk_rates: list[float] = []
    ratios: list[float] = []
    with (
        emulator_process("itniotech", latency=LATENCY) as emulator,
        tempfile.TemporaryDirectory(prefix="voicegw-bench-") as tmp,
    ):
        settings = emulator.settings
        for r in range(rounds):
            if r % 2 == 0:
                seq = sequential_round(settings, sequential, f"seq{r}")
                ours = bulk_round(emulator, bulk, f"bulk{r}", Path(tmp))
            else:
                ours = bulk_round(emulator, bulk, f"bulk{r}", Path(tmp))
                seq = sequential_round(settings, sequential, f"seq{r}")
            seq_rates.append(seq)
            bulk_rates.append(ours)
            ratios.append(ours / seq)
    return {
        "ratio": median(ratios),
        "rounds": [round(x, 2) for x in ratios],
        "latency_s": LATENCY,
        "sequential_calls": sequential,
        "bulk_calls": bulk,
        "sequential_calls_per_s": round(median(seq_rates), 2),
        "bulk_calls_per_s": round(median(bulk_rates), 1),
        "bulk_concurrency": 100,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
