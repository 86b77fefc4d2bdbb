"""A faithful fake of the echo API: signatures, call state, lifecycles and pushes.

It serves ``POST /v1/calls``, ``GET /v1/calls/{id}`` and ``POST /v1/calls/{id}/hangup`` on
loopback, checks every request's signature and timestamp window exactly as the API does,
plays each call out by the scenario table (:mod:`voicegw.testing.scenarios`) in the API's own
statuses and SIP codes, and pushes the final call object, signed, to the call's
``callback_url``::

    async with EchoEmulator() as emulator:
        settings = emulator.provider_settings()
        gateway = VoiceGateway.from_config({"providers": {"echo": settings}})
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any, ClassVar

from aiohttp import web
from voicegw.testing.emulator import Emulator
from voicegw.testing.scenarios import Scenario

from voicegw_echo.auth import (
    ACCOUNT_HEADER,
    PUSH_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    push_signature,
    request_signature,
)
from voicegw_echo.codes import API_CODES, RATE_LIMITED, REQUEST_EXPIRED
from voicegw_echo.settings import PLUGIN
from voicegw_echo.wire import CALLS_PATH, LANGUAGES, MAX_TEXT

__all__ = ["EchoEmulator"]

#: How far a request's timestamp may be from the API's clock, in seconds.
SIGNATURE_WINDOW = 300.0
PRICE_PER_MINUTE = Decimal("0.0100")

#: The HTTP status the API answers each error code with.
HTTP_STATUS: dict[str, int] = {
    "unauthorized": 401,
    REQUEST_EXPIRED: 401,
    "forbidden": 403,
    "insufficient_funds": 402,
    "invalid_request": 400,
    "no_route": 422,
    "not_found": 404,
    "call_ended": 409,
    RATE_LIMITED: 429,
    "unavailable": 503,
    "internal_error": 500,
}

#: SIP final response of an unanswered call → the API's status for it.
_UNANSWERED_STATUS = {486: "busy", 480: "no-answer", 603: "rejected"}
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SUPPORTED_LANGUAGES = frozenset(LANGUAGES.values())


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _problem(data: Any) -> str | None:
    """What is wrong with a ``POST /v1/calls`` body, or None; as the API validates it."""
    if not isinstance(data, dict):
        return "the body must be a JSON object"
    if not isinstance(data.get("to"), str) or not _E164.match(data["to"]):
        return "to must be an E.164 number"
    caller = data.get("from")
    if caller is not None and (not isinstance(caller, str) or not _E164.match(caller)):
        return "from must be an E.164 number"
    say = data.get("say")
    if not isinstance(say, list) or not say:
        return "say must be a non-empty list"
    for item in say:
        if not isinstance(item, dict) or item.get("lang") not in _SUPPORTED_LANGUAGES:
            return "each say item needs a supported lang"
        if item.get("type") == "text":
            text = item.get("text")
            if not isinstance(text, str) or not text or len(text) > MAX_TEXT:
                return f"text must be 1 to {MAX_TEXT} characters"
        elif item.get("type") == "digits":
            if not isinstance(item.get("digits"), str) or not item["digits"].isdigit():
                return "digits must be a string of digits"
        else:
            return "say item type must be text or digits"
    repeat = data.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= 3:
        return "repeat must be 1 to 3"
    collect = data.get("collect")
    if collect is not None and not isinstance(collect, dict):
        return "collect must be an object"
    callback = data.get("callback_url")
    if callback is not None and not (
        isinstance(callback, str) and callback.startswith(("http://", "https://"))
    ):
        return "callback_url must be an http(s) URL"
    ref = data.get("ref")
    if ref is not None and (not isinstance(ref, str) or len(ref) > 256):
        return "ref must be a string of at most 256 characters"
    return None


class EchoEmulator(Emulator):
    """The echo API on loopback.

    ``account_id`` and ``api_secret`` are the credentials it accepts (a random secret unless
    given): :meth:`provider_settings` hands them to the provider.
    """

    plugin: ClassVar[str] = PLUGIN

    def __init__(
        self,
        *,
        speed: float = 0.0,
        account_id: str = "AC-emulator",
        api_secret: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(speed=speed, **options)
        self.account_id = account_id
        self.api_secret = api_secret or secrets.token_urlsafe(24)
        self.calls: dict[str, dict[str, Any]] = {}
        self._callbacks: dict[str, str | None] = {}
        self._lifecycles: dict[str, asyncio.Task[Any]] = {}
        self.app.router.add_post(CALLS_PATH, self._create_call)
        self.app.router.add_get(CALLS_PATH + "/{call_id}", self._get_call)
        self.app.router.add_post(CALLS_PATH + "/{call_id}/hangup", self._hangup_call)

    # -- the Emulator contract ---------------------------------------------------------------

    def provider_settings(self, **overrides: Any) -> dict[str, Any]:
        return {
            "plugin": PLUGIN,
            "base_url": self.base_url,
            "account_id": self.account_id,
            "api_secret": self.api_secret,
            **overrides,
        }

    def push_settings(self, hook_base: str) -> dict[str, Any]:
        # The API pushes to the callback_url each call carries: the provider's setting.
        return {"callback_url": f"{hook_base.rstrip('/')}/record"}

    def error_response(self, request: web.Request, code: str) -> web.StreamResponse:
        if code == RATE_LIMITED:
            return self.rate_limited_response(request)
        message = API_CODES.lookup(code).description
        return web.json_response(
            {"error": {"code": code, "message": message}}, status=HTTP_STATUS.get(code, 400)
        )

    def rate_limited_response(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"error": {"code": RATE_LIMITED, "message": "slow down"}},
            status=429,
            headers={"Retry-After": "1"},
        )

    # -- requests ------------------------------------------------------------------------------

    def _refusal(self, request: web.Request, body: bytes) -> web.StreamResponse | None:
        """The API's answer to a request that fails authentication, or None if it passes."""
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if request.headers.get(ACCOUNT_HEADER) != self.account_id or not timestamp.isdigit():
            return self.error_response(request, "unauthorized")
        expected = request_signature(self.api_secret, request.method, request.path, timestamp, body)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return self.error_response(request, "unauthorized")
        if abs(self.now().timestamp() - int(timestamp)) > SIGNATURE_WINDOW:
            return self.error_response(request, REQUEST_EXPIRED)
        return None

    async def _create_call(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        refusal = self._refusal(request, body)
        if refusal is not None:
            return refusal
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        problem = _problem(data)
        if problem is not None:
            return web.json_response(
                {"error": {"code": "invalid_request", "message": problem}}, status=400
            )
        call_id = "CA" + secrets.token_hex(12)
        call: dict[str, Any] = {
            "id": call_id,
            "status": "queued",
            "to": data["to"],
            "from": data.get("from"),
            "ref": data.get("ref"),
            "created_at": _iso(self.now()),
            "ringing_at": None,
            "answered_at": None,
            "ended_at": None,
            "duration": None,
            "sip_code": None,
            "price": None,
            "currency": "USD",
            "digits": None,
        }
        self.calls[call_id] = call
        self._callbacks[call_id] = data.get("callback_url")
        self.record_placed(call_id, data["to"], data.get("ref"))
        collect = data.get("collect") is not None
        self._lifecycles[call_id] = self.spawn(self._lifecycle(call, collect=collect))
        return web.json_response(call, status=201)

    async def _get_call(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request, await request.read())
        if refusal is not None:
            return refusal
        call = self.calls.get(request.match_info["call_id"])
        if call is None:
            return self.error_response(request, "not_found")
        return web.json_response(call)

    async def _hangup_call(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request, await request.read())
        if refusal is not None:
            return refusal
        call_id = request.match_info["call_id"]
        call = self.calls.get(call_id)
        if call is None:
            return self.error_response(request, "not_found")
        if call["ended_at"] is not None:
            return self.error_response(request, "call_ended")
        task = self._lifecycles.pop(call_id, None)
        if task is not None:
            task.cancel()
        # The call's times so far are simulated: end it no earlier than the last of them.
        times = [call[key] for key in ("created_at", "ringing_at", "answered_at") if call[key]]
        ended = max([self.now(), *(datetime.fromisoformat(t) for t in times)])
        if call["answered_at"] is not None:
            talked = ended - datetime.fromisoformat(call["answered_at"])
            self._end(call, "completed", 200, ended)
            call["duration"] = int(talked.total_seconds())
        else:
            self._end(call, "canceled", 487, ended)
            call["duration"] = 0
        call["price"] = str(_price(call["duration"]))
        self.spawn(self._push(call))
        return web.json_response(call)

    # -- a call's life -------------------------------------------------------------------------

    async def _lifecycle(self, call: dict[str, Any], *, collect: bool) -> None:
        """Play the call out by its scenario, in simulated time, then push its record."""
        scenario = self.scenario(call["to"])
        clock = datetime.fromisoformat(call["created_at"]) + timedelta(seconds=1)
        await self.sleep_simulated(1)
        if scenario.ring_seconds:
            call["status"], call["ringing_at"] = "ringing", _iso(clock)
            await self.sleep_simulated(scenario.ring_seconds)
            clock += timedelta(seconds=scenario.ring_seconds)
        if scenario.answered:
            call["status"], call["answered_at"] = "in-progress", _iso(clock)
            await self.sleep_simulated(scenario.talk_seconds)
            clock += timedelta(seconds=scenario.talk_seconds)
            call["duration"] = scenario.talk_seconds
            call["digits"] = scenario.digits if collect else None
        else:
            call["duration"] = 0
        call["price"] = str(_price(call["duration"]))
        self._end(call, _final_status(scenario), scenario.sip, clock)
        self._lifecycles.pop(call["id"], None)
        await self._push(call)

    def _end(self, call: dict[str, Any], status: str, sip: int, when: datetime) -> None:
        call["status"], call["sip_code"], call["ended_at"] = status, sip, _iso(when)

    async def _push(self, call: dict[str, Any]) -> None:
        callback = self._callbacks.get(call["id"])
        if callback is None:
            return
        body = json.dumps({"event": "call.ended", "call": call}).encode()
        signature = push_signature(self.api_secret, callback, body)
        await self.push(callback, body, headers={PUSH_SIGNATURE_HEADER: signature}, retries=3)


def _final_status(scenario: Scenario) -> str:
    if scenario.answered:
        return "completed"
    return _UNANSWERED_STATUS.get(scenario.sip, "failed")


def _price(seconds: int) -> Decimal:
    minutes = (Decimal(seconds) / 60).to_integral_value(rounding=ROUND_CEILING)
    return minutes * PRICE_PER_MINUTE
