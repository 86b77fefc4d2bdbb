"""The wire mapping: the exact request sent, and call objects read back into records.

The provider talks to a recording server on loopback, which answers from a queue and keeps
every request exactly as it arrived (method, path, headers, body).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st
from voicegw.errors import (
    InsufficientFunds,
    OutcomeUnknown,
    RequestExpired,
    UnsupportedFeature,
    ValidationError,
    VoiceError,
)
from voicegw.models import (
    Audio,
    CallStatus,
    DigitCollection,
    EventKind,
    HangupCategory,
    Speech,
    VerificationCode,
    VoiceNotification,
)

from voicegw_echo.auth import (
    ACCOUNT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    request_signature,
)
from voicegw_echo.provider import EchoProvider
from voicegw_echo.settings import EchoSettings
from voicegw_echo.wire import events_from_push, record_from_wire

SECRET = "s3cret-for-tests"
NOW = 1_700_000_000.0
CALLBACK = "https://hooks.example.com/hooks/echo/record"
CALL = {
    "id": "CA0001",
    "status": "completed",
    "to": "+447700900123",
    "from": None,
    "ref": "order-42",
    "created_at": "2024-05-01T12:00:00Z",
    "ringing_at": "2024-05-01T12:00:01Z",
    "answered_at": "2024-05-01T12:00:05Z",
    "ended_at": "2024-05-01T12:00:17Z",
    "duration": 12,
    "sip_code": 200,
    "price": "0.0100",
    "currency": "USD",
    "digits": "1",
}


@attrs.frozen
class Sent:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class RecordingServer:
    """Answers each request with the next queued ``(status, JSON)``; keeps what arrived."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any]] = []
        self.sent: list[Sent] = []
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")

    def answer(self, status: int, payload: Any) -> None:
        self.answers.append((status, payload))

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.sent.append(Sent(request.method, request.path, dict(request.headers), body))
        status, payload = self.answers.pop(0) if self.answers else (500, {"unexpected": True})
        return web.json_response(payload, status=status)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[RecordingServer]:
    recording = RecordingServer()
    await recording.server.start_server()
    yield recording
    await recording.server.close()


@pytest_asyncio.fixture
async def provider(server: RecordingServer) -> AsyncIterator[EchoProvider]:
    settings = EchoSettings(
        base_url=str(server.server.make_url("")),
        account_id="AC1",
        api_secret=SECRET,
        callback_url=CALLBACK,
    )
    provider = EchoProvider("echo", settings, clock=lambda: NOW)
    yield provider
    await provider.aclose()


async def test_send_builds_signs_and_sends_the_exact_request(
    server: RecordingServer, provider: EchoProvider
) -> None:
    note = VoiceNotification(
        "+447700900123",
        [Speech("Your code is", "en"), VerificationCode("583021", "en-GB")],
        collect=DigitCollection(max_digits=1),
        reference="order-42",
    )
    server.answer(201, {**CALL, "status": "queued"})
    receipt = await provider.send(note)
    [sent] = server.sent
    assert (sent.method, sent.path) == ("POST", "/v1/calls")
    assert json.loads(sent.body) == {
        "to": "+447700900123",
        "say": [
            {"type": "text", "text": "Your code is", "lang": "en-US"},
            {"type": "digits", "digits": "583021", "lang": "en-GB"},
        ],
        "repeat": 1,
        "collect": {"max_digits": 1, "timeout": 5},
        "ref": "order-42",
        "callback_url": CALLBACK,
    }
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers[ACCOUNT_HEADER] == "AC1"
    assert sent.headers[TIMESTAMP_HEADER] == "1700000000"
    expected = request_signature(SECRET, "POST", "/v1/calls", "1700000000", sent.body)
    assert sent.headers[SIGNATURE_HEADER] == expected
    assert receipt.call_id == "CA0001"
    assert receipt.reference == "order-42"


async def test_get_record_maps_the_call_object(
    server: RecordingServer, provider: EchoProvider
) -> None:
    server.answer(200, CALL)
    record = await provider.get_record("CA0001")
    assert [(s.method, s.path, s.body) for s in server.sent] == [("GET", "/v1/calls/CA0001", b"")]
    assert record.status is CallStatus.COMPLETED
    assert record.duration == 12
    assert record.billed_duration == 60
    assert record.digits == "1"
    assert record.cost is not None
    assert str(record.cost.amount) == "0.0100"
    assert record.answered_at is not None
    assert record.answered_at.utcoffset() is not None


async def test_hangup_posts_to_the_call(
    server: RecordingServer,
    provider: EchoProvider,
) -> None:
    server.answer(200, {**CALL, "status": "canceled", "sip_code": 487})
    await provider.hangup("CA0001")
    [sent] = server.sent
    assert (sent.method, sent.path, sent.body) == ("POST", "/v1/calls/CA0001/hangup", b"")


async def test_expired_request_is_re_signed_once(
    server: RecordingServer, provider: EchoProvider
) -> None:
    expired = {"error": {"code": "request_expired", "message": "clock"}}
    server.answer(401, expired)
    server.answer(200, CALL)
    record = await provider.get_record("CA0001")
    assert record.call_id == "CA0001"
    assert len(server.sent) == 2
    server.answer(401, expired)
    server.answer(401, expired)
    with pytest.raises(RequestExpired):
        await provider.get_record("CA0001")
    assert len(server.sent) == 4, "re-signed once, not more"


async def test_refusal_envelope_goes_through_the_code_table(
    server: RecordingServer, provider: EchoProvider
) -> None:
    server.answer(402, {"error": {"code": "insufficient_funds", "message": "top up"}})
    with pytest.raises(InsufficientFunds) as caught:
        await provider.send(VoiceNotification("+447700900123", [Speech("Hi")]))
    assert caught.value.code == "insufficient_funds"
    assert caught.value.call_placed is False
    assert "top up" in caught.value.message


async def test_accepted_without_an_id_is_outcome_unknown(
    server: RecordingServer, provider: EchoProvider
) -> None:
    server.answer(201, {"status": "queued"})
    with pytest.raises(OutcomeUnknown) as caught:
        await provider.send(VoiceNotification("+447700900123", [Speech("Hi")]))
    assert caught.value.call_placed is None


@pytest.mark.parametrize(
    ("note", "error"),
    [
        (VoiceNotification("+447700900123", [Audio("file-1")]), UnsupportedFeature),
        (VoiceNotification("+447700900123", [Speech("Hi", "ja")]), UnsupportedFeature),
        (VoiceNotification("+447700900123", [Speech("x" * 1001)]), ValidationError),
        (VoiceNotification("+447700900123", [Speech("Hi")], repeat=4), ValidationError),
        (VoiceNotification("+447700900123", [Speech("Hi")], options={"to": "x"}), ValidationError),
    ],
)
async def test_refused_locally_before_sending(
    server: RecordingServer,
    provider: EchoProvider,
    note: VoiceNotification,
    error: type[VoiceError],
) -> None:
    with pytest.raises(error) as caught:
        await provider.send(note)
    assert not server.sent, "refused locally, so nothing may reach the API"
    assert caught.value.provider == "echo"


@pytest.mark.parametrize(
    ("status", "sip", "expected", "category"),
    [
        ("completed", 200, CallStatus.COMPLETED, HangupCategory.NORMAL),
        ("busy", 486, CallStatus.BUSY, HangupCategory.BUSY),
        ("no-answer", 480, CallStatus.NO_ANSWER, HangupCategory.NO_ANSWER),
        ("rejected", 603, CallStatus.REJECTED, HangupCategory.REJECTED),
        ("failed", 404, CallStatus.FAILED, HangupCategory.INVALID_NUMBER),
        ("failed", 503, CallStatus.FAILED, HangupCategory.CONGESTION),
        ("canceled", 487, CallStatus.CANCELED, HangupCategory.CANCELED),
        ("failed", None, CallStatus.FAILED, HangupCategory.UNKNOWN),
    ],
)
def test_final_statuses_and_sip_codes(
    status: str, sip: int | None, expected: CallStatus, category: HangupCategory
) -> None:
    record = record_from_wire({**CALL, "status": status, "sip_code": sip}, provider="p")
    assert record.status is expected
    assert record.hangup is not None
    assert record.hangup.category is category


def test_a_call_in_progress_has_no_hangup_cause() -> None:
    record = record_from_wire({**CALL, "status": "in-progress", "sip_code": None}, provider="p")
    assert record.status is CallStatus.IN_PROGRESS
    assert record.hangup is None


def test_push_of_a_final_call_is_a_record_event() -> None:
    body = json.dumps({"event": "call.ended", "call": CALL}).encode()
    [event] = events_from_push(body, provider="p")
    assert event.kind is EventKind.RECORD
    assert event.record is not None
    assert event.reference == "order-42"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
_call_like = st.fixed_dictionaries(
    {},
    optional={key: st.one_of(st.just(value), _json) for key, value in CALL.items()},
)


@given(data=st.one_of(_json, _call_like))
def test_any_call_object_gives_a_record_or_a_voice_error(data: Any) -> None:
    try:
        record = record_from_wire(data, provider="p")
    except VoiceError:
        return
    assert record.call_id


@given(
    body=st.one_of(
        st.binary(max_size=200),
        _call_like.map(lambda c: json.dumps({"event": "x", "call": c}).encode()),
    )
)
def test_any_push_body_gives_events_or_a_voice_error(body: bytes) -> None:
    try:
        events = events_from_push(body, provider="p")
    except VoiceError:
        return
    assert all(event.call_id for event in events)
