"""`cpc-desktop --self-test` (and `cpc self-test`): proves an installed copy works end to end.

In a temporary folder it creates a vault (fast key derivation), writes a fictional resident,
reads it back, searches it, locks and unlocks, runs `check`, makes and verifies a backup, prints
a PDF and opens it with Qt, then removes the folder. Exit 0 when all passed; otherwise one line
saying which step failed and why (never a record's values). Run it after building a bundle or
installing on a shelter's laptop.
"""
from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import __version__
from .core.errors import CpcError
from .core.i18n import N_, _

SHELTER = "TST-01"
USER = "autoprueba"


class SelfTestFailed(Exception):
    pass


def run(*, qt: bool = True, out: Callable[[str], None] = print) -> int:
    """Runs every step; `qt=False` leaves out the window's toolkit (the console program)."""
    out(_("CPC Desktop {version}: autoprueba").format(version=__version__))
    state: dict = {}
    step = N_("crear la carpeta temporal")
    try:
        state["work"] = Path(tempfile.mkdtemp(prefix="cpc-selftest-"))
        for step, fn in _steps(qt):
            note = fn(state)
            out(f"OK  {_(step)}" + (f" — {note}" if note else ""))
    except Exception as exc:  # noqa: BLE001 — the one line a person reads
        detail = str(exc).replace("\n", " ") if isinstance(exc, (CpcError, SelfTestFailed)) \
            else type(exc).__name__
        print(_("Autoprueba fallida en «{step}»: {detail}").format(step=_(step), detail=detail),
              file=sys.stderr)
        return 1
    finally:
        if state.get("vault") is not None:
            state["vault"].lock()
        if state.get("work"):
            shutil.rmtree(state["work"], ignore_errors=True)
    if state["work"].exists():
        print(_("Autoprueba fallida: no se pudo borrar la carpeta temporal {path}.").format(
            path=state["work"]), file=sys.stderr)
        return 1
    out(_("Autoprueba superada."))
    return 0


def _steps(qt: str):
    steps = [(N_("formularios, catálogos y traducciones"), _resources),
             (N_("crear una bóveda cifrada"), _create),
             (N_("escribir y leer un registro"), _write_read),
             (N_("buscar por nombre"), _search),
             (N_("bloquear y desbloquear"), _relock),
             (N_("comprobar la bóveda"), _check),
             (N_("copia de seguridad y su comprobación"), _backup),
             (N_("imprimir un PDF"), _print_pdf),
             (N_("sincronizar con una carpeta"), _sync)]
    if qt:
        steps.append((N_("interfaz gráfica (Qt)"), _qt))
    return steps


def _fail(message: str) -> SelfTestFailed:
    return SelfTestFailed(message)


def _resources(state) -> str:
    from .core import forms, ubigeo
    from .core.i18n import available_languages, catalog_file

    registry = forms.registry()
    if len(list(registry)) < 6:
        raise _fail(_("faltan definiciones de formularios"))
    if not ubigeo.label("16"):
        raise _fail(_("falta el catálogo de ubigeo"))
    langs = available_languages()
    missing = [lang for lang in langs[1:]
               if not (catalog_file(lang, ".mo").exists() or catalog_file(lang).exists())]
    if "qu" not in langs or missing:
        raise _fail(_("faltan los catálogos de traducción"))
    return _("{n} formularios; idiomas: {langs}").format(n=len(list(registry)),
                                                        langs=", ".join(langs))


def _create(state) -> str:
    from .core.vault import Vault

    state["passphrase"] = "autoprueba " + secrets.token_hex(8)
    state["vault"], _recovery = Vault.create(
        state["work"] / "vault", shelter_code=SHELTER, shelter_name=_("Centro de autoprueba"),
        user=USER, passphrase=state["passphrase"], kdf_seconds=0)
    return ""


def _write_read(state) -> str:
    from . import demo

    vault = state["vault"]
    resident = next(demo.generate(seed=7, residents=1, services_per_resident=1,
                                  shelter_code=SHELTER))
    intake = vault.forms.intake
    state["resident_id"] = rid = vault.add(intake.form, resident.intake)
    state["intake_values"] = resident.intake
    stored = vault.get(rid).values
    expected = intake.validate(resident.intake)
    if any(_without_row_ids(stored.get(k)) != _without_row_ids(v) for k, v in expected.items()):
        raise _fail(_("lo leído no coincide con lo escrito"))
    added = [vault.add(form_id, values, rid) for form_id, values in resident.records[:1]]
    state["record_ids"] = [rid, *added]
    if len(vault.records(rid)) != 1 + len(added):
        raise _fail(_("faltan registros al leer"))
    return ""


def _without_row_ids(value):
    """A table's rows as typed: each row gets its id when stored (core/tables.py)."""
    from .core import tables

    if not tables.is_table(value):
        return value
    return [{k: v for k, v in row.items() if k != tables.ROW_ID} for row in value]


def _search(state) -> str:
    vault = state["vault"]
    words = " ".join(str(state["intake_values"].get(f.id, ""))
                     for f in vault.forms.intake.search_fields).split()
    if not words:
        raise _fail(_("el registro de prueba no tiene nombre"))
    found = [r.id for r in vault.search(words[0].upper())]
    if state["resident_id"] not in found:
        raise _fail(_("la búsqueda no encuentra el registro escrito"))
    return ""


def _relock(state) -> str:
    from .core.vault import Vault

    state["vault"].lock()
    state["vault"] = None
    state["vault"] = Vault.open(state["work"] / "vault", USER, state["passphrase"])
    if state["vault"].get(state["resident_id"]).deleted:
        raise _fail(_("lo leído no coincide con lo escrito"))
    return ""


def _check(state) -> str:
    report = state["vault"].check()
    if not report.ok:
        raise _fail("; ".join(msg or name for name, ok, msg in report.items if not ok))
    return ""


def _backup(state) -> str:
    from .core import backups

    result = backups.backup_now(state["vault"], state["work"] / "copias", verify=True)
    backups.verify_backup(result.path, USER, state["passphrase"])
    return ""


def _print_pdf(state) -> str:
    from .printing import render_form

    vault = state["vault"]
    rid = state["resident_id"]
    pdf = render_form(vault, vault.forms.intake.form, record_id=rid)
    if not isinstance(pdf, (bytes, bytearray)) or not pdf.startswith(b"%PDF"):
        raise _fail(_("el PDF generado no es válido"))
    state["pdf"] = bytes(pdf)
    return _("{n} kB").format(n=len(pdf) // 1000)


def _sync(state) -> str:
    """A batch to a folder hub (as to a USB stick): compression, encryption and signature
    work in this build, and no name reaches the hub in clear."""
    from .sync import FolderHub, SyncEngine

    hub_dir = state["work"] / "hub"
    hub_dir.mkdir()
    report = SyncEngine(state["vault"]).sync(FolderHub(hub_dir))
    if not report.ok or report.sent_batches < 1:
        raise _fail(_("no se pudo enviar el paquete de cambios de prueba"))
    names = [w.encode("utf-8") for w in (state["intake_values"].get("name_first", ""),
                                         state["intake_values"].get("name_last", "")) if w]
    for path in hub_dir.rglob("*"):
        if path.is_file() and any(n in path.read_bytes() for n in names):
            raise _fail(_("el paquete de cambios de prueba deja ver un nombre"))
    return ""


def _qt(state) -> str:
    from .ui.selftest_qt import check_qt   # Qt lives in ui/ only (with its PySide6 guard)

    return check_qt(state.get("pdf"))
