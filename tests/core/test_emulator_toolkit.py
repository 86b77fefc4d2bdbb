"""The emulator toolkit, against a tiny emulator: faults, the ledger, control API, pushes."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from voicegw.errors import OutcomeUnknown
from voicegw.http import ProviderHttp
from voicegw.testing import Emulator, Fault, FaultKind
from voicegw.testing import emulator as emulator_module
from voicegw.testing.emulator import PlacedCall, PushAttempt, RateWindow, json_body


class TinyEmulator(Emulator):
    """A provider with one endpoint that places calls, and one that reads them."""

    plugin = "tiny"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.app.router.add_post("/calls", self._place)
        self.app.router.add_get("/calls/{call_id}", self._read)
        self._count = 0

    async def _place(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._count += 1
        call_id = f"tiny-{self._count}"
        self.record_placed(call_id, body["to"], body.get("reference"))
        return web.json_response({"code": "0", "call_id": call_id})

    async def _read(self, request: web.Request) -> web.Response:
        return web.json_response({"code": "0", "call_id": request.match_info["call_id"]})

    def provider_settings(self, **overrides: Any) -> dict[str, Any]:
        return {"plugin": "tiny", "base_url": self.base_url, **overrides}

    def error_response(self, request: web.Request, code: str) -> web.StreamResponse:
        return web.json_response({"code": code, "msg": "refused"})


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[TinyEmulator]:
    async with TinyEmulator() as emulator:
        yield emulator


@pytest_asyncio.fixture
async def client(emu: TinyEmulator) -> AsyncIterator[Callable[..., ProviderHttp]]:
    made: list[ProviderHttp] = []

    def make(timeout: float = 5.0) -> ProviderHttp:
        http = ProviderHttp(provider="tiny", plugin="tiny", base_url=emu.base_url, timeout=timeout)
        made.append(http)
        return http

    yield make
    for http in made:
        await http.aclose()


async def place(http: ProviderHttp, to: str = "+8613800000100", ref: str | None = None) -> Any:
    return await http.request("POST", "/calls", json_body={"to": to, "reference": ref})


# -- lifecycle --------------------------------------------------------------------------------


async def test_start_serves_on_loopback() -> None:
    emulator = TinyEmulator()
    base = await emulator.start()
    try:
        assert base.startswith("http://127.0.0.1:")
        assert int(base.rsplit(":", 1)[1]) > 0
        assert emulator.base_url == base
        async with aiohttp.ClientSession() as session, session.get(base + "/calls/x") as resp:
            assert (await resp.json())["call_id"] == "x"
    finally:
        await emulator.close()
    await emulator.close()  # twice is harmless


async def test_a_normal_call_is_in_the_ledger(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    response = await place(client(), ref="order-1")
    assert response.json() == {"code": "0", "call_id": "tiny-1"}
    assert len(emu.placed) == 1
    placed = emu.placed[0]
    assert (placed.call_id, placed.callee, placed.reference) == (
        "tiny-1",
        "+8613800000100",
        "order-1",
    )
    assert placed.at.tzinfo is not None
    assert emu.requests_seen == 1
    assert emu.faults_injected == 0


# -- every fault kind ---------------------------------------------------------------------------


async def test_http_error_answers_before_the_handler(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    emu.inject(FaultKind.HTTP_ERROR, status=503)
    response = await place(client())
    assert response.status == 503
    assert b"upstream trouble" in response.body
    assert response.headers["Content-Type"].startswith("text/html")
    assert emu.placed == []


async def test_drop_before_closes_without_acting(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    emu.inject(FaultKind.DROP_BEFORE)
    with pytest.raises(OutcomeUnknown):  # the client cannot tell it was before
        await place(client())
    assert emu.placed == []


async def test_hang_before_holds_then_closes_without_acting(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    emu.inject(FaultKind.HANG_BEFORE, seconds=0.2)
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown):
        await place(client(timeout=5))
    assert time.monotonic() - started >= 0.15
    assert emu.placed == []


async def test_hang_before_against_a_short_timeout(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    emu.inject(FaultKind.HANG_BEFORE, seconds=5)
    with pytest.raises(OutcomeUnknown):
        await place(client(timeout=0.2))
    assert emu.placed == []


async def test_timeout_after_places_the_call_then_holds_the_answer(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    emu.inject(FaultKind.TIMEOUT_AFTER, seconds=5)
    with pytest.raises(OutcomeUnknown) as info:
        await place(client(timeout=0.3))
    assert info.value.call_placed is None
    assert [p.call_id for p in emu.placed] == ["tiny-1"]


async def test_drop_after_places_the_call_then_closes(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    emu.inject(FaultKind.DROP_AFTER)
    with pytest.raises(OutcomeUnknown):
        await place(client())
    assert len(emu.placed) == 1


async def test_malformed_places_the_call_then_answers_garbage(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    emu.inject("malformed")
    response = await place(client())
    assert response.status == 200
    with pytest.raises(ValueError, match="not JSON"):
        response.json()
    assert len(emu.placed) == 1


async def test_rate_limit_answers_the_flow_control_refusal(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    emu.inject(FaultKind.RATE_LIMIT)
    response = await place(client())
    assert response.status == 429
    assert response.json() == {"error": "rate limited"}
    assert emu.placed == []


async def test_provider_error_answers_the_providers_refusal(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    emu.inject(FaultKind.PROVIDER_ERROR, code="-10")
    response = await place(client())
    assert response.json() == {"code": "-10", "msg": "refused"}
    assert emu.placed == []


def test_every_fault_kind_is_tested() -> None:
    assert {k.value for k in FaultKind} == {
        "http_error",
        "drop_before",
        "hang_before",
        "timeout_after",
        "drop_after",
        "malformed",
        "rate_limit",
        "provider_error",
    }


# -- fault switches -----------------------------------------------------------------------------


async def test_a_fault_catches_times_requests_then_goes(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    fault = emu.inject(FaultKind.HTTP_ERROR, times=2, status=500)
    assert isinstance(fault, Fault)
    http = client()
    statuses = [(await place(http)).status for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert emu.faults == []
    assert emu.faults_injected == 2
    assert emu.requests_seen == 3
    assert len(emu.placed) == 1


async def test_a_fault_with_a_path_catches_only_that_path(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    emu.inject(FaultKind.HTTP_ERROR, path="/calls/", status=502)
    http = client()
    assert (await place(http)).status == 200
    assert (await http.request("GET", "/calls/tiny-1")).status == 502
    assert (await http.request("GET", "/calls/tiny-1")).status == 200


async def test_faults_are_taken_in_order(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    emu.inject(FaultKind.HTTP_ERROR, status=500)
    emu.inject(FaultKind.RATE_LIMIT)
    http = client()
    assert [(await place(http)).status for _ in range(3)] == [500, 429, 200]


async def test_clear_faults(emu: TinyEmulator, client: Callable[..., ProviderHttp]) -> None:
    emu.inject(FaultKind.HTTP_ERROR)
    emu.inject(FaultKind.DROP_BEFORE)
    emu.clear_faults()
    assert (await place(client())).status == 200


def test_fault_kinds_come_from_strings() -> None:
    assert Fault(kind="drop_after").kind is FaultKind.DROP_AFTER
    with pytest.raises(ValueError, match="explode"):
        Fault(kind="explode")


def test_fault_defaults_and_matching() -> None:
    fault = Fault(kind=FaultKind.HTTP_ERROR)
    assert (fault.times, fault.path, fault.status, fault.seconds, fault.code) == (
        1,
        None,
        500,
        60.0,
        None,
    )
    assert fault.matches("/anything")
    assert Fault(kind="http_error", path="/voice").matches("/api/voice/send")
    assert not Fault(kind="http_error", path="/voice").matches("/sms/send")


def test_take_fault_counts_down() -> None:
    emulator = TinyEmulator()
    emulator.inject("rate_limit", times=2, path="/send")
    assert emulator.take_fault("/other") is None
    assert emulator.take_fault("/send") is not None
    assert emulator.take_fault("/send") is not None
    assert emulator.take_fault("/send") is None
    assert emulator.faults_injected == 2


async def test_request_rate_limit() -> None:
    async with TinyEmulator(request_rate_limit=2) as emulator:
        http = ProviderHttp(provider="t", plugin="tiny", base_url=emulator.base_url)
        try:
            statuses = [(await place(http)).status for _ in range(3)]
        finally:
            await http.aclose()
    assert statuses == [200, 200, 429]
    assert len(emulator.placed) == 2


# -- the control API --------------------------------------------------------------------------


async def control(
    emu: Emulator, method: str, path: str, body: Any = None, raw: bytes | None = None
) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with session.request(method, emu.base_url + "/_emulator" + path, **kwargs) as resp:
            return resp.status, await resp.json()


async def test_control_api_injects_faults_over_http(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    status, answer = await control(emu, "POST", "/faults", {"kind": "http_error", "status": 502})
    assert (status, answer) == (200, {"queued": "http_error", "pending": 1})
    status, answer = await control(emu, "POST", "/faults", {"kind": "rate_limit", "times": 3})
    assert answer["pending"] == 2
    assert (await place(client())).status == 502
    status, answer = await control(emu, "DELETE", "/faults")
    assert (status, answer) == (200, {"pending": 0})
    assert (await place(client())).status == 200


@pytest.mark.parametrize(
    ("body", "raw"),
    [({"kind": "nope"}, None), ({"kind": "http_error", "bogus": 1}, None), (None, b"{not json")],
)
async def test_control_api_refuses_bad_fault_specs(
    emu: TinyEmulator, body: Any, raw: bytes | None
) -> None:
    status, answer = await control(emu, "POST", "/faults", body, raw=raw)
    assert status == 400
    assert "error" in answer
    assert emu.faults == []


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "http_error", "times": "two"},
        {"kind": "hang_before", "seconds": "long"},
        {"kind": "http_error", "status": "teapot"},
    ],
)
async def test_control_api_refuses_mistyped_fault_specs(
    emu: TinyEmulator, client: Callable[..., ProviderHttp], spec: dict[str, Any]
) -> None:
    status, _ = await control(emu, "POST", "/faults", spec)
    assert status == 400
    assert emu.faults == []
    assert (await place(client())).status == 200  # the emulator still works


async def test_control_api_reads_the_ledger(
    emu: TinyEmulator, client: Callable[..., ProviderHttp]
) -> None:
    http = client()
    await place(http, "+8613800000100", "order-1")
    await place(http, "+8613800000101", "order-1")
    await place(http, "+8613800000102", None)
    emu.inject("http_error")
    await place(http)
    status, answer = await control(emu, "GET", "/calls")
    assert status == 200
    assert answer == {
        "placed": [
            {"call_id": "tiny-1", "callee": "+8613800000100", "reference": "order-1"},
            {"call_id": "tiny-2", "callee": "+8613800000101", "reference": "order-1"},
            {"call_id": "tiny-3", "callee": "+8613800000102", "reference": None},
        ],
        "duplicates": {"order-1": 2},
        "faults_injected": 1,
    }
    assert emu.requests_seen == 4  # control requests are not counted


async def test_control_requests_are_never_faulted(emu: TinyEmulator) -> None:
    emu.inject(FaultKind.DROP_BEFORE)
    status, _ = await control(emu, "GET", "/calls")
    assert status == 200
    assert len(emu.faults) == 1


async def test_control_api_skews_the_clock(emu: TinyEmulator) -> None:
    status, answer = await control(emu, "POST", "/clock", {"skew": -400})
    assert (status, answer) == (200, {"skew": -400.0})
    assert emu.clock_skew == -400.0
    drift = (datetime.now(UTC) - emu.now()).total_seconds()
    assert 399 < drift < 401


@pytest.mark.parametrize("body", [{"skew": "soon"}, {}, [1]])
async def test_control_api_refuses_a_bad_clock(emu: TinyEmulator, body: Any) -> None:
    status, _ = await control(emu, "POST", "/clock", body)
    assert status == 400
    assert emu.clock_skew == 0.0


# -- pushes ---------------------------------------------------------------------------------


class Receiver:
    """A loopback push receiver that answers from a script of (status, body)."""

    def __init__(self, script: list[tuple[int, bytes]]) -> None:
        self.script = script
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        status, body = self.script.pop(0) if self.script else (200, b"OK")
        return web.Response(status=status, body=body)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return str(self.server.make_url("/hook"))


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Callable[..., Any]]:
    started: list[Receiver] = []

    async def make(*script: tuple[int, bytes]) -> tuple[Receiver, str]:
        r = Receiver(list(script))
        url = await r.start()
        started.append(r)
        return r, url

    yield make
    for r in started:
        assert r.server is not None
        await r.server.close()


async def test_push_retries_until_accepted(emu: TinyEmulator, receiver: Any) -> None:
    hook, url = await receiver((500, b"no"), (503, b"no"))
    assert await emu.push(url, b'{"a":1}', retries=3, interval=0)
    assert [(a.attempt, a.status) for a in emu.push_log] == [(1, 500), (2, 503), (3, 200)]
    assert all(a.url == url for a in emu.push_log)
    assert [body for _, body in hook.requests] == [b'{"a":1}'] * 3


async def test_push_gives_up_after_its_retries(emu: TinyEmulator, receiver: Any) -> None:
    hook, url = await receiver((500, b""), (500, b""), (500, b""))
    assert not await emu.push(url, b"{}", retries=1, interval=0)
    assert len(hook.requests) == 2
    assert not await emu.push(url, b"{}", interval=0)  # retries=0: one try
    assert len(hook.requests) == 3


async def test_push_ok_decides_from_status_and_body(emu: TinyEmulator, receiver: Any) -> None:
    hook, url = await receiver((200, b"FAIL"), (200, b"SUCCESS"))
    accepted = await emu.push(
        url, b"{}", retries=2, interval=0, ok=lambda status, body: body == b"SUCCESS"
    )
    assert accepted
    assert len(hook.requests) == 2


async def test_push_signs_each_attempt_afresh(emu: TinyEmulator, receiver: Any) -> None:
    hook, url = await receiver((500, b""), (200, b""))
    counter = iter(range(100))

    def headers() -> dict[str, str]:
        return {"X-Sig": f"sig-{next(counter)}"}

    assert await emu.push(url, b"{}", headers=headers, retries=1, interval=0)
    assert [h["X-Sig"] for h, _ in hook.requests] == ["sig-0", "sig-1"]
    assert hook.requests[0][0]["Content-Type"] == "application/json;charset=UTF-8"


async def test_push_keeps_a_given_content_type(emu: TinyEmulator, receiver: Any) -> None:
    hook, url = await receiver()
    assert await emu.push(
        url, b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert hook.requests[0][0]["Content-Type"] == "application/x-www-form-urlencoded"


async def test_push_to_nobody_is_logged_not_raised(emu: TinyEmulator) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook"
    assert not await emu.push(url, b"{}", retries=1, interval=0)
    assert [(a.attempt, a.status) for a in emu.push_log] == [(1, None), (2, None)]
    assert emu.push_log[0].error
    assert emu.push_log[0] == PushAttempt(url, 1, None, emu.push_log[0].error)


async def test_push_waits_between_attempts(emu: TinyEmulator, receiver: Any) -> None:
    _, url = await receiver((500, b""))
    started = time.monotonic()
    assert await emu.push(url, b"{}", retries=1, interval=0.2)
    assert time.monotonic() - started >= 0.15


# -- background work ----------------------------------------------------------------------------


async def test_drain_waits_for_spawned_work(emu: TinyEmulator) -> None:
    done: list[int] = []

    async def work(n: int) -> None:
        await asyncio.sleep(0.02 * n)
        done.append(n)
        if n == 1:
            emu.spawn(work(10))  # work spawned by work is waited for too

    for n in (3, 1, 2):
        emu.spawn(work(n))
    await emu.drain()
    assert sorted(done) == [1, 2, 3, 10]


async def test_drain_gives_up_after_its_limit(emu: TinyEmulator) -> None:
    emu.spawn(asyncio.sleep(30))
    with pytest.raises(TimeoutError, match="1 emulator tasks still running"):
        await emu.drain(limit=0.05)


async def test_a_failing_task_is_logged_and_drained(
    emu: TinyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken() -> None:
        raise RuntimeError("lifecycle bug")

    with caplog.at_level(logging.ERROR, logger="voicegw.emulator"):
        emu.spawn(broken())
        await emu.drain()
    assert "emulator task failed" in caplog.text


async def test_close_cancels_pending_work() -> None:
    emulator = TinyEmulator()
    await emulator.start()
    task = emulator.spawn(asyncio.sleep(30))
    await emulator.close()
    assert task.cancelled()


async def test_sleep_simulated_scales_with_speed() -> None:
    fast = TinyEmulator(speed=0.0)
    started = time.monotonic()
    await fast.sleep_simulated(3600)
    assert time.monotonic() - started < 0.5
    slow = TinyEmulator(speed=0.01)
    started = time.monotonic()
    await slow.sleep_simulated(10)
    assert time.monotonic() - started >= 0.08


# -- helpers for subclasses ---------------------------------------------------------------------


def test_ledger_and_duplicates() -> None:
    emulator = TinyEmulator()
    emulator.record_placed("c1", "+8613800000100", "a")
    emulator.record_placed("c2", "+8613800000101", "a")
    emulator.record_placed("c3", "+8613800000102", "b")
    emulator.record_placed("c4", "+8613800000103", None)
    emulator.record_placed("c5", "+8613800000104", None)
    assert emulator.duplicate_references() == {"a": 2}
    assert isinstance(emulator.placed[0], PlacedCall)


def test_now_follows_the_skew() -> None:
    emulator = TinyEmulator()
    emulator.clock_skew = 90
    drift = (emulator.now() - datetime.now(UTC)).total_seconds()
    assert 89 < drift < 91
    assert emulator.now().tzinfo is not None


def test_scenario_uses_the_shared_table() -> None:
    assert TinyEmulator().scenario("+8613800000017").name == "busy"


def test_base_class_defaults() -> None:
    base = Emulator()
    with pytest.raises(NotImplementedError):
        base.provider_settings()
    with pytest.raises(NotImplementedError):
        base.push_settings("http://127.0.0.1:1/hooks/x")
    assert base.unreachable_settings(4321) == {"base_url": "http://127.0.0.1:4321"}
    assert base.speed == 0.0
    assert base.clock_skew == 0.0
    assert base.placed == []


async def test_default_refusals() -> None:
    from aiohttp.test_utils import make_mocked_request

    request = make_mocked_request("POST", "/x")
    base = Emulator()
    limited = base.rate_limited_response(request)
    refused = base.error_response(request, "E42")
    assert isinstance(limited, web.Response)
    assert isinstance(refused, web.Response)
    assert limited.status == 429
    assert refused.status == 400
    assert refused.body is not None
    assert b"E42" in bytes(refused.body)  # type: ignore[arg-type]


def test_json_body_is_compact_utf8() -> None:
    assert json_body({"text": "Xin chào", "n": [1, 2]}) == '{"text":"Xin chào","n":[1,2]}'.encode()


# -- RateWindow -------------------------------------------------------------------------------


def test_rate_window_slides(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(emulator_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    window = RateWindow(2, per=1.0)
    assert [window.allow(), window.allow(), window.allow()] == [True, True, False]
    now[0] += 0.5
    assert not window.allow()
    now[0] += 0.5  # the first two leave the window
    assert [window.allow(), window.allow(), window.allow()] == [True, True, False]


def test_rate_window_refusals_are_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr(emulator_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    window = RateWindow(1, per=1.0)
    assert window.allow()
    for step in range(9):
        now[0] = 0.1 * (step + 1)
        assert not window.allow()
    now[0] = 1.0
    assert window.allow()
