"""mkdocs hook: replace ``<!-- voicegw:NAME ARGS -->`` markers with tables rendered from code."""

from __future__ import annotations

import re
from typing import Any

from voicegw.reference import render_marker

_MARKER = re.compile(r"^<!-- voicegw:(\w+)((?: [\w.-]+)*) -->$", re.MULTILINE)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        return render_marker(match.group(1), *match.group(2).split())

    return _MARKER.sub(replace, markdown)
