"""``send_overhead_vs_raw_aiohttp``: N sends through ``gateway.send`` ÷ N hand-signed POSTs.

Both sides send the same ``/voice/sendCode`` body to the ITNIO emulator (a process of its own,
no added latency, so the client's own CPU cost shows) with the same number of requests in
flight, and read the ``voiceId`` out of the answer:

* **raw** — what a careful person writes by hand: one ``aiohttp.ClientSession`` (kept across
  rounds, as the gateway keeps its provider's), the four headers (``Sign = md5(key + secret +
  timestamp)``, fresh per request), ``json.dumps`` of the body, ``resp.read()``,
  ``json.loads``, a check of ``status == "0"``;
* **voicegw** — build a ``VoiceNotification`` (E.164 validation), ``gateway.send`` (route,
  capability check, rate limiter, the plugin's validation of every documented rule, signing,
  the error translation, the receipt with its attempts).

Rounds alternate which side goes first; the ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from bench._common import EmulatorProcess, Stopwatch, emulator_process, median
from voicegw import Speech, VoiceGateway, VoiceNotification
from voicegw.http import HttpResponse

TEXT = "Your parcel arrives today between 9 and 11"


def number(i: int) -> str:
    return f"+8613{i % 10**9:09d}"


async def _drive(n: int, concurrency: int, one: Callable[[int], Awaitable[str]]) -> None:
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            call_id = await one(i)
            if not call_id:
                raise RuntimeError("a send came back without a call id")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def raw_session(concurrency: int) -> aiohttp.ClientSession:
    """The hand-written client's session, kept across rounds as the gateway keeps its own."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))


async def raw_round(
    session: aiohttp.ClientSession, settings: dict[str, Any], n: int, concurrency: int, tag: str
) -> Stopwatch:
    """N signed POSTs written by hand on one session."""
    key, secret, app_id = settings["api_key"], settings["api_secret"], settings["app_id"]
    display = settings["caller_id"].lstrip("+")
    url = settings["base_url"] + "/voice/sendCode"

    async def one(i: int) -> str:
        timestamp = str(int(time.time()))
        sign = hashlib.md5(f"{key}{secret}{timestamp}".encode(), usedforsecurity=False)
        headers = {
            "Content-Type": "application/json;charset=UTF-8",
            "Sign": sign.hexdigest(),
            "Timestamp": timestamp,
            "Api-Key": key,
        }
        body = {
            "callee": number(i).lstrip("+"),
            "displayNum": display,
            "language": "EN",
            "text": TEXT,
            "appId": app_id,
            "loopCount": 1,
            "calledInfo": f"{tag}-{i}",
            "recallCount": 0,
        }
        data = json.dumps(body, separators=(",", ":")).encode()
        async with session.post(url, data=data, headers=headers) as resp:
            answer = json.loads(await resp.read())
        if answer.get("status") != "0":
            raise RuntimeError(f"refused: {answer}")
        return str(answer["data"])

    await one(-1)
    with Stopwatch() as watch:
        await _drive(n, concurrency, one)
    return watch


async def voicegw_round(gateway: VoiceGateway, n: int, concurrency: int, tag: str) -> Stopwatch:
    """N sends through ``gateway.send``, each from a fresh ``VoiceNotification``."""

    async def one(i: int) -> str:
        note = VoiceNotification(number(i), [Speech(TEXT, "en")], reference=f"{tag}-{i}")
        receipt = await gateway.send(note)
        return receipt.call_id

    with Stopwatch() as watch:
        await _drive(n, concurrency, one)
    return watch


def _gateway(settings: dict[str, Any], concurrency: int) -> VoiceGateway:
    config = {"gateway": {"retries": 0}, "providers": {"itn": settings}}
    return VoiceGateway.from_config(config)


async def _run(emulator: EmulatorProcess, rounds: int, n: int, concurrency: int) -> dict[str, Any]:
    settings = emulator.settings
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    raw_walls: list[float] = []
    gw_walls: list[float] = []
    raw_cpus: list[float] = []
    gw_cpus: list[float] = []
    # Both sides keep their connections across rounds: the gateway its provider's session,
    # the hand-written client one session of its own, both warmed up before the first round.
    async with _gateway(settings, concurrency) as gateway, raw_session(concurrency) as session:
        await voicegw_round(gateway, 50, concurrency, "warm-gw")
        await raw_round(session, settings, 50, concurrency, "warm-raw")
        for r in range(rounds):
            if r % 2 == 0:
                raw = await raw_round(session, settings, n, concurrency, f"raw{r}")
                ours = await voicegw_round(gateway, n, concurrency, f"gw{r}")
            else:
                ours = await voicegw_round(gateway, n, concurrency, f"gw{r}")
                raw = await raw_round(session, settings, n, concurrency, f"raw{r}")
            ratios.append(ours.wall / raw.wall)
            cpu_ratios.append(ours.cpu / raw.cpu)
            raw_walls.append(raw.wall)
            gw_walls.append(ours.wall)
            raw_cpus.append(raw.cpu)
            gw_cpus.append(ours.cpu)
    return {
        "ratio": median(ratios),
        "rounds": [round(x, 3) for x in ratios],
        "n": n,
        "concurrency": concurrency,
        "raw_sends_per_s": round(n / median(raw_walls), 1),
        "voicegw_sends_per_s": round(n / median(gw_walls), 1),
        "raw_client_cpu_us_per_send": round(median(raw_cpus) / n * 1e6, 1),
        "voicegw_client_cpu_us_per_send": round(median(gw_cpus) / n * 1e6, 1),
        "client_cpu_ratio": round(median(cpu_ratios), 3),
    }


async def _breakdown(settings: dict[str, Any], n: int) -> dict[str, float]:
    """Where a send's CPU goes, without the network: µs per send of each part."""
    canned = HttpResponse(
        status=200,
        headers=CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"})),
        body=b'{"status":"0","reason":"success","data":"2403050815421000001"}',
        url=settings["base_url"] + "/voice/sendCode",
    )

    async def answer(*args: Any, **kwargs: Any) -> HttpResponse:
        return canned

    notes = [
        VoiceNotification(number(i), [Speech(TEXT, "en")], reference=f"b-{i}") for i in range(100)
    ]
    async with _gateway(settings, 1) as gateway:
        provider: Any = gateway.provider("itn")
        provider.http.request = answer
        started = time.perf_counter()
        for i in range(n):
            VoiceNotification(number(i), [Speech(TEXT, "en")], reference=f"b-{i}")
        build = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(n):
            await gateway.send(notes[i % 100])
        route = time.perf_counter() - started
    return {
        "notification_us": round(build / n * 1e6, 1),
        "gateway_and_plugin_us": round(route / n * 1e6, 1),
    }


def run(rounds: int = 5, n: int = 2000, concurrency: int = 32) -> dict[str, Any]:
    """The ratio and the absolute figures behind it."""
    with emulator_process("itniotech") as emulator:
        result = asyncio.run(_run(emulator, rounds, n, concurrency))
        result["cpu_without_network_us_per_send"] = asyncio.run(_breakdown(emulator.settings, 5000))
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
