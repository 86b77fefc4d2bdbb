"""The reduced soak: hundreds of sends through the gateway and the receiver, faults on.

The full one is ``make soak`` (``python -m bench.soak``); this one runs the same code with
fewer sends, one receiver kill and shorter waits, and holds it to the same guarantees.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: bench/

from bench.soak import MUST_BE_ZERO, SoakParams, run_soak

pytestmark = pytest.mark.soak


async def test_the_reduced_soak_keeps_every_guarantee(tmp_path: Path) -> None:
    params = SoakParams.small()
    report = await run_soak(params, tmp_path)
    details = report["details"]
    assert report["sends"] >= params.sends
    # the faults really happened: transport faults, refusals, a kill, forgeries, replays
    assert details["faults"]["receiver_killed"] == 1
    assert details["receiver"]["starts"] == 2
    assert details["forged_pushes"]["answered"] >= 1
    assert details["pushes_replayed"] >= 1
    assert details["outcome_unknown"] >= 1
    assert details["refused_not_placed"] + details["outcome_unknown"] < report["sends"]
    assert report["faults_injected"] >= 20
    # the guarantees
    for field in MUST_BE_ZERO:
        assert report[field] == 0, (field, details)
    assert details["final_status_wrong"] == 0, details["final_status_wrong_sample"]
    assert details["calls_placed"] >= params.sends // 2
    assert "itn.api_secret" in details["secrets_checked"]
    assert "hw.app_secret" in details["secrets_checked"]
