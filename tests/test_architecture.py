"""The shape of the code: floors that only point down, no import cycles, and one gate
that every admin route declares what it needs to.

The floors (README, "What is where"):

    0  config, app.validation, app.extensions, app.urls,   ground: no app imports above
       app.errors, app.logs, app.csp, app.throttle, app.jobs,
       app.templating
    1  app.models                                          tables and their own rules
    2  app.access                                          who may read/write/decide
    3  app.services                                        rules and transactions
    4  app.admin, app.auth, app.files, app.cli, app.demo   ways in
    5  app (the factory), wsgi                             wires it all

Imports inside functions count: a lazy import that runs up a floor is still an arrow up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FLOORS = [
    ("config", 0),
    ("app.validation", 0),
    ("app.extensions", 0),
    ("app.urls", 0),
    ("app.errors", 0),
    ("app.logs", 0),
    ("app.csp", 0),
    ("app.throttle", 0),
    ("app.jobs", 0),
    ("app.templating", 0),
    ("app.models", 1),
    ("app.access", 2),
    ("app.services", 3),
    ("app.admin", 4),
    ("app.auth", 4),
    ("app.files", 4),
    ("app.cli", 4),
    ("app.demo", 4),
    ("app", 5),
    ("wsgi", 5),
]


def floor_of(module: str) -> int | None:
    for prefix, floor in FLOORS:
        if module == prefix or module.startswith(prefix + "."):
            return floor
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules() -> dict[str, Path]:
    files = [ROOT / "config.py", ROOT / "wsgi.py", *sorted((ROOT / "app").rglob("*.py"))]
    return {module_name(p): p for p in files}


def imports_of(path: Path, known: set[str], module: str | None = None) -> set[str]:
    """Our modules that ``path`` (module ``module``) imports anywhere in it, functions
    included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = module or module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from app import access`` imports the module app.access
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = our_modules()
    known = set(modules)
    return {name: imports_of(path, known) - {name} for name, path in modules.items()}


def test_every_module_has_a_floor():
    assert [m for m in our_modules() if floor_of(m) is None] == []


def test_no_import_runs_up_a_floor():
    upward = [
        f"{module} (floor {floor_of(module)}) imports {target} (floor {floor_of(target)})"
        for module, targets in import_graph().items()
        for target in targets
        if floor_of(target) > floor_of(module)
        # a package's __init__ naming its own submodules is not an arrow up
        and not target.startswith(module + ".")
    ]
    assert upward == []


def test_no_import_cycles():
    graph = import_graph()
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own submodules
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_demo_is_loaded_only_by_its_command():
    importers = sorted(
        m for m, targets in import_graph().items() if any(t.startswith("app.demo") for t in targets)
    )
    assert [m for m in importers if not m.startswith("app.demo")] == ["app.cli"]


def test_the_checker_sees_an_arrow_up(tmp_path):
    """The floor check is no check at all if it cannot see a lazy import."""
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from app.admin import base\n", encoding="utf-8")
    known = {"app.admin", "app.admin.base"}
    assert imports_of(source, known, module="app.services.x") == {"app.admin.base"}


# ------------------------------------------------------------------- the gate
def admin_views(app):
    admin = app.extensions["admin"][0]
    return {view.endpoint: view for view in [admin.index_view, *admin._views]}


def admin_routes(app):
    views = admin_views(app)
    for rule in app.url_map.iter_rules():
        blueprint, _, method = rule.endpoint.partition(".")
        if blueprint in views and method != "static":
            yield rule, views[blueprint], method


@pytest.fixture
def bare_app():
    from app import create_app
    from config import TestConfig

    return create_app(TestConfig)


def test_every_admin_route_declares_what_it_needs(bare_app):
    routes = list(admin_routes(bare_app))
    assert len(routes) > 100  # every model view's built-in routes and our own
    undeclared = [
        rule.rule for rule, view, method in routes if view.requirement_for(method) is None
    ]
    assert undeclared == []


def test_no_view_writes_its_own_access_check(bare_app):
    from app.admin.gate import GatedView

    for view in admin_views(bare_app).values():
        assert isinstance(view, GatedView), type(view).__name__
        for name in ("is_accessible", "inaccessible_callback", "_handle_view"):
            owner = next(k for k in type(view).__mro__ if name in vars(k))
            assert owner is GatedView, f"{type(view).__name__}.{name} is defined by {owner}"


def test_a_route_without_a_declaration_stops_the_start_up():
    from flask_admin import expose

    from app.admin.base import GatedBaseView

    class Careless(GatedBaseView):
        @expose("/")
        def index(self):  # pragma: no cover - never served
            return "open to all"

    with pytest.raises(RuntimeError, match="without a permission"):
        Careless(name="careless", endpoint="careless").check_declarations()


def main(argv: list[str]) -> None:
    """``python tests/test_architecture.py [CHECKOUT]``: print the import graph's size,
    its arrows that run up a floor, and its cycles (of this checkout, or another)."""
    global ROOT
    if argv:
        ROOT = Path(argv[0]).resolve()
    graph = import_graph()
    arrows = sum(len(targets) for targets in graph.values())
    up = sorted(
        f"{m} -> {t}"
        for m, targets in graph.items()
        for t in targets
        if (floor_of(t) or 0) > (floor_of(m) or 0) and not t.startswith(m + ".")
    )
    print(f"{len(graph)} modules, {arrows} import arrows, {len(up)} running up a floor")
    for line in up:
        print("  up:", line)
    seen, cycles = set(), []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                    continue
                if nxt == start:
                    key = frozenset(path)
                    if key not in seen:
                        seen.add(key)
                        cycles.append(" -> ".join([*path, start]))
                elif nxt not in path and len(path) < 8:
                    stack.append((nxt, [*path, nxt]))
    print(f"{len(cycles)} cycles")
    for line in cycles:
        print("  cycle:", line)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
