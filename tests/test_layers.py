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
                "core/backups.py", "core/demo.py"}
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
