"""What the benchmarks share: the machine's description, medians, emulator processes."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def machine() -> dict[str, Any]:
    """Cores, Python, platform: printed next to every figure."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
    }


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def voicegw_command() -> list[str]:
    """The ``voicegw`` console script of this interpreter's environment."""
    script = Path(PYTHON).parent / "voicegw"
    if script.exists():
        return [str(script)]
    return [PYTHON, "-m", "voicegw.cli"]


@attrs.define
class EmulatorProcess:
    """An emulator in a child process; its provider settings as TOML text."""

    process: subprocess.Popen[str]
    base_url: str
    table: str

    @property
    def settings(self) -> dict[str, Any]:
        data = tomllib.loads(self.table)
        providers: dict[str, Any] = data["providers"]
        return dict(next(iter(providers.values())))

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def emulator_process(
    plugin: str,
    *,
    name: str = "bench",
    latency: float = 0.0,
    speed: float = 0.0,
    push_to: str | None = None,
    extra: Sequence[str] = (),
) -> Iterator[EmulatorProcess]:
    """Start ``python -m bench.serve_emulator`` and wait until it listens."""
    with tempfile.TemporaryDirectory(prefix="voicegw-bench-") as tmp:
        config = Path(tmp) / "provider.toml"
        command = [
            PYTHON,
            "-m",
            "bench.serve_emulator",
            plugin,
            "--name",
            name,
            "--config",
            str(config),
            "--latency",
            str(latency),
            "--speed",
            str(speed),
            *extra,
        ]
        if push_to:
            command += ["--push-to", push_to]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line.startswith("ready "):
                raise RuntimeError(f"the {plugin} emulator did not start: {line!r}")
            emulator = EmulatorProcess(process, line.split()[1], config.read_text())
            yield emulator
        finally:
            if process.poll() is None:
                assert process.stdin is not None
                process.stdin.close()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def toml_value(value: Any) -> str:
    """A TOML literal for a settings value: strings, numbers, booleans, lists, tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def provider_table(name: str, settings: dict[str, Any]) -> str:
    """A ``[providers.NAME]`` table (``voicegw.cli.provider_table`` writes lists as strings)."""
    lines = [f"[providers.{name}]"]
    lines += [
        f"{key} = {toml_value(value)}" for key, value in settings.items() if value is not None
    ]
    return "\n".join(lines) + "\n"


class Stopwatch:
    """Wall and CPU time of this process over a block."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
