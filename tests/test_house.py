"""House rules of the code (issue 25), checked on the source: small functions and modules, package ``__init__``
files that only re-export, no import cycle anywhere in the package (imports inside functions counted), and few
imports of the package's own modules inside functions, each saying why it waits."""

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
    """Plain measures: a function's 60 lines run from its ``def`` to its last line, docstring included (a long
    numpydoc docstring asks for a short body: helpers with one job each); a module's 400 lines count everything."""
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


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _executed_imports(tree: ast.AST):
    """(import node, inside a function?) for every import that runs: ``if TYPE_CHECKING:`` blocks are skipped."""
    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, in_function
            yield from walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    yield from walk(tree, False)


def _targets(path: Path, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The atomgraph modules one import statement of ``path`` names (relative imports resolved): ``from pkg import
    sub`` names the submodule ``pkg.sub``, ``from pkg import name`` the module ``pkg``."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name.split(".")[0] == "atomgraph"}
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    if node.level:
        base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    if target.split(".")[0] != "atomgraph":
        return set()
    subs = {f"{target}.{a.name}" for a in node.names} & ALL_MODULES
    return subs | ({target} if len(subs) < len(node.names) else set())  # the package when a name is not a module


ALL_MODULES = {_module(p) for p in MODULES}


def _imports(path: Path) -> set[str]:
    """The atomgraph modules importing ``path`` runs, at its top or inside functions (``if TYPE_CHECKING:`` left
    out): those its imports name, and the packages Python runs first (importing ``a.b.c`` runs ``a/b/__init__.py``,
    unless ``path`` is inside ``a.b``, whose ``__init__`` is then running already)."""
    module = _module(path)
    inside = {module.rsplit(".", n)[0] for n in range(1, module.count(".") + 1)}
    out = set()
    for node, _ in _executed_imports(ast.parse(path.read_text(encoding="utf-8"))):
        for target in _targets(path, node):
            out.add(target)
            parts = target.split(".")
            out.update(p for p in (".".join(parts[:i]) for i in range(1, len(parts))) if p not in inside)
    return (out & ALL_MODULES) - {module}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_the_cli_modules_do_not_import_each_other_in_a_cycle():
    cli = {_module(p): p for p in MODULES if p.parent.name == "cli"}
    assert _cycles({m: _imports(p) & set(cli) for m, p in cli.items()}) == []


def test_no_module_of_the_package_is_in_an_import_cycle():
    """The graph has an edge for every import that runs, at a module's top or inside a function (``if
    TYPE_CHECKING:`` blocks do not run and are left out). ``from pkg import name`` is an edge to ``pkg``, and to
    ``pkg.name`` when that is a submodule. A package's ``__init__`` re-exporting its submodules gives edges
    ``pkg -> pkg.sub``: those are real, as is the edge from any module *outside* ``pkg`` that imports ``pkg.sub``
    to ``pkg`` itself (Python runs ``pkg/__init__.py`` first). A module inside ``pkg`` gets no edge to its own
    package (its ``__init__`` is already running), so re-exports alone make no cycle; a submodule that imports
    names back from its own package does get the edge, and a cycle when that package imports it."""
    graph = {_module(p): _imports(p) for p in MODULES}
    assert _cycles(graph) == []


MAX_FUNCTION_IMPORTS = 20


def _function_imports() -> list[tuple[str, str, str]]:
    """(file:line, the import's first line, the line above it) for every import of an atomgraph module inside a
    function."""
    out = []
    for path in MODULES:
        text = path.read_text(encoding="utf-8")
        lines = [""] + text.splitlines()  # lines[n] is line n
        for node, in_function in _executed_imports(ast.parse(text)):
            if in_function and _targets(path, node):
                out.append((f"{_name(path)}:{node.lineno}", lines[node.lineno], lines[node.lineno - 1]))
    return out


def test_imports_of_the_package_inside_functions_are_few_and_each_says_why():
    """Own modules are imported at the top of a module; at most 20 imports wait inside a function, each for a
    measured cost (it would import torch, dask, ...) and each with a comment on its line or the line above saying
    why."""
    found = _function_imports()
    silent = [where for where, line, above in found if "#" not in line and not above.strip().startswith("#")]
    assert len(found) <= MAX_FUNCTION_IMPORTS, "\n".join(where for where, _, _ in found)
    assert silent == []
