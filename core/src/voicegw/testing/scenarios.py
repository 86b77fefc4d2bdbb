"""The scenario table: the callee's last three digits decide how an emulated call ends.

One table serves the sandbox and every emulator; each renders the outcome in its own
provider's codes (ITNIO as SIP responses, Huawei as Q.850 causes and stateCodes).

====== =============== ===== ===== ===========================
suffix outcome         Q.850 SIP   status
====== =============== ===== ===== ===========================
…017   busy            17    486   busy
…019   no answer       19    480   no_answer
…021   rejected        21    603   rejected
…001   invalid number  1     404   failed (invalid_number)
…020   unreachable     20    502   failed (unreachable)
…034   congestion      34    503   failed (congestion)
…038   network error   38    500   failed (network_error)
other  answered        16    200   completed; presses ``1`` when digits are collected
====== =============== ===== ===== ===========================

>>> scenario_for("+8613800000017").name
'busy'
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from voicegw.causes import from_q850, status_for
from voicegw.models import CallStatus, HangupCategory

__all__ = ["ANSWERED", "SCENARIOS", "Scenario", "scenario_for"]


@attrs.frozen
class Scenario:
    """How an emulated call ends, in provider-neutral terms.

    ``q850`` is the cause as a Q.850-speaking provider reports it, ``sip`` the final response
    a SIP-speaking provider reports; both land on ``category``. Durations are simulated seconds.
    """

    name: str
    q850: int
    sip: int
    answered: bool = False
    digits: str | None = None
    ring_seconds: int = 4
    talk_seconds: int = 0

    @property
    def category(self) -> HangupCategory:
        """The hang-up category every provider's rendering must map back to."""
        return HangupCategory.NORMAL if self.answered else from_q850(self.q850).category

    @property
    def status(self) -> CallStatus:
        """The final status the normalized record must show."""
        return status_for(from_q850(self.q850), answered=self.answered)


#: The default outcome: the callee answers, listens, presses ``1`` if asked, hangs up.
ANSWERED = Scenario("answered", q850=16, sip=200, answered=True, digits="1", talk_seconds=12)

#: Suffix → scenario for every failing outcome.
SCENARIOS: dict[str, Scenario] = {
    "017": Scenario("busy", q850=17, sip=486, ring_seconds=0),
    "019": Scenario("no_answer", q850=19, sip=480, ring_seconds=60),
    "021": Scenario("rejected", q850=21, sip=603, ring_seconds=6),
    "001": Scenario("invalid_number", q850=1, sip=404, ring_seconds=0),
    "020": Scenario("unreachable", q850=20, sip=502, ring_seconds=0),
    "034": Scenario("congestion", q850=34, sip=503, ring_seconds=0),
    "038": Scenario("network_error", q850=38, sip=500, ring_seconds=0),
}


def scenario_for(number: str) -> Scenario:
    """The scenario for a callee number (any format: only its last three digits count)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return SCENARIOS.get(digits[-3:], ANSWERED)


def all_scenarios() -> Iterator[tuple[str | None, Scenario]]:
    """Every scenario with its suffix (None for the default, answered)."""
    yield None, ANSWERED
    yield from SCENARIOS.items()


def number_for(scenario: str, prefix: str = "+8613800000") -> str:
    """A callee number that triggers ``scenario`` (by name), built on ``prefix``."""
    if scenario == ANSWERED.name:
        return prefix + "100"
    for suffix, candidate in SCENARIOS.items():
        if candidate.name == scenario:
            return prefix + suffix
    raise KeyError(scenario)
