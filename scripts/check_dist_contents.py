"""Check every built wheel and sdist in a folder as an index user would find them.

Each wheel must hold its package's ``py.typed``, the licence text, and no Python file from a
``tests/`` folder; each sdist must hold the licence text. Prints one line per file with its
size; exits 1 with the reasons when anything is missing.

    python scripts/check_dist_contents.py dist/
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path


def wheel_problems(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
    package = path.name.split("-", 1)[0]  # voicegw_itniotech-0.1.0-py3-none-any.whl
    problems = []
    if f"{package}/py.typed" not in names:
        problems.append(f"no {package}/py.typed")
    if not any(name.endswith(".dist-info/licenses/LICENSE") for name in names):
        problems.append("no licence text (.dist-info/licenses/LICENSE)")
    # The repository's tests, wherever a packaging mistake would put them; the scaffold's
    # test *templates* (``.tmpl``) are product data and belong in the wheel.
    problems += [
        f"holds test file {name}"
        for name in names
        if (name.startswith("tests/") or "/tests/" in name) and name.endswith(".py")
    ]
    return problems


def sdist_problems(path: Path) -> list[str]:
    with tarfile.open(path) as sdist:
        names = sdist.getnames()
    root = names[0].split("/", 1)[0]
    return [] if f"{root}/LICENSE" in names else ["no LICENSE at the top of the sdist"]


def main(folder: str) -> int:
    files = sorted(Path(folder).iterdir())
    failed = False
    for path in files:
        if path.suffix == ".whl":
            problems = wheel_problems(path)
        elif path.name.endswith(".tar.gz"):
            problems = sdist_problems(path)
        else:
            continue
        print(f"{path.name:<48} {path.stat().st_size / 1024:8.1f} KiB")
        for problem in problems:
            print(f"  {problem}")
            failed = True
    if not any(p.suffix == ".whl" for p in files):
        print("no wheels built")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
