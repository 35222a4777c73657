"""The layout's rules: import-linter's contracts hold and catch a violation, packages are
entered only through their public modules, and modules stay small and documented."""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "archive"
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    if not LINT.exists():
        pytest.skip("import-linter is not installed in this environment (pip install -e '.[test]')")
    return subprocess.run([str(LINT), "--config", "pyproject.toml", "--no-cache"], cwd=cwd,
                          capture_output=True, text=True, env={"PYTHONPATH": str(cwd),
                                                               "PATH": "/usr/bin:/bin"})


def test_contracts_hold():
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


@pytest.mark.parametrize("module, line, contract", [
    # evidence reaching up to the CLI
    ("evidence/store.py", "from ..cli import main as _upward", "Imports point downward"),
    # two sibling layers that must stay independent
    ("search/query.py", "from ..speakers import naming as _sideways", "Imports point downward"),
    # a third-party library outside its one module
    ("search/query.py", "import whoosh as _second_importer", "whoosh only in"),
])
def test_contract_catches_a_violation(tmp_path: Path, module: str, line: str, contract: str):
    shutil.copytree(PKG, tmp_path / "archive", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "archive" / module
    target.write_text(target.read_text() + f"\n\ndef _bad():\n    {line}\n")
    r = _lint(tmp_path)
    assert r.returncode != 0
    broken = r.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, r.stdout[-3000:]


def _packages() -> list[str]:
    return sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").exists())


def _imports(path: Path) -> list[tuple[str, int]]:
    """Absolute archive modules imported by a file (relative imports resolved), with lines."""
    rel = path.relative_to(ROOT).with_suffix("").parts
    pkg = list(rel[:-1]) if rel[-1] != "__init__" else list(rel[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = pkg[:len(pkg) - node.level + 1]
            mod = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:
                cand = f"{mod}.{a.name}"
                out.append((cand if importlib.util.find_spec(cand.split(".")[0]) and
                            _is_module(cand) else mod, node.lineno))
    return out


def _is_module(dotted: str) -> bool:
    p = ROOT.joinpath(*dotted.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def test_packages_are_entered_through_their_public_modules():
    public = {}
    for name in _packages():
        mod = importlib.import_module(f"archive.{name}")
        assert (mod.__doc__ or "").strip(), f"archive/{name}/__init__.py needs a docstring"
        public[name] = set(getattr(mod, "__all__", ()))
    bad = []
    for path in PKG.rglob("*.py"):
        own = path.relative_to(PKG).parts[0] if len(path.relative_to(PKG).parts) > 1 else None
        for target, line in _imports(path):
            parts = target.split(".")
            if len(parts) < 3 or parts[1] == own or parts[1] not in public:
                continue
            if parts[2] not in public[parts[1]]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not bad, "imports of another package's internal modules:\n" + "\n".join(bad)


def test_modules_are_small_and_documented():
    for path in PKG.rglob("*.py"):
        src = path.read_text("utf-8")
        assert ast.get_docstring(ast.parse(src)) or path.name == "__main__.py", \
            f"{path.relative_to(ROOT)} has no docstring"
        assert src.count("\n") <= 440, f"{path.relative_to(ROOT)} has {src.count(chr(10))} lines"
