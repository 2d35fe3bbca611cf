"""The package's shape: one concept per module, each small, no module leaning on another's privates.

These are the targets of the reorganisation by concept (issue 15), kept by tests so
that they stay true.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "comp_lib"
SOURCES = sorted(PACKAGE.rglob("*.py"))
CLIENTS = sorted(
    [*SOURCES, *(ROOT / "benchmarks").glob("*.py"), *(ROOT / "notebooks").glob("*.py")]
)
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private_uses(path: Path) -> list[str]:
    """``from comp_lib.x import _y`` and ``x._y`` on a comp_lib module, in another module."""
    tree = ast.parse(path.read_text())
    here = _module_name(path)
    found, aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("comp_lib"):
            for a in node.names:
                target = f"{node.module}.{a.name}"
                if a.name.startswith("_") and not a.name.startswith("__") and node.module != here:
                    found.append(f"{path.name}:{node.lineno} imports {target}")
                aliases[a.asname or a.name] = target
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("comp_lib"):
                    aliases[a.asname or a.name.split(".")[0]] = a.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and aliases[node.value.id] != here
        ):
            try:  # only modules: a class's own private attributes are its business
                __import__(aliases[node.value.id])
            except ImportError:
                continue
            found.append(f"{path.name}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_longer_than_the_limit(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines (limit {MAX_LINES})"


def test_no_private_name_crosses_a_module_boundary():
    found = [use for path in CLIENTS for use in _private_uses(path)]
    assert not found, "private names used outside their module:\n" + "\n".join(found)


def test_one_place_renames_files_into_place():
    pattern = re.compile(r"os\.(replace|rename)\(|\.replace\(\s*(folder|path|tmp|target)\b|"
                         r"\.rename\(|shutil\.move\(")  # fmt: skip
    places = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in CLIENTS
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert places == ["comp_lib/files.py:" + str(_line_of("os.replace(source, target)"))], places


def _line_of(text: str) -> int:
    lines = (PACKAGE / "files.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_the_report_code_uses_no_regular_expressions():
    for path in sorted((PACKAGE / "report").glob("*.py")):
        tree = ast.parse(path.read_text())
        imported = {
            a.name for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in n.names
        } | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}  # fmt: skip
        assert "re" not in imported, f"{path.name} imports re"


def test_no_two_modules_differ_by_a_plural():
    names = {p.stem if p.stem != "__init__" else p.parent.name for p in SOURCES}
    names.discard("__main__")
    pairs = [
        (a, b) for a, b in itertools.permutations(sorted(names), 2) if b in (a + "s", a + "es")
    ]
    assert not pairs, pairs


def test_the_public_api():
    import comp_lib

    for name in ("Codec", "Ladder", "compress_at_bpp", "load_gray", "load_image", "psnr",
                 "ssim", "bpp"):  # fmt: skip
        assert callable(getattr(comp_lib, name)), name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        comp_lib.nothing  # noqa: B018
