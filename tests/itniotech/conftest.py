"""Fixtures: a provider on a fixed clock, aioresponses, the emulator, push receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import pytest_asyncio
from aioresponses import aioresponses

from voicegw_itniotech.emulator import ItnioEmulator
from voicegw_itniotech.provider import ItniotechProvider
from voicegw_itniotech.settings import ItniotechSettings

from .samples import MockedApi, Receiver, Ticking, make_settings


@pytest.fixture
def settings() -> ItniotechSettings:
    return make_settings()


@pytest.fixture
def clock() -> Ticking:
    return Ticking()


@pytest_asyncio.fixture
async def provider(settings: ItniotechSettings, clock: Ticking) -> AsyncIterator[ItniotechProvider]:
    """A provider against the real base URL, only ever reached through aioresponses."""
    instance = ItniotechProvider("itn", settings, clock=clock)
    try:
        yield instance
    finally:
        await instance.aclose()


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with MockedApi() as mock:
        yield mock


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[ItnioEmulator]:
    async with ItnioEmulator() as emulator:
        yield emulator


@pytest_asyncio.fixture
async def emu_provider(emu: ItnioEmulator) -> AsyncIterator[ItniotechProvider]:
    """A provider configured from the emulator's own settings."""
    instance = ItniotechProvider("itn", ItniotechSettings(**emu.provider_settings()))
    try:
        yield instance
    finally:
        await instance.aclose()


ReceiverFactory = Callable[..., Awaitable[Receiver]]


@pytest_asyncio.fixture
async def receiver_factory() -> AsyncIterator[ReceiverFactory]:
    """Start loopback push receivers; they stop after the test."""
    started: list[Receiver] = []

    async def start(answers: list[int] | None = None) -> Receiver:
        receiver = Receiver(answers)
        await receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        await receiver.close()
