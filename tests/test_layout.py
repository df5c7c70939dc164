"""The package's layout: no import circle between modules, no module over 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOTS = {
    "devduck_otel": Path(__file__).parents[1] / "src" / "devduck_otel",
    "devduck_otel_exporter_zip": Path(__file__).parents[1]
    / "exporters"
    / "devduck-otel-exporter-zip"
    / "src"
    / "devduck_otel_exporter_zip",
}
MAX_LINES = 400


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, root in ROOTS.items():
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _top_level_imports(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """Module-level imports (not under TYPE_CHECKING, not inside functions)."""
    targets: set[str] = set()
    base = name if is_package else name.rpartition(".")[0]

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    anchor = base.rsplit(".", node.level - 1)[0] if node.level > 1 else base
                    module = f"{anchor}.{module}" if module else anchor
                targets.add(module)
                targets.update(f"{module}.{alias.name}" for alias in node.names)

    visit(tree.body)
    return targets


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imports = _top_level_imports(tree, name, path.name == "__init__.py")
        graph[name] = {m for m in imports if m in modules and m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := walk(node)):
            return found
    return None


def _without_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop edges into a package's ``__init__`` from its own submodules (re-export only)."""
    return {
        name: {t for t in targets if not name.startswith(t + ".")}
        for name, targets in graph.items()
    }


def test_no_import_circle() -> None:
    """No module imports, through others, a module that imports it."""
    assert _cycle(_without_packages(_graph())) is None


def test_checker_finds_a_circle() -> None:
    """The circle finder itself reports a planted circle (so the test above can fail)."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_module_over_400_lines() -> None:
    """Every Python module of both distributions stays under the size the style sets."""
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
