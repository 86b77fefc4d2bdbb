"""ITNIO status codes as data: every code of spec §1.5 → the voicegw taxonomy.

ITNIO answers HTTP 200 with ``{"status": "<code>", "reason": "…"}``; ``"0"`` is success, a
negative code a refusal. A refusal means the platform did not take the request, so every
entry has ``call_placed=False``. The same table raises the errors and renders the docs.

Decisions worth stating (the platform documents only the meaning, not what to do):

* ``-16`` (timestamp expired) is re-signed and retried once inside the plugin before
  :class:`~voicegw.errors.RequestExpired` is raised;
* ``-15`` (querying too often) is :class:`~voicegw.errors.RateLimited`; the per-period OTP caps
  ``-27``/``-28`` are too, but not retryable: the period is unknown and may be hours;
* ``-18`` and ``-12`` are platform-side failures: retryable;
* ``-19`` and ``-26`` say the account has no price for the destination: a plain
  :class:`~voicegw.errors.ProviderError` (another provider may well reach the number);
* SMS-only codes are listed too, so an account-level problem reported with an SMS code still
  lands on a sensible class.

>>> API_CODES.error("-10", "balance not enough", provider="itn").__class__.__name__
'InsufficientFunds'
"""

from __future__ import annotations

from voicegw.codes import CodeEntry, CodeTable
from voicegw.errors import (
    AuthenticationError,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RequestExpired,
)
from voicegw_itniotech.settings import PLUGIN

__all__ = ["API_CODES", "RATE_LIMITED", "SUCCESS", "TIMESTAMP_EXPIRED"]

SUCCESS = "0"
TIMESTAMP_EXPIRED = "-16"
RATE_LIMITED = "-15"

#: Every status code ITNIO (and its sister platforms) document, spec §1.5.
API_CODES = CodeTable(
    PLUGIN,
    [
        CodeEntry(SUCCESS, None, "success"),
        CodeEntry("-1", AuthenticationError, "authentication error (key, timestamp or sign)"),
        CodeEntry("-2", PermissionDenied, "IP access restricted (not on the key's allowlist)"),
        CodeEntry("-3", InvalidRequest, "content contains sensitive words (SMS)"),
        CodeEntry("-4", InvalidRequest, "content empty (SMS)"),
        CodeEntry("-5", InvalidRequest, "content too long (SMS)"),
        CodeEntry("-6", InvalidRequest, "content does not match a template (SMS)"),
        CodeEntry("-7", InvalidRequest, "too many numbers (SMS)"),
        CodeEntry("-8", InvalidRequest, "number empty (SMS)"),
        CodeEntry("-9", InvalidRequest, "abnormal number (SMS)"),
        CodeEntry("-10", InsufficientFunds, "insufficient balance"),
        CodeEntry("-11", InvalidRequest, "wrong time format"),
        CodeEntry("-12", ProviderUnavailable, "bulk submission failed on the platform side"),
        CodeEntry("-13", PermissionDenied, "user locked"),
        CodeEntry("-14", InvalidRequest, "field empty or query id abnormal"),
        CodeEntry(RATE_LIMITED, RateLimited, "querying too frequently"),
        CodeEntry(
            TIMESTAMP_EXPIRED,
            RequestExpired,
            "timestamp expired (outside the allowed window; re-signed and retried once)",
        ),
        CodeEntry("-17", InvalidRequest, "template empty (SMS)"),
        CodeEntry("-18", ProviderUnavailable, "port program unusual (platform internal error)"),
        CodeEntry("-19", ProviderError, "pricing or channel not configured for the account"),
        CodeEntry("-20", InvalidRequest, "data already exists (e.g. a file with this name)"),
        CodeEntry("-21", InvalidRequest, "data validation exception (e.g. unacceptable audio)"),
        CodeEntry("-22", InvalidRequest, "parameter exception"),
        CodeEntry("-23", ProviderError, "data cap reached"),
        CodeEntry("-24", NotFound, "data does not exist"),
        CodeEntry("-26", ProviderError, "failed to obtain a rate for the destination"),
        CodeEntry("-27", RateLimited, "period total send limit reached", retryable=False),
        CodeEntry("-28", RateLimited, "period per-number send limit reached", retryable=False),
        CodeEntry("-29", InvalidRequest, "content has sensitive words"),
    ],
    fallback=ProviderError,
)
