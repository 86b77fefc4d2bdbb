"""The emulator toolkit: what every provider emulator shares.

An emulator is an ``aiohttp.web`` application that speaks one provider's wire protocol. This
module gives it the common parts:

* a loopback server (:meth:`Emulator.start`, :meth:`Emulator.close`);
* fault switches (:class:`Fault`) that inject 5xx answers, hangs, dropped connections,
  malformed bodies, rate limiting and provider refusals — before or after the request is
  acted on, because that is exactly the difference between "not placed" and "unknown";
* a skewed clock (``emulator.clock_skew``) to test signature windows;
* push delivery with a retry policy, tracked so :meth:`Emulator.drain` can wait for it;
* a ledger of placed calls, so tests can prove nobody was called twice.

A small control API under ``/_emulator/`` lets tests in another process (against
``voicegw emulate``) inject faults and read the ledger.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import aiohttp
import attrs
from aiohttp import web

from voicegw.testing.scenarios import Scenario, scenario_for

__all__ = [
    "Emulator",
    "Fault",
    "FaultKind",
    "PlacedCall",
    "PushAttempt",
    "RateWindow",
]

logger = logging.getLogger("voicegw.emulator")

CONTROL_PREFIX = "/_emulator"


class FaultKind(enum.StrEnum):
    """What a fault does to the request it catches."""

    #: Answer ``status`` with a non-JSON body before the handler runs. Nothing is done.
    HTTP_ERROR = "http_error"
    #: Close the connection before the handler runs. Nothing is done.
    DROP_BEFORE = "drop_before"
    #: Hold the request ``seconds``, then close it without running the handler.
    HANG_BEFORE = "hang_before"
    #: Run the handler (the call is placed), then hold the answer ``seconds``.
    TIMEOUT_AFTER = "timeout_after"
    #: Run the handler (the call is placed), then close the connection without answering.
    DROP_AFTER = "drop_after"
    #: Run the handler (the call is placed), then answer 200 with a body that is not JSON.
    MALFORMED = "malformed"
    #: Answer with the provider's own flow-control refusal. Nothing is done.
    RATE_LIMIT = "rate_limit"
    #: Answer with the provider's own refusal ``code``. Nothing is done.
    PROVIDER_ERROR = "provider_error"


@attrs.define(kw_only=True)
class Fault:
    """One fault switch: catches the next ``times`` requests whose path contains ``path``."""

    kind: FaultKind = attrs.field(converter=FaultKind)
    times: int = attrs.field(default=1, validator=attrs.validators.instance_of(int))
    path: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )
    status: int = attrs.field(default=500, validator=attrs.validators.instance_of(int))
    seconds: float = attrs.field(default=60.0, validator=attrs.validators.instance_of((int, float)))
    code: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(str))
    )

    def matches(self, path: str) -> bool:
        """True when this fault applies to a request for ``path``."""
        return self.path is None or self.path in path


@attrs.frozen
class PlacedCall:
    """A call the emulator accepted and placed."""

    call_id: str
    callee: str
    reference: str | None
    at: datetime


@attrs.frozen
class PushAttempt:
    """One delivery attempt of a push: where, which try, and what came back."""

    url: str
    attempt: int
    status: int | None
    error: str | None = None


class RateWindow:
    """At most ``limit`` events in any ``per``-second sliding window."""

    def __init__(self, limit: int, per: float = 1.0) -> None:
        self.limit = limit
        self.per = per
        self._times: collections.deque[float] = collections.deque()

    def allow(self) -> bool:
        """Record an event if the window has room; False when it is over the limit."""
        now = time.monotonic()
        while self._times and now - self._times[0] >= self.per:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Emulator:
    """Base class of provider emulators. Subclasses add routes to ``self.app``.

    ``speed`` is real seconds per simulated second of call lifecycle: 0 runs every call to its
    end at once (tests), 0.01 lets a 20-second call take 0.2 s (demos). ``latency`` delays
    every answer by that many seconds, as a provider across the internet would.
    """

    plugin: ClassVar[str] = ""

    def __init__(
        self,
        *,
        speed: float = 0.0,
        push_retry_interval: float = 0.05,
        request_rate_limit: int | None = None,
        latency: float = 0.0,
    ) -> None:
        self.speed = speed
        self.latency = latency
        self.push_retry_interval = push_retry_interval
        self.clock_skew = 0.0
        self.faults: list[Fault] = []
        self.faults_injected = 0
        self.placed: list[PlacedCall] = []
        self.push_log: list[PushAttempt] = []
        self.requests_seen = 0
        self._rate = RateWindow(request_rate_limit) if request_rate_limit else None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.base_url = ""
        self.app = web.Application(middlewares=[self._fault_middleware], client_max_size=32 << 20)
        self.app.router.add_post(CONTROL_PREFIX + "/faults", self._control_add_fault)
        self.app.router.add_delete(CONTROL_PREFIX + "/faults", self._control_clear_faults)
        self.app.router.add_get(CONTROL_PREFIX + "/calls", self._control_calls)
        self.app.router.add_post(CONTROL_PREFIX + "/clock", self._control_clock)

    # -- what subclasses provide ---------------------------------------------------------

    def provider_settings(self, **overrides: Any) -> dict[str, Any]:
        """Provider settings (a config mapping) that point at this emulator and pass its auth."""
        raise NotImplementedError

    def push_settings(self, hook_base: str) -> dict[str, Any]:
        """Send every push of kind ``K`` to ``f"{hook_base}/{K}"`` from now on.

        Configures the emulator's side (a console setting at the real provider) and returns
        the provider settings that go with it (per-request push URLs, verification secrets).
        """
        raise NotImplementedError

    def unreachable_settings(self, closed_port: int) -> dict[str, Any]:
        """Settings overrides that make the provider connect to a port nobody listens on."""
        return {"base_url": f"http://127.0.0.1:{closed_port}"}

    def rate_limited_response(self, request: web.Request) -> web.StreamResponse:
        """The provider's own flow-control answer."""
        return web.json_response({"error": "rate limited"}, status=429)

    def error_response(self, request: web.Request, code: str) -> web.StreamResponse:
        """The provider's own refusal carrying ``code``."""
        return web.json_response({"error": code}, status=400)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on loopback (a free port by default). Returns the base URL."""
        self._runner = web.AppRunner(self.app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        bound_port = sockets[0].getsockname()[1] if sockets else port
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def close(self) -> None:
        """Cancel pending work, stop serving, close the push client."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def drain(self, limit: float = 30.0) -> None:
        """Wait until every call lifecycle and push delivery started so far has finished."""
        deadline = time.monotonic() + limit
        while self._tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(self._tasks)} emulator tasks still running")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    # -- helpers for subclasses ------------------------------------------------------------

    def now(self) -> datetime:
        """The emulator's clock: real UTC time shifted by ``clock_skew`` seconds."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_skew)

    def scenario(self, callee: str) -> Scenario:
        """The scenario a callee number triggers."""
        return scenario_for(callee)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background; :meth:`drain` waits for it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("emulator task failed", exc_info=task.exception())

    async def sleep_simulated(self, seconds: float) -> None:
        """Let ``seconds`` of simulated call time pass (scaled by ``speed``)."""
        await asyncio.sleep(max(0.0, seconds * self.speed))

    def record_placed(self, call_id: str, callee: str, reference: str | None) -> None:
        """Note in the ledger that a call was placed."""
        self.placed.append(PlacedCall(call_id, callee, reference, self.now()))

    def duplicate_references(self) -> dict[str, int]:
        """References that were placed more than once, with their counts."""
        counts = collections.Counter(p.reference for p in self.placed if p.reference)
        return {ref: n for ref, n in counts.items() if n > 1}

    async def push(
        self,
        url: str,
        body: bytes,
        *,
        headers: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        retries: int = 0,
        interval: float | None = None,
        ok: Callable[[int, bytes], bool] | None = None,
    ) -> bool:
        """POST ``body`` to ``url``, retrying ``retries`` times on failure. True if accepted.

        ``headers`` may be a callable, so each attempt is signed afresh. ``ok`` decides from
        the status and reply body whether the receiver accepted (default: any 2xx).
        """
        if self._client is None or self._client.closed:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        wait = self.push_retry_interval if interval is None else interval
        for attempt in range(1, retries + 2):
            hdrs = dict(headers() if callable(headers) else (headers or {}))
            hdrs.setdefault("Content-Type", "application/json;charset=UTF-8")
            try:
                async with self._client.post(url, data=body, headers=hdrs) as resp:
                    reply = await resp.read()
                    self.push_log.append(PushAttempt(url, attempt, resp.status))
                    accepted = ok(resp.status, reply) if ok else 200 <= resp.status < 300
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                self.push_log.append(PushAttempt(url, attempt, None, type(exc).__name__))
                accepted = False
            if accepted:
                return True
            if attempt <= retries:
                await asyncio.sleep(wait)
        return False

    # -- faults --------------------------------------------------------------------------

    def inject(self, kind: FaultKind | str, **kwargs: Any) -> Fault:
        """Add a fault switch; it catches the next matching request(s)."""
        fault = Fault(kind=kind, **kwargs)
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every pending fault switch."""
        self.faults.clear()

    def take_fault(self, path: str) -> Fault | None:
        """The fault that catches the next request for ``path``, if any (and count it)."""
        for fault in self.faults:
            if fault.matches(path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                self.faults_injected += 1
                return fault
        return None

    @web.middleware
    async def _fault_middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        self.requests_seen += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self.take_fault(request.path)
        if fault is None:
            if self._rate is not None and not self._rate.allow():
                return self.rate_limited_response(request)
            return await handler(request)
        kind = fault.kind
        if kind is FaultKind.HTTP_ERROR:
            return web.Response(
                status=fault.status,
                text=f"<html><body><h1>{fault.status}</h1>upstream trouble</body></html>",
                content_type="text/html",
            )
        if kind is FaultKind.RATE_LIMIT:
            return self.rate_limited_response(request)
        if kind is FaultKind.PROVIDER_ERROR:
            return self.error_response(request, fault.code or "")
        if kind is FaultKind.DROP_BEFORE:
            return _drop(request)
        if kind is FaultKind.HANG_BEFORE:
            await asyncio.sleep(fault.seconds)
            return _drop(request)
        response = await handler(request)
        if kind is FaultKind.TIMEOUT_AFTER:
            await asyncio.sleep(fault.seconds)
            return response
        if kind is FaultKind.DROP_AFTER:
            return _drop(request)
        # MALFORMED
        return web.Response(status=200, text='{"status": "0", "data": ', content_type="text/plain")

    # -- control API -----------------------------------------------------------------------

    async def _control_add_fault(self, request: web.Request) -> web.Response:
        try:
            spec = await request.json()
            fault = self.inject(**spec)
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"queued": fault.kind.value, "pending": len(self.faults)})

    async def _control_clear_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return web.json_response({"pending": 0})

    async def _control_calls(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "placed": [
                    {"call_id": p.call_id, "callee": p.callee, "reference": p.reference}
                    for p in self.placed
                ],
                "duplicates": self.duplicate_references(),
                "faults_injected": self.faults_injected,
            }
        )

    async def _control_clock(self, request: web.Request) -> web.Response:
        try:
            self.clock_skew = float((await request.json())["skew"])
        except (ValueError, TypeError, KeyError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"skew": self.clock_skew})


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection under the request without answering."""
    transport = request.transport
    if transport is not None:
        transport.close()
    raise asyncio.CancelledError


def json_body(data: Any) -> bytes:
    """Compact UTF-8 JSON, as providers send it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
