"""The push receiver: an ``aiohttp.web`` app that verifies, stores, then acknowledges.

Routes: ``POST /hooks/{provider}/{kind}`` for each configured provider and each push kind it
sends, and ``GET /healthz``. For every push:

1. the body is read up to ``webhooks.max_body`` bytes (larger: 413);
2. the provider verifies it against the URL it was told — ``webhooks.public_url`` plus the
   path (and query); a forged or unsigned push gets 401 and is not stored;
3. it is stored durably, de-duplicated (providers re-push), and only then acknowledged with
   the answer the provider expects. A store failure answers 503, so the provider tries again:
   at-least-once delivery, de-duplicated.

When is a push parsed? With ``webhooks.ingest = "queued"`` (the default), a store that is a
:class:`~voicegw.store.PushInbox` and a provider that verifies apart from parsing
(:func:`~voicegw.provider.splits_webhooks`), step 3 stores the push *as received* and a
background task reads it into events afterwards — the acknowledgement costs one insert, not
the parse, so bursts of CDRs are answered fast and a push that cannot be read is set aside
with its reason instead of being refused (nothing is dropped; ``voicegw inbox --retry``
queues it again once the plugin is fixed). Reading yields to pushes being received, for at
most ``webhooks.max_defer`` seconds per push. Otherwise (``inline``, or a store or provider
without that split) the push is parsed before it is stored, and an unreadable one gets 400.

New events are handed to the ``voicegw_event_received`` observers once stored. Log lines are
structured (``extra`` fields) and never carry headers, bodies or URLs' query strings, where
secrets live.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from voicegw.errors import AuthenticationError, PermissionDenied, VoiceError
from voicegw.gateway import VoiceGateway
from voicegw.models import CallEvent
from voicegw.provider import SplitWebhooks, VoiceProvider, WebhookReply, splits_webhooks
from voicegw.store import PushInbox, QueuedPush, RecordStore

__all__ = ["GATEWAY_KEY", "RECEIVER_KEY", "STORE_KEY", "Receiver", "create_app"]

logger = logging.getLogger("voicegw.webhooks")

GATEWAY_KEY: web.AppKey[VoiceGateway] = web.AppKey("voicegw_gateway", VoiceGateway)
STORE_KEY: web.AppKey[RecordStore] = web.AppKey("voicegw_store", RecordStore)

#: Seconds without a push in flight before queued pushes are read (unless overdue).
_QUIET = 0.02
#: Queued pushes fetched from the inbox at a time.
_BATCH = 32


def create_app(
    gateway: VoiceGateway,
    *,
    store: RecordStore | None = None,
    public_url: str | None = None,
    max_body: int | None = None,
    ingest: str | None = None,
) -> web.Application:
    """The receiver for ``gateway``'s providers, storing into ``store`` (default: the gateway's).

    ``public_url``, ``max_body`` and ``ingest`` default to the ``[webhooks]`` settings. The
    app's :class:`Receiver` is ``app[RECEIVER_KEY]``.
    """
    store = store or gateway.store
    if store is None:
        raise ValueError("the receiver needs a store: pass store= or give the gateway one")
    settings = gateway.config.webhooks
    limit = settings.max_body if max_body is None else max_body
    base = (public_url if public_url is not None else settings.public_url) or None
    mode = settings.ingest if ingest is None else ingest
    if mode not in ("queued", "inline"):
        raise ValueError(f"ingest must be 'queued' or 'inline', got {mode!r}")
    receiver = Receiver(
        gateway,
        store,
        public_url=base.rstrip("/") if base else None,
        max_body=limit,
        queued=mode == "queued",
        max_defer=settings.max_defer,
    )
    app = web.Application(client_max_size=limit)
    app[GATEWAY_KEY] = gateway
    app[STORE_KEY] = store
    app[RECEIVER_KEY] = receiver
    app.cleanup_ctx.append(receiver.background)
    app.router.add_get("/healthz", receiver.health)
    for name, provider in gateway.providers.items():
        for kind in sorted(getattr(provider, "webhook_kinds", ()) or ()):
            app.router.add_post(f"/hooks/{name}/{kind}", receiver.receive)
    return app


class Receiver:
    """What the receiver app does with a push; ``app[RECEIVER_KEY]``.

    Tests (yours too) call :meth:`drain` to wait until every queued push has been read.
    """

    def __init__(
        self,
        gateway: VoiceGateway,
        store: RecordStore,
        *,
        public_url: str | None,
        max_body: int,
        queued: bool = True,
        max_defer: float = 2.0,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.public_url = public_url
        self.max_body = max_body
        self.max_defer = max_defer
        #: The store's inbox when queued ingestion is on and the store has one.
        self.inbox: PushInbox | None = store if queued and isinstance(store, PushInbox) else None
        #: Providers whose pushes are stored before they are read, by name.
        self._queued: dict[str, SplitWebhooks] = {}
        if self.inbox is not None:
            for name, provider in gateway.providers.items():
                if splits_webhooks(provider):
                    self._queued[name] = provider
        #: Seconds to wait after a store failure before reading queued pushes again.
        self.retry_delay = 1.0
        #: Seconds between looks at the inbox when no push arrives.
        self.poll_interval = 30.0
        self.received = 0
        self.stored = 0
        self.set_aside = 0
        self._in_flight = 0
        self._last_push = 0.0
        self._wake = asyncio.Event()
        self._reading = False
        self._hurry = False

    def verification_url(self, request: web.Request) -> str:
        """The URL the provider was told, which signatures cover."""
        if self.public_url is None:
            return str(request.url)
        url = self.public_url + request.path
        if request.query_string:
            url += "?" + request.query_string
        return url

    # -- HTTP ------------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        answer: dict[str, Any] = {
            "status": "ok",
            "received": self.received,
            "stored": self.stored,
        }
        if self.inbox is not None:
            with contextlib.suppress(Exception):  # health must answer even if the store fails
                answer.update(await self.inbox.count_pushes())
        return web.json_response(answer)

    async def receive(self, request: web.Request) -> web.StreamResponse:
        self._in_flight += 1
        self._last_push = time.monotonic()
        try:
            return await self._receive(request)
        finally:
            self._in_flight -= 1
            self._last_push = time.monotonic()

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        parts = request.path.strip("/").split("/")
        name, kind = parts[1], parts[2]
        provider = self.gateway.provider(name)
        log: dict[str, Any] = {"provider": name, "kind": kind}
        if request.content_length is not None and request.content_length > self.max_body:
            logger.warning("push refused: body too large", extra=log)
            return web.Response(status=413, text="body too large")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            logger.warning("push refused: body too large", extra=log)
            return web.Response(status=413, text="body too large")
        self.received += 1
        url = self.verification_url(request)
        headers = dict(request.headers)
        queue = self._queued.get(name)
        events: list[CallEvent] = []
        try:
            if queue is not None:
                queue.verify_webhook(kind, headers, body, url)
            else:
                events = provider.parse_webhook(kind, headers, body, url)
        except (AuthenticationError, PermissionDenied) as exc:
            logger.warning("push refused: %s", type(exc).__name__, extra=log)
            return web.Response(status=401, text="push not authenticated")
        except VoiceError as exc:
            logger.warning("push refused: %s", type(exc).__name__, extra=log)
            return web.Response(status=400, text="push not understood")
        except Exception:  # a plugin bug: do not ack, so the provider re-pushes later
            logger.exception("push verification failed", extra=log)
            return _reply(provider.webhook_reply(kind, accepted=False))
        if queue is not None:
            return await self._enqueue(name, kind, body, provider, log)
        return await self._store(provider, kind, events, log)

    async def _enqueue(
        self, name: str, kind: str, body: bytes, provider: VoiceProvider, log: dict[str, Any]
    ) -> web.Response:
        assert self.inbox is not None
        try:
            new = await self.inbox.enqueue_push(name, kind, body)
        except Exception:
            logger.exception("push not stored; asking the provider to retry", extra=log)
            return _reply(provider.webhook_reply(kind, accepted=False))
        log["new"] = new
        logger.info("push queued", extra=log)
        if new:
            self._wake.set()
        return _reply(provider.webhook_reply(kind, accepted=True))

    async def _store(
        self, provider: VoiceProvider, kind: str, events: list[CallEvent], log: dict[str, Any]
    ) -> web.Response:
        try:
            fresh = await self.store.save_events(events, plugin=provider.plugin)
        except Exception:
            logger.exception("push not stored; asking the provider to retry", extra=log)
            return _reply(provider.webhook_reply(kind, accepted=False))
        self._stored(events, fresh, log)
        return _reply(provider.webhook_reply(kind, accepted=True))

    def _stored(self, events: Sequence[CallEvent], fresh: list[bool], log: dict[str, Any]) -> None:
        new_events = [event for event, is_new in zip(events, fresh, strict=True) if is_new]
        self.stored += len(new_events)
        log.update(events=len(events), new=len(new_events))
        logger.info("push stored", extra=log)
        for event in new_events:
            self.gateway.registry.emit(event)

    # -- reading queued pushes ---------------------------------------------------------------

    async def background(self, app: web.Application) -> AsyncIterator[None]:
        """``cleanup_ctx``: read queued pushes while the app runs (and what a restart left)."""
        if self.inbox is None:
            yield
            return
        task = asyncio.create_task(self._read_forever(), name="voicegw-push-reader")
        self._wake.set()
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def drain(self) -> None:
        """Read every queued push now (not waiting for quiet) and return once none is left.

        Pushes that cannot be read are set aside, and count as done. Bound the wait with
        ``asyncio.timeout``; only meaningful while the app runs.
        """
        if self.inbox is None:
            return
        self._hurry = True
        try:
            while self._reading or (await self.inbox.count_pushes())["queued"]:
                self._wake.set()
                await asyncio.sleep(0.005)
        finally:
            self._hurry = False

    async def _read_forever(self) -> None:
        while True:
            # Woken by a new push; otherwise look again now and then, for pushes queued
            # again from elsewhere (``voicegw inbox --retry``).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._read_queued()
            except Exception:
                logger.exception("queued pushes not read; trying again shortly")
                await asyncio.sleep(self.retry_delay)
                self._wake.set()

    async def _read_queued(self) -> None:
        assert self.inbox is not None
        while batch := await self.inbox.queued_pushes(_BATCH):
            for push in batch:
                await self._wait_turn(push)
                self._reading = True
                try:
                    await self._read(push)
                finally:
                    self._reading = False

    async def _wait_turn(self, push: QueuedPush) -> None:
        """Let pushes being received go first, until this one has waited ``max_defer``."""
        while not self._hurry:
            idle = time.monotonic() - self._last_push
            if self._in_flight == 0 and idle >= _QUIET:
                return
            waited = (datetime.now(UTC) - push.received_at).total_seconds()
            if waited >= self.max_defer:
                return
            await asyncio.sleep(min(_QUIET, self.max_defer - waited))

    async def _read(self, push: QueuedPush) -> None:
        assert self.inbox is not None
        log: dict[str, Any] = {"provider": push.provider, "kind": push.kind, "push": push.id}
        provider = self.gateway.providers.get(push.provider)
        if provider is None or not splits_webhooks(provider):
            reason = f"provider {push.provider!r} is not configured to read it"
            await self._set_aside(push, reason, log)
            return
        try:
            events = provider.read_webhook(push.kind, push.body)
        except VoiceError as exc:
            await self._set_aside(push, f"{type(exc).__name__}: {exc}", log)
            return
        except Exception as exc:  # a plugin bug: keep the push for after the fix
            logger.exception("push parser failed", extra=log)
            await self._set_aside(push, f"parser failed: {type(exc).__name__}", log)
            return
        try:
            fresh = await self.inbox.complete_push(push.id, events, plugin=provider.plugin)
        except VoiceError as exc:
            if exc.retryable:
                raise  # the store is down: _read_forever tries again after retry_delay
            # the store will never take these events (say, a value JSON cannot hold): keep
            # the push aside instead of retrying it forever ahead of every later push
            await self._set_aside(push, f"not storable: {type(exc).__name__}: {exc}", log)
            return
        self._stored(events, fresh, log)

    async def _set_aside(self, push: QueuedPush, reason: str, log: dict[str, Any]) -> None:
        assert self.inbox is not None
        await self.inbox.fail_push(push.id, reason)
        self.set_aside += 1
        logger.warning("push set aside: %s", reason, extra=log)


RECEIVER_KEY: web.AppKey[Receiver] = web.AppKey("voicegw_receiver", Receiver)


def _reply(reply: WebhookReply) -> web.Response:
    return web.Response(
        status=reply.status,
        body=reply.body,
        headers={"Content-Type": reply.content_type},
    )
