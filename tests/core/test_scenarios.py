"""The scenario table that the sandbox and every emulator share."""

from __future__ import annotations

import pytest

from voicegw.causes import from_q850, from_sip
from voicegw.models import CallStatus, HangupCategory
from voicegw.testing import ANSWERED, SCENARIOS, Scenario, scenario_for
from voicegw.testing.scenarios import all_scenarios, number_for

#: DESIGN.md: the callee's last three digits name a Q.850 cause.
DESIGN_TABLE = {
    "017": ("busy", 17, 486, CallStatus.BUSY, HangupCategory.BUSY),
    "019": ("no_answer", 19, 480, CallStatus.NO_ANSWER, HangupCategory.NO_ANSWER),
    "021": ("rejected", 21, 603, CallStatus.REJECTED, HangupCategory.REJECTED),
    "001": ("invalid_number", 1, 404, CallStatus.FAILED, HangupCategory.INVALID_NUMBER),
    "020": ("unreachable", 20, 502, CallStatus.FAILED, HangupCategory.UNREACHABLE),
    "034": ("congestion", 34, 503, CallStatus.FAILED, HangupCategory.CONGESTION),
    "038": ("network_error", 38, 500, CallStatus.FAILED, HangupCategory.NETWORK_ERROR),
}


def test_the_table_is_the_design_table() -> None:
    assert set(SCENARIOS) == set(DESIGN_TABLE)


@pytest.mark.parametrize(("suffix", "row"), DESIGN_TABLE.items())
def test_failing_scenario(
    suffix: str, row: tuple[str, int, int, CallStatus, HangupCategory]
) -> None:
    name, q850, sip, status, category = row
    scenario = SCENARIOS[suffix]
    assert (scenario.name, scenario.q850, scenario.sip) == (name, q850, sip)
    assert scenario.answered is False
    assert scenario.digits is None
    assert scenario.talk_seconds == 0
    assert scenario.status is status
    assert scenario.category is category


@pytest.mark.parametrize(("suffix", "scenario"), [*SCENARIOS.items(), (None, ANSWERED)])
def test_q850_and_sip_renderings_agree(suffix: str | None, scenario: Scenario) -> None:
    # A Q.850-speaking emulator and a SIP-speaking one must land on the same category.
    assert from_sip(scenario.sip).category is scenario.category
    if not scenario.answered:
        assert from_q850(scenario.q850).category is scenario.category


def test_answered_is_the_default() -> None:
    assert ANSWERED.name == "answered"
    assert ANSWERED.answered is True
    assert ANSWERED.digits == "1"
    assert ANSWERED.talk_seconds > 0
    assert (ANSWERED.q850, ANSWERED.sip) == (16, 200)
    assert ANSWERED.status is CallStatus.COMPLETED
    assert ANSWERED.category is HangupCategory.NORMAL


@pytest.mark.parametrize(
    ("number", "name"),
    [
        ("+8613800000017", "busy"),
        ("+86 138 0000 0019", "no_answer"),
        ("+1 (415) 555-0021", "rejected"),
        ("+84912345001", "invalid_number"),
        ("+9198765020", "unreachable"),
        ("+8613800000034", "congestion"),
        ("+8613800000038", "network_error"),
        ("+8613800000100", "answered"),
        ("+8613800000170", "answered"),  # only the last three digits count
        ("017", "busy"),
        ("", "answered"),
    ],
)
def test_scenario_for(number: str, name: str) -> None:
    assert scenario_for(number).name == name


def test_all_scenarios_yields_the_default_first() -> None:
    pairs = list(all_scenarios())
    assert pairs[0] == (None, ANSWERED)
    assert pairs[1:] == list(SCENARIOS.items())


@pytest.mark.parametrize("name", [s.name for _, s in all_scenarios()])
def test_number_for_builds_a_valid_number_that_triggers_the_scenario(name: str) -> None:
    from voicegw.models import normalize_e164

    number = number_for(name)
    assert normalize_e164(number) == number
    assert scenario_for(number).name == name
    custom = number_for(name, prefix="+9198765")
    assert custom.startswith("+9198765")
    assert scenario_for(custom).name == name


def test_number_for_an_unknown_scenario() -> None:
    with pytest.raises(KeyError):
        number_for("abducted")


def test_scenarios_are_frozen() -> None:
    import attrs

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ANSWERED.name = "x"  # type: ignore[misc]
