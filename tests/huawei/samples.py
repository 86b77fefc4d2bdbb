"""The spec's samples and small test doubles shared by the Huawei tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from voicegw.testing.wire import MockedApi as MockedApi  # re-exported for the tests
from voicegw_huawei.settings import HuaweiSettings, SpeechTemplate

#: The spec's request test vector (§2.2).
APP_KEY = "a1B2c3D4e5F6g7H8"
APP_SECRET = "S3cr3tS3cr3tS3cr3t"
NONCE = "4f0c2e9b7a1d4c3e8b6a5f4e3d2c1b0a"
CREATED = "2024-03-05T08:15:42Z"
NOW = datetime(2024, 3, 5, 8, 15, 42, tzinfo=UTC)
DIGEST = "9kfrhjoqitk8XNvyd/Hgu5dBnhQawRQXZuCkwmz/vVw="
X_AKSK = (
    f'UsernameToken Username="{APP_KEY}",PasswordDigest="{DIGEST}",'
    f'Nonce="{NONCE}",Created="{CREATED}"'
)
AUTHORIZATION = 'AKSK realm="SDP",profile="UsernameToken",type="Appkey"'

#: The spec's push test vector (§2.5, newline variant).
PUSH_URL = "https://hooks.example.org/hw/status"
PUSH_NONCE = "7c1d0e2f3a4b5c6d7e8f9a0b1c2d3e4f"
PUSH_CREATED = "2024-03-05T16:21:09Z"
PUSH_DIGEST = "seKy/vUCcwEyCHJ6kUmmHAIbSsjRLfD9fcPgmff/BWY="

BASE = "https://rtccall.cn-north-1.myhuaweicloud.cn:443"
DISPLAY = "+862087654321"
STATUS_URL = "https://hooks.example.org/hw/status"
FEE_URL = "https://hooks.example.org/hw/fee"
STATUS_B64 = "aHR0cHM6Ly9ob29rcy5leGFtcGxlLm9yZy9ody9zdGF0dXM="
FEE_B64 = "aHR0cHM6Ly9ob29rcy5leGFtcGxlLm9yZy9ody9mZWU="
SESSION = "1201_3417_4294967295_20240305081543@callenabler245.huaweicaas.com"

#: The spec's CDR example (§10.2).
SPEC_CDR: dict[str, Any] = {
    "direction": 0,
    "spId": "sp_demo_01",
    "appKey": APP_KEY,
    "icid": "ims.cn1.17096264.0042",
    "bindNum": DISPLAY,
    "sessionId": SESSION,
    "callerNum": DISPLAY,
    "calleeNum": "+8613900001111",
    "fwdDisplayNum": DISPLAY,
    "fwdDstNum": "+8613700002222",
    "callInTime": "2024-03-05 08:15:43",
    "callOutStartTime": "2024-03-05 08:15:43",
    "callOutAlertingTime": "2024-03-05 08:15:47",
    "callOutAnswerTime": "2024-03-05 08:15:52",
    "fwdStartTime": "2024-03-05 08:15:53",
    "fwdAlertingTime": "2024-03-05 08:15:57",
    "fwdAnswerTime": "2024-03-05 08:16:05",
    "callEndTime": "2024-03-05 08:21:09",
    "fwdUnaswRsn": 0,
    "callOutUnaswRsn": 0,
    "ulFailReason": 0,
    "sipStatusCode": 0,
    "recordFlag": 1,
    "recordStartTime": "2024-03-05 08:16:06",
    "recordObjectName": "1201_3417_20240305081611.wav",
    "recordBucketName": "voicecall-rec-01",
    "recordDomain": "rec-cn1.example-obs.com",
    "recordFileDownloadUrl": "https://rec-cn1.example-obs.com/1201_3417_20240305081611.wav",
    "serviceType": "002",
    "hostName": "callenabler245.huaweicaas.com",
    "userData": "order-20240305-0042",
}


def make_settings(**overrides: Any) -> HuaweiSettings:
    """Settings with the spec's sample credentials and push URLs."""
    values: dict[str, Any] = {
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "caller_id": DISPLAY,
        "verify_pre_tone": "code_intro.wav",
        "status_url": STATUS_URL,
        "fee_url": FEE_URL,
        "speech_template": SpeechTemplate(template_id="tpl-speech", max_length=16),
    }
    values.update(overrides)
    return HuaweiSettings(**values)


def ok(session: str = SESSION, **extra: Any) -> dict[str, Any]:
    """A success envelope."""
    return {"resultcode": "0", "resultdesc": "Success", "sessionId": session, **extra}


def refusal(code: str, text: str = "refused") -> dict[str, Any]:
    """A failure envelope."""
    return {"resultcode": code, "resultdesc": text}


class Receiver:
    """A loopback push receiver that answers with the queued statuses (then 200)."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.pushes: list[tuple[str, dict[str, str], bytes]] = []
        self.base = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hooks/{kind}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hooks"
        return self.base

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        self.pushes.append((kind, dict(request.headers), await request.read()))
        status = self.answers.pop(0) if self.answers else 200
        if kind == "review":  # AICC counts a review as delivered only on returnCode "0"
            return web.json_response({"returnCode": "0"}, status=status)
        return web.Response(status=status, text="ok")

    def url(self, kind: str) -> str:
        return f"{self.base}/{kind}"

    def bodies(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(body) for k, _, body in self.pushes if k == kind]
