"""``bulk_rss_growth_10k_to_100k``: peak RSS of ``voicegw bulk`` over 100k rows ÷ over 10k.

``voicegw bulk --quiet`` runs against the ITNIO emulator (a process of its own whose memory is
not measured; it holds every call) with the default concurrency. Each run happens under a
fresh helper process whose only child is the command, so the helper's
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the command's peak resident set, nothing else's.
Constant memory means a ratio near 1.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import PYTHON, ROOT, EmulatorProcess, emulator_process, voicegw_command
from bench.throughput import write_config, write_rows


def peak_rss_kib(command: list[str]) -> tuple[int, float, str]:
    """Run ``command`` under a fresh helper; its peak RSS (KiB), wall time and stdout."""
    helper = [PYTHON, "-m", "bench.rss", "--measure", "--", *command]
    done = subprocess.run(helper, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"measuring {command[:3]} failed: {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return int(report["maxrss_kib"]), float(report["seconds"]), str(report["stdout"])


def bulk_rss(emulator: EmulatorProcess, rows: int, tmp: Path) -> dict[str, Any]:
    tag = f"rss{rows}"
    source = write_rows(tmp / f"{tag}.csv", rows, tag)
    config = write_config(tmp / f"{tag}.toml", emulator, tmp / f"{tag}.db")
    command = [
        *voicegw_command(),
        "bulk",
        str(source),
        "--results",
        str(tmp / f"{tag}.jsonl"),
        "--config",
        str(config),
        "--quiet",
        "--json",
    ]
    kib, seconds, stdout = peak_rss_kib(command)
    summary = json.loads(stdout.strip().splitlines()[-1])
    if summary["accepted"] != rows:
        raise RuntimeError(f"voicegw bulk accepted {summary['accepted']} of {rows}")
    return {"rows": rows, "peak_rss_mib": round(kib / 1024, 1), "seconds": round(seconds, 1)}


def run(small: int = 10_000, large: int = 100_000) -> dict[str, Any]:
    with (
        emulator_process("itniotech") as emulator,
        tempfile.TemporaryDirectory(prefix="voicegw-bench-") as tmp,
    ):
        low = bulk_rss(emulator, small, Path(tmp))
        high = bulk_rss(emulator, large, Path(tmp))
    return {
        "ratio": high["peak_rss_mib"] / low["peak_rss_mib"],
        "small": low,
        "large": high,
        "concurrency": 20,
    }


def _measure(command: list[str]) -> None:
    """The helper's side: run the command, report its peak RSS as one JSON line."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(done.returncode)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = {"maxrss_kib": usage.ru_maxrss, "seconds": seconds, "stdout": done.stdout}
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--measure" and sys.argv[2] == "--":
        _measure(sys.argv[3:])
    else:
        print(json.dumps(run(), indent=2))
