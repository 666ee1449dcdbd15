"""House rules of the code (issue 25), checked on the source: small functions and modules, package ``__init__``
files that only re-export, and no import cycle between the CLI modules (imports inside functions counted)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "atomgraph"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_function_over_60_lines_and_no_module_over_400():
    long_functions, big_modules = [], []
    for path in MODULES:
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            big_modules.append(_name(path))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long_functions.append(f"{_name(path)}:{node.lineno} {node.name} ({lines} lines)")
    assert long_functions == [] and big_modules == []


@pytest.mark.parametrize("package", ["classify", "batch", "materials", "discover", "models"])
def test_package_init_files_only_re_export(package):
    tree = ast.parse((PACKAGE / package / "__init__.py").read_text(encoding="utf-8"))
    logic = [type(node).__name__ for node in tree.body
             if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Expr, ast.Assign))]
    assert logic == []


def _imports(path: Path) -> set[str]:
    """The atomgraph modules ``path`` imports, at its top or inside functions (relative imports resolved)."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("atomgraph"):
                out.add(target)
                out.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("atomgraph"))
    return out


def test_the_cli_modules_do_not_import_each_other_in_a_cycle():
    cli = {_module(p): p for p in MODULES if p.parent.name == "cli"}
    graph = {m: {t for t in _imports(p) if t in cli and t != m} for m, p in cli.items()}

    def reaches(start: str, goal: str, seen: set) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph[start])

    cycles = sorted(m for m in graph if reaches(m, m, {m}))
    assert cycles == []
