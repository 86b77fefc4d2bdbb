"""Huawei's pushes → normalized events: status notifications (§9) and CDR pushes (§10).

Both parsers are pure and total: any body gives a list of
:class:`~voicegw.models.CallEvent` or raises :class:`~voicegw.errors.InvalidRequest`. The
signature is checked before (see :func:`voicegw_huawei.auth.verify_push`).

* ``status`` — ``callout`` → initiated, ``alerting`` → ringing, ``answer`` → answered,
  ``collectInfo`` → digits, ``disconnect`` → ended, with a record whose status and hang-up
  cause come from ``stateCode`` (§13). Unknown event types are ignored.
* ``record`` — a ``fee`` push of up to 50 CDRs → one ``record`` event each, with the final
  :class:`~voicegw.models.CallRecord`: times, duration (answer to end), the Q.850 cause
  (§12), the SIP status, the teardown point (§14) and the recording reference.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from voicegw.causes import from_sip, status_for
from voicegw.errors import InvalidRequest
from voicegw.models import (
    CallEvent,
    CallRecord,
    EventKind,
    HangupCategory,
    HangupCause,
    RecordingRef,
)
from voicegw_huawei.codes import cause_from_q850, cause_from_state_code, cause_from_teardown

__all__ = [
    "RECORDING_VALIDITY",
    "cdr_hangup",
    "parse_fee_push",
    "parse_status_push",
    "parse_time",
    "record_from_cdr",
]

logger = logging.getLogger("voicegw.huawei")

PLUGIN = "huawei"
#: Recordings are kept (and their URLs valid) for 7 days (spec §8).
RECORDING_VALIDITY = timedelta(days=7)
#: CDR ``serviceType`` of a voice callback (click-to-call).
CALLBACK_SERVICE = "002"

_STATUS_EVENTS: dict[str, EventKind] = {
    "callout": EventKind.INITIATED,
    "alerting": EventKind.RINGING,
    "answer": EventKind.ANSWERED,
    "collectInfo": EventKind.DIGITS,
    "disconnect": EventKind.ENDED,
}

_INTEGER = re.compile(r"^-?[0-9]{1,30}$")
_PUSH_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S")


def _bad(message: str) -> InvalidRequest:
    return InvalidRequest(message, plugin=PLUGIN)


def _json_object(body: bytes | str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise _bad(f"{what} push is not JSON") from None
    if not isinstance(data, dict):
        raise _bad(f"{what} push is not a JSON object")
    return data


def parse_time(value: Any, field: str) -> datetime | None:
    """A push time (``yyyy-MM-dd HH:mm:ss``, UTC) as an aware datetime; None when empty.

    Epoch seconds (one doc table calls the field a "UNIX timestamp") are accepted too.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if _PUSH_TIME.fullmatch(text):
            # The documented form, read without strptime (which costs ~20x as much, 9 times
            # per CDR); an impossible date falls through to strptime, which refuses it too.
            try:
                return datetime.fromisoformat(text).replace(tzinfo=UTC)
            except ValueError:
                pass
        for fmt in _TIME_FORMATS:
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
        if _INTEGER.match(text):
            value = int(text)
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    raise _bad(f"{field} is not a time in yyyy-MM-dd HH:mm:ss form")


def _int(data: Mapping[str, Any], field: str) -> int | None:
    value = data.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value.strip())
    raise _bad(f"{field} must be an integer")


def _str(data: Mapping[str, Any], field: str, *, required: bool = False) -> str | None:
    value = data.get(field)
    if value is None or (value == "" and not required):
        if required:
            raise _bad(f"{field} is missing")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(f"{field} must be a non-empty string" if required else f"{field} must be text")
    return value


# ---------------------------------------------------------------------------------------------
# Status notifications


def parse_status_push(body: bytes | str, *, provider: str) -> list[CallEvent]:
    """The event of one status push (an unknown ``eventType`` gives none)."""
    data = _json_object(body, "status")
    event_type = data.get("eventType")
    if not isinstance(event_type, str):
        raise _bad("status push has no eventType")
    info = data.get("statusInfo")
    if not isinstance(info, dict):
        raise _bad("status push has no statusInfo object")
    kind = _STATUS_EVENTS.get(event_type)
    if kind is None:
        logger.debug("ignoring a status push of unknown eventType %r", event_type[:40])
        return []
    call_id = _str(info, "sessionId", required=True)
    assert call_id is not None
    at = parse_time(info.get("timestamp"), "statusInfo.timestamp")
    reference = _str(info, "userData")
    digits: str | None = None
    record: CallRecord | None = None
    if kind is EventKind.DIGITS:
        digits = _str(info, "digitInfo") or ""
    elif kind is EventKind.ENDED:
        record = _ended_record(info, call_id, provider, at, reference, data)
    return [
        CallEvent(
            kind=kind,
            call_id=call_id,
            provider=provider,
            at=at,
            digits=digits,
            record=record,
            reference=reference,
            raw=data,
        )
    ]


def _ended_record(
    info: Mapping[str, Any],
    call_id: str,
    provider: str,
    at: datetime | None,
    reference: str | None,
    raw: Mapping[str, Any],
) -> CallRecord:
    code = _int(info, "stateCode")
    cause = cause_from_state_code(code) if code is not None else None
    # stateCode 0 (and the other "normal" reasons) means the call was answered.
    answered = cause is not None and cause.category is HangupCategory.NORMAL
    return CallRecord(
        call_id=call_id,
        provider=provider,
        plugin=PLUGIN,
        to=_str(info, "called"),
        caller_id=_str(info, "caller"),
        status=status_for(cause, answered=answered),
        hangup=cause,
        ended_at=at,
        reference=reference,
        raw=raw,
    )


# ---------------------------------------------------------------------------------------------
# CDR (fee) pushes


def parse_fee_push(body: bytes | str, *, provider: str) -> list[CallEvent]:
    """One ``record`` event per CDR of a fee push."""
    data = _json_object(body, "fee")
    if data.get("eventType") != "fee":
        raise _bad('fee push must have eventType "fee"')
    cdrs = data.get("feeLst")
    if not isinstance(cdrs, list):
        raise _bad("fee push has no feeLst list")
    events: list[CallEvent] = []
    for index, cdr in enumerate(cdrs):
        if not isinstance(cdr, dict):
            raise _bad(f"feeLst[{index}] is not an object")
        try:
            record = record_from_cdr(cdr, provider=provider)
        except InvalidRequest as exc:
            raise _bad(f"feeLst[{index}].{exc.message}") from None
        events.append(
            CallEvent(
                kind=EventKind.RECORD,
                call_id=record.call_id,
                provider=provider,
                at=record.ended_at,
                record=record,
                reference=record.reference,
                raw=cdr,
            )
        )
    return events


def cdr_hangup(
    *, answered: bool, q850: int | None, sip: int | None, teardown: int | None
) -> HangupCause | None:
    """The hang-up cause of a CDR.

    An answered call ended as its teardown point says. An unanswered one: the Q.850 cause of
    the leg that failed (with the SIP status beside it), else the SIP status, else the
    teardown point. ``provider_code`` is the teardown point.
    """
    point = cause_from_teardown(teardown) if teardown is not None else None
    code = str(teardown) if teardown is not None else None
    if answered:
        return point
    if q850 is not None and 1 <= q850 <= 127:
        cause = cause_from_q850(q850, provider_code=code)
        if sip is not None and 300 <= sip <= 699:
            cause = attrs.evolve(cause, sip=sip)
        return cause
    if sip is not None and 300 <= sip <= 699:
        return from_sip(sip, provider_code=code)
    return point


def _plus(at: datetime | None, delta: timedelta) -> datetime | None:
    if at is None:
        return None
    try:
        return at + delta
    except OverflowError:
        return None


def _recording(cdr: Mapping[str, Any], ended: datetime | None) -> RecordingRef | None:
    flag = _int(cdr, "recordFlag")
    name = _str(cdr, "recordObjectName")
    url = _str(cdr, "recordFileDownloadUrl")
    if flag != 1 and not name and not url:
        return None
    # Recordings are kept 7 days after the CDR push: counting from the call's end is the
    # earliest that can be.
    return RecordingRef(url=url, file_id=name, expires_at=_plus(ended, RECORDING_VALIDITY))


def record_from_cdr(cdr: Mapping[str, Any], *, provider: str) -> CallRecord:
    """The final :class:`CallRecord` of one CDR (``FeeInfo``).

    For a callback (``serviceType`` ``"002"``) the record is about the bridged call: ``to``
    is B (``fwdDstNum``), ``answered_at`` B's answer; for notifications and codes, the
    only leg. Duration runs from answer to end; Huawei's CDR carries no price.
    """
    call_id = _str(cdr, "sessionId", required=True)
    assert call_id is not None
    callback = cdr.get("serviceType") == CALLBACK_SERVICE or bool(cdr.get("fwdDstNum"))
    t = {name: parse_time(cdr.get(name), name) for name in _CDR_TIMES}
    started = t["callOutStartTime"] or t["callInTime"]
    if callback:
        answered = t["fwdAnswerTime"]
        ringing = t["fwdAlertingTime"] or t["callOutAlertingTime"]
        first_leg_answered = t["callOutAnswerTime"] is not None
        q850 = _int(cdr, "fwdUnaswRsn") if first_leg_answered else _int(cdr, "callOutUnaswRsn")
        to = _str(cdr, "fwdDstNum") or _str(cdr, "calleeNum")
        caller_id = _str(cdr, "fwdDisplayNum") or _str(cdr, "callerNum")
    else:
        answered = t["callOutAnswerTime"]
        ringing = t["callOutAlertingTime"]
        q850 = _int(cdr, "callOutUnaswRsn")
        to = _str(cdr, "calleeNum")
        caller_id = _str(cdr, "callerNum")
    ended = t["callEndTime"] or t["failTime"]
    duration: int | None = None
    if ended is not None:
        duration = max(0, int((ended - answered).total_seconds())) if answered else 0
    cause = cdr_hangup(
        answered=answered is not None,
        q850=q850,
        sip=_int(cdr, "sipStatusCode"),
        teardown=_int(cdr, "ulFailReason"),
    )
    return CallRecord(
        call_id=call_id,
        provider=provider,
        plugin=PLUGIN,
        to=to,
        caller_id=caller_id,
        status=status_for(cause, answered=answered is not None),
        hangup=cause,
        started_at=started,
        ringing_at=ringing,
        answered_at=answered,
        ended_at=ended,
        duration=duration,
        recording=_recording(cdr, ended),
        reference=_str(cdr, "userData") or None,
        raw=cdr,
    )


_CDR_TIMES = (
    "callInTime",
    "callOutStartTime",
    "callOutAlertingTime",
    "callOutAnswerTime",
    "fwdStartTime",
    "fwdAlertingTime",
    "fwdAnswerTime",
    "callEndTime",
    "failTime",
)
