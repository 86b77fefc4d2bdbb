"""``make bench``: measure voicegw against hand-written baselines, print a table, write JSON.

Every ratio comes from one run of this command: baseline and voicegw rounds interleaved,
medians of the rounds. Results go to ``bench/results.json`` (or ``--output``) with the
absolute figures and the machine next to them.

``python -m bench --quick`` runs smaller rounds (a smoke test of the harness, not figures).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import import_time, ingest, rss, send_overhead, throughput
from bench._common import machine

#: name → (goal text, goal check)
GOALS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "send_overhead_vs_raw_aiohttp": ("≤ 1.15", lambda r: r <= 1.15),
    "throughput_vs_sequential_sample_client": ("≥ 20", lambda r: r >= 20),
    "webhook_ingest_vs_raw_sqlite": ("≥ 0.5", lambda r: r >= 0.5),
    "bulk_rss_growth_10k_to_100k": ("≤ 1.2", lambda r: r <= 1.2),
    "import_time_vs_aiohttp": ("≤ 1.3", lambda r: r <= 1.3),
}


def _benchmarks(quick: bool) -> dict[str, Callable[[], dict[str, Any]]]:
    if quick:
        return {
            "send_overhead_vs_raw_aiohttp": lambda: send_overhead.run(rounds=2, n=300),
            "throughput_vs_sequential_sample_client": lambda: throughput.run(
                rounds=1, sequential=10, bulk=300
            ),
            "webhook_ingest_vs_raw_sqlite": lambda: ingest.run(rounds=2, count=6),
            "bulk_rss_growth_10k_to_100k": lambda: rss.run(small=500, large=2000),
            "import_time_vs_aiohttp": lambda: import_time.run(runs=4),
        }
    return {
        "send_overhead_vs_raw_aiohttp": send_overhead.run,
        "throughput_vs_sequential_sample_client": throughput.run,
        "webhook_ingest_vs_raw_sqlite": ingest.run,
        "bulk_rss_growth_10k_to_100k": rss.run,
        "import_time_vs_aiohttp": import_time.run,
    }


def _figures(details: dict[str, Any]) -> str:
    return ", ".join(
        f"{key} {value}"
        for key, value in details.items()
        if key not in ("ratio", "rounds") and not isinstance(value, dict)
    )


def table(results: dict[str, Any]) -> str:
    """The results as a fixed-width table."""
    rows = [("ratio", "value", "goal", "met")]
    for name, (goal, _) in GOALS.items():
        ratio = results["ratios"].get(name)
        met = results["goals_met"].get(name)
        value = "—" if ratio is None else f"{ratio:.3f}"
        rows.append((name, value, goal, "yes" if met else "NO"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small rounds: check the harness")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results.json"))
    parser.add_argument("--only", action="append", help="run only this ratio (repeatable)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results: dict[str, Any] = {
        "machine": machine(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "ratios": {},
        "goals": {name: goal for name, (goal, _) in GOALS.items()},
        "goals_met": {},
        "details": {},
    }
    for name, bench in _benchmarks(args.quick).items():
        if args.only and name not in args.only:
            continue
        sys.stderr.write(f"bench: {name} …\n")
        sys.stderr.flush()
        t0 = time.monotonic()
        details = bench()
        details["seconds"] = round(time.monotonic() - t0, 1)
        ratio = round(float(details["ratio"]), 4)
        results["ratios"][name] = ratio
        results["goals_met"][name] = GOALS[name][1](ratio)
        results["details"][name] = details
        sys.stderr.write(f"bench: {name} = {ratio:.3f}  ({_figures(details)})\n")
    results["seconds"] = round(time.monotonic() - started, 1)
    Path(args.output).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nmachine: {results['machine']}")
    print(f"written to {args.output} in {results['seconds']}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
