"""The provider page stays in step with the code: markers, languages, settings, capabilities."""

from __future__ import annotations

import pathlib
import re

import attrs

from voicegw.plugins import default_registry
from voicegw_itniotech.settings import ItniotechSettings
from voicegw_itniotech.wire import LANGUAGES, text_limit

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "providers" / "itniotech.md"


def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_generated_tables_have_their_markers() -> None:
    lines = page().splitlines()
    assert "<!-- voicegw:codes itniotech api -->" in lines
    assert "<!-- voicegw:settings itniotech -->" in lines


def test_every_language_is_in_the_table() -> None:
    text = page()
    for tag, (code, name) in LANGUAGES.items():
        row = f"| `{tag}` {name} | `{code}` | {text_limit(code)} |"
        assert row in text, row


def test_every_setting_is_explained() -> None:
    text = page()
    for field in attrs.fields(ItniotechSettings):
        if field.name != "plugin":
            assert f"`{field.name}`" in text, field.name


def test_every_capability_is_in_the_support_table() -> None:
    text = page()
    for capability in default_registry().get("itniotech").capabilities:
        label = capability.value.replace("_", " ")
        assert re.search(rf"^\| {label} \| ✓ \|", text, re.MULTILINE), label


def test_the_page_has_the_sections_the_brief_asks_for() -> None:
    text = page()
    for heading in (
        "## What it supports",
        "## Settings",
        "## Record pushes",
        "## Codes",
        "## A worked example",
        "## Decisions on UNKNOWN/UNVERIFIED spec items",
    ):
        assert heading in text
