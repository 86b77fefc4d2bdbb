"""Run one provider emulator in a process of its own, for the benchmarks.

::

    python -m bench.serve_emulator itniotech --latency 0.05 --config provider.toml

Like ``voicegw emulate``, but tuned for load: the balance never runs out, calls end at once
(``speed`` 0) and nothing is pushed unless ``--push-to`` is given. It writes the provider's
settings as a ``[providers.NAME]`` TOML table, prints ``ready <base_url>`` and serves until
its standard input closes (so it never outlives the benchmark that started it) or it gets
SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

from bench._common import provider_table
from voicegw.testing.emulator import Emulator


def build_emulator(plugin: str, latency: float, speed: float) -> Emulator:
    """An emulator of ``plugin`` that can hold any number of calls."""
    if plugin == "itniotech":
        from voicegw_itniotech.emulator import ItnioEmulator

        return ItnioEmulator(speed=speed, latency=latency, balance=10**12)
    if plugin == "huawei":
        from voicegw_huawei.emulator import HuaweiEmulator

        return HuaweiEmulator(speed=speed, latency=latency, max_concurrent_calls=10**9)
    raise SystemExit(f"no emulator for {plugin!r}")


async def _stdin_closed() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


async def serve(args: argparse.Namespace) -> None:
    emulator = build_emulator(args.plugin, args.latency, args.speed)
    base_url = await emulator.start("127.0.0.1", 0)
    try:
        settings: dict[str, Any] = emulator.provider_settings()
        if args.push_to:
            settings.update(emulator.push_settings(args.push_to.rstrip("/")))
        settings.update(timeout=args.timeout, rate_limit=args.rate_limit)
        table = provider_table(args.name, settings)
        await asyncio.to_thread(Path(args.config).write_text, table, encoding="utf-8")
        sys.stdout.write(f"ready {base_url}\n")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        watcher = asyncio.ensure_future(_stdin_closed())
        waiter = asyncio.ensure_future(stop.wait())
        await asyncio.wait({watcher, waiter}, return_when=asyncio.FIRST_COMPLETED)
        for task in (watcher, waiter):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
    finally:
        await emulator.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve_emulator")
    parser.add_argument("plugin", choices=["itniotech", "huawei"])
    parser.add_argument("--name", default="bench", help="provider name in the written table")
    parser.add_argument("--config", required=True, help="write the provider table here")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--speed", type=float, default=0.0, help="real seconds per call second")
    parser.add_argument("--push-to", help="receiver base URL for pushes")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--rate-limit", type=float, default=1_000_000.0)
    args = parser.parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
