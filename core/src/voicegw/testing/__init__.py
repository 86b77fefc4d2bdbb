"""Testing support for voicegw users and plugin authors.

* :mod:`voicegw.testing.scenarios` — the scenario table every emulator and the sandbox share;
* :mod:`voicegw.testing.emulator` — the emulator toolkit (loopback server, fault switches);
* :mod:`voicegw.testing.conformance` — base test classes every provider passes;
* :mod:`voicegw.testing.pytest_plugin` — fixtures that start emulators on loopback.
"""

from voicegw.testing.emulator import Emulator, Fault, FaultKind
from voicegw.testing.scenarios import ANSWERED, SCENARIOS, Scenario, scenario_for

__all__ = ["ANSWERED", "SCENARIOS", "Emulator", "Fault", "FaultKind", "Scenario", "scenario_for"]
