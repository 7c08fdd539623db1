"""Helpers of the form-version tests: the shipped forms with one form a version up, as a
program update would ship it (its earlier definition kept in history/). Fictional data only."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from cpc_desktop.core import forms
from cpc_desktop.paths import resource_path


def newer_forms(tmp_path: Path, form_id: str, renames: dict[str, str], *,
                labels: dict[str, str] | None = None,
                choices: dict[str, tuple[dict[str, str], list[dict]]] | None = None,
                note: str = "Cambio ficticio de prueba") -> forms.FormRegistry:
    """`form_id` one version up: fields renamed (old id → new id, in its print columns too),
    relabelled (`labels`: new id → label) and choice lists replaced (`choices`: field →
    (removed value → value replacing it, the new list))."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path)) / "forms"
    shutil.copytree(resource_path("forms"), folder)
    (folder / "history").mkdir(exist_ok=True)
    path = folder / f"{form_id}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    old = raw.get("version", 1)
    shutil.copy(path, folder / "history" / f"{form_id}.v{old}.json")
    raw["version"] = old + 1
    step: dict = {"version": old + 1, "note": note, "renames": renames}
    if choices:
        step["choices"] = {fid: mapping for fid, (mapping, _list) in choices.items()}
    raw["versions"] = [*raw.get("versions", []), step]
    for section in raw["sections"]:
        for fld in section["fields"]:
            fld["id"] = renames.get(fld["id"], fld["id"])
            if labels and fld["id"] in labels:
                fld["label"] = labels[fld["id"]]
            if choices and fld["id"] in choices:
                fld["choices"] = choices[fld["id"]][1]
    for column in raw.get("print", {}).get("columns", []):
        column["fields"] = [renames.get(f, f) for f in column["fields"]]
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return forms.load_registry(folder, resource_path("catalogs", "choices.json"))
