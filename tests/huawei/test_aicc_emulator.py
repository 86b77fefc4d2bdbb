"""The AICC emulator over loopback: uploads, tokens, flow control and the review callback."""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import socket
import struct
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import attrs
import pytest
import pytest_asyncio
from aiohttp import web

from voicegw.errors import (
    AuthenticationError,
    InvalidRequest,
    RateLimited,
    TransportError,
    VoiceError,
)
from voicegw.models import AudioStatus, AudioUpload, EventKind
from voicegw.testing.emulator import Emulator, FaultKind
from voicegw_huawei.aicc import (
    AICC_CODES,
    MAX_FILE_BYTES,
    REVIEW_ACK,
    REVIEW_NACK,
    TOKEN_PATH,
    UPLOAD_PATH,
    AiccClient,
    AiccSettings,
    parse_review,
)
from voicegw_huawei.aicc_emulator import AiccEmulator, TokenGrant
from voicegw_huawei.audio import to_platform_wav


def pcm_wav(rate: int = 16000, seconds: float = 0.1) -> bytes:
    count = int(rate * seconds)
    samples = [int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(count)]
    data = struct.pack(f"<{count}h", *samples)
    header = struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + 16 + 8 + len(data))
        + b"WAVEfmt "
        + header
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


WAV = pcm_wav()


def upload(name: str | None = "Greeting", **overrides: Any) -> AudioUpload:
    values: dict[str, Any] = {
        "data": WAV,
        "filename": "greeting.wav",
        "language": "en-US",
        "name": name,
        **overrides,
    }
    return AudioUpload(**values)


class ReviewReceiver:
    """A loopback stand-in for the webhook receiver's ``/hooks/hw/review`` route."""

    def __init__(self, accept: Callable[[int], bool] = lambda attempt: True) -> None:
        self.accept = accept
        self.bodies: list[bytes] = []
        self.url = ""
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.bodies.append(body)
        self.arrived.set()
        try:
            parse_review(body, "hw")
            stored = self.accept(len(self.bodies))
        except VoiceError:
            stored = False
        reply = REVIEW_ACK if stored else REVIEW_NACK
        return web.Response(status=reply.status, body=reply.body, content_type=reply.content_type)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hooks/hw/review", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hooks/hw/review"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[AiccEmulator]:
    emu = AiccEmulator(review_retry_interval=0.01)
    await emu.start()
    try:
        yield emu
    finally:
        await emu.close()


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[ReviewReceiver]:
    rec = ReviewReceiver()
    await rec.start()
    try:
        yield rec
    finally:
        await rec.close()


def client_for(
    emu: AiccEmulator, clock: Callable[[], float] | None = None, **overrides: Any
) -> AiccClient:
    settings = AiccSettings(**emu.aicc_settings(**overrides))
    if clock is None:
        return AiccClient("hw", "huawei", settings)
    return AiccClient("hw", "huawei", settings, clock=clock)


# -- upload and review ---------------------------------------------------------------------------


async def test_upload_returns_pending_and_the_review_approves_it(
    emulator: AiccEmulator, receiver: ReviewReceiver
) -> None:
    client = client_for(emulator, review_callback_url=receiver.url)
    try:
        audio = await client.upload(upload())
    finally:
        await client.aclose()
    assert audio.status is AudioStatus.PENDING
    assert audio.provider == "hw"
    held = emulator.files[audio.file_id]
    assert (held.locale, held.voice_type, held.file_type) == ("en_US", "3", "wav")
    assert held.name == "Greeting"
    await emulator.drain()
    assert emulator.is_approved(audio.file_id)
    [event] = parse_review(receiver.bodies[-1], "hw")
    assert event.kind is EventKind.AUDIO_REVIEWED
    assert event.call_id == audio.file_id
    assert event.audio is not None
    assert event.audio.status is AudioStatus.APPROVED
    assert [(p.attempt, p.status) for p in emulator.push_log] == [(1, 200)]


async def test_a_file_named_reject_is_rejected_with_a_comment(
    emulator: AiccEmulator, receiver: ReviewReceiver
) -> None:
    client = client_for(emulator, review_callback_url=receiver.url)
    try:
        audio = await client.upload(upload(name="PleaseReject"))
    finally:
        await client.aclose()
    await emulator.drain()
    assert not emulator.is_approved(audio.file_id)
    [event] = parse_review(receiver.bodies[-1], "hw")
    assert event.audio is not None
    assert event.audio.status is AudioStatus.REJECTED
    assert event.audio.comment


async def test_the_review_waits_for_the_simulated_delay(receiver: ReviewReceiver) -> None:
    async with AiccEmulator(speed=0.01, review_delay=20) as emu:  # 20 simulated s = 0.2 s
        assert isinstance(emu, AiccEmulator)
        client = client_for(emu, review_callback_url=receiver.url)
        try:
            audio = await client.upload(upload())
        finally:
            await client.aclose()
        await asyncio.sleep(0.05)
        assert emu.files[audio.file_id].status is AudioStatus.PENDING
        assert receiver.bodies == []
        await emu.drain()
        assert emu.is_approved(audio.file_id)
        assert len(receiver.bodies) == 1


async def test_a_callback_that_is_not_acknowledged_is_retried_until_it_is(
    emulator: AiccEmulator,
) -> None:
    receiver = ReviewReceiver(accept=lambda attempt: attempt >= 3)
    await receiver.start()
    client = client_for(emulator, review_callback_url=receiver.url)
    try:
        await client.upload(upload())
        await emulator.drain()
    finally:
        await client.aclose()
        await receiver.close()
    assert len(receiver.bodies) == 3
    assert [p.status for p in emulator.push_log] == [503, 503, 200]


async def test_the_callback_gives_up_after_six_attempts(emulator: AiccEmulator) -> None:
    receiver = ReviewReceiver(accept=lambda attempt: False)
    await receiver.start()
    client = client_for(emulator, review_callback_url=receiver.url)
    try:
        await client.upload(upload())
        await emulator.drain()
    finally:
        await client.aclose()
        await receiver.close()
    assert len(receiver.bodies) == 6
    assert [p.attempt for p in emulator.push_log] == [1, 2, 3, 4, 5, 6]


async def test_a_200_without_return_code_0_is_not_an_acknowledgement(
    emulator: AiccEmulator,
) -> None:
    seen: list[int] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(1)
        return web.json_response({"returnCode": "1"})

    app = web.Application()
    app.router.add_post("/review", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    emu = AiccEmulator(review_attempts=2, review_retry_interval=0.01)
    await emu.start()
    client = client_for(emu, review_callback_url=f"http://127.0.0.1:{port}/review")
    try:
        await client.upload(upload())
        await emu.drain()
    finally:
        await client.aclose()
        await emu.close()
        await runner.cleanup()
    assert len(seen) == 2


async def test_platform_format_files_are_recognised(emulator: AiccEmulator) -> None:
    client = client_for(emulator)
    try:
        native = await client.upload(upload(data=to_platform_wav(WAV)))
        plain = await client.upload(upload())
    finally:
        await client.aclose()
    assert emulator.files[native.file_id].native_format
    assert not emulator.files[plain.file_id].native_format


# -- tokens ---------------------------------------------------------------------------------------


async def test_concurrent_uploads_share_one_token_and_stay_within_10_per_second(
    emulator: AiccEmulator,
) -> None:
    client = client_for(emulator)
    try:
        files = await asyncio.gather(*(client.upload(upload(name=f"n{i}")) for i in range(25)))
    finally:
        await client.aclose()
    assert len({f.file_id for f in files}) == 25
    assert len(emulator.token_requests) == 1
    assert [seen.status for seen in emulator.uploads] == [200] * 25
    # Measured on the emulator's side, from arrival timestamps.
    times = sorted(seen.at for seen in emulator.uploads)
    for index, start in enumerate(times):
        assert sum(1 for t in times[index:] if t - start < 1.0) <= 10
    assert emulator.busiest_second() <= 10
    assert times[-1] - times[0] >= 2.0  # 25 uploads at ≤ 10/s need more than 2 s


async def test_a_token_revoked_midway_is_renewed_exactly_once(emulator: AiccEmulator) -> None:
    client = client_for(emulator)
    try:
        await client.upload(upload())
        emulator.revoke_tokens()
        files = await asyncio.gather(*(client.upload(upload(name=f"r{i}")) for i in range(5)))
    finally:
        await client.aclose()
    assert len(files) == 5
    assert len(emulator.token_requests) == 2
    statuses = [seen.status for seen in emulator.uploads]
    assert statuses.count(200) == 6
    assert 401 in statuses


async def test_a_token_past_its_lifetime_is_refused_and_renewed_once(
    emulator: AiccEmulator,
) -> None:
    client = client_for(emulator, token_lifetime=600)
    try:
        await client.upload(upload())
        emulator.clock_skew = 600  # the emulator's clock is now past the token's expiry
        await client.upload(upload())
    finally:
        await client.aclose()
    assert [seen.status for seen in emulator.uploads] == [200, 401, 200]
    assert len(emulator.token_requests) == 2


async def test_the_client_renews_a_token_shortly_before_it_expires(
    emulator: AiccEmulator,
) -> None:
    now = [1000.0]
    client = client_for(emulator, clock=lambda: now[0], token_lifetime=600)
    try:
        await client.upload(upload())
        now[0] += 530  # 70 s left: still used
        await client.upload(upload())
        now[0] += 20  # 50 s left, inside the 60 s margin: replaced before use
        await client.upload(upload())
    finally:
        await client.aclose()
    assert emulator.token_requests == ["600", "600"]
    assert [seen.status for seen in emulator.uploads] == [200, 200, 200]


async def test_bad_credentials_are_an_authentication_error_without_the_secret(
    emulator: AiccEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(emulator, app_secret="Wrong-Secret-123")
    try:
        with pytest.raises(AuthenticationError) as caught:
            await client.upload(upload())
    finally:
        await client.aclose()
    assert caught.value.code == "token/HTTP 401"
    assert caught.value.call_placed is False
    assert emulator.uploads == []
    for text in (str(caught.value), repr(caught.value), caplog.text):
        assert "Wrong-Secret-123" not in text
        assert emulator.app_secret not in text


# -- the emulator refuses what AICC refuses ----------------------------------------------------


async def raw_token(emu: AiccEmulator, session: aiohttp.ClientSession, expire: str = "600") -> str:
    async with session.post(
        emu.base_url + TOKEN_PATH,
        json={"app_key": emu.app_key, "app_secret": emu.app_secret},
        headers={"X-Token-Expire": expire},
    ) as resp:
        assert resp.status == 200
        data = await resp.json()
    assert data["ApplyType"] == "Bearer"
    assert data["Expires"] == expire
    assert set(data) == {
        "AccessToken",
        "ApplyType",
        "CreateTime",
        "Expires",
        "Scope",
        "AppKey",
        "UserID",
    }
    return str(data["AccessToken"])


def raw_body(data: bytes = WAV, **overrides: Any) -> dict[str, Any]:
    return {
        "fileInfo": base64.b64encode(data).decode(),
        "locale": "en_US",
        "voiceType": "3",
        "fileType": "wav",
        **overrides,
    }


@pytest.mark.parametrize("expire", ["3601", "0", "ten", "-1"])
async def test_token_lifetime_outside_1_to_3600_is_refused(
    emulator: AiccEmulator, expire: str
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            emulator.base_url + TOKEN_PATH,
            json={"app_key": emulator.app_key, "app_secret": emulator.app_secret},
            headers={"X-Token-Expire": expire},
        ) as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["returnCode"] != "0"


async def test_token_without_x_token_expire_gets_the_default_lifetime(
    emulator: AiccEmulator,
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            emulator.base_url + TOKEN_PATH,
            json={"app_key": emulator.app_key, "app_secret": emulator.app_secret},
        ) as resp,
    ):
        assert (await resp.json())["Expires"] == "600"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer  {t}", "bearer {t}", "{t}", "Bearer {t}x", "Basic {t}", ""],
)
async def test_the_bearer_header_is_checked_exactly(
    emulator: AiccEmulator, authorization: str
) -> None:
    async with aiohttp.ClientSession() as session:
        token = await raw_token(emulator, session)
        async with session.post(
            emulator.base_url + UPLOAD_PATH,
            json=raw_body(),
            headers={"Authorization": authorization.format(t=token)},
        ) as resp:
            assert resp.status == 401
        async with session.post(
            emulator.base_url + UPLOAD_PATH,
            json=raw_body(),
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 200


async def test_a_mismatched_app_key_is_refused(emulator: AiccEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        token = await raw_token(emulator, session)
        async with session.post(
            emulator.base_url + UPLOAD_PATH,
            json=raw_body(),
            headers={"Authorization": f"Bearer {token}", "X-APP-Key": "someone-else"},
        ) as resp:
            assert resp.status == 401


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"locale": "en-US"}, "locale"),
        ({"locale": "vi_VN"}, "locale"),
        ({"voiceType": "4"}, "voiceType"),
        ({"voiceType": 3}, "voiceType"),
        ({"fileType": "ogg"}, "fileType"),
        ({"fileType": "mp3"}, "not a mp3"),
        ({"fileInfo": "%%%"}, "Base64"),
        ({"fileInfo": ""}, "fileInfo"),
        ({"callBackUrl": "hooks.example.org"}, "callBackUrl"),
        ({"voiceFileName": "with space"}, "voiceFileName"),
        ({"voiceFileName": "x" * 51}, "voiceFileName"),
    ],
)
async def test_bad_upload_bodies_are_a_business_failure(
    emulator: AiccEmulator, overrides: dict[str, Any], words: str
) -> None:
    async with aiohttp.ClientSession() as session:
        token = await raw_token(emulator, session)
        async with session.post(
            emulator.base_url + UPLOAD_PATH,
            json=raw_body(**overrides),
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 500
            reply = await resp.json()
    assert reply["returnCode"] != "0"
    assert words in reply["description"]
    assert emulator.files == {}


async def test_the_8_mb_limit_is_enforced(emulator: AiccEmulator) -> None:
    big = WAV + b"\x00" * (MAX_FILE_BYTES - len(WAV) + 1)
    async with aiohttp.ClientSession() as session:
        token = await raw_token(emulator, session)
        async with session.post(
            emulator.base_url + UPLOAD_PATH,
            json=raw_body(big),
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 500
            assert "8 MB" in (await resp.json())["description"]


async def test_more_than_10_uploads_in_a_second_are_flow_controlled(
    emulator: AiccEmulator,
) -> None:
    async with aiohttp.ClientSession() as session:
        token = await raw_token(emulator, session)

        async def one() -> int:
            async with session.post(
                emulator.base_url + UPLOAD_PATH,
                json=raw_body(),
                headers={"Authorization": f"Bearer {token}"},
            ) as resp:
                return resp.status

        statuses = await asyncio.gather(*(one() for _ in range(14)))
    assert statuses.count(200) == 10
    assert statuses.count(429) == 4


# -- faults through the code table -----------------------------------------------------------


@pytest.mark.parametrize(
    "entry", [e for e in AICC_CODES if e.error is not None], ids=lambda e: e.code
)
async def test_every_code_table_entry_surfaces_as_its_class(
    emulator: AiccEmulator, entry: Any
) -> None:
    path = TOKEN_PATH if entry.code.startswith("token/") else UPLOAD_PATH
    emulator.inject(FaultKind.PROVIDER_ERROR, code=entry.code, path=path, times=2)
    client = client_for(emulator)
    try:
        with pytest.raises(VoiceError) as caught:
            await client.upload(upload())
    finally:
        await client.aclose()
    assert type(caught.value) is entry.error
    assert caught.value.code == entry.code
    assert caught.value.provider == "hw"


async def test_injected_flow_control_is_rate_limited(emulator: AiccEmulator) -> None:
    emulator.inject(FaultKind.RATE_LIMIT, path=UPLOAD_PATH)
    client = client_for(emulator)
    try:
        with pytest.raises(RateLimited) as caught:
            await client.upload(upload())
    finally:
        await client.aclose()
    assert caught.value.retryable
    assert caught.value.call_placed is False


async def test_an_injected_business_failure_is_an_invalid_request(emulator: AiccEmulator) -> None:
    emulator.inject(FaultKind.PROVIDER_ERROR, code="HTTP 500", path=UPLOAD_PATH)
    client = client_for(emulator)
    try:
        with pytest.raises(InvalidRequest):
            await client.upload(upload())
        assert (await client.upload(upload())).status is AudioStatus.PENDING
    finally:
        await client.aclose()


async def test_an_unreachable_aicc_is_a_transport_error(emulator: AiccEmulator) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = AiccSettings(**emulator.unreachable_settings(port)["aicc"])
    client = AiccClient("hw", "huawei", settings)
    try:
        with pytest.raises(TransportError) as caught:
            await client.upload(upload())
    finally:
        await client.aclose()
    assert caught.value.call_placed is False


# -- settings helpers and mounting -----------------------------------------------------------


async def test_settings_helpers_point_at_the_emulator(emulator: AiccEmulator) -> None:
    table = emulator.provider_settings()["aicc"]
    assert table == {
        "base_url": emulator.base_url,
        "app_key": emulator.app_key,
        "app_secret": emulator.app_secret,
    }
    pushed = emulator.push_settings("http://127.0.0.1:9/hooks/hw")["aicc"]
    assert pushed["review_callback_url"] == "http://127.0.0.1:9/hooks/hw/review"
    assert AiccSettings(**pushed).app_key == emulator.app_key


class HostEmulator(Emulator):
    """A stand-in for the Huawei emulator that mounts the AICC routes."""

    plugin = "huawei"

    def __init__(self) -> None:
        super().__init__(push_retry_interval=0.01)
        self.aicc = AiccEmulator()
        self.aicc.mount(self)

    def provider_settings(self, **overrides: Any) -> dict[str, Any]:
        return {"plugin": "huawei", **self.aicc.provider_settings(), **overrides}


async def test_the_emulator_mounts_on_another_emulators_app(receiver: ReviewReceiver) -> None:
    host = HostEmulator()
    await host.start()
    try:
        aicc = host.provider_settings()["aicc"]
        assert aicc["base_url"] == host.base_url
        client = AiccClient("hw", "huawei", AiccSettings(**aicc, review_callback_url=receiver.url))
        try:
            audio = await client.upload(upload())
        finally:
            await client.aclose()
        await host.drain()  # the review ran as the host's task and pushed through the host
        assert host.aicc.is_approved(audio.file_id)
        assert [p.status for p in host.push_log] == [200]
        assert AiccEmulator.handles(UPLOAD_PATH)
        assert AiccEmulator.handles(TOKEN_PATH)
        assert not AiccEmulator.handles("/rest/httpsessions/callnotify/v2.0")
    finally:
        await host.close()


def test_emulated_tokens_stay_out_of_reprs() -> None:
    grant = TokenGrant("tok-Hidden-1", "k", 600, datetime.now(UTC))
    assert "tok-Hidden-1" not in repr(grant)
    assert attrs.asdict(grant)["token"] == "tok-Hidden-1"
