"""The package's layout holds: no import cycles, no reaching into another module's private
names, splink's internals behind one door.

Walks every module of ``linkage`` with ``ast``. Imports inside functions count (they cycle
at run time all the same); imports under ``if TYPE_CHECKING:`` do not (they never run). A
package's ``__init__`` importing its own submodules is not a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "linkage"

# Private modules that exist to be imported inside the package.
SHARED_PRIVATE = {"linkage._compat", "linkage._splink", "linkage._sql", "linkage._version"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except the bodies of ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _resolve(module: str, target: str | None, level: int) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _imports(module: str) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for each runtime import."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node.module, node.level)
            for alias in node.names:
                yield source, alias.name, node.lineno


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for module in MODULES:
        for source, name, _ in _imports(module):
            if not source.startswith("linkage"):
                continue
            full = f"{source}.{name}" if name else None
            target = full if full in MODULES else source
            # A package re-exporting its own submodules is not a dependency on itself.
            if _is_package(module) and target.startswith(module + "."):
                continue
            if target in MODULES and target != module:
                edges[module].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_the_walk_sees_the_package() -> None:
    assert {"linkage", "linkage.run", "linkage.store", "linkage.project", "linkage._splink"} <= set(
        MODULES
    )
    assert len(MODULES) > 30


def test_no_import_cycles() -> None:
    assert _cycles(_edges()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_takes_another_modules_private_names() -> None:
    offences = []
    for module in MODULES:
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        aliases: dict[str, str] = {}  # local name -> linkage module it stands for
        for source, name, line in _imports(module):
            if not source.startswith("linkage"):
                continue
            full = f"{source}.{name}" if name else source
            if full in MODULES:
                aliases[name or source.split(".")[0]] = full
                target = full
            else:
                target = source
                if name and _private(name) and target not in SHARED_PRIVATE:
                    offences.append(f"{module}:{line} imports {name} from {target}")
            # A private module of another package: only its own package may import it.
            parts = target.split(".")
            private_at = [i for i, part in enumerate(parts) if _private(part)]
            if target not in SHARED_PRIVATE and private_at:
                owner = ".".join(parts[: private_at[0]])
                if not (module == owner or module.startswith(owner + ".")):
                    offences.append(f"{module}:{line} imports {target}, private to {owner}")
        for node in _runtime_nodes(tree):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and aliases[node.value.id] not in SHARED_PRIVATE
            ):
                offences.append(f"{module}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert offences == []


def test_splink_internals_only_in_the_door() -> None:
    offences = []
    for module, path in MODULES.items():
        if module == "linkage._splink":
            continue
        source = path.read_text(encoding="utf-8")
        for line_number, line in enumerate(source.splitlines(), 1):
            if "splink.internals" in line or "._settings_obj" in line or "._db_api" in line:
                offences.append(f"{module}:{line_number}: {line.strip()}")
        for source_module, _, line in _imports(module):
            if source_module.startswith("splink.internals"):
                offences.append(f"{module}:{line} imports {source_module}")
    assert offences == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_has_a_docstring(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{module} needs a module docstring saying what it is for"
