"""A faithful fake of ITNIO Tech's voice API, for tests, demos and ``voicegw emulate itniotech``.

::

    async with ItnioEmulator() as emu:
        gateway = VoiceGateway.from_config({"providers": {"itn": emu.provider_settings()}})
        ...
        await emu.drain()          # every call has ended and been pushed

What it does, in the spec's order (§5):

* every request: ``Api-Key`` unknown → ``-1``; peer IP not on the allowlist → ``-2``;
  ``Timestamp`` outside ±``timestamp_window`` s of :meth:`now` → ``-16`` (missing or garbage →
  ``-1``); ``Sign`` wrong (hex compared case-insensitively) → ``-1``; then the optional per-key
  rate limit → ``-15``;
* bodies: the documented rules (the same rule functions the client checks) → ``-22``;
* money: a destination without a rate → ``-26``; a balance below one billing block → ``-10``;
  the balance is debited by each call's cost when it ends, so it runs out;
* calls: each accepted call plays out the shared scenario table (callee's last three digits)
  in simulated time, rendered as SIP codes, with recalls (``recallCount``) and ``maxRingingTime``
  / ``maxDuration`` honoured; then the final record is pushed to the configured URL, retried 3
  times (every 30 simulated minutes by default) until the receiver answers 2xx;
* records: ``recordGroup`` (``+08:00`` times), ``recordGroupQuery`` (newest first, paged,
  ≤ 31 days, ≤ two months back), ``fileUpload``/``fileQuery``, and ``/sms/getBalance``.

Refusals are HTTP 200 with ``{"status": "<code>", "reason": "…"}``; unknown paths 404, wrong
methods 405. ITNIO's own PHP and Java samples are accepted as they are: the same headers, and
numbers as JSON numbers or numeric strings, optional fields absent or null.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import itertools
import json
import math
import re
import secrets
import string
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import attrs
from aiohttp import web

from voicegw.causes import SIP_PHRASES
from voicegw.testing.emulator import Emulator, RateWindow, json_body
from voicegw_itniotech.auth import signature_matches
from voicegw_itniotech.settings import PLUGIN
from voicegw_itniotech.wire import (
    ITNIO_TZ,
    MAX_PAGE_SIZE,
    MAX_QUERY_SPAN,
    NEWER_LANGUAGE_CODES,
    SEED_LANGUAGE_CODES,
    Problem,
    loose_int,
    send_code_problems,
    send_group_problems,
    upload_problems,
)

__all__ = ["REASONS", "EmulatedCall", "ItnioEmulator", "charged_seconds"]

#: The emulator's ``reason`` texts, worded like the platform's.
REASONS: dict[str, str] = {
    "0": "success",
    "-1": "authentication error",
    "-2": "restricted IP access",
    "-10": "the customer's balance is insufficient",
    "-12": "bulk submission failed",
    "-13": "user locked",
    "-15": "query too frequently",
    "-16": "timestamp expires",
    "-18": "port program unusual",
    "-19": "pricing not configured, contact your account manager",
    "-20": "data already exists",
    "-21": "data validation exception",
    "-22": "parameter exception",
    "-23": "data cap reached",
    "-24": "data does not exist",
    "-26": "getting fee failed",
}

_ALNUM = string.ascii_letters + string.digits
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_VOICE_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_MICRO = Decimal("0.000001")
#: Query windows may start at most this far back (the platform keeps two months).
_RETENTION = timedelta(days=62)
#: ITNIO's push retry policy (sibling pushes): 3 more tries, every 30 minutes.
DEFAULT_PUSH_RETRIES = 3
DEFAULT_PUSH_INTERVAL = 1800.0
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def _decimal(value: Decimal | str | int, what: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{what} must be a str, int or Decimal, not a float")
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{what} is not a decimal: {value!r}") from None


def _bill_period(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"([1-9][0-9]{0,3})\+([1-9][0-9]{0,3})", value)
    if match is None:
        raise ValueError(f"bill_period must look like '20+20', got {value!r}")
    return int(match.group(1)), int(match.group(2))


def charged_seconds(duration: int, bill_period: tuple[int, int]) -> int:
    """Billed seconds under ``A+B`` (spec §4.1): a first block of A, then blocks of B."""
    first, block = bill_period
    if duration <= 0:
        return 0
    return first + math.ceil(max(0, duration - first) / block) * block


@attrs.define
class EmulatedCall:
    """One call's state: the record ITNIO keeps, filled in as the call plays out."""

    voice_id: str
    kind: int  # push ``type``: 1 group call (sendGroup), 2 verification code (sendCode)
    callee: str
    display_num: str | None
    called_info: str | None
    submitted: datetime
    rate: Decimal
    loop_count: int = 1
    max_duration: int | None = None
    max_ringing: int = 60
    recall_count: int = 0
    recall_interval: int = 5
    file_id: str | None = None
    called: datetime | None = None
    ringing: datetime | None = None
    answered: datetime | None = None
    ended: datetime | None = None
    duration: int = 0
    charged: int = 0
    code: str = ""
    reason: str = ""
    cost: Decimal | None = None
    feedback: str = "-1"
    recalls: int = 0

    def wire(
        self,
        *,
        push: bool,
        bill_period: str,
        currency: str,
        quote_exchange: Decimal,
    ) -> dict[str, Any]:
        """The record as ITNIO renders it: ISO ``+08:00`` times, or epoch ms for a push."""

        def when(moment: datetime | None) -> Any:
            if moment is None:
                return None
            if push:
                return int(moment.timestamp() * 1000)
            return moment.astimezone(ITNIO_TZ).isoformat(timespec="seconds")

        foreign = bool(currency) and currency != "USD"
        cost = "" if self.cost is None else f"{self.cost:.6f}"
        base_cost = cost
        if foreign and self.cost is not None:
            base_cost = f"{(self.cost / quote_exchange).quantize(_MICRO, ROUND_HALF_UP):.6f}"
        record: dict[str, Any] = {
            "voiceId": self.voice_id,
            "callee": self.callee,
            "displayNum": self.display_num or "",
            "code": f"Emulator(+{self.callee[:2]})",
            "submitTime": when(self.submitted),
            "callTime": when(self.called),
            "ringingTime": when(self.ringing),
            "answerTime": when(self.answered),
            "hangupTime": when(self.ended),
            "callDuration": self.duration,
            "chargedDuration": self.charged,
            "terminationCode": self.code,
            "terminationReason": self.reason,
            "cost": cost,
            "billPeriod": bill_period,
            "rate": f"{self.rate:.6f}",
            "baseCost": base_cost,
            "voiceFileId": self.file_id or "",
            "feedbackValue": self.feedback,
            "calledInfo": self.called_info or "",
            "settleRate": f"{self.rate:.6f}" if foreign else "",
            "quoteExchange": f"{quote_exchange}" if foreign else "",
            "settlePay": cost if foreign else "",
            "currency": currency if foreign else "",
        }
        if push:
            ring = 0
            if self.ringing is not None:
                until = self.answered or self.ended or self.ringing
                ring = max(0, int((until - self.ringing).total_seconds()))
            record.update(
                type=self.kind,
                sipCode=self.code,
                ringDuration=ring,
                outRecallCount=self.recalls,
            )
        return record


class ItnioEmulator(Emulator):
    """ITNIO Tech's voice API on loopback.

    Credentials are generated per instance unless given; :meth:`provider_settings` hands them
    out. ``balance`` and ``rates`` (callee prefix → rate per minute; ``""`` matches every
    number) drive ``-10`` and ``-26``; ``ip_allowlist`` (IPs or CIDRs) and ``rate_limit``
    (requests per second per key) are off by default. ``push_retry_interval`` is in real
    seconds; by default the retry interval is 30 simulated minutes, scaled by ``speed``.
    """

    plugin = PLUGIN

    def __init__(
        self,
        *,
        speed: float = 0.0,
        latency: float = 0.0,
        api_key: str | None = None,
        api_secret: str | None = None,
        app_id: str | None = None,
        caller_id: str | None = "+14155550100",
        balance: Decimal | str | int = "1000",
        rates: Mapping[str, Decimal | str | int] | None = None,
        bill_period: str = "20+20",
        currency: str = "",
        quote_exchange: Decimal | str = "0.938",
        timestamp_window: float = 1800.0,
        ip_allowlist: Iterable[str] = (),
        rate_limit: int | None = None,
        push_url: str | None = None,
        push_retries: int = DEFAULT_PUSH_RETRIES,
        push_retry_interval: float | None = None,
        push_batch: bool = False,
        queue_delay: float = 2.0,
        no_answer_sip: int | None = None,
        feedback_value: str = "-1",
        max_upload_bytes: int = MAX_UPLOAD_BYTES,
    ) -> None:
        super().__init__(
            speed=speed, latency=latency, push_retry_interval=push_retry_interval or 0.0
        )
        self.api_key = api_key or _random(8)
        self.api_secret = api_secret or _random(8)
        self.app_id = app_id or _random(8)
        self.caller_id = caller_id
        self.balance = _decimal(balance, "balance")
        self.rates = {
            str(prefix): _decimal(rate, f"rates[{prefix!r}]")
            for prefix, rate in (rates if rates is not None else {"": "0.023625"}).items()
        }
        self.bill_period = bill_period
        self._period = _bill_period(bill_period)
        self.currency = currency.upper()
        self.quote_exchange = _decimal(quote_exchange, "quote_exchange")
        self.timestamp_window = timestamp_window
        self.ip_allowlist = [ipaddress.ip_network(entry, strict=False) for entry in ip_allowlist]
        self.key_rate = RateWindow(rate_limit) if rate_limit else None
        self.push_url = push_url
        self.push_token = secrets.token_urlsafe(24)
        self.push_retries = push_retries
        self.push_retry_interval_real = push_retry_interval
        self.push_batch = push_batch
        self.queue_delay = queue_delay
        self.no_answer_sip = no_answer_sip
        self.feedback_value = feedback_value
        self.max_upload_bytes = max_upload_bytes
        self.calls: dict[str, EmulatedCall] = {}
        self.files: dict[str, str] = {}  # fileId → fileName
        self._ids = itertools.count(1)
        router = self.app.router
        router.add_post("/voice/sendCode", self._send_code)
        router.add_post("/voice/sendGroup", self._send_group)
        router.add_post("/voice/fileUpload", self._file_upload)
        router.add_post("/voice/fileQuery", self._file_query)
        router.add_get("/voice/recordGroup/{voice_id}", self._record_group)
        router.add_post("/voice/recordGroupQuery", self._record_group_query)
        router.add_get("/sms/getBalance", self._get_balance)

    async def __aenter__(self) -> ItnioEmulator:
        await self.start()
        return self

    # -- the toolkit's contract -------------------------------------------------------------

    def provider_settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings that point an ``itniotech`` provider at this emulator and pass its auth."""
        settings: dict[str, Any] = {
            "plugin": PLUGIN,
            "base_url": self.base_url,
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "app_id": self.app_id,
        }
        if self.caller_id is not None:
            settings["caller_id"] = self.caller_id
        if self.push_url is not None:
            settings["push_token"] = self.push_token
        settings.update(overrides)
        return settings

    def push_settings(self, hook_base: str) -> dict[str, Any]:
        """Push records to ``{hook_base}/record?token=…`` (the console's push address)."""
        self.push_url = f"{hook_base.rstrip('/')}/record?token={self.push_token}"
        return {"push_token": self.push_token}

    def error_response(self, request: web.Request, code: str) -> web.StreamResponse:
        """ITNIO's refusal: HTTP 200, ``{"status": code, "reason": …}`` (no code: ``-18``)."""
        return _refusal(code or "-18")

    def rate_limited_response(self, request: web.Request) -> web.StreamResponse:
        """ITNIO's only flow-control code: ``-15`` (query too frequently)."""
        return _refusal("-15")

    # -- request checks ---------------------------------------------------------------------

    def _ip_allowed(self, remote: str | None) -> bool:
        if not self.ip_allowlist:
            return True
        try:
            address = ipaddress.ip_address(remote or "")
        except ValueError:
            return False
        return any(address in network for network in self.ip_allowlist)

    def _refuse_unauthorized(self, request: web.Request) -> web.Response | None:
        """The first failing header check, in the platform's order; None when all pass."""
        key = request.headers.get("Api-Key", "")
        if not key or not hmac.compare_digest(key.encode(), self.api_key.encode()):
            return _refusal("-1")
        if not self._ip_allowed(request.remote):
            return _refusal("-2")
        timestamp = request.headers.get("Timestamp", "").strip()
        if not _TIMESTAMP.match(timestamp):
            return _refusal("-1", "timestamp missing or not unix seconds")
        if abs(self.now().timestamp() - int(timestamp)) > self.timestamp_window:
            return _refusal("-16")
        if not signature_matches(
            self.api_key, self.api_secret, timestamp, request.headers.get("Sign", "").strip()
        ):
            return _refusal("-1")
        if self.key_rate is not None and not self.key_rate.allow():
            return _refusal("-15")
        return None

    async def _authorized_body(self, request: web.Request) -> dict[str, Any] | web.Response:
        """The JSON body of a request that passes the header checks, or the refusal."""
        refused = self._refuse_unauthorized(request)
        if refused is not None:
            return refused
        return await self._json(request)

    async def _json(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            data = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return _refusal("-22", "request body is not JSON")
        if not isinstance(data, dict):
            return _refusal("-22", "request body is not a JSON object")
        return data

    def _rate_for(self, callee: str) -> Decimal | None:
        matches = [prefix for prefix in self.rates if callee.startswith(prefix)]
        return self.rates[max(matches, key=len)] if matches else None

    def _block_cost(self, rate: Decimal) -> Decimal:
        return rate * self._period[0] / 60

    def _next_id(self, now: datetime) -> str:
        return f"{now.astimezone(ITNIO_TZ):%y%m%d%H%M%S}{1000000 + next(self._ids)}"

    # -- endpoints --------------------------------------------------------------------------

    async def _send_code(self, request: web.Request) -> web.StreamResponse:
        body = await self._authorized_body(request)
        if isinstance(body, web.Response):
            return body
        problems = send_code_problems(body, languages=SEED_LANGUAGE_CODES | NEWER_LANGUAGE_CODES)
        problems += self._app_problems(body)
        if problems:
            return _refusal("-22", _explain(problems))
        callee = str(body["callee"])
        rate = self._rate_for(callee)
        if rate is None:
            return _refusal("-26")
        if self.balance < self._block_cost(rate):
            return _refusal("-10")
        call = self._new_call(body, callee, rate, kind=2)
        call.recall_count = loose_int(body.get("recallCount")) or 0
        if call.recall_count:
            call.recall_interval = loose_int(body.get("recallInterval")) or 5
        self._place(call)
        return _success(call.voice_id)

    async def _send_group(self, request: web.Request) -> web.StreamResponse:
        body = await self._authorized_body(request)
        if isinstance(body, web.Response):
            return body
        problems = send_group_problems(body) + self._app_problems(body)
        if not problems and body["fileId"] not in self.files:
            problems.append(Problem("fileId", f"is not an uploaded file: {body['fileId']!r}"))
        if problems:
            return _refusal("-22", _explain(problems))
        numbers = str(body["callee"]).split(",")
        rates = [self._rate_for(number) for number in numbers]
        if any(rate is None for rate in rates):
            return _refusal("-26")
        needed = sum(self._block_cost(rate) for rate in rates if rate is not None)
        if self.balance < needed:
            return _refusal("-10")
        accepted = []
        for number, rate in zip(numbers, rates, strict=True):
            assert rate is not None
            call = self._new_call(body, number, rate, kind=1)
            call.file_id = str(body["fileId"])
            self._place(call)
            accepted.append(
                {
                    "voiceId": call.voice_id,
                    "callee": number,
                    "terminationCode": "0",
                    "terminationReason": "success",
                }
            )
        return _success(accepted)

    def _app_problems(self, body: Mapping[str, Any]) -> list[Problem]:
        app_id = body.get("appId")
        if isinstance(app_id, str) and app_id and app_id != self.app_id:
            return [Problem("appId", f"is not a voice application of this account: {app_id!r}")]
        return []

    def _new_call(
        self, body: Mapping[str, Any], callee: str, rate: Decimal, kind: int
    ) -> EmulatedCall:
        now = self.now()
        display = body.get("displayNum")
        info = body.get("calledInfo")
        return EmulatedCall(
            voice_id=self._next_id(now),
            kind=kind,
            callee=callee,
            display_num=display if isinstance(display, str) and display else None,
            called_info=info if isinstance(info, str) and info else None,
            submitted=now,
            rate=rate,
            loop_count=loose_int(body.get("loopCount")) or 1,
            max_duration=loose_int(body.get("maxDuration")),
            max_ringing=loose_int(body.get("maxRingingTime")) or 60,
        )

    def _place(self, call: EmulatedCall) -> None:
        self.calls[call.voice_id] = call
        self.record_placed(call.voice_id, "+" + call.callee, call.called_info)
        self.spawn(self._lifecycle(call))

    async def _record_group(self, request: web.Request) -> web.StreamResponse:
        refused = self._refuse_unauthorized(request)
        if refused is not None:
            return refused
        voice_id = request.match_info["voice_id"]
        if not _VOICE_ID.match(voice_id):
            return _refusal("-22", "voiceId is malformed")
        call = self.calls.get(voice_id)
        return _success(None if call is None else self._wire(call, push=False))

    async def _record_group_query(self, request: web.Request) -> web.StreamResponse:
        body = await self._authorized_body(request)
        if isinstance(body, web.Response):
            return body
        paging = _paging(body)
        if isinstance(paging, str):
            return _refusal("-22", paging)
        window = self._query_window(body.get("params"))
        if isinstance(window, str):
            return _refusal("-22", window)
        start, end = window
        found = sorted(
            (c for c in self.calls.values() if start <= c.submitted < end),
            key=lambda c: c.submitted,
            reverse=True,
        )
        current, size = paging
        page = found[(current - 1) * size : current * size]
        return _success(
            {
                "total": len(found),
                "size": size,
                "current": current,
                "pages": math.ceil(len(found) / size),
                "searchCount": True,
                "records": [self._wire(call, push=False) for call in page],
            }
        )

    def _query_window(self, params: Any) -> tuple[datetime, datetime] | str:
        if not isinstance(params, dict):
            return "params is required: {strTime, endTime}"
        bounds: list[datetime] = []
        for field in ("strTime", "endTime"):
            value = params.get(field)
            try:
                moment = datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:
                return f"params.{field} must be ISO-8601 with an offset, got {value!r}"
            bounds.append(moment)
        start, end = bounds
        if end <= start:
            return "params.endTime must be after params.strTime"
        if end - start > MAX_QUERY_SPAN:
            return "the query spans more than 31 days"
        if start < self.now() - _RETENTION:
            return "params.strTime is older than two months"
        return start, end

    async def _file_upload(self, request: web.Request) -> web.StreamResponse:
        body = await self._authorized_body(request)
        if isinstance(body, web.Response):
            return body
        problems = upload_problems(body)
        if problems:
            return _refusal("-22", _explain(problems))
        name = str(body["fileName"])
        if name in self.files.values():
            return _refusal("-20", f"a file named {name!r} exists")
        try:
            audio = base64.b64decode(str(body["file"]), validate=True)
        except (binascii.Error, ValueError):
            return _refusal("-21", "file is not Base64")
        if not audio or len(audio) > self.max_upload_bytes:
            return _refusal("-21", f"audio must be 1 to {self.max_upload_bytes} bytes")
        extension = name[name.rindex(".") :].lower()
        file_id = f"1{self.now().astimezone(ITNIO_TZ):%Y%m%d}{uuid.uuid4().hex}{extension}"
        self.files[file_id] = name
        return _success(file_id)

    async def _file_query(self, request: web.Request) -> web.StreamResponse:
        body = await self._authorized_body(request)
        if isinstance(body, web.Response):
            return body
        paging = _paging(body)
        if isinstance(paging, str):
            return _refusal("-22", paging)
        current, size = paging
        files = list(self.files.items())
        page = files[(current - 1) * size : current * size]
        return _success(
            {
                "total": len(files),
                "size": size,
                "current": current,
                "pages": math.ceil(len(files) / size),
                "records": [{"fileId": fid, "fileName": name} for fid, name in page],
            }
        )

    async def _get_balance(self, request: web.Request) -> web.StreamResponse:
        refused = self._refuse_unauthorized(request)
        if refused is not None:
            return refused
        return web.json_response(
            {
                "status": "0",
                "reason": "success",
                "balance": f"{self.balance:.6f}",
                "gift": "0.000000",
                "credit": "0",
            }
        )

    # -- call lifecycle ---------------------------------------------------------------------

    def _wire(self, call: EmulatedCall, *, push: bool) -> dict[str, Any]:
        return call.wire(
            push=push,
            bill_period=self.bill_period,
            currency=self.currency,
            quote_exchange=self.quote_exchange,
        )

    async def _lifecycle(self, call: EmulatedCall) -> None:
        """Play the call out in simulated time; recall failures; bill; push the final record."""
        clock = call.submitted
        clock = await self._attempt(call, clock)
        while call.code != "200" and call.recalls < call.recall_count:
            await self.sleep_simulated(call.recall_interval * 60)
            clock += timedelta(minutes=call.recall_interval)
            call.recalls += 1
            clock = await self._attempt(call, clock)
        call.charged = charged_seconds(call.duration, self._period)
        call.cost = (call.rate * call.charged / 60).quantize(_MICRO, ROUND_HALF_UP)
        self.balance -= call.cost
        if self.push_url is not None:
            record = self._wire(call, push=True)
            payload = json_body([record] if self.push_batch else record)
            await self.push(
                self.push_url,
                payload,
                retries=self.push_retries,
                interval=self._push_interval(),
            )

    def _push_interval(self) -> float:
        if self.push_retry_interval_real is not None:
            return self.push_retry_interval_real
        return DEFAULT_PUSH_INTERVAL * self.speed

    async def _attempt(self, call: EmulatedCall, clock: datetime) -> datetime:
        """One dial attempt of ``call`` from ``clock``; returns the simulated time after it."""
        scenario = self.scenario("+" + call.callee)
        call.ringing = call.answered = call.ended = None
        call.code = call.reason = ""
        call.duration = 0

        async def elapse(seconds: float) -> datetime:
            nonlocal clock
            await self.sleep_simulated(seconds)
            clock += timedelta(seconds=seconds)
            return clock

        call.called = await elapse(self.queue_delay)
        ring = min(scenario.ring_seconds, call.max_ringing)
        if ring > 0:
            call.ringing = await elapse(1)
        if scenario.answered:
            call.answered = await elapse(ring)
            talk = scenario.talk_seconds * call.loop_count
            if call.max_duration is not None:
                talk = min(talk, call.max_duration)
            call.ended = await elapse(talk)
            call.duration = talk
            call.code, call.reason = "200", "success"
            call.feedback = self.feedback_value
            return clock
        sip = scenario.sip
        if scenario.name == "no_answer" and self.no_answer_sip is not None:
            sip = self.no_answer_sip
        call.ended = await elapse(ring if ring > 0 else 1)
        call.code, call.reason = str(sip), SIP_PHRASES.get(sip, f"SIP {sip}")
        call.feedback = "-1"
        return clock


def _paging(body: Mapping[str, Any]) -> tuple[int, int] | str:
    current = body.get("current", 1)
    size = body.get("size", 25)
    current_n = 1 if current in (None, "") else loose_int(current)
    size_n = 25 if size in (None, "") else loose_int(size)
    if current_n is None or current_n < 1:
        return f"current must be a whole number ≥ 1, got {current!r}"
    if size_n is None or not 1 <= size_n <= MAX_PAGE_SIZE:
        return f"size must be a whole number from 1 to {MAX_PAGE_SIZE}, got {size!r}"
    return current_n, size_n


def _explain(problems: list[Problem]) -> str:
    return "parameter exception: " + "; ".join(problem.text() for problem in problems)


def _success(data: Any) -> web.Response:
    return web.json_response({"status": "0", "reason": "success", "data": data})


def _refusal(code: str, detail: str | None = None) -> web.Response:
    reason = REASONS.get(code, "error")
    if detail:
        reason = detail if detail.startswith(reason) else f"{reason}: {detail}"
    return web.json_response({"status": code, "reason": reason})
