"""``voicegw serve`` (the push receiver) and ``voicegw bulk`` (campaigns)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any, TextIO

from aiohttp import web

__all__ = ["JsonLogFormatter", "add_commands"]

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))


class JsonLogFormatter(logging.Formatter):
    """One JSON object per log line, with the ``extra`` fields as keys."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in data and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


async def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    from voicegw.cli import _gateway
    from voicegw.webhooks import create_app

    if args.log_json:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLogFormatter())
        logging.getLogger().handlers = [handler]
        logging.getLogger().setLevel(logging.INFO)
    gateway = _gateway(args)
    settings = gateway.config.webhooks
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    async with gateway:
        app = create_app(gateway)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        out.write(f"voicegw receiver listening on http://{host}:{bound}\n")
        for name, provider in gateway.providers.items():
            for kind in sorted(getattr(provider, "webhook_kinds", ()) or ()):
                out.write(f"  POST /hooks/{name}/{kind}\n")
        out.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
    return 0


async def cmd_inbox(args: argparse.Namespace, out: TextIO) -> int:
    """How many pushes wait to be read; the ones set aside and why; ``--retry`` them."""
    from voicegw.cli import _gateway, _print_json, _table
    from voicegw.errors import ConfigurationError
    from voicegw.store import PushInbox

    gateway = _gateway(args)
    store: object = gateway.store
    if not isinstance(store, PushInbox):
        raise ConfigurationError(f"the store {gateway.config.store.url!r} keeps no push inbox")
    async with gateway:
        retried = await store.retry_failed_pushes() if args.retry else 0
        counts = await store.count_pushes()
        aside = await store.queued_pushes(args.limit, failed=True)
    if args.json:
        rows = [
            {
                "id": push.id,
                "provider": push.provider,
                "kind": push.kind,
                "received_at": push.received_at.isoformat(),
                "bytes": len(push.body),
                "failure": push.failure,
            }
            for push in aside
        ]
        _print_json(out, {**counts, "retried": retried, "set_aside": rows})
        return 0
    if args.retry:
        out.write(f"queued again: {retried} (read by the running receiver within a minute)\n")
    out.write(f"waiting to be read: {counts['queued']}\nset aside: {counts['failed']}\n")
    if aside:
        out.write("\n")
        _table(
            out,
            ["id", "provider", "kind", "received", "bytes", "why"],
            [
                [
                    str(push.id),
                    push.provider,
                    push.kind,
                    push.received_at.strftime("%Y-%m-%d %H:%M:%S"),
                    str(len(push.body)),
                    push.failure or "",
                ]
                for push in aside
            ],
        )
    return 0


async def cmd_bulk(args: argparse.Namespace, out: TextIO) -> int:
    from voicegw.bulk import run_bulk
    from voicegw.cli import _gateway

    async with _gateway(args) as gateway:
        summary = await run_bulk(
            gateway,
            args.source,
            args.results,
            concurrency=args.concurrency,
            provider=args.provider,
            retry_interrupted=args.retry_interrupted,
            progress=None if args.quiet else sys.stderr,
        )
    if args.json:
        out.write(json.dumps(summary.as_dict()) + "\n")
    else:
        out.write(" ".join(f"{key} {value}" for key, value in summary.as_dict().items()) + "\n")
    return 4 if summary.unknown or summary.interrupted else 0


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``serve``, ``inbox`` and ``bulk`` to the ``voicegw`` parser."""
    p = command("serve", cmd_serve, "run the push receiver")
    p.add_argument("--config", "-c", help="configuration file (default: voicegw.toml)")
    p.add_argument("--host", help="listen address (default: webhooks.host)")
    p.add_argument("--port", type=int, help="listen port (default: webhooks.port)")
    p.add_argument("--log-json", action="store_true", help="structured JSON log lines")

    p = command("inbox", cmd_inbox, "show pushes the receiver holds; queue set-aside ones again")
    p.add_argument("--config", "-c", help="configuration file (default: voicegw.toml)")
    p.add_argument("--retry", action="store_true", help="queue every push set aside again")
    p.add_argument("--limit", type=int, default=50, help="set-aside pushes to list (default 50)")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")

    p = command("bulk", cmd_bulk, "send a campaign from a CSV or JSONL file, resumably")
    p.add_argument("source", help="CSV (with a header) or JSONL of recipients")
    p.add_argument("--results", required=True, help="JSONL journal of outcomes (appended)")
    p.add_argument("--config", "-c", help="configuration file (default: voicegw.toml)")
    p.add_argument("--provider", "-p", help="use this configured provider only")
    p.add_argument("--concurrency", type=int, default=20, help="sends in flight (default 20)")
    p.add_argument(
        "--retry-interrupted",
        action="store_true",
        help="send rows a killed run left pending (reconcile them first!)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
