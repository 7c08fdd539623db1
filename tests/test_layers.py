"""ARCHITECTURE.md's layers: only cpc_desktop/ui imports Qt, so the core, sync, printing,
reports and the command line run (and are bundled in the console program) without it."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cpc_desktop"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_only_the_ui_package_imports_qt():
    outside = sorted(
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if "ui" not in path.relative_to(PACKAGE).parts[:1]
        and any(name.split(".")[0] in ("PySide6", "shiboken6") for name in _imports(path)))
    assert outside == [], f"Qt imported outside cpc_desktop/ui: {outside}"


# Forms say what they are for ("role" in their JSON): code asks forms.by_role(), and only
# these modules may still name a form or the birth-date field. vault.py, merge.py and
# backups.py are being split (issue 17) and keep their literals until then; the demo
# generator writes sample content form by form.
ROLE_MODULES = {"core/forms.py", "core/profile.py", "core/vault.py", "sync/merge.py",
                "core/backups.py", "demo/generator.py"}
# Literals that equal a form id but name something else: the report's family of PTI counts,
# a key stored in report releases.
NOT_A_FORM = {("reports/compute.py", "pti"), ("reports/releases.py", "pti")}


def _string_literals(path: Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_no_form_id_or_birth_date_literal_outside_the_role_modules():
    form_ids = {p.stem for p in (PACKAGE.parent / "resources" / "forms").glob("*.json")}
    assert {"ficha_ingreso", "registro_atenciones"} <= form_ids
    wanted = form_ids | {"date_of_birth"}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in ROLE_MODULES:
            continue
        found += [f"{rel}: {lit!r}" for lit in sorted(_string_literals(path) & wanted)
                  if (rel, lit) not in NOT_A_FORM]
    assert found == [], f"forms named in code instead of by role: {found}"


def test_the_literal_check_sees_a_form_id(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('if record.form == "registro_atenciones":\n    pass\n', encoding="utf-8")
    assert "registro_atenciones" in _string_literals(probe)


# The package graph (docs/architecture.md): each unit of cpc_desktop and what it may import.
# "" is the package itself (__version__). Lazy imports inside functions count too.
MAY_IMPORT = {
    "": set(),
    "paths": {""},
    "screen": set(),
    "core": {"", "paths"},
    "sync": {"", "paths", "core"},
    "printing": {"", "paths", "core"},
    "reports": {"", "paths", "core", "printing"},
    "demo": {"", "core"},
    "i18n_tools": {"", "paths", "core"},
    "cli": {"", "paths", "core", "sync", "printing", "reports", "demo", "i18n_tools",
            "selftest"},
    "ui": {"", "paths", "screen", "core", "sync", "printing", "reports", "demo"},
    "selftest": {"", "paths", "screen", "core", "sync", "printing", "reports", "demo", "ui"},
    "app": {"", "screen", "core", "demo", "cli", "selftest", "ui"},
    "__main__": {"app"},
}


def _unit(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[1] != "__init__" else ""


def _module_of(path: Path, package: Path) -> list[str]:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _is_module(root: Path, parts: list[str]) -> bool:
    where = root.joinpath(*parts)
    return where.with_suffix(".py").exists() or (where / "__init__.py").exists()


def package_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """{unit: units it imports}, from every import statement of every module."""
    graph: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        me_parts = _module_of(path, package)
        here = me_parts if path.name == "__init__.py" else me_parts[:-1]
        me = _unit(".".join(me_parts))
        found = graph.setdefault(me, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.level:
                base = here[:len(here) - (node.level - 1)]
                if node.module:
                    targets = [".".join(base + [node.module])]
                else:   # "from .. import x": a module x, else a name of the package
                    targets = [".".join(base + [a.name])
                               if _is_module(package.parent, base + [a.name])
                               else ".".join(base) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                if target.split(".")[0] == package.name and _unit(target) != me:
                    found.add(_unit(target))
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_graph_has_no_cycle_and_no_wrong_way_arrow():
    graph = package_graph()
    unknown = sorted(set(graph) - set(MAY_IMPORT))
    assert unknown == [], f"new units: say what they may import in MAY_IMPORT: {unknown}"
    wrong = sorted(f"{a or 'cpc_desktop'} → {b or 'cpc_desktop'}" for a, targets in graph.items()
                   for b in targets - MAY_IMPORT[a])
    assert wrong == [], f"imports against the layers of docs/architecture.md: {wrong}"
    assert _cycle(graph) is None, f"an import loop between packages: {_cycle(graph)}"
    assert graph["core"] <= {"", "paths"} and "demo" not in graph["core"]


def test_the_graph_check_sees_a_loop_and_a_wrong_way_arrow(tmp_path):
    pkg = tmp_path / "cpc_desktop"
    (pkg / "core").mkdir(parents=True)
    (pkg / "ui").mkdir()
    (pkg / "core" / "a.py").write_text("from ..ui import b\n", encoding="utf-8")
    (pkg / "ui" / "b.py").write_text("def f():\n    from ..core import a\n", encoding="utf-8")
    graph = package_graph(pkg)
    assert graph == {"core": {"ui"}, "ui": {"core"}}
    assert _cycle(graph) == ["core", "ui", "core"]
    assert "ui" not in MAY_IMPORT["core"]


def test_core_i18n_reads_catalogs_without_the_tooling():
    source = (PACKAGE / "core" / "i18n.py").read_text(encoding="utf-8")
    assert "translations" not in _imports(PACKAGE / "core" / "i18n.py") and \
        "i18n_tools" not in source
