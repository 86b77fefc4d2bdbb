"""The public surface: every name in ``voicegw.__all__`` exists, is documented, and its
docstring examples run. Behaviour of each name is tested in the module for its concern."""

from __future__ import annotations

import doctest
import importlib
import importlib.metadata
import inspect
from pathlib import Path

import pytest

import voicegw

#: Which test module exercises each public name (kept in sync by the test below).
TESTED_IN: dict[str, str] = {
    "PLUGIN_API_VERSION": "test_plugins",
    "Attempt": "test_gateway",
    "Audio": "test_models",
    "AudioFile": "test_models",
    "AudioStatus": "test_models",
    "AudioUpload": "test_models",
    "AuthenticationError": "test_errors",
    "BaseProvider": "test_provider",
    "HttpProvider": "test_provider",
    "CallEvent": "test_models",
    "CallRecord": "test_models",
    "CallStatus": "test_models",
    "Capability": "test_provider",
    "ClickToCall": "test_models",
    "CodeEntry": "test_codes",
    "CodeTable": "test_codes",
    "Config": "test_config",
    "ConfigurationError": "test_config",
    "DigitCollection": "test_models",
    "EventKind": "test_models",
    "HangupCategory": "test_causes",
    "HangupCause": "test_models",
    "InsufficientFunds": "test_errors",
    "InvalidRequest": "test_errors",
    "Money": "test_models",
    "NotFound": "test_errors",
    "OutcomeUnknown": "test_http",
    "PermissionDenied": "test_errors",
    "PluginRegistry": "test_plugins",
    "Prompt": "test_models",
    "ProviderError": "test_gateway",
    "ProviderPlugin": "test_provider",
    "ProviderSettings": "test_provider",
    "ProviderUnavailable": "test_gateway",
    "RateLimited": "test_gateway",
    "RecordingRef": "test_models",
    "RequestExpired": "test_errors",
    "SendReceipt": "test_models",
    "Speech": "test_models",
    "StoreError": "test_errors",
    "Template": "test_models",
    "TransportError": "test_http",
    "UnsupportedFeature": "test_gateway",
    "ValidationError": "test_models",
    "VerificationCode": "test_models",
    "VoiceError": "test_errors",
    "VoiceGateway": "test_gateway",
    "VoiceNotification": "test_models",
    "VoiceProvider": "test_provider",
    "WebhookReply": "test_provider",
    "__version__": "test_public_api",
    "converter": "test_serialization",
    "hookimpl": "test_plugins",
    "load_config": "test_config",
}

HERE = Path(__file__).parent


def test_every_public_name_is_mapped_to_its_tests() -> None:
    assert set(TESTED_IN) == set(voicegw.__all__)


def test_every_public_name_exists_and_is_used_by_its_tests() -> None:
    unused = []
    for name in voicegw.__all__:
        assert hasattr(voicegw, name), name
        if name not in (HERE / f"{TESTED_IN[name]}.py").read_text(encoding="utf-8"):
            unused.append(name)
    assert unused == []


def test_public_classes_and_functions_have_docstrings() -> None:
    undocumented = [
        name
        for name in voicegw.__all__
        if (inspect.isclass(getattr(voicegw, name)) or inspect.isfunction(getattr(voicegw, name)))
        and not (getattr(voicegw, name).__doc__ or "").strip()
    ]
    assert undocumented == []


def test_all_has_no_duplicates() -> None:
    assert len(set(voicegw.__all__)) == len(voicegw.__all__)


def test_version_matches_the_distribution() -> None:
    assert voicegw.__version__ == importlib.metadata.version("voicegw")


@pytest.mark.parametrize(
    "module",
    [
        "voicegw",
        "voicegw.models",
        "voicegw.causes",
        "voicegw.codes",
        "voicegw.serialization",
        "voicegw.testing.scenarios",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(
        importlib.import_module(module), optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert result.attempted > 0
    assert result.failed == 0


def test_importing_voicegw_leaves_the_http_stack_for_later() -> None:
    """``import voicegw`` stays cheap: aiohttp loads with the first provider that speaks HTTP."""
    import subprocess
    import sys

    code = (
        "import sys, voicegw; "
        "heavy = ('aiohttp', 'voicegw.http', 'voicegw.webhooks'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
