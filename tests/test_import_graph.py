"""The package map, checked from the code's own import statements (ast), not from a hand list.

Rules (README "Layout"): no cycle between top-level packages, counting imports inside functions;
`integrations/` holds clients that import no project package but itself; `core/` imports no app;
apps never import `config` (it composes them); nobody imports another package's `_private` names.
"""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_PACKAGES = {"tests", "bench", "scripts", "node_modules", "deploy"}


def project_packages() -> set[str]:
    return {
        path.name
        for path in ROOT.iterdir()
        if path.is_dir() and (path / "__init__.py").exists() and path.name not in NOT_PACKAGES
    }


def source_files(package: str):
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" not in path.relative_to(ROOT).parts:
            yield path


def imports_of(path: Path):
    """(module, imported names) for every absolute import in the file, nested ones included."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, [alias.name for alias in node.names]


def import_graph():
    packages = project_packages()
    edges = defaultdict(set)
    private = []
    for package in packages:
        for path in source_files(package):
            for module, names in imports_of(path):
                target = module.split(".")[0]
                if target not in packages or target == package:
                    continue
                edges[package].add(target)
                hidden = [part for part in module.split(".")[1:] if part.startswith("_")]
                hidden += [name for name in names if name.startswith("_")]
                if hidden:
                    private.append(f"{path.relative_to(ROOT)} imports {module}: {', '.join(hidden)}")
    return packages, edges, private


def cycles(edges) -> list[list[str]]:
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return found


def test_no_cycle_between_packages():
    _, edges, _ = import_graph()
    assert cycles(edges) == []


def test_integrations_import_no_project_package():
    _, edges, _ = import_graph()
    assert sorted(edges.get("integrations", ())) == []


def test_core_imports_no_app():
    _, edges, _ = import_graph()
    assert sorted(edges.get("core", ())) == []


def test_apps_do_not_import_config():
    packages, edges, _ = import_graph()
    offenders = sorted(package for package in packages if package != "config" and "config" in edges.get(package, ()))
    assert offenders == []


def test_no_private_names_across_packages():
    _, _, private = import_graph()
    assert private == []


def test_the_checker_sees_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
