"""The ``voicegw`` command.

``voicegw providers | send | record | hangup | upload-audio | emulate | serve | bulk | demo``

Output is for people by default and JSON with ``--json``. Exit status: 0 success; 2 refused
before sending (bad input or configuration); 3 the provider refused; 4 the outcome is unknown
(the call may have been placed: reconcile, do not retry blindly); 1 anything else. Secrets
never appear in the output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TextIO

from voicegw.errors import (
    ConfigurationError,
    OutcomeUnknown,
    ProviderError,
    ValidationError,
    VoiceError,
)
from voicegw.gateway import VoiceGateway
from voicegw.models import (
    Audio,
    AudioUpload,
    Prompt,
    SendReceipt,
    Speech,
    Template,
    VerificationCode,
    VoiceNotification,
)
from voicegw.plugins import default_registry
from voicegw.serialization import converter

__all__ = ["main"]

DEFAULT_CONFIG = "voicegw.toml"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_REFUSED_LOCALLY = 2
EXIT_PROVIDER_REFUSED = 3
EXIT_UNKNOWN = 4

Command = Callable[[argparse.Namespace, TextIO], Coroutine[Any, Any, int]]


def _config_source(args: argparse.Namespace) -> str | None:
    if args.config:
        return str(args.config)
    return DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else None


def _gateway(args: argparse.Namespace) -> VoiceGateway:
    from voicegw.sqlite_store import open_store

    source = _config_source(args)
    gateway = VoiceGateway.from_config(source)
    if getattr(args, "store", True):
        gateway.store = open_store(gateway.config.store.url)
    return gateway


def _print_json(out: TextIO, data: Any) -> None:
    out.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for row in [header, *rows]:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        out.write("\n")


def _error_payload(error: VoiceError) -> dict[str, Any]:
    return {
        "error": type(error).__name__,
        "message": error.message,
        "provider": error.provider,
        "plugin": error.plugin,
        "code": error.code,
        "retryable": error.retryable,
        "call_placed": error.call_placed,
        "attempts": [converter.unstructure(a) for a in error.attempts],
    }


def exit_code_for(error: VoiceError) -> int:
    """The exit status for an error, by what it means for the call."""
    if error.call_placed is None:
        return EXIT_UNKNOWN
    if isinstance(error, ValidationError | ConfigurationError):
        return EXIT_REFUSED_LOCALLY
    if isinstance(error, ProviderError):
        return EXIT_PROVIDER_REFUSED
    if isinstance(error, OutcomeUnknown):
        return EXIT_UNKNOWN
    return EXIT_ERROR


# -- providers -------------------------------------------------------------------------


async def cmd_providers(args: argparse.Namespace, out: TextIO) -> int:
    registry = default_registry()
    plugins = registry.providers()
    unavailable = registry.unavailable()
    if args.json:
        _print_json(
            out,
            {
                "providers": {
                    name: {
                        "capabilities": sorted(c.value for c in spec.capabilities),
                        "description": spec.description,
                        "emulator": spec.emulator is not None,
                    }
                    for name, spec in plugins.items()
                },
                "unavailable": unavailable,
            },
        )
        return EXIT_OK
    rows = [
        [name, ", ".join(sorted(c.value for c in spec.capabilities)), spec.description]
        for name, spec in plugins.items()
    ]
    _table(out, ["plugin", "capabilities", "description"], rows)
    if unavailable:
        out.write("\nunavailable:\n")
        for name, reason in unavailable.items():
            out.write(f"  {name}: {reason}\n")
    return EXIT_OK


# -- send ------------------------------------------------------------------------------


def _prompts(args: argparse.Namespace) -> list[Prompt]:
    prompts: list[Prompt] = []
    if args.text:
        prompts.append(Speech(args.text, args.language))
    if args.code:
        prompts.append(VerificationCode(args.code, args.language))
    if args.template:
        prompts.append(Template(args.template, tuple(args.param or ())))
    if args.audio:
        prompts.append(Audio(args.audio))
    if not prompts:
        raise ValidationError("give a prompt: --text, --code, --template or --audio")
    return prompts


def _receipt_line(receipt: SendReceipt) -> str:
    line = f"accepted  call {receipt.call_id}  provider {receipt.provider} ({receipt.plugin})"
    failed = [a for a in receipt.attempts if a.error]
    if failed:
        tried = "; ".join(f"{a.provider}: {a.error} {a.code or ''}".strip() for a in failed)
        line += f"  after {tried}"
    return line


async def cmd_send(args: argparse.Namespace, out: TextIO) -> int:
    notification = VoiceNotification(
        args.to,
        _prompts(args),
        caller_id=args.caller_id,
        repeat=args.repeat,
        reference=args.reference,
    )
    async with _gateway(args) as gateway:
        receipt = await gateway.send(notification, provider=args.provider)
    if args.json:
        _print_json(out, converter.unstructure(receipt))
    else:
        out.write(_receipt_line(receipt) + "\n")
    return EXIT_OK


# -- record / hangup -------------------------------------------------------------------


async def cmd_record(args: argparse.Namespace, out: TextIO) -> int:
    async with _gateway(args) as gateway:
        record = await gateway.get_record(args.call_id, provider=args.provider)
    data = converter.unstructure(record)
    if args.json:
        _print_json(out, data)
        return EXIT_OK
    data.pop("raw", None)
    hangup = data.pop("hangup", None)
    rows = [[key, "" if value is None else str(value)] for key, value in data.items()]
    if hangup:
        rows.append(
            ["hangup", f"{hangup['category']} (Q.850 {hangup['q850']}, SIP {hangup['sip']})"]
        )
    _table(out, ["field", "value"], rows)
    return EXIT_OK


async def cmd_hangup(args: argparse.Namespace, out: TextIO) -> int:
    async with _gateway(args) as gateway:
        await gateway.hangup(args.call_id, provider=args.provider)
    out.write(f"hung up {args.call_id}\n")
    return EXIT_OK


async def cmd_upload_audio(args: argparse.Namespace, out: TextIO) -> int:
    path = Path(args.file)
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None
    upload = AudioUpload(
        data=data,
        filename=path.name,
        language=args.language,
        purpose=args.purpose,
        name=args.name,
    )
    async with _gateway(args) as gateway:
        audio = await gateway.upload_audio(upload, provider=args.provider)
    if args.json:
        _print_json(out, converter.unstructure(audio))
    else:
        out.write(f"{audio.file_id}\n")
    return EXIT_OK


# -- emulate ---------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }"
    return json.dumps(str(value))


def provider_table(name: str, settings: dict[str, Any]) -> str:
    """A ``[providers.NAME]`` TOML table for ``settings``."""
    lines = [f"[providers.{name}]"]
    lines += [
        f"{key} = {_toml_value(value)}" for key, value in settings.items() if value is not None
    ]
    return "\n".join(lines) + "\n"


async def cmd_emulate(args: argparse.Namespace, out: TextIO) -> int:
    spec = default_registry().get(args.plugin)
    if spec.emulator is None:
        raise ConfigurationError(f"plugin {args.plugin!r} ships no emulator")
    emulator = spec.emulator(speed=args.speed, latency=args.latency)
    base_url = await emulator.start(args.host, args.port)
    try:
        settings = emulator.provider_settings()
        if args.push_to:
            settings.update(emulator.push_settings(args.push_to.rstrip("/")))
        if args.write_config:
            table = provider_table(args.plugin, settings)
            await asyncio.to_thread(Path(args.write_config).write_text, table)
            out.write(f"provider settings written to {args.write_config}\n")
        out.write(f"{args.plugin} emulator listening on {base_url} (Ctrl-C stops it)\n")
        out.flush()
        await asyncio.Event().wait()
    finally:
        await emulator.close()
    return EXIT_OK  # pragma: no cover - the wait above ends only by cancellation


# -- demo ------------------------------------------------------------------------------


async def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from voicegw.demo import run_demo

    return await run_demo(out, store_path=args.store, speed=args.speed)


# -- parser ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``voicegw`` command."""
    parser = argparse.ArgumentParser(
        prog="voicegw", description="Place voice calls through any telephony provider."
    )
    parser.add_argument("--verbose", "-v", action="count", default=0, help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def common(p: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
        p.add_argument("--config", "-c", help=f"configuration file (default: {DEFAULT_CONFIG})")
        p.add_argument("--provider", "-p", help="use this configured provider")
        if json_flag:
            p.add_argument("--json", action="store_true", help="print JSON for scripts")

    p = command("providers", cmd_providers, "list installed provider plugins")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")

    p = command("send", cmd_send, "place one call")
    common(p)
    p.add_argument("--to", required=True, help="callee, E.164")
    p.add_argument("--text", help="text to speak")
    p.add_argument("--language", default="en", help="BCP-47 language (default en)")
    p.add_argument("--code", help="a verification code to read digit by digit")
    p.add_argument("--template", help="a provider template id")
    p.add_argument("--param", action="append", help="a template parameter (repeatable)")
    p.add_argument("--audio", help="an audio file id the provider holds")
    p.add_argument("--caller-id", help="caller id, E.164")
    p.add_argument("--reference", help="your correlation data")
    p.add_argument("--repeat", type=int, default=1, help="times to play the prompts")

    p = command("record", cmd_record, "show a call's record (provider or store)")
    common(p)
    p.add_argument("call_id")

    p = command("hangup", cmd_hangup, "end a call in progress")
    common(p, json_flag=False)
    p.add_argument("call_id")

    p = command("upload-audio", cmd_upload_audio, "hand an audio file to a provider")
    common(p)
    p.add_argument("file")
    p.add_argument("--language", default="en-US", help="BCP-47 language of the recording")
    p.add_argument("--purpose", default="notification", help="what the audio is for")
    p.add_argument("--name", help="display name at the provider")

    p = command("emulate", cmd_emulate, "run a provider's emulator on this machine")
    p.add_argument("plugin")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--speed", type=float, default=0.01, help="real seconds per call second")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to each answer")
    p.add_argument("--push-to", help="receiver base URL; pushes go to <URL>/<kind>")
    p.add_argument("--write-config", help="write the provider's settings as TOML here")

    p = command("demo", cmd_demo, "place calls on the local emulators and show the records")
    p.add_argument("--store", help="SQLite file for the demo (default: a temporary one)")
    p.add_argument("--speed", type=float, default=0.002, help="real seconds per call second")

    _add_later_commands(sub, command)
    return parser


def _add_later_commands(sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Commands that live in their own modules."""
    from voicegw import cli_serve, scaffold

    cli_serve.add_commands(command)
    scaffold.add_commands(command)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        command: Command = args.func
        return asyncio.run(command(args, out))
    except VoiceError as error:
        if getattr(args, "json", False):
            _print_json(out, _error_payload(error))
        else:
            sys.stderr.write(f"voicegw: {type(error).__name__}: {error}\n")
            for attempt in error.attempts:
                sys.stderr.write(
                    f"  tried {attempt.provider}: {attempt.error or 'ok'}"
                    f"{' code ' + attempt.code if attempt.code else ''}\n"
                )
            if error.call_placed is None:
                sys.stderr.write(
                    "  the call may have been placed: check its record before trying again\n"
                )
        return exit_code_for(error)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    os._exit(main())
