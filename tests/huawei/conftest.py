"""Fixtures: a provider on a fixed clock and nonce, aioresponses, the emulator, receivers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio

from voicegw.config import load_config
from voicegw_huawei.emulator import HuaweiEmulator
from voicegw_huawei.provider import HuaweiProvider
from voicegw_huawei.settings import HuaweiSettings

from .samples import NONCE, NOW, MockedApi, Receiver, make_settings


@pytest.fixture
def settings() -> HuaweiSettings:
    return make_settings()


ProviderFactory = Callable[..., Awaitable[HuaweiProvider]]


@pytest_asyncio.fixture
async def make_provider() -> AsyncIterator[ProviderFactory]:
    """Build providers on the spec's clock and nonce (so X-AKSK is the spec's vector)."""
    made: list[HuaweiProvider] = []

    async def build(**overrides: Any) -> HuaweiProvider:
        instance = HuaweiProvider(
            "hw", make_settings(**overrides), clock=lambda: NOW, nonce=lambda: NONCE
        )
        made.append(instance)
        return instance

    yield build
    for instance in made:
        await instance.aclose()


@pytest_asyncio.fixture
async def provider(make_provider: ProviderFactory) -> HuaweiProvider:
    """A provider against the real base URL, only ever reached through aioresponses."""
    return await make_provider()


@pytest.fixture
def mocked() -> Iterator[MockedApi]:
    mock = MockedApi()
    with mock:
        yield mock


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[HuaweiEmulator]:
    async with HuaweiEmulator() as emulator:
        assert isinstance(emulator, HuaweiEmulator)
        yield emulator


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


@pytest_asyncio.fixture
async def emu_provider(
    emu: HuaweiEmulator, receiver_factory: ReceiverFactory
) -> AsyncIterator[tuple[HuaweiProvider, Receiver]]:
    """A provider configured from the emulator's settings, with a receiver for its pushes."""
    receiver = await receiver_factory()
    values = emu.provider_settings()
    values.update(emu.push_settings(receiver.base))
    settings = load_config({"providers": {"hw": values}}).providers["hw"]
    assert isinstance(settings, HuaweiSettings)
    instance = HuaweiProvider("hw", settings)
    try:
        yield instance, receiver
    finally:
        await instance.aclose()
