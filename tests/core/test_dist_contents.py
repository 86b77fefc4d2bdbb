"""``scripts/check_dist_contents.py``, the check ``make dist`` runs on every built file, finds
what an index user would miss: no ``py.typed``, no licence, the test suite packaged."""

from __future__ import annotations

import importlib.util
import io
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "check_dist_contents.py"


@pytest.fixture(scope="module")
def check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_dist_contents", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wheel(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "voicegw_acme-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "")
    return path


def test_a_complete_wheel_passes(check: ModuleType, tmp_path: Path) -> None:
    path = wheel(
        tmp_path,
        "voicegw_acme/__init__.py",
        "voicegw_acme/py.typed",
        "voicegw_acme-1.0.dist-info/licenses/LICENSE",
        "voicegw_acme/templates/tests/test_x.py.tmpl",
    )
    assert check.wheel_problems(path) == []


def test_each_missing_piece_is_named(check: ModuleType, tmp_path: Path) -> None:
    path = wheel(tmp_path, "voicegw_acme/__init__.py", "tests/test_acme.py")
    assert check.wheel_problems(path) == [
        "no voicegw_acme/py.typed",
        "no licence text (.dist-info/licenses/LICENSE)",
        "holds test file tests/test_acme.py",
    ]
    assert check.main(str(tmp_path)) == 1


def test_an_sdist_without_its_licence_fails(check: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "voicegw_acme-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as sdist:
        info = tarfile.TarInfo("voicegw_acme-1.0/pyproject.toml")
        sdist.addfile(info, io.BytesIO(b""))
    assert check.sdist_problems(path) == ["no LICENSE at the top of the sdist"]


def test_every_distribution_carries_the_same_licence_text() -> None:
    root = SCRIPT.parents[1]
    licence = (root / "LICENSE").read_text()
    folders = [root / "core", *sorted((root / "plugins").iterdir())]
    assert [f.name for f in folders if (f / "LICENSE").read_text() != licence] == []
