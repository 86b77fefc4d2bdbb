"""The ``voicegw`` command: output for people and scripts, exit statuses, no secrets."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
from pathlib import Path

import pytest

from voicegw import (
    ConfigurationError,
    InsufficientFunds,
    InvalidRequest,
    OutcomeUnknown,
    ProviderUnavailable,
    TransportError,
    UnsupportedFeature,
    ValidationError,
)
from voicegw.cli import cmd_emulate, exit_code_for, main, provider_table

SECRET = "tok-3f9a8b7c6d5e4f3a2b1c"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no voicegw.toml here; the store file lands in tmp


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


def test_providers_lists_the_sandbox() -> None:
    code, text = run("providers")
    assert code == 0
    assert "sandbox" in text
    assert "speech" in text


def test_providers_json() -> None:
    code, text = run("providers", "--json")
    data = json.loads(text)
    assert code == 0
    assert "record_query" in data["providers"]["sandbox"]["capabilities"]
    assert isinstance(data["unavailable"], dict)


def test_send_through_the_default_sandbox() -> None:
    code, text = run("send", "--to", "+8613800000017", "--text", "Hello", "--reference", "r1")
    assert code == 0
    assert text.startswith("accepted  call sbx-")
    assert "provider sandbox" in text


def test_send_json_is_a_receipt() -> None:
    code, text = run("send", "--to", "+8613800000100", "--code", "583021", "--json")
    receipt = json.loads(text)
    assert code == 0
    assert receipt["provider"] == "sandbox"
    assert receipt["attempts"][0]["call_placed"] is True


def test_bad_number_exits_2_before_sending(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("send", "--to", "12345", "--text", "Hello")
    assert code == 2
    assert "E.164" in capsys.readouterr().err


def test_send_needs_a_prompt() -> None:
    code, _ = run("send", "--to", "+8613800000100")
    assert code == 2


def test_errors_as_json() -> None:
    code, text = run("send", "--to", "12345", "--text", "Hello", "--json")
    data = json.loads(text)
    assert code == 2
    assert data["error"] == "ValidationError"
    assert data["call_placed"] is False


def test_unknown_provider_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("send", "--to", "+8613800000100", "--text", "x", "--provider", "nope")
    assert code == 2
    assert "no provider 'nope'" in capsys.readouterr().err


def test_record_of_an_unknown_call_exits_3() -> None:
    code, _ = run("record", "sbx-none")
    assert code == 3


def test_config_file_secrets_never_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "voicegw.toml"
    config.write_text(
        f'[providers.main]\nplugin = "sandbox"\ntoken = "{SECRET}"\nemulator = "gone"\n'
    )
    code, text = run("send", "--to", "+8613800000100", "--text", "x", "--config", str(config))
    err = capsys.readouterr().err
    assert code == 1  # TransportError: the emulator it names is not running
    assert "TransportError" in err
    assert SECRET not in text + err


def test_upload_audio_prints_the_file_id(tmp_path: Path) -> None:
    audio = tmp_path / "tone.wav"
    audio.write_bytes(b"RIFF0000WAVEfmt ")
    code, text = run("upload-audio", str(audio), "--language", "en-US")
    assert code == 0
    assert text.strip().startswith("sbx-audio-")


def test_upload_audio_of_a_missing_file_exits_2() -> None:
    code, _ = run("upload-audio", "missing.wav")
    assert code == 2


def test_bulk_from_the_command_line(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text("to,text,reference\n+8613800000100,hi,a\n+8613800000017,hi,b\n")
    code, text = run("bulk", str(source), "--results", "out.jsonl", "--quiet", "--json")
    assert code == 0
    assert json.loads(text)["accepted"] == 2
    code, text = run("bulk", str(source), "--results", "out.jsonl", "--quiet", "--json")
    assert json.loads(text)["skipped"] == 2


def test_inbox_lists_pushes_set_aside_and_queues_them_again(tmp_path: Path) -> None:
    from voicegw.sqlite_store import SQLiteStore

    async def hold() -> None:
        async with SQLiteStore(tmp_path / "voicegw.db") as store:
            await store.enqueue_push("sbx", "record", b"{not json")
            await store.enqueue_push("sbx", "record", b"[]")
            bad, _ = await store.queued_pushes()
            await store.fail_push(bad.id, "InvalidRequest: not a sandbox push")

    asyncio.run(hold())
    code, text = run("inbox")
    assert code == 0
    assert "waiting to be read: 1" in text
    assert "set aside: 1" in text
    assert "InvalidRequest: not a sandbox push" in text
    code, text = run("inbox", "--retry", "--json")
    data = json.loads(text)
    assert (code, data["retried"], data["queued"], data["failed"]) == (0, 1, 2, 0)
    assert data["set_aside"] == []


def test_inbox_needs_a_store_that_keeps_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from voicegw import sqlite_store
    from voicegw.store import MemoryStore

    class RecordsOnly:  # a RecordStore that keeps no inbox
        def __init__(self, url: str) -> None:
            self.inner = MemoryStore()

        async def open(self) -> None:
            return None

        async def close(self) -> None:
            return None

    monkeypatch.setitem(sqlite_store._SCHEMES, "plain", RecordsOnly)
    (tmp_path / "voicegw.toml").write_text('[store]\nurl = "plain://x"\n')
    code, _ = run("inbox")
    assert code == exit_code_for(ConfigurationError("x"))
    assert "keeps no push inbox" in capsys.readouterr().err


def test_demo_runs_and_shows_the_table(tmp_path: Path) -> None:
    code, text = run("demo", "--store", str(tmp_path / "demo.db"))
    assert code == 0
    assert "not failed over" in text
    for status in ("completed", "busy", "no_answer", "rejected", "failed"):
        assert status in text
    assert (tmp_path / "demo.db").exists()


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidationError("x"), 2),
        (UnsupportedFeature("x"), 2),
        (ConfigurationError("x"), 2),
        (InvalidRequest("x"), 3),
        (InsufficientFunds("x"), 3),
        (ProviderUnavailable("x", call_placed=None), 4),
        (OutcomeUnknown("x"), 4),
        (TransportError("x"), 1),
    ],
)
def test_exit_codes(error: Exception, code: int) -> None:
    assert exit_code_for(error) == code  # type: ignore[arg-type]


def test_provider_table_is_toml() -> None:
    import tomllib

    listed = provider_table("y", {"languages": ["zh", "en"], "t": {"ids": ("a",)}})
    assert tomllib.loads(listed)["providers"]["y"] == {
        "languages": ["zh", "en"],
        "t": {"ids": ["a"]},
    }
    text = provider_table(
        "x", {"plugin": "sandbox", "timeout": 1.5, "emulator": None, "n": {"a": 1}}
    )
    assert tomllib.loads(text) == {
        "providers": {"x": {"plugin": "sandbox", "timeout": 1.5, "n": {"a": 1}}}
    }


async def test_emulate_serves_until_stopped(tmp_path: Path) -> None:
    out = io.StringIO()
    args = argparse.Namespace(
        plugin="sandbox",
        speed=0.0,
        latency=0.0,
        host="127.0.0.1",
        port=0,
        push_to=None,
        write_config=str(tmp_path / "p.toml"),
    )
    task = asyncio.create_task(cmd_emulate(args, out))
    while "listening" not in out.getvalue():
        assert not task.done(), task.exception()
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert "sandbox emulator listening on http://127.0.0.1:" in out.getvalue()
    assert 'plugin = "sandbox"' in (tmp_path / "p.toml").read_text()
