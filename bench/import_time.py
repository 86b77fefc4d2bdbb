"""``import_time_vs_aiohttp``: ``python -c "import voicegw"`` ÷ ``python -c "import aiohttp"``.

Each is a fresh interpreter, timed from spawn to exit (so interpreter start-up is in both);
the two alternate, 20 runs each, and the ratio is of the medians. voicegw imports aiohttp
itself, so this is aiohttp plus everything voicegw adds (attrs, cattrs, phonenumbers' lazy
metadata, pluggy, aiolimiter, the models, the taxonomy). Plugins are not loaded at import.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from bench._common import PYTHON, ROOT, median


def _once(module: str) -> float:
    started = time.perf_counter()
    subprocess.run([PYTHON, "-c", f"import {module}"], cwd=ROOT, check=True)
    return time.perf_counter() - started


def run(runs: int = 20) -> dict[str, Any]:
    _once("voicegw")  # warm the file cache for both
    _once("aiohttp")
    ours: list[float] = []
    theirs: list[float] = []
    for r in range(runs):
        if r % 2 == 0:
            ours.append(_once("voicegw"))
            theirs.append(_once("aiohttp"))
        else:
            theirs.append(_once("aiohttp"))
            ours.append(_once("voicegw"))
    # the interpreter's own start-up, shown next to the figures
    bare: list[float] = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([PYTHON, "-c", "pass"], cwd=ROOT, check=True)
        bare.append(time.perf_counter() - started)
    return {
        "ratio": median(ours) / median(theirs),
        "runs": runs,
        "voicegw_ms": round(median(ours) * 1000, 1),
        "aiohttp_ms": round(median(theirs) * 1000, 1),
        "bare_interpreter_ms": round(median(bare) * 1000, 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
