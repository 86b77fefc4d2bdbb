"""The echo API's error codes as data: code → (exception class, retryable, call placed).

The API refuses a request with a non-2xx status and the envelope
``{"error": {"code": "<code>", "message": "…"}}``. The same table raises the errors and
renders the documentation, so the two cannot drift: the docs page holds the marker
``<!-- voicegw:codes echo api -->``.

How each entry was decided:

* a refusal is ``call_placed=False``: the API says it did not take the request. Only
  ``internal_error`` is ``None``: the API failed while handling the request and does not say
  whether the call went out, so the gateway must neither retry nor fail over;
* ``retryable`` follows the class (see :mod:`voicegw.errors`) unless the code says otherwise:
  ``request_expired`` is re-signed and retried once inside the plugin, then raised;
* ``no_route`` is a plain :class:`~voicegw.errors.ProviderError`: this provider cannot reach
  the number, another provider may well reach it.

>>> API_CODES.error("insufficient_funds", provider="echo").__class__.__name__
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

from voicegw_echo.settings import PLUGIN

__all__ = ["API_CODES", "RATE_LIMITED", "REQUEST_EXPIRED"]

REQUEST_EXPIRED = "request_expired"
RATE_LIMITED = "rate_limited"

#: Every error code of the API.
API_CODES = CodeTable(
    PLUGIN,
    [
        CodeEntry("unauthorized", AuthenticationError, "unknown account or bad signature"),
        CodeEntry(
            REQUEST_EXPIRED,
            RequestExpired,
            "timestamp more than 5 minutes off (re-signed and retried once)",
        ),
        CodeEntry("forbidden", PermissionDenied, "the account may not call this destination"),
        CodeEntry("insufficient_funds", InsufficientFunds, "balance too low"),
        CodeEntry("invalid_request", InvalidRequest, "a parameter was refused"),
        CodeEntry("no_route", ProviderError, "no route to this destination"),
        CodeEntry("not_found", NotFound, "no such call"),
        CodeEntry("call_ended", InvalidRequest, "the call has already ended"),
        CodeEntry(RATE_LIMITED, RateLimited, "too many requests"),
        CodeEntry("unavailable", ProviderUnavailable, "the service is down for maintenance"),
        CodeEntry(
            "internal_error",
            ProviderUnavailable,
            "the API failed while handling the request; the call may have gone out",
            retryable=False,
            call_placed=None,
        ),
    ],
    fallback=ProviderError,
)
