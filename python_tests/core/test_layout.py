"""The core stands alone: no module of loader/core imports the sandbox, the sample-data generator
or the finance report, neither in its source nor when it is imported."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import loader.core

CORE_DIR = Path(loader.core.__file__).resolve().parent
TOOLS = ("loader.sandbox", "loader.sample_data", "loader.finance_report")


def core_modules() -> list[str]:
    return sorted(
        ".".join(("loader", "core", *path.relative_to(CORE_DIR).with_suffix("").parts))
        for path in CORE_DIR.rglob("*.py")
        if path.name != "__init__.py"
    )


def imported_names(path: Path) -> list[str]:
    """Every module an `import` or `from ... import` of the file names, relative ones resolved
    against the core package."""
    names: list[str] = []
    package = ".".join(("loader", "core", *path.parent.relative_to(CORE_DIR).parts))
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]
    return names


def is_tool(name: str) -> bool:
    return any(name == tool or name.startswith(f"{tool}.") for tool in TOOLS)


def test_no_core_source_imports_a_tool() -> None:
    paths = sorted(CORE_DIR.rglob("*.py"))
    assert len(paths) >= 12
    offending = {
        str(path.relative_to(CORE_DIR)): [name for name in imported_names(path) if is_tool(name)]
        for path in paths
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_importing_the_core_loads_no_tool() -> None:
    modules = core_modules()
    assert "loader.core.push" in modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = json.loads(completed.stdout)
    assert set(modules) <= set(loaded)
    assert [name for name in loaded if is_tool(name)] == []
