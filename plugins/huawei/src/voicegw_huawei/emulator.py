"""A faithful fake of Huawei's Voice Call platform (``voicegw emulate huawei``).

It speaks the wire protocol of spec §3–§10 and follows the fidelity checklist of §17:

* ``Authorization`` and ``X-AKSK`` checked exactly (1023xxx for the first missing or wrong
  element, 1010003 unknown app, 1010010 bad digest, 1010013 ``Created`` outside the window of
  ``skew_window`` seconds — in UTC or, unless ``strict_utc``, UTC+8); optionally a nonce
  seen before within the window is refused (``reject_replayed_nonces``);
* bodies checked against the documented field rules (1010002, HTTP 403, naming the field),
  callees outside mainland China refused, display numbers per app (1010023), templates
  approved and filled right (1012002–1012005), recording enabled (1012012), concurrent calls
  per app limited (1020165), an optional IP whitelist (1020166);
* each call runs the scenario table (:mod:`voicegw.testing.scenarios`) rendered as Huawei
  speaks it — Q.850 causes in the CDR and ``stateCode`` in the ``disconnect`` push — and
  pushes its status events in the documented order (never re-pushed) and its CDR afterwards
  (batched by equal ``callEndTime``, up to 50, re-pushed up to ``fee_retries`` times until a
  receiver answers HTTP 200), all signed as spec §2.5 describes;
* ``callStop`` ends a live call (``stateCode`` 8017, teardown point 1003) and refuses an
  unknown one (``stop_unknown_code``, 1020152);
* the recording address answers 301 with a ``Location``;
* Huawei AICC's voice-file upload is served on the same address by an
  :class:`~voicegw_huawei.aicc_emulator.AiccEmulator` (``emulator.aicc``); files it approves
  can be played as ``notifyVoice``.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import random
import struct
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs
from aiohttp import web

from voicegw.testing.emulator import Emulator, json_body
from voicegw.testing.scenarios import Scenario
from voicegw_huawei import auth, wire
from voicegw_huawei.aicc_emulator import AiccEmulator
from voicegw_huawei.codes import (
    API_CODES,
    REQUEST_EXPIRED,
    STATE_CODES,
    SUCCESS,
    http_status_for,
)

__all__ = [
    "DEFAULT_APP_KEY",
    "DEFAULT_APP_SECRET",
    "DEFAULT_DISPLAY_NUMBER",
    "EmulatedApp",
    "EmulatedTemplate",
    "HuaweiEmulator",
    "state_code_for",
]

DEFAULT_APP_KEY = "voicegwEmuAppKey01"
DEFAULT_APP_SECRET = "voicegwEmuS3cr3tS3cr3t"  # noqa: S105 - the emulator's own, public
DEFAULT_DISPLAY_NUMBER = "+862000000000"
DEFAULT_VOICE_FILES = ("code_intro.wav", "code_outro.wav", "notice.wav", "goodbye.wav")
#: The speech template of :meth:`HuaweiEmulator.provider_settings`: 通知：${TXT_32}.
SPEECH_TEMPLATE_ID = "voicegw-speech"
DEFAULT_PUSH_FORMAT = "%Y-%m-%d %H:%M:%S"
RECORDINGS_PATH = "/_recordings"

#: How each scenario's Q.850 cause ends in a ``disconnect`` push (§13).
_STATE_FOR_Q850: dict[int, int] = {
    17: 8102,  # busy → callee busy
    19: 8101,  # no answer → callee did not answer
    21: 8004,  # rejected → hung up while ringing
    1: 8100,  # invalid number → callee number does not exist
    20: 8103,  # unreachable → callee unreachable
    34: 7109,  # congestion → insufficient voice ports
    38: 8001,  # network error → call could not be connected
}


def state_code_for(scenario: Scenario) -> int:
    """The ``stateCode`` the emulator pushes for ``scenario`` (0 when answered)."""
    if scenario.answered:
        return 0
    return _STATE_FOR_Q850.get(scenario.q850, 8001)


def _teardown_for(scenario: Scenario) -> int:
    """The CDR ``ulFailReason``: 0, 514 (ringing timeout) or 518 (remote side failed)."""
    if scenario.answered:
        return 0
    return 514 if scenario.q850 == 19 else 518


def _frozen(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.define(kw_only=True)
class EmulatedApp:
    """An app in the emulated console: its keys, display numbers and settings."""

    app_key: str
    app_secret: str = attrs.field(repr=False)
    display_numbers: frozenset[str] = attrs.field(
        default=frozenset({DEFAULT_DISPLAY_NUMBER}), converter=_frozen
    )
    recording: bool = True
    status_url: str | None = None
    fee_url: str | None = None
    ip_whitelist: frozenset[str] | None = None
    sp_id: str = "sp_voicegw_emu"


@attrs.frozen
class EmulatedTemplate:
    """An approved (or not) TTS template: the maximum length of each ``${TXT_n}`` variable."""

    variables: tuple[int, ...]
    approved: bool = True


def _default_templates() -> dict[str, EmulatedTemplate]:
    return {
        SPEECH_TEMPLATE_ID: EmulatedTemplate((32,)),
        "voicegw-notice": EmulatedTemplate((16, 8)),
        "voicegw-pending": EmulatedTemplate((32,), approved=False),
    }


@attrs.define(kw_only=True)
class _Call:
    session_id: str
    app: EmulatedApp
    service: str  # "notify", "verify" or "callback"
    callee: str
    display: str
    caller: str | None = None  # leg A of a callback
    display_callee: str | None = None
    user_data: str | None = None
    status_url: str | None = None
    fee_url: str | None = None
    collect: int = 0
    missing_file: bool = False
    record: bool = False
    party_type: bool = False
    started: datetime
    last_at: datetime
    times: dict[str, datetime] = attrs.field(factory=dict)
    ended: bool = False
    task: asyncio.Task[Any] | None = None


class HuaweiEmulator(Emulator):
    """The emulated platform. ``speed`` scales simulated call time (0: calls end at once).

    Options: ``app_key`` / ``app_secret`` / ``display_numbers`` of the default app, more
    ``apps``, approved ``voice_files`` and ``templates``, ``skew_window`` (seconds),
    ``strict_utc``, ``reject_replayed_nonces``, ``max_concurrent_calls`` per app,
    ``fee_retries`` and ``push_retry_interval`` (CDR re-push; the real platform waits an
    hour), ``fee_batch_delay`` (real seconds to gather CDRs with equal ``callEndTime``),
    ``stop_unknown_code``, and ``aicc`` (an :class:`AiccEmulator` to mount; one with its
    defaults otherwise).
    """

    plugin: ClassVar[str] = "huawei"

    def __init__(
        self,
        *,
        speed: float = 0.0,
        push_retry_interval: float = 0.05,
        request_rate_limit: int | None = None,
        latency: float = 0.0,
        app_key: str = DEFAULT_APP_KEY,
        app_secret: str = DEFAULT_APP_SECRET,
        display_numbers: Iterable[str] = (DEFAULT_DISPLAY_NUMBER,),
        apps: Iterable[EmulatedApp] = (),
        voice_files: Iterable[str] = DEFAULT_VOICE_FILES,
        templates: Mapping[str, EmulatedTemplate] | None = None,
        skew_window: float = 300.0,
        strict_utc: bool = False,
        reject_replayed_nonces: bool = False,
        max_concurrent_calls: int = 10,
        fee_retries: int = 6,
        fee_batch_delay: float = 0.01,
        stop_unknown_code: str = "1020152",
        recording_enabled: bool = True,
        aicc: AiccEmulator | None = None,
    ) -> None:
        super().__init__(
            speed=speed,
            push_retry_interval=push_retry_interval,
            request_rate_limit=request_rate_limit,
            latency=latency,
        )
        main = EmulatedApp(
            app_key=app_key,
            app_secret=app_secret,
            display_numbers=frozenset(display_numbers),
            recording=recording_enabled,
        )
        self.apps: dict[str, EmulatedApp] = {main.app_key: main}
        for app in apps:
            self.apps[app.app_key] = app
        self.main_app = main
        self.voice_files = set(voice_files)
        self.templates = dict(_default_templates() if templates is None else templates)
        self.skew_window = skew_window
        self.strict_utc = strict_utc
        self.reject_replayed_nonces = reject_replayed_nonces
        self.max_concurrent_calls = max_concurrent_calls
        self.fee_retries = fee_retries
        self.fee_batch_delay = fee_batch_delay
        self.stop_unknown_code = stop_unknown_code
        self.calls: dict[str, _Call] = {}
        self.status_pushes: list[dict[str, Any]] = []
        self.fee_pushes: list[dict[str, Any]] = []
        self.recordings: dict[tuple[str, str], datetime] = {}
        self._nonces: dict[str, datetime] = {}
        self._live: collections.Counter[str] = collections.Counter()
        self._fee_batches: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self._ids = itertools.count(random.randint(1000, 9000))
        router = self.app.router
        router.add_post(wire.CALLBACK_PATH, self._click2call)
        router.add_post(wire.NOTIFY_PATH, self._notify)
        router.add_post(wire.NOTIFY_V1_PATH, self._notify_v1)
        router.add_post(wire.VERIFY_PATH, self._verify)
        router.add_post(wire.STOP_PATH, self._stop)
        router.add_get(wire.RECORD_PATH, self._record_address)
        router.add_get(RECORDINGS_PATH + "/{name}", self._recording_file)
        #: AICC's upload and review, served from this emulator's address.
        self.aicc = aicc if aicc is not None else AiccEmulator(speed=speed)
        self.aicc.mount(self)

    # -- what the toolkit asks for ---------------------------------------------------------

    def provider_settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings for a ``huawei`` provider that passes this emulator's checks."""
        settings: dict[str, Any] = {
            "plugin": "huawei",
            "base_url": self.base_url,
            "app_key": self.main_app.app_key,
            "app_secret": self.main_app.app_secret,
            "caller_id": sorted(self.main_app.display_numbers)[0],
            "verify_pre_tone": "code_intro.wav",
            # The emulated speech template reads any language; a real one is approved for
            # Chinese text (the default of `languages`).
            "speech_template": {
                "template_id": SPEECH_TEMPLATE_ID,
                "max_length": 32,
                "languages": ["zh", "en"],
            },
            "aicc": self.aicc.aicc_settings(),
        }
        settings.update(overrides)
        return settings

    def push_settings(self, hook_base: str) -> dict[str, Any]:
        """Console push addresses of every app → ``{hook_base}/status`` and ``/record``.

        AICC review results go to ``{hook_base}/review`` (AICC learns it per upload).
        """
        status_url, fee_url = f"{hook_base}/status", f"{hook_base}/record"
        for app in self.apps.values():
            app.status_url, app.fee_url = status_url, fee_url
        return {
            "status_url": status_url,
            "fee_url": fee_url,
            **self.aicc.push_settings(hook_base),
        }

    def unreachable_settings(self, closed_port: int) -> dict[str, Any]:
        """Voice Call and AICC both at a port nobody listens on."""
        return {
            "base_url": f"http://127.0.0.1:{closed_port}",
            **self.aicc.unreachable_settings(closed_port),
        }

    def error_response(self, request: web.Request, code: str) -> web.StreamResponse:
        """Huawei's refusal: the envelope with ``code``, at the HTTP status of spec §11."""
        if self.aicc.handles(request.path):
            return self.aicc.error_response(request, code)
        return self._refuse(code or "1010001")

    def rate_limited_response(self, request: web.Request) -> web.StreamResponse:
        """Flow control at Huawei: the app's concurrent-call ports are exhausted (1020165)."""
        if self.aicc.handles(request.path):
            return self.aicc.rate_limited_response(request)
        return self._refuse("1020165")

    # -- answers ---------------------------------------------------------------------------

    def _refuse(self, code: str, description: str | None = None) -> web.Response:
        text = description or API_CODES.lookup(code).description
        return web.json_response(
            {"resultcode": code, "resultdesc": text}, status=http_status_for(code)
        )

    def _invalid(self, field: str) -> web.Response:
        return self._refuse("1010002", f"Invalid request. {field} is invalid.")

    # -- authentication (§2, §17.1–2) ------------------------------------------------------

    def check_auth(self, headers: Mapping[str, str]) -> EmulatedApp | str:
        """The app a request is signed by, or the ``resultcode`` refusing it."""
        authorization = auth.header(headers, "Authorization")
        if authorization is None:
            return "1023006"
        pairs = auth.parse_authorization(authorization) or {}
        for key, missing in (("realm", "1023007"), ("profile", "1023008"), ("type", "1023012")):
            if key not in pairs:
                return missing
        for key, wanted, wrong in (
            ("realm", "SDP", "1023009"),
            ("profile", "UsernameToken", "1023010"),
            ("type", "Appkey", "1023011"),
        ):
            if pairs[key] != wanted:
                return wrong
        raw = auth.header(headers, "X-AKSK")
        if raw is None:
            return "1023033"
        # ASSUMPTION: the code for an X-AKSK not starting with UsernameToken is unknown;
        # we answer as if the header were absent.
        fields = auth.parse_x_aksk(raw)
        if fields is None:
            return "1023033"
        for key, missing in (
            ("Username", "1023034"),
            ("Nonce", "1023035"),
            ("Created", "1023036"),
            ("PasswordDigest", "1023037"),
        ):
            if not fields.get(key):
                return missing
        if not auth.valid_nonce(fields["Nonce"]):
            return "1023035"
        app = self.apps.get(fields["Username"])
        if app is None:
            return "1010003"
        expected = auth.password_digest(app.app_secret, fields["Nonce"], fields["Created"])
        if not auth.digest_matches(expected, fields["PasswordDigest"]):
            return "1010010"
        now = self.now()
        if not self._fresh(fields["Created"], now):
            return REQUEST_EXPIRED
        if self.reject_replayed_nonces:
            self._forget_nonces(now)
            if fields["Nonce"] in self._nonces:
                return "1010010"
            self._nonces[fields["Nonce"]] = now
        return app

    def _fresh(self, created: str, now: datetime) -> bool:
        at = auth.parse_created(created)
        if at is None:
            return False
        window = timedelta(seconds=self.skew_window)
        if abs(now - at) <= window:
            return True
        # Some pages describe Created as Beijing time with a literal Z: tolerate it.
        return not self.strict_utc and abs(now - (at - timedelta(hours=8))) <= window

    def _forget_nonces(self, now: datetime) -> None:
        horizon = now - timedelta(seconds=2 * self.skew_window)
        for nonce in [n for n, seen in self._nonces.items() if seen < horizon]:
            del self._nonces[nonce]

    async def _authenticated_body(
        self, request: web.Request
    ) -> tuple[EmulatedApp, dict[str, Any]] | web.Response:
        checked = self.check_auth(request.headers)
        if isinstance(checked, str):
            return self._refuse(checked)
        app = checked
        if app.ip_whitelist is not None and request.remote not in app.ip_whitelist:
            return self._refuse("1020166")
        try:
            body = json.loads(await request.read())
        except (ValueError, RecursionError):
            return self._refuse("1010002", "Invalid request.")
        if not isinstance(body, dict):
            return self._refuse("1010002", "Invalid request.")
        return app, body

    # -- creating calls (§4–§6) ------------------------------------------------------------

    async def _notify(self, request: web.Request) -> web.StreamResponse:
        return await self._create(request, "notify", "v2.0")

    async def _notify_v1(self, request: web.Request) -> web.StreamResponse:
        return await self._create(request, "notify", "v1.0")

    async def _verify(self, request: web.Request) -> web.StreamResponse:
        return await self._create(request, "verify", "v1.0")

    async def _click2call(self, request: web.Request) -> web.StreamResponse:
        return await self._create(request, "callback", "v2.0")

    async def _create(self, request: web.Request, service: str, version: str) -> web.Response:
        checked = await self._authenticated_body(request)
        if isinstance(checked, web.Response):
            return checked
        app, body = checked
        if service == "notify":
            problem = wire.check_notify(body, version=version)
        elif service == "verify":
            problem = wire.check_verify(body)
        else:
            problem = wire.check_click2call(body)
        if problem is not None:
            return self._invalid(problem.field)
        for field in ("displayNbr", "displayCalleeNbr"):
            if field in body and body[field] not in app.display_numbers:
                return self._refuse("1010023")
        refusal = self._check_templates(body.get("playInfoList") or [])
        if refusal is not None:
            return refusal
        if body.get("recordFlag") == "true" and not app.recording:
            return self._refuse("1012012")
        live = self._live[app.app_key]
        if live >= self.max_concurrent_calls:
            return self._refuse("1020165")
        call = self._new_call(app, service, body)
        self.calls[call.session_id] = call
        self._live[app.app_key] += 1
        self.record_placed(call.session_id, call.callee, call.user_data)
        call.task = self.spawn(self._lifecycle(call))
        answer: dict[str, Any] = {
            "resultcode": SUCCESS,
            "resultdesc": "Success",
            "sessionId": call.session_id,
        }
        if body.get("returnIdlePort") == "true":
            answer["idlePort"] = max(0, self.max_concurrent_calls - live - 1)
        return web.json_response(answer)

    def _check_templates(self, items: list[Any]) -> web.Response | None:
        for item in items:
            template_id = item.get("templateId")
            if template_id is None:
                continue
            template = self.templates.get(template_id)
            if template is None:
                return self._refuse("1012003")
            if not template.approved:
                return self._refuse("1012002")
            params = item.get("templateParas") or []
            if len(params) != len(template.variables):
                return self._refuse("1012004")
            for index, (value, limit) in enumerate(zip(params, template.variables, strict=True)):
                if len(value) > limit:
                    return self._refuse(
                        "1012005", f"{index} of templateParas does not match the template."
                    )
        return None

    def _new_call(self, app: EmulatedApp, service: str, body: Mapping[str, Any]) -> _Call:
        now = self.now()
        session_id = (
            f"1201_{next(self._ids)}_4294967295_{now:%Y%m%d%H%M%S}@callenabler245.huaweicaas.com"
        )
        items = body.get("playInfoList") or []
        files = [item["notifyVoice"] for item in items if item.get("notifyVoice")]
        for key in ("preTone", "posTone"):
            if body.get(key):
                files.append(body[key])
        collect = (items[-1].get("collectInd") or 0) if items else 0
        return _Call(
            session_id=session_id,
            app=app,
            service=service,
            callee=body["calleeNbr"],
            display=body["displayNbr"],
            caller=body.get("callerNbr"),
            display_callee=body.get("displayCalleeNbr"),
            user_data=body.get("userData"),
            status_url=_push_url(body.get("statusUrl"), app.status_url),
            fee_url=_push_url(body.get("feeUrl"), app.fee_url),
            collect=collect,
            missing_file=any(not self.plays(name) for name in files),
            record=body.get("recordFlag") == "true",
            party_type=body.get("partyTypeRequiredInDisconnect") == "true",
            started=now,
            last_at=now,
        )

    def plays(self, file_name: str) -> bool:
        """True for a voice file the platform can play: held here, or approved by AICC."""
        return file_name in self.voice_files or self.aicc.is_approved(file_name)

    # -- call lifecycles -------------------------------------------------------------------

    async def _step(self, call: _Call, seconds: float) -> datetime:
        await self.sleep_simulated(seconds)
        call.last_at = call.last_at + timedelta(seconds=seconds)
        return call.last_at

    async def _leg(
        self, call: _Call, scenario: Scenario, caller: str, called: str, prefix: str
    ) -> bool:
        """Ring one party; True when it answers. Times go in ``call.times``."""
        call.times[f"{prefix}Start"] = call.last_at
        await self._status(call, "callout", caller=caller, called=called)
        at = await self._step(call, 1)
        if scenario.answered or scenario.ring_seconds:
            call.times[f"{prefix}Alerting"] = at
            await self._status(call, "alerting", caller=caller, called=called)
            at = await self._step(call, scenario.ring_seconds)
        if not scenario.answered:
            return False
        call.times[f"{prefix}Answer"] = at
        await self._status(call, "answer", caller=caller, called=called)
        return True

    async def _lifecycle(self, call: _Call) -> None:
        if call.service == "callback":
            await self._callback_lifecycle(call)
            return
        scenario = self.scenario(call.callee)
        if not await self._leg(call, scenario, call.display, call.callee, "callOut"):
            await self._end(call, scenario, leg="callOut")
            return
        if call.missing_file:
            await self._step(call, 1)
            await self._finish(call, state_code=8006, teardown=524)
            return
        await self._step(call, scenario.talk_seconds)
        if call.collect and scenario.digits:
            await self._status(call, "collectInfo", digitInfo=scenario.digits[: call.collect])
        await self._finish(call, state_code=0, teardown=0)

    async def _callback_lifecycle(self, call: _Call) -> None:
        assert call.caller is not None
        first = self.scenario(call.caller)
        if not await self._leg(call, first, call.display, call.caller, "callOut"):
            await self._end(call, first, leg="callOut")
            return
        if call.missing_file:
            await self._step(call, 1)
            await self._finish(call, state_code=8006, teardown=524)
            return
        await self._step(call, 1)
        second = self.scenario(call.callee)
        display = call.display_callee or call.display
        if not await self._leg(call, second, display, call.callee, "fwd"):
            await self._end(call, second, leg="fwd")
            return
        if call.record:
            call.times["recordStart"] = call.last_at
        await self._step(call, second.talk_seconds)
        await self._finish(call, state_code=0, teardown=0)

    async def _end(self, call: _Call, scenario: Scenario, *, leg: str) -> None:
        unanswered = {"callOutUnaswRsn" if leg == "callOut" else "fwdUnaswRsn": scenario.q850}
        await self._finish(
            call,
            state_code=state_code_for(scenario),
            teardown=_teardown_for(scenario),
            sip=scenario.sip,
            **unanswered,
        )

    async def _finish(
        self, call: _Call, *, state_code: int, teardown: int, sip: int = 0, **reasons: int
    ) -> None:
        """Send ``disconnect`` and queue the CDR."""
        if call.ended:
            return
        call.ended = True
        self._live[call.app.app_key] -= 1
        call.times["callEnd"] = call.last_at
        extra: dict[str, Any] = {"stateCode": state_code, "stateDesc": _state_desc(state_code)}
        if call.party_type:
            extra["partyType"] = "2" if teardown == 0 else "1"
        await self._status(call, "disconnect", caller=call.display, called=call.callee, **extra)
        self._queue_cdr(call, self._cdr(call, teardown=teardown, sip=sip, **reasons))

    async def stop(self, session_id: str) -> bool:
        """End a live call as ``callStop`` does; False when it is unknown or over."""
        call = self.calls.get(session_id)
        if call is None or call.ended:
            return False
        if call.task is not None and call.task is not asyncio.current_task():
            call.task.cancel()
        call.last_at = max(call.last_at, self.now())
        self.spawn(self._finish(call, state_code=8017, teardown=1003))
        return True

    # -- pushes (§9, §10) ------------------------------------------------------------------

    def _push_headers(self, app: EmulatedApp, url: str) -> dict[str, str]:
        return auth.sign_push_headers(
            app.app_key, app.app_secret, url, now=self.now(), nonce=auth.new_nonce()
        )

    async def _status(self, call: _Call, event: str, **fields: Any) -> None:
        info: dict[str, Any] = {
            "sessionId": call.session_id,
            "timestamp": call.last_at.strftime(DEFAULT_PUSH_FORMAT),
            **fields,
        }
        if call.user_data is not None:
            info["userData"] = call.user_data
        body = {"eventType": event, "statusInfo": info}
        self.status_pushes.append(body)
        url = call.status_url
        if url is None:
            return
        app = call.app
        # Status pushes are never re-pushed (spec §9).
        await self.push(
            url,
            json_body(body),
            headers=lambda: self._push_headers(app, url),
            retries=0,
            ok=lambda status, _: status == 200,
        )

    def _cdr(self, call: _Call, *, teardown: int, sip: int, **reasons: int) -> dict[str, Any]:
        def time(key: str) -> str:
            at = call.times.get(key)
            return at.strftime(DEFAULT_PUSH_FORMAT) if at else ""

        callback = call.service == "callback"
        cdr: dict[str, Any] = {
            "direction": 0,
            "spId": call.app.sp_id,
            "appKey": call.app.app_key,
            "icid": f"ims.emu.{call.session_id.split('_')[1]}",
            "bindNum": call.display,
            "sessionId": call.session_id,
            "callerNum": call.display,
            "calleeNum": call.caller if callback else call.callee,
            "callInTime": time("callOutStart"),
            "callOutStartTime": time("callOutStart"),
            "callOutAlertingTime": time("callOutAlerting"),
            "callOutAnswerTime": time("callOutAnswer"),
            "callEndTime": time("callEnd"),
            "callOutUnaswRsn": reasons.get("callOutUnaswRsn", 0),
            "ulFailReason": teardown,
            "sipStatusCode": sip,
            "serviceType": "002" if callback else "001",
            "hostName": "callenabler245.huaweicaas.com",
        }
        if teardown not in (0, 100):
            cdr["failTime"] = time("callEnd")
        if callback:
            cdr.update(
                {
                    "fwdDisplayNum": call.display_callee or call.display,
                    "fwdDstNum": call.callee,
                    "fwdStartTime": time("fwdStart"),
                    "fwdAlertingTime": time("fwdAlerting"),
                    "fwdAnswerTime": time("fwdAnswer"),
                    "fwdUnaswRsn": reasons.get("fwdUnaswRsn", 0),
                    "recordFlag": 0,
                }
            )
            if call.record and "recordStart" in call.times:
                name = f"{call.session_id.split('@')[0]}.wav"
                domain = self.base_url.split("://", 1)[-1]
                self.recordings[(name, domain)] = self.now()
                cdr.update(
                    {
                        "recordFlag": 1,
                        "recordStartTime": time("recordStart"),
                        "recordObjectName": name,
                        "recordBucketName": "voicegw-emulator",
                        "recordDomain": domain,
                        "recordFileDownloadUrl": f"{self.base_url}{RECORDINGS_PATH}/{name}",
                    }
                )
        else:
            cdr["dynIVRStartTime"] = time("callOutAnswer")
            cdr["ttsPlayTimes"] = 1 if call.service == "notify" else 0
        if call.user_data is not None:
            cdr["userData"] = call.user_data
        return cdr

    def _queue_cdr(self, call: _Call, cdr: dict[str, Any]) -> None:
        url = call.fee_url
        if url is None:
            self.fee_pushes.append({"eventType": "fee", "feeLst": [cdr]})
            return
        key = (url, call.app.app_key, str(cdr["callEndTime"]))
        batch = self._fee_batches.setdefault(key, [])
        batch.append(cdr)
        if len(batch) == 1:
            self.spawn(self._flush_fees(key, call.app))

    async def _flush_fees(self, key: tuple[str, str, str], app: EmulatedApp) -> None:
        await asyncio.sleep(self.fee_batch_delay)
        cdrs = self._fee_batches.pop(key, [])
        url = key[0]
        for start in range(0, len(cdrs), 50):
            body = {"eventType": "fee", "feeLst": cdrs[start : start + 50]}
            self.fee_pushes.append(body)
            # CDRs are re-pushed until the receiver answers HTTP 200 (spec §10).
            self.spawn(
                self.push(
                    url,
                    json_body(body),
                    headers=lambda: self._push_headers(app, url),
                    retries=self.fee_retries,
                    ok=lambda status, _: status == 200,
                )
            )

    # -- callStop and recordings (§7, §8) --------------------------------------------------

    async def _stop(self, request: web.Request) -> web.StreamResponse:
        checked = await self._authenticated_body(request)
        if isinstance(checked, web.Response):
            return checked
        app, body = checked
        problem = wire.check_stop(body)
        if problem is not None:
            return self._invalid(problem.field)
        call = self.calls.get(body["sessionid"])
        if call is None or call.app is not app or not await self.stop(call.session_id):
            return self._refuse(self.stop_unknown_code)
        return web.json_response({"resultcode": SUCCESS, "resultdesc": "Success"})

    async def _record_address(self, request: web.Request) -> web.StreamResponse:
        checked = self.check_auth(request.headers)
        if isinstance(checked, str):
            return self._refuse(checked)
        name = request.query.get("fileName", "")
        domain = request.query.get("recordDomain", "")
        if not 1 <= len(name) <= 128:
            return self._invalid("fileName")
        if not 1 <= len(domain) <= 128:
            return self._invalid("recordDomain")
        made = self.recordings.get((name, domain))
        # ASSUMPTION: the failure code of an unknown or expired recording is not documented.
        if made is None or self.now() - made > timedelta(days=7):
            return self._invalid("fileName")
        expires = int((self.now() + timedelta(days=7)).timestamp())
        location = f"{self.base_url}{RECORDINGS_PATH}/{name}?Expires={expires}&Signature=emu"
        return web.Response(status=301, headers={"Location": location})

    async def _recording_file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if not any(known == name for known, _ in self.recordings):
            return web.Response(status=404)
        return web.Response(body=_silence_wav(), content_type="audio/wav")


def _push_url(b64: Any, console: str | None) -> str | None:
    """The per-call push address (Base64 in the request), else the console's."""
    if isinstance(b64, str):
        return wire.decode_b64_url(b64) or console
    return console


def _state_desc(code: int) -> str:
    entry = STATE_CODES.get(code)
    return entry[1] if entry else "undocumented"


def _silence_wav(seconds: float = 0.5) -> bytes:
    """A short A-law WAV of silence, the format Huawei records in."""
    frames = int(8000 * seconds)
    fmt = struct.pack("<HHIIHHH", 6, 1, 8000, 8000, 1, 8, 0)
    data = b"\xd5" * frames
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
