"""The package structure: no import cycle between modules, and the core never reaches into the
packages that build on it.

Every ``import`` statement of every module of the product is read with ``ast`` — those inside
functions too, so a lazy import cannot hide a cycle. Tests, migrations and benchmarks are left
out: they sit above everything.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dropcopy_admin", "entitlements", "billing")
# The core's domain layers: they import nothing from the packages built on the core.
CORE_LAYERS = ("dropcopy_admin.models", "dropcopy_admin.services", "dropcopy_admin.selectors", "dropcopy_admin.tasks")
BUILT_ON_THE_CORE = ("entitlements", "billing")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _product_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            modules[_module_name(path)] = path
    return modules


MODULES = _product_modules()


def _resolve(name: str) -> str | None:
    """The product module ``name`` refers to: itself, or the nearest package above it."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports_of(module: str) -> set[str]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base)
                stem = f"{prefix}.{node.module}" if node.module else prefix
            else:
                stem = node.module or ""
            # ``from package import module`` names a module; ``from module import name`` a name.
            names = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in MODULES else stem for alias in node.names]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                found.add(target)
    return found


GRAPH = {module: _imports_of(module) for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _package_of(module: str) -> str:
    """A module's package one level below the top (``dropcopy_admin.services``), or the module."""
    return ".".join(module.split(".")[:2])


def test_the_reader_sees_the_imports_it_must():
    """The graph is not empty by mistake: a few imports every reader of the code knows."""
    assert "dropcopy_admin.models" in GRAPH["dropcopy_admin.services.groups"] or any(
        name.startswith("dropcopy_admin.models") for name in GRAPH["dropcopy_admin.services.groups"]
    )
    assert any(name.startswith("dropcopy_admin.services") for name in GRAPH["entitlements.services.memberships"])
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_between_modules():
    assert _cycles(GRAPH) == []


def test_no_import_cycle_between_packages():
    packages: dict[str, set[str]] = {}
    for module, imports in GRAPH.items():
        packages.setdefault(_package_of(module), set()).update(
            _package_of(name) for name in imports if _package_of(name) != _package_of(module)
        )
    for imported in list(packages.values()):
        for name in imported:
            packages.setdefault(name, set())
    assert _cycles(packages) == []


@pytest.mark.parametrize("layer", CORE_LAYERS)
def test_the_core_never_imports_what_is_built_on_it(layer):
    offending = {
        module: sorted(name for name in imports if name.split(".")[0] in BUILT_ON_THE_CORE)
        for module, imports in GRAPH.items()
        if module == layer or module.startswith(layer + ".")
    }
    assert {module: names for module, names in offending.items() if names} == {}
