"""The review callback: AICC's result becomes one ``audio_reviewed`` event, or InvalidRequest."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicegw.errors import InvalidRequest
from voicegw.models import AudioFile, AudioStatus, CallEvent, EventKind
from voicegw.provider import WebhookReply
from voicegw_huawei.aicc import REVIEW_ACK, REVIEW_NACK, parse_review


def body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def test_an_approval_becomes_one_event_carrying_the_file() -> None:
    raw = {
        "fileUrl": "Y:/IVR/147/voice/0/nPqV9vU3_1666706957559.wav",
        "fileId": "1323606152730207249",
        "status": "2",
        "comment": "Approved",
    }
    events = parse_review(json.dumps(raw).encode(), "hw")
    assert events == [
        CallEvent(
            kind=EventKind.AUDIO_REVIEWED,
            call_id="1323606152730207249",
            provider="hw",
            audio=AudioFile(
                file_id="1323606152730207249",
                provider="hw",
                status=AudioStatus.APPROVED,
                comment="Approved",
            ),
            raw=raw,
        )
    ]
    assert events[0].raw == raw


def test_a_rejection_keeps_the_reviewers_comment() -> None:
    [event] = parse_review(
        body(fileUrl="/voice/ivr/1.wav", fileId="1", status="3", comment="background noise"),
        "hw",
    )
    assert event.audio is not None
    assert event.audio.status is AudioStatus.REJECTED
    assert event.audio.comment == "background noise"
    assert event.call_id == "1"


@pytest.mark.parametrize(
    "fields",
    [
        {"fileId": "9", "status": "2"},  # no comment, no fileUrl: still usable
        {"fileId": "9", "status": 2, "comment": ""},
        {"fileId": 9, "status": "2", "comment": None},
    ],
)
def test_optional_fields_may_be_absent(fields: dict[str, Any]) -> None:
    [event] = parse_review(body(**fields), "hw")
    assert event.audio == AudioFile(file_id="9", provider="hw", status="approved", comment=None)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"2"',
        body(status="2"),
        body(fileId="", status="2"),
        body(fileId=True, status="2"),
        body(fileId="1", status="1"),
        body(fileId="1", status="4"),
        body(fileId="1", status=None),
        body(fileId="1", status=True),
        body(fileId="1", status="2", comment=5),
        body(fileId="1", status="2", fileUrl=["x"]),
        body(fileId="x" * 129, status="2"),
        b"[" * 100000,
    ],
)
def test_bad_bodies_are_invalid_requests(payload: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_review(payload, "hw")
    assert caught.value.provider == "hw"
    assert caught.value.plugin == "huawei"
    assert caught.value.message.startswith("not an AICC review callback")


def test_the_replies_are_what_aicc_expects() -> None:
    assert WebhookReply(200, b'{"returnCode":"0"}', "application/json") == REVIEW_ACK
    assert json.loads(REVIEW_ACK.body) == {"returnCode": "0"}
    assert REVIEW_NACK.status != 200
    assert json.loads(REVIEW_NACK.body)["returnCode"] != "0"
    assert REVIEW_NACK.content_type == "application/json"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
_callbacks = st.fixed_dictionaries(
    {},
    optional={
        "fileId": st.one_of(st.text(max_size=30), st.integers(), _json),
        "status": st.one_of(st.sampled_from(["2", "3", 2, 3, "1", ""]), _json),
        "comment": _json,
        "fileUrl": _json,
    },
).map(lambda d: json.dumps(d).encode())


@settings(max_examples=400, deadline=None)
@given(payload=st.one_of(st.binary(max_size=300), _callbacks))
def test_any_body_gives_an_event_or_a_voice_error(payload: bytes) -> None:
    try:
        events = parse_review(payload, "hw")
    except InvalidRequest:
        return  # the only error a bad body may raise; any other exception fails the test
    [event] = events
    assert event.kind is EventKind.AUDIO_REVIEWED
    assert event.audio is not None
    assert event.audio.status in (AudioStatus.APPROVED, AudioStatus.REJECTED)
    assert event.call_id == event.audio.file_id
