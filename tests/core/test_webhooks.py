"""The push receiver: verify, store, de-duplicate, then acknowledge — over real HTTP."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import types
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from voicegw import CallEvent, Speech, VoiceGateway, VoiceNotification, hookimpl
from voicegw.cli_serve import cmd_serve
from voicegw.config import load_config
from voicegw.plugins import PluginRegistry
from voicegw.sandbox import SIGNATURE_HEADER, SandboxEmulator, SandboxProvider, sign_push
from voicegw.serialization import converter
from voicegw.sqlite_store import SQLiteStore
from voicegw.store import MemoryStore, RecordStore
from voicegw.webhooks import create_app

PROVIDER = "sbx"


class FailingStore(MemoryStore):
    """A store whose writes fail until ``healthy`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.healthy = False

    async def save_events(self, events: Sequence[CallEvent], *, plugin: str) -> list[bool]:
        if not self.healthy:
            raise OSError("disk full")
        return await super().save_events(events, plugin=plugin)


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[SandboxEmulator]:
    async with SandboxEmulator() as emulator:
        yield emulator


def make_gateway(emulator: SandboxEmulator, store: RecordStore, **webhooks: Any) -> VoiceGateway:
    registry = PluginRegistry()
    config = load_config(
        {"providers": {PROVIDER: emulator.provider_settings()}, "webhooks": webhooks},
        registry=registry,
    )
    return VoiceGateway(config, registry=registry, store=store)


async def start(gateway: VoiceGateway, emulator: SandboxEmulator, **kwargs: Any) -> TestClient:
    client = TestClient(TestServer(create_app(gateway, **kwargs)))
    await client.start_server()
    emulator.push_settings(str(client.make_url(f"/hooks/{PROVIDER}")))
    return client


def last_push_body(gateway: VoiceGateway) -> bytes:
    """The body the sandbox pushed for its last call."""
    sandbox = gateway.provider(PROVIDER)
    assert isinstance(sandbox, SandboxProvider)
    return json.dumps([converter.unstructure(sandbox.events[-1])]).encode()


def signed(emulator: SandboxEmulator, client: TestClient, body: bytes) -> dict[str, str]:
    url = str(client.make_url(f"/hooks/{PROVIDER}/record"))
    return {SIGNATURE_HEADER: sign_push(emulator.token, url, body)}


async def test_a_pushed_record_is_stored_then_acknowledged(emulator: SandboxEmulator) -> None:
    store = MemoryStore()
    gateway = make_gateway(emulator, store)
    client = await start(gateway, emulator)
    try:
        receipt = await gateway.send(
            VoiceNotification("+8613800000017", [Speech("hi", "en")], reference="r1")
        )
        await emulator.drain()
    finally:
        await client.close()
    assert [(p.status, p.attempt) for p in emulator.push_log] == [(200, 1)]
    record = await store.get_record(PROVIDER, receipt.call_id)
    assert record is not None
    assert record.status == "busy"
    assert record.reference == "r1"


async def test_a_repeated_push_is_acknowledged_and_stored_once(emulator: SandboxEmulator) -> None:
    seen: list[CallEvent] = []
    observer = types.ModuleType("observer")
    observer.voicegw_event_received = hookimpl(lambda event: seen.append(event))  # type: ignore[attr-defined]
    store = MemoryStore()
    gateway = make_gateway(emulator, store)
    gateway.registry.register(observer, "observer")
    client = await start(gateway, emulator)
    try:
        await gateway.send(VoiceNotification("+8613800000100", [Speech("hi", "en")]))
        await emulator.drain()
        raw = last_push_body(gateway)
        again = await client.post(
            f"/hooks/{PROVIDER}/record", data=raw, headers=signed(emulator, client, raw)
        )
        assert again.status == 200
    finally:
        await client.close()
    assert len(store.events) == 1
    assert len(seen) == 1
    assert seen[0].kind == "record"


async def test_a_forged_push_is_refused_and_not_stored(emulator: SandboxEmulator) -> None:
    store = MemoryStore()
    client = await start(make_gateway(emulator, store), emulator)
    try:
        response = await client.post(
            f"/hooks/{PROVIDER}/record", data=b"[]", headers={SIGNATURE_HEADER: "0" * 64}
        )
        unsigned = await client.post(f"/hooks/{PROVIDER}/record", data=b"[]")
    finally:
        await client.close()
    assert response.status == 401
    assert unsigned.status == 401
    assert not store.events


async def test_a_push_signed_for_another_url_is_refused(emulator: SandboxEmulator) -> None:
    store = MemoryStore()
    gateway = make_gateway(emulator, store, public_url="https://hooks.example.org")
    client = await start(gateway, emulator)
    try:
        body = b"[]"
        response = await client.post(
            f"/hooks/{PROVIDER}/record", data=body, headers=signed(emulator, client, body)
        )
    finally:
        await client.close()
    assert response.status == 401  # signed for 127.0.0.1, verified against public_url


async def test_public_url_is_what_signatures_cover(emulator: SandboxEmulator) -> None:
    store = MemoryStore()
    public = "https://hooks.example.org/voice"
    gateway = make_gateway(emulator, store, public_url=public)
    client = await start(gateway, emulator)
    try:
        body = b"[]"
        url = f"{public}/hooks/{PROVIDER}/record"
        response = await client.post(
            f"/hooks/{PROVIDER}/record",
            data=body,
            headers={SIGNATURE_HEADER: sign_push(emulator.token, url, body)},
        )
    finally:
        await client.close()
    assert response.status == 200


async def test_an_unreadable_push_is_a_client_error(emulator: SandboxEmulator) -> None:
    store = MemoryStore()
    client = await start(make_gateway(emulator, store), emulator)
    try:
        body = b"{not json"
        response = await client.post(
            f"/hooks/{PROVIDER}/record", data=body, headers=signed(emulator, client, body)
        )
    finally:
        await client.close()
    assert response.status == 400
    assert not store.events


async def test_an_oversized_push_is_413(emulator: SandboxEmulator) -> None:
    store = MemoryStore()
    client = await start(make_gateway(emulator, store), emulator, max_body=1024)
    try:
        body = b"[" + b" " * 4096 + b"]"
        response = await client.post(
            f"/hooks/{PROVIDER}/record", data=body, headers=signed(emulator, client, body)
        )
    finally:
        await client.close()
    assert response.status == 413
    assert not store.events


@pytest.mark.parametrize("path", ["/hooks/nobody/record", f"/hooks/{PROVIDER}/status", "/x"])
async def test_unknown_routes_are_404(emulator: SandboxEmulator, path: str) -> None:
    client = await start(make_gateway(emulator, MemoryStore()), emulator)
    try:
        response = await client.post(path, data=b"[]")
    finally:
        await client.close()
    assert response.status == 404


async def test_health(emulator: SandboxEmulator) -> None:
    client = await start(make_gateway(emulator, MemoryStore()), emulator)
    try:
        response = await client.get("/healthz")
        data = await response.json()
    finally:
        await client.close()
    assert response.status == 200
    assert data["status"] == "ok"


async def test_a_store_failure_is_5xx_and_the_re_push_is_kept(
    emulator: SandboxEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    store = FailingStore()
    gateway = make_gateway(emulator, store)
    client = await start(gateway, emulator)
    caplog.set_level(logging.DEBUG)
    try:
        receipt = await gateway.send(VoiceNotification("+8613800000100", [Speech("hi", "en")]))
        await emulator.drain()
        failed = [p.status for p in emulator.push_log]
        # The receiver comes back healthy (a restart): the provider's next re-push lands.
        store.healthy = True
        attempts = len(emulator.push_log)  # the emulator gave up after its retries
        raw = last_push_body(gateway)
        response = await client.post(
            f"/hooks/{PROVIDER}/record", data=raw, headers=signed(emulator, client, raw)
        )
    finally:
        await client.close()
    assert failed and all(status == 503 for status in failed)
    assert attempts == 4  # the first push and three retries
    assert response.status == 200
    stored = await store.get_record(PROVIDER, receipt.call_id)
    assert stored is not None
    assert stored.status == "completed"
    assert emulator.token not in caplog.text


def test_the_receiver_needs_a_store(emulator: SandboxEmulator) -> None:
    gateway = make_gateway(emulator, MemoryStore())
    gateway.store = None
    with pytest.raises(ValueError, match="store"):
        create_app(gateway)


async def test_a_restart_with_re_push_loses_nothing_and_doubles_nothing(
    emulator: SandboxEmulator, tmp_path: Path
) -> None:
    path = tmp_path / "voicegw.db"
    first = SQLiteStore(str(path))
    await first.open()
    gateway = make_gateway(emulator, first)
    client = await start(gateway, emulator)
    receipt = await gateway.send(VoiceNotification("+8613800000021", [Speech("hi", "en")]))
    await emulator.drain()
    raw = last_push_body(gateway)
    await client.close()
    await first.close()  # the receiver goes down…

    second = SQLiteStore(str(path))  # …and comes back on the same file
    await second.open()
    gateway_again = make_gateway(emulator, second)
    client = await start(gateway_again, emulator)
    try:
        response = await client.post(
            f"/hooks/{PROVIDER}/record", data=raw, headers=signed(emulator, client, raw)
        )
        record = await second.get_record(PROVIDER, receipt.call_id)
        events = await second.find_records(provider=PROVIDER)
    finally:
        await client.close()
        await second.close()
    assert response.status == 200  # a duplicate is acknowledged again
    assert record is not None
    assert record.status == "rejected"
    assert len(events) == 1


async def test_serve_answers_health_and_stops(tmp_path: Path) -> None:
    config = tmp_path / "voicegw.toml"
    db = tmp_path / "serve.db"
    config.write_text(
        f'[store]\nurl = "sqlite:///{db}"\n[webhooks]\nport = 0\n'
        '[providers.sbx]\nplugin = "sandbox"\n'
    )
    out = io.StringIO()
    args = argparse.Namespace(config=str(config), host="127.0.0.1", port=0, log_json=True)
    task = asyncio.create_task(cmd_serve(args, out))
    while "/hooks/sbx/record" not in out.getvalue():
        await asyncio.sleep(0.01)
    url = out.getvalue().split("listening on ")[1].split()[0]
    async with aiohttp.ClientSession() as session, session.get(url + "/healthz") as response:
        health = await response.json()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert health["status"] == "ok"
    assert db.exists()
