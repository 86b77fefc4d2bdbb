"""The spec's samples and small test doubles shared by the ITNIO tests."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aioresponses import aioresponses

from voicegw.testing.wire import MockedApi as MockedApi  # re-exported for the tests
from voicegw_itniotech.settings import ItniotechSettings

#: The spec's published sample (§1.2): key, secret, timestamp → Sign.
API_KEY = "bDqJFiq9"
API_SECRET = "7bz1lzh9"
APP_ID = "4luaKsL2"
TIMESTAMP = 1630468800
SIGN = "05d7a50893e22a5c4bb3216ae3396c7c"
BASE = "https://api.itniotech.com"
PUSH_TOKEN = "Qm9vbXNoYWthbGFrYS10b2tlbg"

#: The seed's recordGroup example (001), as published.
SEED_RECORD: dict[str, Any] = {
    "voiceId": "2203031113381000002",
    "callee": "91856321412",
    "displayNum": "1008122211",
    "code": "Afghanistan(Kandahar)",
    "submitTime": "2022-01-18T14:42:40+08:00",
    "callTime": "2022-01-18T14:42:45+08:00",
    "ringingTime": "2022-01-18T14:42:47+08:00",
    "answerTime": "2022-01-18T14:42:50+08:00",
    "hangupTime": "2022-01-18T14:42:55+08:00",
    "callDuration": 5,
    "chargedDuration": 5,
    "terminationCode": "200",
    "terminationReason": "success",
    "cost": "2",
    "billPeriod": "20+20",
    "rate": "1.2",
    "baseCost": "1",
    "voiceFileId": "12022022570cc2484c59d4f8b9745d34226285b1e.mp3",
    "feedbackValue": "1",
    "settleRate": "1.2793",
    "quoteExchange": "0.938",
    "currency": "EUR",
    "settlePay": "1.2793",
}


def make_settings(**overrides: Any) -> ItniotechSettings:
    """Settings with the spec's sample credentials."""
    values: dict[str, Any] = {"api_key": API_KEY, "api_secret": API_SECRET, "app_id": APP_ID}
    values.update(overrides)
    return ItniotechSettings(**values)


def envelope(data: Any = None, status: str = "0", reason: str = "success") -> dict[str, Any]:
    """An ITNIO answer."""
    return {"status": status, "reason": reason, "data": data}


class Ticking:
    """A clock that starts at the sample timestamp and moves ``step`` seconds per reading."""

    def __init__(self, start: float = TIMESTAMP, step: float = 0.0) -> None:
        self.now = start
        self.step = step
        self.readings = 0

    def __call__(self) -> float:
        value = self.now
        self.now += self.step
        self.readings += 1
        return value


def sent(mock: aioresponses) -> list[tuple[str, str, dict[str, Any]]]:
    """Every request aioresponses caught: (method, url, kwargs), in order of first URL."""
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for (method, url), requests in mock.requests.items():
        for request in requests:
            calls.append((method, str(url), request.kwargs))
    return calls


def sent_json(kwargs: dict[str, Any]) -> Any:
    """The JSON body a caught request carried (ProviderHttp sends encoded ``data``)."""
    data = kwargs.get("data")
    return None if data is None else json.loads(data)


class Receiver:
    """A loopback push receiver; ``answers`` is the status sequence it replies with."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.pushes: list[tuple[str, dict[str, str], bytes]] = []
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def _handle(self, request: web.Request) -> web.Response:
        self.pushes.append((str(request.url), dict(request.headers), await request.read()))
        status = self.answers.pop(0) if self.answers else 200
        return web.Response(status=status, text="ok" if status < 300 else "no")

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hooks/{kind}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hooks"
        return self.base

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
