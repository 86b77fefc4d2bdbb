"""The HTTP edge every provider shares: one session, explicit timeouts, one error translation.

This is the one place where aiohttp and JSON failures become taxonomy errors:

* nothing was sent (connect refused, DNS, TLS, connect timeout) → :class:`TransportError`,
  ``call_placed=False``;
* the request may have been written (read timeout, reset, truncated answer, a 2xx that is not
  the JSON the provider always sends) → :class:`OutcomeUnknown`, ``call_placed=None``;
* an HTTP error without the provider's own envelope → :func:`error_for_status`.

Nothing here logs headers or bodies: requests carry secrets in their headers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs

from voicegw.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TransportError,
    ValidationError,
    VoiceError,
)

if TYPE_CHECKING:
    from yarl import URL

__all__ = [
    "HttpResponse",
    "ProviderHttp",
    "encode_json",
    "error_for_status",
    "parse_retry_after",
    "translate_client_error",
]

logger = logging.getLogger("voicegw.http")

_USER_AGENT = "voicegw/0.1 (+aiohttp)"
#: How many URLs a ProviderHttp keeps parsed (see ``ProviderHttp._urls``).
_KNOWN_URLS = 32
#: What aiohttp refuses in a header (it raises ValueError): control characters but tab.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@attrs.frozen
class HttpResponse:
    """What came back: status, headers and the whole body, already read."""

    status: int
    headers: Mapping[str, str]
    body: bytes = attrs.field(repr=lambda b: f"<{len(b)} bytes>")
    url: str

    def json(self) -> Any:
        """The body as JSON; raises ``ValueError`` (never anything else) when it is not."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"response body is not JSON: {exc}") from exc

    def snippet(self, limit: int = 120) -> str:
        """The start of the body as text, for error messages."""
        text = self.body[:limit].decode("utf-8", "replace")
        return " ".join(text.split()) + ("…" if len(self.body) > limit else "")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is True, float("²") is not
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, delta)


def error_for_status(
    response: HttpResponse, *, provider: str | None, plugin: str | None
) -> VoiceError:
    """The error for an HTTP failure whose body is not the provider's own envelope.

    A bare 4xx means the request was refused: not placed. A bare 503 says the service turned
    the request away: not placed, retryable. Any other bare 5xx may come from a proxy in front
    of a provider that did the work, so ``call_placed`` is None (never failed over).
    """
    status = response.status
    detail = f"HTTP {status}"
    if response.body:
        detail += f": {response.snippet()}"
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    kwargs: dict[str, Any] = {"provider": provider, "plugin": plugin, "code": f"HTTP {status}"}
    if status == 429:
        return RateLimited(detail, retry_after=retry_after, **kwargs)
    if status == 401:
        return AuthenticationError(detail, **kwargs)
    if status == 403:
        return PermissionDenied(detail, **kwargs)
    if status in (404, 405):
        return NotFound(f"{detail} (is base_url right?)", **kwargs)
    if 400 <= status < 500:
        return InvalidRequest(detail, **kwargs)
    if status == 503:
        return ProviderUnavailable(detail, retry_after=retry_after, call_placed=False, **kwargs)
    if status >= 500:
        return ProviderUnavailable(detail, retry_after=retry_after, call_placed=None, **kwargs)
    return ProviderError(f"unexpected {detail}", call_placed=None, **kwargs)


def translate_client_error(
    exc: BaseException, *, provider: str | None, plugin: str | None
) -> VoiceError:
    """Map an aiohttp, socket or timeout exception to the taxonomy."""
    kwargs: dict[str, Any] = {"provider": provider, "plugin": plugin}
    name = type(exc).__name__
    if isinstance(exc, aiohttp.InvalidURL):
        return ConfigurationError(f"invalid URL: {exc}", **kwargs)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return TransportError(f"connect timed out ({name}); nothing was sent", **kwargs)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransportError(f"could not connect ({name}): {exc.os_error}", **kwargs)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return OutcomeUnknown(
            "timed out waiting for the answer; the request may have been processed", **kwargs
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return OutcomeUnknown(
            "the connection closed before an answer arrived; the request may have been processed",
            **kwargs,
        )
    return OutcomeUnknown(f"the exchange failed after sending ({name}: {exc})", **kwargs)


#: What ``json.dumps(data, ensure_ascii=False, separators=(",", ":"))`` builds on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_json(data: Any) -> bytes:
    """Compact UTF-8 JSON, as :meth:`ProviderHttp.request` sends ``json_body``."""
    return _ENCODER.encode(data).encode()


class ProviderHttp:
    """One provider's HTTP client: a single ``aiohttp.ClientSession`` and its timeouts.

    ``timeout`` bounds the whole exchange; connecting gets at most ``connect_timeout``
    seconds, so a dead host fails fast and unambiguously (nothing sent).
    """

    def __init__(
        self,
        *,
        provider: str,
        plugin: str,
        base_url: str,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.provider = provider
        self.plugin = plugin
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(
            total=timeout, sock_connect=min(connect_timeout, timeout)
        )
        self._session = session
        self._owns_session = session is None
        #: URL text → (the URL object aiohttp made of it, that object's text), once a request
        #: to it came back without a redirect: handed back to aiohttp, it is neither parsed nor
        #: printed again. The first few URLs only (those with ids in them would only pile up).
        self._urls: dict[str, tuple[URL, str]] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        """The session, created on first use (inside the running event loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, headers={"User-Agent": _USER_AGENT}
            )
            self._owns_session = True
        return self._session

    def url(self, path: str) -> str:
        """``base_url`` joined with ``path`` (absolute URLs pass through)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        allow_redirects: bool = True,
    ) -> HttpResponse:
        """Send one request and read the whole answer, translating every failure.

        ``json_body`` is encoded compactly (:func:`encode_json`); pass ``body`` instead when the
        exact bytes matter, e.g. a provider that signs the body.
        """
        url = self.url(path)
        data: bytes | None = body
        if json_body is not None:
            if body is not None:
                raise ValueError("pass json_body or body, not both")
            try:
                data = encode_json(json_body)
            except (TypeError, ValueError) as exc:  # the message names a type, never a value
                raise ValidationError(
                    f"the request body cannot be sent as JSON: {exc}",
                    provider=self.provider,
                    plugin=self.plugin,
                ) from exc
        if headers:
            self._check_headers(headers)
        known = self._urls.get(url) if params is None else None
        started = time.perf_counter()
        try:
            async with self.session.request(
                method,
                url if known is None else known[0],
                headers=dict(headers) if headers else {},
                data=data,
                params=params,
                allow_redirects=allow_redirects,
            ) as resp:
                body = await resp.read()
                if known is not None and resp.url is known[0]:
                    final_url = known[1]
                else:
                    final_url = str(resp.url)
                    if params is None and not resp.history and len(self._urls) < _KNOWN_URLS:
                        self._urls[url] = (resp.url, final_url)
                result = HttpResponse(
                    status=resp.status,
                    headers=resp.headers,  # already an immutable CIMultiDictProxy
                    body=body,
                    url=final_url,
                )
        except VoiceError:
            raise
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = translate_client_error(exc, provider=self.provider, plugin=self.plugin)
            logger.info(
                "%s %s failed after %.3fs: %s",
                method,
                _path_only(url),
                time.perf_counter() - started,
                type(error).__name__,
            )
            raise error from exc
        if logger.isEnabledFor(logging.DEBUG):  # spare the arguments when nobody listens
            logger.debug(
                "%s %s -> %d in %.3fs",
                method,
                _path_only(url),
                result.status,
                time.perf_counter() - started,
            )
        return result

    def _check_headers(self, headers: Mapping[str, str]) -> None:
        """Refuse a header that aiohttp would refuse (a line break or control character)."""
        try:
            if "".join((*headers, *headers.values())).isprintable():
                return  # every control character is unprintable: none is here
        except TypeError:
            pass  # a name or value that is not text: the loop raises what it always raised
        for header, value in headers.items():
            if _CONTROL_CHARS.search(header) or _CONTROL_CHARS.search(value):
                # The value may be a secret (read with its trailing newline): name the header.
                raise ConfigurationError(
                    f"header {header!r} holds a line break or control character; nothing was sent",
                    provider=self.provider,
                    plugin=self.plugin,
                )

    def garbled(self, response: HttpResponse, why: str) -> VoiceError:
        """The error for a 2xx answer that is not what the provider ever sends.

        The provider got the request and answered something: it may well have acted on it.
        """
        return OutcomeUnknown(
            f"unreadable answer (HTTP {response.status}, {why}): {response.snippet()!r}",
            provider=self.provider,
            plugin=self.plugin,
        )

    async def aclose(self) -> None:
        """Close the session if this object created it."""
        if self._session is not None and self._owns_session and not self._session.closed:
            await self._session.close()


def _path_only(url: str) -> str:
    """The URL without its query string: queries can carry ids we need not log."""
    return url.split("?", 1)[0]
