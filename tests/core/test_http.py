"""The HTTP edge: real loopback servers, and every failure translated into the taxonomy."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

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
    VoiceError,
)
from voicegw.http import (
    HttpResponse,
    ProviderHttp,
    encode_json,
    error_for_status,
    parse_retry_after,
    translate_client_error,
)

Serve = Callable[[web.Application], Awaitable[str]]


@pytest_asyncio.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start an aiohttp app on 127.0.0.1; returns its base URL. Stopped after the test."""
    servers: list[TestServer] = []

    async def start(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


@pytest_asyncio.fixture
async def clients() -> AsyncIterator[Callable[..., ProviderHttp]]:
    made: list[ProviderHttp] = []

    def make(base_url: str, **kwargs: Any) -> ProviderHttp:
        client = ProviderHttp(provider="primary", plugin="demo", base_url=base_url, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def response(status: int, body: bytes = b"", **headers: str) -> HttpResponse:
    return HttpResponse(status=status, headers=headers, body=body, url="http://x.invalid/a")


# -- a normal exchange ---------------------------------------------------------------------


async def test_request_sends_compact_json_and_reads_the_answer(
    serve: Serve, clients: Callable[..., ProviderHttp]
) -> None:
    seen: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.Response:
        seen["body"] = await request.read()
        seen["headers"] = dict(request.headers)
        seen["query"] = dict(request.query)
        seen["method"] = request.method
        return web.json_response({"status": "0", "data": "ok"}, headers={"X-Trace": "t1"})

    app = web.Application()
    app.router.add_route("*", "/voice/send", handler)
    base = await serve(app)
    http = clients(base + "/")
    result = await http.request(
        "POST",
        "/voice/send",
        headers={"Sign": "abc"},
        json_body={"text": "Xin chào", "n": 1},
        params={"a": "1"},
    )
    assert seen["method"] == "POST"
    assert seen["body"] == '{"text":"Xin chào","n":1}'.encode()
    assert seen["headers"]["Sign"] == "abc"
    assert seen["headers"]["User-Agent"].startswith("voicegw/")
    assert seen["query"] == {"a": "1"}
    assert result.status == 200
    assert result.json() == {"status": "0", "data": "ok"}
    assert result.headers["x-trace"] == "t1"  # case-insensitive
    assert result.url == base + "/voice/send?a=1"


async def test_pre_encoded_bytes_are_sent_verbatim(
    serve: Serve, clients: Callable[..., ProviderHttp]
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    app = web.Application()
    app.router.add_post("/signed", handler)
    http = clients(await serve(app))
    exact = b'{ "spaced" : true }'
    result = await http.request("POST", "/signed", body=exact)
    assert result.body == exact
    assert encode_json({"a": "é", "b": [1]}) == '{"a":"é","b":[1]}'.encode()
    with pytest.raises(ValueError, match="not both"):
        await http.request("POST", "/signed", body=exact, json_body={})


async def test_request_without_a_body_sends_none(
    serve: Serve, clients: Callable[..., ProviderHttp]
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=str(len(await request.read())))

    app = web.Application()
    app.router.add_get("/r", handler)
    result = await clients(await serve(app)).request("GET", "r")
    assert result.body == b"0"


async def test_redirects_can_be_kept(serve: Serve, clients: Callable[..., ProviderHttp]) -> None:
    async def handler(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    app = web.Application()
    app.router.add_get("/r", handler)
    result = await clients(await serve(app)).request("GET", "/r", allow_redirects=False)
    assert result.status == 302
    assert result.headers["Location"] == "/elsewhere"


def test_url_joins_paths_and_passes_absolute_urls() -> None:
    http = ProviderHttp(provider="p", plugin="x", base_url="https://api.example.com/v1/")
    assert http.url("voice/send") == "https://api.example.com/v1/voice/send"
    assert http.url("/voice/send") == "https://api.example.com/v1/voice/send"
    assert http.url("http://other.example/x") == "http://other.example/x"


def test_timeouts_bound_the_exchange_and_the_connect() -> None:
    http = ProviderHttp(provider="p", plugin="x", base_url="http://h", timeout=5, connect_timeout=9)
    assert http.timeout.total == 5
    assert http.timeout.sock_connect == 5
    http = ProviderHttp(provider="p", plugin="x", base_url="http://h", timeout=30)
    assert http.timeout.sock_connect == 10


# -- failures before anything was sent ------------------------------------------------------


async def test_connection_refused_is_a_transport_error_not_placed(
    clients: Callable[..., ProviderHttp],
) -> None:
    http = clients(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(TransportError) as info:
        await http.request("POST", "/voice/send", json_body={})
    error = info.value
    assert type(error) is TransportError
    assert error.call_placed is False
    assert error.retryable is True
    assert (error.provider, error.plugin) == ("primary", "demo")
    assert isinstance(error.__cause__, aiohttp.ClientConnectorError)


async def test_an_invalid_url_is_a_configuration_error(
    clients: Callable[..., ProviderHttp],
) -> None:
    with pytest.raises(ConfigurationError, match="invalid URL"):
        await clients("not a url").request("GET", "/x")


async def test_a_header_that_cannot_be_sent_is_refused_before_sending(
    serve: Serve, clients: Callable[..., ProviderHttp]
) -> None:
    # A secret read from a file often ends in a newline; aiohttp refuses such a header with a
    # ValueError. Nothing was sent, and no non-taxonomy exception may escape.
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/x", handler)
    http = clients(await serve(app))
    with pytest.raises(VoiceError) as info:
        await http.request("GET", "/x", headers={"X-Api-Key": "key-SECRET-1\n"})
    assert info.value.call_placed is False
    assert "key-SECRET-1" not in str(info.value)
    assert seen == []


async def test_a_body_that_is_not_json_is_refused_before_sending(
    serve: Serve, clients: Callable[..., ProviderHttp]
) -> None:
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/x", handler)
    http = clients(await serve(app))
    with pytest.raises(VoiceError) as info:
        await http.request("POST", "/x", json_body={"price": Decimal("0.5")})
    assert info.value.call_placed is False
    assert seen == []


# -- failures after the request may have been written ---------------------------------------


async def test_read_timeout_is_outcome_unknown(
    serve: Serve, clients: Callable[..., ProviderHttp]
) -> None:
    handled = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        handled.set()
        await asyncio.sleep(5)
        return web.Response(text="late")

    app = web.Application()
    app.router.add_post("/slow", handler)
    http = clients(await serve(app), timeout=0.3)
    with pytest.raises(OutcomeUnknown) as info:
        await http.request("POST", "/slow", json_body={"a": 1})
    assert handled.is_set()
    assert info.value.call_placed is None
    assert info.value.retryable is False
    assert "may have been processed" in info.value.message


async def test_server_closing_the_connection_is_outcome_unknown(
    serve: Serve, clients: Callable[..., ProviderHttp]
) -> None:
    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(1)
        return web.Response(text="never")

    app = web.Application()
    app.router.add_post("/drop", handler)
    with pytest.raises(OutcomeUnknown) as info:
        await clients(await serve(app)).request("POST", "/drop", json_body={})
    assert info.value.call_placed is None
    assert isinstance(info.value.__cause__, aiohttp.ClientError)


async def test_truncated_body_is_outcome_unknown(
    serve: Serve, clients: Callable[..., ProviderHttp]
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "100"})
        await resp.prepare(request)
        await resp.write(b'{"status": "0", ')
        assert request.transport is not None
        request.transport.close()
        return resp

    app = web.Application()
    app.router.add_get("/short", handler)
    with pytest.raises(OutcomeUnknown):
        await clients(await serve(app)).request("GET", "/short")


@pytest.mark.parametrize(
    ("exc", "cls", "placed"),
    [
        (aiohttp.ConnectionTimeoutError(), TransportError, False),
        (aiohttp.ServerDisconnectedError(), OutcomeUnknown, None),
        (TimeoutError(), OutcomeUnknown, None),
        (aiohttp.ClientPayloadError("cut"), OutcomeUnknown, None),
        (ConnectionResetError("reset"), OutcomeUnknown, None),
        (aiohttp.InvalidURL("::"), ConfigurationError, False),
    ],
)
def test_translate_client_error(exc: BaseException, cls: type[VoiceError], placed: Any) -> None:
    error = translate_client_error(exc, provider="p", plugin="x")
    assert type(error) is cls
    assert error.call_placed is placed
    assert (error.provider, error.plugin) == ("p", "x")


def test_translate_connector_error_is_transport_error() -> None:
    from aiohttp.client_reqrep import ConnectionKey

    key = ConnectionKey("127.0.0.1", 1, False, True, None, None, None)
    exc = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))
    error = translate_client_error(exc, provider="p", plugin="x")
    assert type(error) is TransportError
    assert error.call_placed is False


# -- the answers that are not the provider's envelope ----------------------------------------


@pytest.mark.parametrize(
    ("status", "cls", "placed", "retryable"),
    [
        (400, InvalidRequest, False, False),
        (401, AuthenticationError, False, False),
        (403, PermissionDenied, False, False),
        (404, NotFound, False, False),
        (405, NotFound, False, False),
        (409, InvalidRequest, False, False),
        (429, RateLimited, False, True),
        (500, ProviderUnavailable, None, True),
        (502, ProviderUnavailable, None, True),
        (503, ProviderUnavailable, False, True),
        (504, ProviderUnavailable, None, True),
        (302, ProviderError, None, False),
        (204, ProviderError, None, False),
    ],
)
def test_error_for_status(
    status: int, cls: type[VoiceError], placed: bool | None, retryable: bool
) -> None:
    error = error_for_status(response(status, b"<html>nope</html>"), provider="p", plugin="x")
    assert type(error) is cls
    assert error.call_placed is placed
    assert error.retryable is retryable
    assert error.code == f"HTTP {status}"
    assert (error.provider, error.plugin) == ("p", "x")
    assert f"HTTP {status}: <html>nope</html>" in error.message


def test_error_for_status_without_a_body() -> None:
    assert error_for_status(response(500), provider="p", plugin="x").message == "HTTP 500"


def test_not_found_hints_at_the_base_url() -> None:
    assert "base_url" in error_for_status(response(404), provider="p", plugin="x").message


def test_429_with_retry_after_seconds() -> None:
    error = error_for_status(response(429, **{"Retry-After": "7"}), provider="p", plugin="x")
    assert error.retry_after == 7.0


def test_429_with_retry_after_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    header = format_datetime(when, usegmt=True)
    error = error_for_status(response(429, **{"Retry-After": header}), provider="p", plugin="x")
    assert error.retry_after is not None
    assert 100 < error.retry_after <= 120


def test_503_keeps_retry_after() -> None:
    error = error_for_status(response(503, **{"Retry-After": "30"}), provider="p", plugin="x")
    assert error.retry_after == 30.0


def test_long_bodies_are_cut_in_messages() -> None:
    error = error_for_status(response(400, b"x" * 500), provider="p", plugin="x")
    assert error.message.endswith("…")
    assert len(error.message) < 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("0", 0.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: no wait
        ("Wed, 21 Oct 2015 07:28:00 -0000", None),  # no usable zone
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_date_relative_to_now() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == 90.0


def test_parse_retry_after_date_defaults_to_the_wall_clock() -> None:
    header = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    value = parse_retry_after(header)
    assert value is not None
    assert 50 < value <= 60


# -- response helpers -------------------------------------------------------------------------


def test_http_response_json_raises_only_value_error() -> None:
    assert response(200, b'{"a": 1}').json() == {"a": 1}
    with pytest.raises(ValueError, match="not JSON"):
        response(200, b'{"a": ').json()
    with pytest.raises(ValueError, match="not JSON"):
        response(200, b"\xff\xfe").json()


def test_http_response_repr_hides_the_body() -> None:
    text = repr(response(200, b"token=SECRET"))
    assert "SECRET" not in text
    assert "<12 bytes>" in text


def test_snippet_collapses_whitespace() -> None:
    assert response(200, b"a \n\n  b").snippet() == "a b"


def test_garbled_is_outcome_unknown() -> None:
    http = ProviderHttp(provider="p", plugin="x", base_url="http://h")
    error = http.garbled(response(200, b"<html>"), "no envelope")
    assert type(error) is OutcomeUnknown
    assert error.call_placed is None
    assert (error.provider, error.plugin) == ("p", "x")
    assert "HTTP 200, no envelope" in error.message


# -- the session ------------------------------------------------------------------------------


async def test_aclose_closes_its_own_session() -> None:
    http = ProviderHttp(provider="p", plugin="x", base_url="http://h")
    session = http.session
    assert http.session is session  # created once
    await http.aclose()
    assert session.closed
    assert http.session is not session  # a new one after closing
    await http.aclose()


async def test_aclose_leaves_a_borrowed_session_open() -> None:
    async with aiohttp.ClientSession() as session:
        http = ProviderHttp(provider="p", plugin="x", base_url="http://h", session=session)
        assert http.session is session
        await http.aclose()
        assert not session.closed


async def test_logs_carry_neither_headers_nor_query_strings(
    serve: Serve, clients: Callable[..., ProviderHttp], caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/ok", handler)
    base = await serve(app)
    caplog.set_level(logging.DEBUG, logger="voicegw.http")
    await clients(base).request(
        "GET", "/ok", headers={"Authorization": "Bearer TOPSECRET"}, params={"token": "QSECRET"}
    )
    with pytest.raises(TransportError):
        await clients(f"http://127.0.0.1:{closed_port()}").request(
            "GET", "/x?token=QSECRET", headers={"Authorization": "Bearer TOPSECRET"}
        )
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage()
        assert "TOPSECRET" not in text
        assert "QSECRET" not in text


async def test_translation_is_quick_for_a_dead_port(clients: Callable[..., ProviderHttp]) -> None:
    started = time.monotonic()
    with pytest.raises(TransportError):
        await clients(f"http://127.0.0.1:{closed_port()}", timeout=30).request("GET", "/")
    assert time.monotonic() - started < 10


async def test_a_url_is_parsed_once_and_answers_name_the_url_they_came_from(
    serve: Serve, clients: Callable[..., ProviderHttp]
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(text=request.path_qs)

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/voice/target")

    app = web.Application()
    app.router.add_route("*", "/voice/target", answer)
    app.router.add_route("*", "/voice/moved", moved)
    base = await serve(app)
    http = clients(base)
    first = await http.request("POST", "/voice/target", body=b"1")
    again = await http.request("POST", "voice/target", body=b"2")
    assert first.url == again.url == base + "/voice/target"
    assert again.body == b"/voice/target"
    # After a redirect the answer names where it came from, and nothing is kept for the path.
    redirected = await http.request("GET", "/voice/moved")
    assert redirected.url == base + "/voice/target"
    assert (await http.request("GET", "/voice/moved")).url == base + "/voice/target"
    # A query makes a URL of its own each time.
    queried = await http.request("GET", "/voice/target", params={"a": "1"})
    assert queried.url == base + "/voice/target?a=1"
    assert queried.body == b"/voice/target?a=1"
    assert list(http._urls) == [base + "/voice/target"]


async def test_only_the_first_urls_are_kept(
    serve: Serve, clients: Callable[..., ProviderHttp]
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(text=request.path)

    app = web.Application()
    app.router.add_route("GET", "/record/{id}", answer)
    base = await serve(app)
    http = clients(base)
    for n in range(40):
        result = await http.request("GET", f"/record/{n}")
        assert result.url == f"{base}/record/{n}"
        assert result.body == f"/record/{n}".encode()
    assert len(http._urls) == 32
