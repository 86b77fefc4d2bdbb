"""The push receiver: an ``aiohttp.web`` app that verifies, stores, then acknowledges.

Routes: ``POST /hooks/{provider}/{kind}`` for each configured provider and each push kind it
sends, and ``GET /healthz``. For every push:

1. the body is read up to ``webhooks.max_body`` bytes (larger: 413);
2. the provider verifies it against the URL it was told — ``webhooks.public_url`` plus the
   path (and query) — and parses it; a forged or unsigned push gets 401 and is not stored, a
   push that cannot be parsed gets 400;
3. the events are stored durably and de-duplicated (providers re-push);
4. only then is the push acknowledged, with the answer the provider expects. A store failure
   answers 503, so the provider tries again: at-least-once delivery, de-duplicated.

New events are handed to the ``voicegw_event_received`` observers. Log lines are structured
(``extra`` fields) and never carry headers, bodies or URLs' query strings, where secrets live.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from voicegw.errors import AuthenticationError, PermissionDenied, VoiceError
from voicegw.gateway import VoiceGateway
from voicegw.store import RecordStore

__all__ = ["GATEWAY_KEY", "STORE_KEY", "create_app"]

logger = logging.getLogger("voicegw.webhooks")

GATEWAY_KEY: web.AppKey[VoiceGateway] = web.AppKey("voicegw_gateway", VoiceGateway)
STORE_KEY: web.AppKey[RecordStore] = web.AppKey("voicegw_store", RecordStore)


def create_app(
    gateway: VoiceGateway,
    *,
    store: RecordStore | None = None,
    public_url: str | None = None,
    max_body: int | None = None,
) -> web.Application:
    """The receiver for ``gateway``'s providers, storing into ``store`` (default: the gateway's).

    ``public_url`` and ``max_body`` default to the ``[webhooks]`` settings.
    """
    store = store or gateway.store
    if store is None:
        raise ValueError("the receiver needs a store: pass store= or give the gateway one")
    settings = gateway.config.webhooks
    limit = settings.max_body if max_body is None else max_body
    base = (public_url if public_url is not None else settings.public_url) or None
    app = web.Application(client_max_size=limit)
    app[GATEWAY_KEY] = gateway
    app[STORE_KEY] = store
    receiver = _Receiver(gateway, store, base.rstrip("/") if base else None, limit)
    app.router.add_get("/healthz", receiver.health)
    for name, provider in gateway.providers.items():
        for kind in sorted(getattr(provider, "webhook_kinds", ()) or ()):
            app.router.add_post(f"/hooks/{name}/{kind}", receiver.receive)
    return app


class _Receiver:
    def __init__(
        self, gateway: VoiceGateway, store: RecordStore, public_url: str | None, limit: int
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.public_url = public_url
        self.limit = limit
        self.received = 0
        self.stored = 0

    def verification_url(self, request: web.Request) -> str:
        """The URL the provider was told, which signatures cover."""
        if self.public_url is None:
            return str(request.url)
        url = self.public_url + request.path
        if request.query_string:
            url += "?" + request.query_string
        return url

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "received": self.received, "stored": self.stored})

    async def receive(self, request: web.Request) -> web.StreamResponse:
        parts = request.path.strip("/").split("/")
        name, kind = parts[1], parts[2]
        provider = self.gateway.provider(name)
        log: dict[str, Any] = {"provider": name, "kind": kind}
        if request.content_length is not None and request.content_length > self.limit:
            logger.warning("push refused: body too large", extra=log)
            return web.Response(status=413, text="body too large")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            logger.warning("push refused: body too large", extra=log)
            return web.Response(status=413, text="body too large")
        self.received += 1
        try:
            events = provider.parse_webhook(
                kind, dict(request.headers), body, self.verification_url(request)
            )
        except (AuthenticationError, PermissionDenied) as exc:
            logger.warning("push refused: %s", type(exc).__name__, extra=log)
            return web.Response(status=401, text="push not authenticated")
        except VoiceError as exc:
            logger.warning("push refused: %s", type(exc).__name__, extra=log)
            return web.Response(status=400, text="push not understood")
        except Exception:  # a plugin bug: do not ack, so the provider re-pushes later
            logger.exception("push parser failed", extra=log)
            return _reply(provider.webhook_reply(kind, accepted=False))
        try:
            fresh = await self.store.save_events(events, plugin=provider.plugin)
        except Exception:
            logger.exception("push not stored; asking the provider to retry", extra=log)
            return _reply(provider.webhook_reply(kind, accepted=False))
        new_events = [event for event, is_new in zip(events, fresh, strict=True) if is_new]
        self.stored += len(new_events)
        log.update(events=len(events), new=len(new_events))
        logger.info("push stored", extra=log)
        for event in new_events:
            self.gateway.registry.emit(event)
        return _reply(provider.webhook_reply(kind, accepted=True))


def _reply(reply: Any) -> web.Response:
    return web.Response(
        status=reply.status,
        body=reply.body,
        headers={"Content-Type": reply.content_type},
    )
