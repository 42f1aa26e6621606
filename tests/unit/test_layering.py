"""The layering rules of the design (configuration → constructs → stacks → main.py), as imports.

Configuration must load without cdktf (fast validation, errors before any synthesis); constructs
must not know which stack or entry point uses them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> top-level modules it must never import
FORBIDDEN = {
    "config": {"cdktf", "constructs", "cdktf_cdktf_provider_aws", "cdktf_cdktf_provider_postgresql",
               "modules", "stacks", "main"},
    "modules": {"stacks", "main"},
    "stacks": {"main"},
}


def imported_top_levels(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_only_downwards(package):
    sources = sorted((ROOT / package).glob("*.py"))
    assert sources, f"no sources under {package}/"
    crossings = {str(path.relative_to(ROOT)): sorted(imported_top_levels(path) & FORBIDDEN[package])
                 for path in sources}
    assert not {path: names for path, names in crossings.items() if names}


def test_the_checker_sees_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import cdktf.x\nfrom stacks.app import build_app\nfrom . import sibling\n")
    assert imported_top_levels(sample) == {"cdktf", "stacks"}
