"""pytest plugin (entry point ``pytest11``): fixtures that start provider emulators.

``voicegw_emulator`` is a factory: ``emulator = await voicegw_emulator("itniotech")`` starts
that plugin's emulator on a free loopback port and stops it after the test. Its
``provider_settings()`` gives a config mapping that points a provider at it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio

from voicegw.plugins import default_registry
from voicegw.testing.emulator import Emulator

EmulatorFactory = Callable[..., Awaitable[Emulator]]


@pytest_asyncio.fixture
async def voicegw_emulator() -> AsyncIterator[EmulatorFactory]:
    """Start emulators of installed plugins on loopback; they stop after the test."""
    started: list[Emulator] = []

    async def start(plugin: str, **options: Any) -> Emulator:
        spec = default_registry().get(plugin)
        if spec.emulator is None:
            raise LookupError(f"plugin {plugin!r} ships no emulator")
        emulator = spec.emulator(**options)
        await emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in reversed(started):
        await emulator.close()
