"""Layer contracts: workloads use runfleet's public API only, and runfleet knows no workload.

- ``ratedesign`` and ``cholera`` import ``runfleet`` itself, never ``runfleet.<submodule>``
  (what they need is exported from ``runfleet``: see its ``__all__``);
- ``runfleet`` imports neither ``ratedesign`` nor ``cholera``;
- the two workloads do not import each other.
"""
import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
WORKLOADS = ("ratedesign", "cholera")


def imports(package: str):
    """(file, line, imported module) for every import in a package, at any depth (lazy ones too)."""
    for path in sorted((SRC / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, node.lineno, node.module
                if node.module == "runfleet":  # `from runfleet import store` is a submodule too
                    for alias in node.names:
                        yield path, node.lineno, f"runfleet.{alias.name}" if alias.name in _SUBMODULES else "runfleet"


_SUBMODULES = {p.stem for p in (SRC / "runfleet").glob("*.py")} | {
    p.name for p in (SRC / "runfleet").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
_SUBMODULES.discard("__init__")


@pytest.mark.parametrize("package", WORKLOADS)
def test_workloads_import_only_the_public_runfleet_api(package):
    bad = [f"{p.relative_to(SRC)}:{line}: {mod}" for p, line, mod in imports(package)
           if mod.startswith("runfleet.")]
    assert not bad, "import from runfleet itself, not its submodules:\n" + "\n".join(bad)


def test_runfleet_knows_no_workload():
    bad = [f"{p.relative_to(SRC)}:{line}: {mod}" for p, line, mod in imports("runfleet")
           if mod.split(".")[0] in WORKLOADS]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package,other", [("ratedesign", "cholera"), ("cholera", "ratedesign")])
def test_workloads_do_not_import_each_other(package, other):
    bad = [f"{p.relative_to(SRC)}:{line}: {mod}" for p, line, mod in imports(package)
           if mod.split(".")[0] == other]
    assert not bad, "\n".join(bad)


def test_what_workloads_use_is_exported():
    import runfleet

    used = set()
    for package in WORKLOADS:
        for path in (SRC / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module == "runfleet":
                    used |= {a.name for a in node.names}
    missing = sorted(n for n in used if n not in runfleet.__all__)
    assert not missing, missing
