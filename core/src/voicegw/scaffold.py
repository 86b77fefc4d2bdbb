"""``voicegw new-plugin NAME``: scaffold a third-party provider plugin package.

The package it writes is the echo example of the plugin author's guide with your names in it,
and ``TODO(protocol)`` markers where your provider's protocol goes. It passes its own tests —
voicegw's conformance kit against its emulator — the moment it is generated::

    voicegw new-plugin acme                    # writes ./voicegw-acme
    cd voicegw-acme && pip install ".[test]" && pytest

The templates (``voicegw/scaffold_templates``) are the files of ``examples/voicegw-echo`` in the
voicegw repository with the names replaced by tokens — ``{{name}}``, ``{{Name}}``, ``{{NAME}}``,
``{{package}}``, ``{{dist}}``, ``{{slug}}``, ``{{api_version}}``, ``{{voicegw_requirement}}`` —
and marker lines added. Rendering them for ``echo`` and dropping the marker lines gives the
example byte for byte; voicegw's own tests check exactly that, so the example (linted, typed and
tested in place) and the scaffold cannot drift apart. Change both together.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Callable, Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TextIO

import attrs

from voicegw import __version__
from voicegw.errors import ValidationError
from voicegw.provider import PLUGIN_API_VERSION

__all__ = [
    "TODO_MARKER",
    "PluginNames",
    "add_commands",
    "plugin_names",
    "render_plugin",
    "without_markers",
    "write_plugin",
]

#: Marks each place where the provider's real protocol replaces the example's.
TODO_MARKER = "TODO(protocol):"
#: Names a new plugin may not take: voicegw ships a plugin by that name.
RESERVED_NAMES = frozenset({"sandbox"})
MAX_NAME_LENGTH = 40

_TEMPLATES = "scaffold_templates"
_SUFFIX = ".tmpl"
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_TOKEN = re.compile(r"\{\{(\w+)\}\}")
_MARKER_LINE = re.compile(r"^[ \t]*(?:#|<!--) TODO\(protocol\):.*\n?", re.MULTILINE)


@attrs.frozen
class PluginNames:
    """Every spelling of a plugin's name the package uses.

    >>> names = plugin_names("acme_voice")
    >>> names.dist, names.package, names.title, names.constant
    ('voicegw-acme-voice', 'voicegw_acme_voice', 'AcmeVoice', 'ACME_VOICE')
    """

    name: str

    @property
    def package(self) -> str:
        """The import package: ``voicegw_<name>``."""
        return f"voicegw_{self.name}"

    @property
    def slug(self) -> str:
        """The name with hyphens, for distribution names and host names."""
        return self.name.replace("_", "-")

    @property
    def dist(self) -> str:
        """The distribution (what ``pip install`` takes): ``voicegw-<name>``."""
        return f"voicegw-{self.slug}"

    @property
    def title(self) -> str:
        """The class-name prefix: ``acme_voice`` → ``AcmeVoice``."""
        return "".join(part.capitalize() for part in self.name.split("_"))

    @property
    def constant(self) -> str:
        """The name in upper case, for constants and environment variables."""
        return self.name.upper()

    def tokens(self) -> dict[str, str]:
        """The value of each template token."""
        return {
            "name": self.name,
            "Name": self.title,
            "NAME": self.constant,
            "package": self.package,
            "dist": self.dist,
            "slug": self.slug,
            "api_version": str(PLUGIN_API_VERSION),
            "voicegw_requirement": voicegw_requirement(__version__),
        }


def plugin_names(name: str) -> PluginNames:
    """The names for plugin ``name``; :class:`ValidationError` unless it is a valid plugin name.

    A plugin name is a lowercase identifier: a letter, then letters and digits, with single
    underscores between words (``acme``, ``acme_voice``).
    """
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"NAME must be a lowercase identifier of at most {MAX_NAME_LENGTH} characters "
            f"(a letter, then letters and digits, single '_' between words), got {name!r}"
        )
    if name in RESERVED_NAMES:
        raise ValidationError(f"NAME {name!r} is taken: voicegw ships a plugin by that name")
    return PluginNames(name)


def voicegw_requirement(version: str) -> str:
    """The version range a plugin written against voicegw ``version`` declares.

    The plugin API may change with voicegw's minor version while voicegw is 0.x, and with its
    major version from 1.0 on.

    >>> voicegw_requirement("0.1.0"), voicegw_requirement("1.4.2")
    ('>=0.1,<0.2', '>=1.4,<2')
    """
    parts = [int(part) for part in re.findall(r"\d+", version)[:2]]
    major, minor = [*parts, 0, 0][:2]
    if major == 0:
        return f">=0.{minor},<0.{minor + 1}"
    return f">={major}.{minor},<{major + 1}"


def render(text: str, names: PluginNames) -> str:
    """``text`` with every ``{{token}}`` replaced by its value for ``names``."""
    tokens = names.tokens()

    def value(match: re.Match[str]) -> str:
        try:
            return tokens[match.group(1)]
        except KeyError:
            raise ValueError(f"unknown scaffold token {match.group(0)}") from None

    return _TOKEN.sub(value, text)


def without_markers(text: str) -> str:
    """``text`` without its ``TODO(protocol)`` marker lines (``#`` or ``<!--`` comments)."""
    return _MARKER_LINE.sub("", text)


def _template_files() -> Iterator[tuple[str, str]]:
    """``(relative path, text)`` of every template, paths still holding their tokens."""
    pending: list[tuple[Traversable, str]] = [(resources.files("voicegw") / _TEMPLATES, "")]
    while pending:
        folder, prefix = pending.pop()
        for entry in folder.iterdir():
            if entry.is_dir():
                pending.append((entry, f"{prefix}{entry.name}/"))
            elif entry.name.endswith(_SUFFIX):
                yield prefix + entry.name[: -len(_SUFFIX)], entry.read_text(encoding="utf-8")


def render_plugin(name: str) -> dict[str, str]:
    """Every file of the package for plugin ``name``: relative POSIX path → text."""
    names = plugin_names(name)
    files = {render(path, names): render(text, names) for path, text in _template_files()}
    return dict(sorted(files.items()))


def write_plugin(name: str, output: Path) -> list[Path]:
    """Write the package for plugin ``name`` into the new folder ``output``.

    Refuses (``ValidationError``, nothing written) when ``output`` already exists.
    """
    return _write(render_plugin(name), output)


def _write(files: dict[str, str], output: Path) -> list[Path]:
    try:
        output.mkdir(parents=True)
    except FileExistsError:
        raise ValidationError(
            f"output {str(output)!r} already exists: refusing to overwrite it; "
            "choose another --output"
        ) from None
    written: list[Path] = []
    for relative, text in files.items():
        path = output / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def _scaffold(name: str, output: Path) -> tuple[list[Path], int]:
    """Write the package; return the files written and the number of markers in them."""
    files = render_plugin(name)
    markers = sum(len(_MARKER_LINE.findall(text)) for text in files.values())
    return _write(files, output), markers


async def cmd_new_plugin(args: argparse.Namespace, out: TextIO) -> int:
    """Scaffold the package and say what to do next."""
    names = plugin_names(args.name)
    output = Path(args.output) if args.output else Path(names.dist)
    written, markers = await asyncio.to_thread(_scaffold, names.name, output)
    out.write(
        f"created {output} ({len(written)} files): distribution {names.dist}, "
        f"package {names.package}, plugin {names.name!r}\n"
        "\n"
        "next:\n"
        f"  cd {output}\n"
        '  pip install ".[test]"\n'
        f"  pytest     # the conformance kit against the {names.name} emulator: green already\n"
        "\n"
        f"then put your provider's protocol where the code says {TODO_MARKER[:-1]} "
        f"({markers} places), keeping pytest green.\n"
    )
    return 0


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``new-plugin`` to the ``voicegw`` parser."""
    p = command("new-plugin", cmd_new_plugin, "scaffold a provider plugin package")
    p.add_argument("name", help="the plugin name, a lowercase identifier (e.g. acme)")
    p.add_argument("--output", "-o", help="the package folder to create (default: voicegw-NAME)")
