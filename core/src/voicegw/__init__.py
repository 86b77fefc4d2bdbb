"""voicegw: place voice calls through any telephony provider behind one async API.

>>> import voicegw
>>> n = voicegw.VoiceNotification("+84912345678", [voicegw.Speech("Your code is 1234", "en")])
>>> n.prompts[0].language
'en'
"""

from voicegw.codes import CodeEntry, CodeTable
from voicegw.config import Config, load_config
from voicegw.errors import (
    AuthenticationError,
    ConfigurationError,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RequestExpired,
    StoreError,
    TransportError,
    UnsupportedFeature,
    ValidationError,
    VoiceError,
)
from voicegw.gateway import VoiceGateway
from voicegw.hookspecs import hookimpl
from voicegw.models import (
    Attempt,
    Audio,
    AudioFile,
    AudioStatus,
    AudioUpload,
    CallEvent,
    CallRecord,
    CallStatus,
    ClickToCall,
    DigitCollection,
    EventKind,
    HangupCategory,
    HangupCause,
    Money,
    Prompt,
    RecordingRef,
    SendReceipt,
    Speech,
    Template,
    VerificationCode,
    VoiceNotification,
)
from voicegw.plugins import PluginRegistry
from voicegw.provider import (
    PLUGIN_API_VERSION,
    BaseProvider,
    Capability,
    HttpProvider,
    ProviderPlugin,
    ProviderSettings,
    VoiceProvider,
    WebhookReply,
)
from voicegw.serialization import converter

#: The distribution's version; ``pyproject.toml`` reads it from here (the single source).
__version__ = "0.1.0"

__all__ = [
    "PLUGIN_API_VERSION",
    "Attempt",
    "Audio",
    "AudioFile",
    "AudioStatus",
    "AudioUpload",
    "AuthenticationError",
    "BaseProvider",
    "CallEvent",
    "CallRecord",
    "CallStatus",
    "Capability",
    "ClickToCall",
    "CodeEntry",
    "CodeTable",
    "Config",
    "ConfigurationError",
    "DigitCollection",
    "EventKind",
    "HangupCategory",
    "HangupCause",
    "HttpProvider",
    "InsufficientFunds",
    "InvalidRequest",
    "Money",
    "NotFound",
    "OutcomeUnknown",
    "PermissionDenied",
    "PluginRegistry",
    "Prompt",
    "ProviderError",
    "ProviderPlugin",
    "ProviderSettings",
    "ProviderUnavailable",
    "RateLimited",
    "RecordingRef",
    "RequestExpired",
    "SendReceipt",
    "Speech",
    "StoreError",
    "Template",
    "TransportError",
    "UnsupportedFeature",
    "ValidationError",
    "VerificationCode",
    "VoiceError",
    "VoiceGateway",
    "VoiceNotification",
    "VoiceProvider",
    "WebhookReply",
    "__version__",
    "converter",
    "hookimpl",
    "load_config",
]
