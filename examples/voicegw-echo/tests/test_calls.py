"""Calls against the emulator: hanging up, and pushes that agree with the API's record."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from voicegw.models import CallStatus, EventKind, HangupCategory, Speech, VoiceNotification

from voicegw_echo.emulator import EchoEmulator
from voicegw_echo.provider import EchoProvider
from voicegw_echo.settings import EchoSettings


class Receiver:
    """A loopback push receiver that keeps what arrives."""

    def __init__(self) -> None:
        self.pushes: list[tuple[dict[str, str], bytes]] = []
        app = web.Application()
        app.router.add_post("/hooks/echo/record", self._receive)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hooks/echo/record"))

    async def _receive(self, request: web.Request) -> web.Response:
        self.pushes.append((dict(request.headers), await request.read()))
        return web.Response(text="OK")


@pytest_asyncio.fixture
async def setup() -> AsyncIterator[tuple[EchoEmulator, EchoProvider, Receiver]]:
    receiver = Receiver()
    await receiver.server.start_server()
    emulator = EchoEmulator()
    await emulator.start()
    settings: dict[str, Any] = emulator.provider_settings(callback_url=receiver.url)
    provider = EchoProvider("echo", EchoSettings(**settings))
    yield emulator, provider, receiver
    await provider.aclose()
    await emulator.close()
    await receiver.server.close()


async def test_hanging_up_a_ringing_call_cancels_it(
    setup: tuple[EchoEmulator, EchoProvider, Receiver],
) -> None:
    emulator, provider, _ = setup
    emulator.speed = 0.05  # the 60-second ring of a …019 callee lasts 3 s
    receipt = await provider.send(VoiceNotification("+447700900019", [Speech("Hi")]))
    for _ in range(200):  # wait until it rings
        if (await provider.get_record(receipt.call_id)).status is CallStatus.RINGING:
            break
        await asyncio.sleep(0.01)
    await provider.hangup(receipt.call_id)
    record = await provider.get_record(receipt.call_id)
    assert record.status is CallStatus.CANCELED
    assert record.hangup is not None
    assert record.hangup.category is HangupCategory.CANCELED
    assert record.ended_at is not None
    assert record.ringing_at is not None
    assert record.ended_at >= record.ringing_at


async def test_the_pushed_record_is_the_queried_record(
    setup: tuple[EchoEmulator, EchoProvider, Receiver],
) -> None:
    emulator, provider, receiver = setup
    note = VoiceNotification("+447700900017", [Speech("Hi")], reference="r-1")
    receipt = await provider.send(note)
    await emulator.drain()
    [(headers, body)] = receiver.pushes
    [event] = provider.parse_webhook("record", headers, body, receiver.url)
    assert event.kind is EventKind.RECORD
    assert event.record == await provider.get_record(receipt.call_id)
    assert event.record is not None
    assert event.record.status is CallStatus.BUSY
    assert event.reference == "r-1"
