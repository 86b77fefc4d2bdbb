"""Wire tests with aioresponses: assert the exact request a provider sends.

:class:`MockedApi` is ``aioresponses`` with one fix: aioresponses 0.7.x builds its mocked
responses without the ``stream_writer`` that aiohttp ≥ 3.12 requires (upstream issue
pnuckowski/aioresponses#289), so every mocked answer would fail. It hands each response a
finished writer; everything else is plain aioresponses. Needs the ``testing`` extra.

::

    with MockedApi() as mocked:
        mocked.post("https://api.example.com/v1/calls", payload={"id": "c1"})
        await provider.send(notification)
        [(method, url), [call]] = mocked.requests.items()
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import ClientResponse
from aioresponses import aioresponses
from yarl import URL

__all__ = ["CompatResponse", "MockedApi"]


class _SentWriter:
    """Stands in for the stream writer of a request that was already sent."""

    output_size = 0


class CompatResponse(ClientResponse):
    """A ``ClientResponse`` aioresponses can build on aiohttp ≥ 3.12."""

    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _SentWriter())
        super().__init__(method, url, **kwargs)


class MockedApi(aioresponses):
    """``aioresponses`` whose answers are :class:`CompatResponse` objects."""

    def add(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", CompatResponse)
        super().add(*args, **kwargs)

    def sent(self, method: str, url: str) -> list[tuple[dict[str, str], Any]]:
        """Every request made to ``url``: its headers and its JSON body (None without one)."""
        out: list[tuple[dict[str, str], Any]] = []
        for call in self.requests.get((method.upper(), URL(url)), []):
            data = call.kwargs.get("data")
            body = json.loads(data) if data else None
            out.append((dict(call.kwargs.get("headers") or {}), body))
        return out
