"""``voicegw new-plugin``: names, refusals, the generated package, and no drift from the example.

The full round trip — pip-install a scaffolded package and run its own tests — is in
``scripts/test-example`` (``make alone``).
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from voicegw.cli import main
from voicegw.errors import ValidationError
from voicegw.models import Speech, VoiceNotification
from voicegw.plugins import PluginRegistry
from voicegw.provider import PLUGIN_API_VERSION
from voicegw.scaffold import (
    TODO_MARKER,
    plugin_names,
    render_plugin,
    voicegw_requirement,
    without_markers,
    write_plugin,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "voicegw-echo"
#: What tools leave in the example folder; not part of the package.
_NOT_SOURCE = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"}
_NOT_SOURCE |= {"build", "dist"}

LAYOUT = {
    "pyproject.toml",
    "README.md",
    "docs/acme.md",
    "src/voicegw_acme/__init__.py",
    "src/voicegw_acme/py.typed",
    "src/voicegw_acme/auth.py",
    "src/voicegw_acme/codes.py",
    "src/voicegw_acme/emulator.py",
    "src/voicegw_acme/plugin.py",
    "src/voicegw_acme/provider.py",
    "src/voicegw_acme/settings.py",
    "src/voicegw_acme/wire.py",
    "tests/test_calls.py",
    "tests/test_conformance.py",
    "tests/test_plugin_api.py",
    "tests/test_signing.py",
    "tests/test_wire.py",
}


def _example_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for path in sorted(EXAMPLE.rglob("*")):
        parts = path.relative_to(EXAMPLE).parts
        if not path.is_file() or any(
            part in _NOT_SOURCE or part.endswith(".egg-info") for part in parts
        ):
            continue
        files["/".join(parts)] = path.read_text(encoding="utf-8")
    return files


# -- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "dist", "package", "title"),
    [
        ("acme", "voicegw-acme", "voicegw_acme", "Acme"),
        ("acme_voice", "voicegw-acme-voice", "voicegw_acme_voice", "AcmeVoice"),
        ("tel2", "voicegw-tel2", "voicegw_tel2", "Tel2"),
    ],
)
def test_names(name: str, dist: str, package: str, title: str) -> None:
    names = plugin_names(name)
    assert (names.dist, names.package, names.title) == (dist, package, title)
    assert names.constant == name.upper()


@pytest.mark.parametrize(
    "name",
    ["", "Acme", "1acme", "ac-me", "acme_", "_acme", "ac__me", "ac me", "acmé", "a" * 41],
)
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="^NAME must be a lowercase identifier"):
        plugin_names(name)


def test_the_sandbox_name_is_taken() -> None:
    with pytest.raises(ValidationError, match="voicegw ships a plugin by that name"):
        plugin_names("sandbox")


def test_voicegw_requirement() -> None:
    assert voicegw_requirement("0.1.0") == ">=0.1,<0.2"
    assert voicegw_requirement("0.12.3rc1") == ">=0.12,<0.13"
    assert voicegw_requirement("2.3") == ">=2.3,<3"


# -- the generated package ---------------------------------------------------------------


def test_layout() -> None:
    assert set(render_plugin("acme")) == LAYOUT


def test_every_token_is_replaced() -> None:
    for path, text in render_plugin("acme_voice").items():
        assert not re.search(r"\{\{\w+\}\}", path + text), path


def test_entry_point_and_dependencies() -> None:
    project = tomllib.loads(render_plugin("acme")["pyproject.toml"])["project"]
    assert project["name"] == "voicegw-acme"
    assert project["entry-points"]["voicegw.plugins"] == {"acme": "voicegw_acme.plugin"}
    assert "voicegw" + voicegw_requirement("0.1.0") in project["dependencies"]
    assert project["optional-dependencies"]["test"][0].startswith("voicegw[testing]")


def test_generated_pytest_config_is_its_own() -> None:
    tool = tomllib.loads(render_plugin("acme")["pyproject.toml"])["tool"]
    assert tool["pytest"]["ini_options"]["asyncio_mode"] == "auto"
    assert tool["pytest"]["ini_options"]["testpaths"] == ["tests"]


def test_generated_code_compiles() -> None:
    for path, text in render_plugin("acme_voice").items():
        if path.endswith(".py"):
            ast.parse(text, filename=path)


def test_plugin_declares_the_current_api_version() -> None:
    plugin = render_plugin("acme")["src/voicegw_acme/plugin.py"]
    assert f"API_VERSION = {PLUGIN_API_VERSION}\n" in plugin
    assert "api_version=API_VERSION" in plugin


def test_markers_show_where_the_protocol_goes() -> None:
    files = render_plugin("acme")
    for module in ("settings", "auth", "codes", "wire", "provider", "emulator"):
        assert TODO_MARKER in files[f"src/voicegw_acme/{module}.py"], module
    assert TODO_MARKER in files["docs/acme.md"]
    assert TODO_MARKER in files["tests/test_conformance.py"]


def test_lines_fit_the_line_length_for_names_up_to_16_characters() -> None:
    for path, text in render_plugin("acme_voice_cloud").items():
        lines = without_markers(text).splitlines()
        long = [n for n, line in enumerate(lines, 1) if len(line) > 100 and line[:1] != "|"]
        assert not long, f"{path}: lines {long} are longer than 100 characters"


# -- no drift ----------------------------------------------------------------------------


def test_scaffold_of_echo_is_the_example_plus_markers() -> None:
    """Rendered for ``echo`` without its marker lines, the scaffold *is* the example."""
    example = _example_files()
    rendered = {path: without_markers(text) for path, text in render_plugin("echo").items()}
    assert set(rendered) == set(example), "the scaffold and the example hold different files"
    for path, text in rendered.items():
        if text != example[path]:
            diff = "".join(
                difflib.unified_diff(
                    example[path].splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    f"examples/voicegw-echo/{path}",
                    f"scaffold of echo: {path}",
                )
            )
            pytest.fail(
                "the scaffold templates (core/src/voicegw/scaffold_templates) and the example "
                f"differ; change both together:\n{diff}"
            )


def test_without_markers_drops_only_marker_lines() -> None:
    text = "a = 1\n    # TODO(protocol): here\n<!-- TODO(protocol): there -->\n# TODO: other\n"
    assert without_markers(text) == "a = 1\n# TODO: other\n"


# -- writing, and the command ------------------------------------------------------------


def test_write_plugin_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "voicegw-acme"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ValidationError, match="already exists: refusing to overwrite"):
        write_plugin("acme", target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_new_plugin_command(tmp_path: Path) -> None:
    out = io.StringIO()
    target = tmp_path / "pkg"
    assert main(["new-plugin", "acme", "--output", str(target)], out=out) == 0
    written = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert written == LAYOUT
    assert (target / "src/voicegw_acme/plugin.py").read_text() == render_plugin("acme")[
        "src/voicegw_acme/plugin.py"
    ]
    assert "voicegw-acme" in out.getvalue()
    assert "pytest" in out.getvalue()


def test_new_plugin_command_defaults_to_the_distribution_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new-plugin", "acme"], out=io.StringIO()) == 0
    assert (tmp_path / "voicegw-acme" / "pyproject.toml").is_file()


@pytest.mark.parametrize("argv", [["new-plugin", "Bad-Name"], ["new-plugin", "sandbox"]])
def test_new_plugin_command_refuses_bad_names(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv, out=io.StringIO()) == 2
    assert not list(tmp_path.iterdir()), "nothing may be written for a refused name"


def test_new_plugin_command_refuses_an_existing_folder(tmp_path: Path) -> None:
    assert main(["new-plugin", "acme", "-o", str(tmp_path)], out=io.StringIO()) == 2
    assert not list(tmp_path.iterdir())


# -- the generated plugin works ----------------------------------------------------------


@pytest.fixture
def generated_acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A scaffolded ``acme`` package, importable from its source folder for this test."""
    write_plugin("acme", tmp_path / "voicegw-acme")
    monkeypatch.syspath_prepend(str(tmp_path / "voicegw-acme" / "src"))
    yield "voicegw_acme"
    for module in [m for m in sys.modules if m == "voicegw_acme" or m.startswith("voicegw_acme.")]:
        del sys.modules[module]


async def test_generated_plugin_registers_and_places_a_call(generated_acme: str) -> None:
    plugin = __import__(f"{generated_acme}.plugin", fromlist=["PLUGIN_SPEC"])
    registry = PluginRegistry(entry_points=False)
    registry.register(plugin, "voicegw_acme")
    spec = registry.get("acme")
    assert spec.api_version == PLUGIN_API_VERSION
    assert spec.emulator is not None
    async with spec.emulator() as emulator:
        settings = spec.settings_type(**emulator.provider_settings())
        provider = spec.factory("acme", settings)
        try:
            receipt = await provider.send(VoiceNotification("+447700900123", [Speech("Hi")]))
            await emulator.drain()
            record = await provider.get_record(receipt.call_id)
        finally:
            await provider.aclose()
    assert record.status.value == "completed"
    assert [p.call_id for p in emulator.placed] == [receipt.call_id]
