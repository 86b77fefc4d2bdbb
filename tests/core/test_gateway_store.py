"""The gateway and its store: accepted calls are remembered, and a store failure never
turns a placed call into an error."""

from __future__ import annotations

import logging

import pytest

from voicegw import NotFound, SendReceipt, Speech, StoreError, VoiceGateway, VoiceNotification
from voicegw.store import MemoryStore

NOTE = VoiceNotification("+8613800000100", [Speech("hi", "en")], reference="ref-1")


class BrokenStore(MemoryStore):
    async def save_receipt(self, receipt: SendReceipt, *, to: str | None = None) -> None:
        raise StoreError("disk full")


async def test_an_accepted_call_is_stored_as_queued() -> None:
    store = MemoryStore()
    async with VoiceGateway.from_config(store=store) as gateway:
        receipt = await gateway.send(NOTE)
    stored = await store.get_record(receipt.provider, receipt.call_id)
    assert stored is not None
    assert stored.reference == "ref-1"
    assert stored.to == "+8613800000100"


async def test_a_store_failure_after_acceptance_still_returns_the_receipt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="voicegw.gateway")
    async with VoiceGateway.from_config(store=BrokenStore()) as gateway:
        receipt = await gateway.send(NOTE)
    assert receipt.call_id.startswith("sbx-")
    assert "accepted by 'sandbox' but not stored" in caplog.text


async def test_an_unknown_call_is_not_found() -> None:
    store = MemoryStore()
    async with VoiceGateway.from_config(store=store) as gateway:
        with pytest.raises(NotFound):
            await gateway.get_record("sbx-unknown")
