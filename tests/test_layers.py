"""The floors of docs/architecture.md, checked on the source: every module of
ours has a floor, no module imports one above it (at top level or inside a
function; only ``if TYPE_CHECKING:`` imports are exempt), there is no import
cycle, and no module is over 800 lines."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "spiders", "storage", "newsmon")
MAX_LINES = 800

# Lowest first. A module's floor is that of the longest prefix listed here.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("config", ("crawler.errors", "crawler.text", "crawler.rules", "crawler.schedules", "crawler.config")),
    ("storage", ("storage",)),
    ("analysis", ("crawler.urls", "crawler.facts", "crawler.classify", "crawler.dedup", "crawler.extract",
                  "crawler.timelimit", "crawler.decode", "crawler.metadata", "crawler.extracted", "crawler.refusal",
                  "crawler.titles", "crawler.boilerplate", "crawler.events.timeline",
                  "crawler.events.diff", "crawler.events.modality", "crawler.events.figures",
                  "crawler.events.match", "crawler.events.hits",
                  "crawler.events.lemmas", "crawler.events.dictionaries", "crawler.events.candidates", "crawler.events.ordinals",
                  "crawler.events.numberwords", "crawler.events.rival", "crawler.events.monthparts",
                  "crawler.workers")),
    ("stages", ("crawler.stages", "crawler.runlog", "crawler.pending", "crawler.events", "crawler.search")),
    ("spiders", ("spiders", "crawler.items", "crawler.pipelines", "crawler.middlewares", "crawler.settings",
                 "crawler.runner", "crawler.robots", "crawler.netguard", "crawler.watchdog")),
    ("cli", ("newsmon", "scheduler", "crawler")),  # ``crawler`` itself: the package docstring only
]
LEVEL = {name: index for index, (name, _) in enumerate(FLOORS)}


def floor_of(module: str) -> str:
    best, best_len = None, -1
    for name, prefixes in FLOORS:
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = name, len(prefix)
    assert best is not None, f"{module} has no floor: add it to FLOORS and docs/architecture.md"
    return best


def our_modules() -> dict[str, Path]:
    found = {"scheduler": REPO / "scheduler.py"}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                for child in node.body:
                    lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    exempt = _type_checking_lines(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in exempt:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import mod`` imports the module pkg.mod when it is one.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
    return targets


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = our_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def test_every_module_has_a_floor_and_imports_only_downwards(graph):
    upward = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            if LEVEL[floor_of(target)] > LEVEL[floor_of(module)]:
                upward.append(f"{module} ({floor_of(module)}) imports {target} ({floor_of(target)})")
    assert upward == []


def test_no_import_cycle(graph):
    # Tarjan's strongly connected components: any component of two or more modules is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_checker_sees_function_level_imports(tmp_path):
    """The graph includes imports inside functions and leaves out TYPE_CHECKING ones."""
    path = tmp_path / "probe.py"
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import newsmon.cli\n"
                    "def f():\n    from crawler import stages\n", encoding="utf-8")
    modules = {"probe": path, "crawler": path, "crawler.stages": path, "newsmon.cli": path}
    assert imports_of("probe", path, modules) == {"crawler.stages"}


def test_no_module_is_over_800_lines():
    long = {name: n for name, path in our_modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_every_package_of_ours_is_shipped_in_the_wheel():
    """pyproject.toml lists the packages explicitly (the migrations are mapped in): a new subpackage
    missing there would import in the checkout and fail after `pip install`."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {".".join(p.relative_to(REPO).parent.parts) for package in PACKAGES
             for p in (REPO / package).rglob("__init__.py")}
    assert found - listed == set()
