"""The release log: every shared export, kept encrypted in the vault, and the check each new
one must pass against all of them (disclosure control across releases; docs/reports.md).

An attacker holding every export we ever made can subtract any two. For each family of
counts (children served, admitted, discharged…, service records, plan objectives…) a new
export E and an earlier release R cover two populations; A = in E only, B = in R only:

* A and B empty (same population): E's counts differ from R's only by corrections. Counts
  shown in both that differ by 1–4 are hidden in E, and counts R hid are hidden in E when
  they have not changed (else E would give away what R protected).
* One of A, B empty (nested, e.g. a month and its quarter) and the other 5 or more: the
  difference is the table of that group; its counts of 1–4 (counts shown in both that differ
  by 1–4) are hidden in E, with complements so they cannot be worked out.
* Nested with the other side 1–4, or A and B together 1–4 (two exports a day apart, a
  late-entered child, a shelter and "every shelter" with one child elsewhere): the
  difference would be those few children's rows of every table. The export is refused,
  with the reason.
* Overlapping (both sides non-empty, together 5 or more: consecutive months): allowed.

Families that one of the two does not break down (only their total is printed: how many,
no attribute) are not compared. The log lives in the vault's meta table (one
entry per release, compressed JSON; core/release_log.py), so it is encrypted with the vault,
survives a restart, is kept by backups, and travels to the shelter's other laptops in sync
batches: their exports are checked against it too.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from ..core import release_log
from ..core.i18n import N_
from ..core.vault import Vault
from . import periods, suppression
from .compute import _t, family_of, hashed, problem_of, protect
from .model import Report, ReportError, ReportRequest

PREFIX = release_log.PREFIX
T = suppression.THRESHOLD
SAME, NESTED, OVERLAP = "same", "nested", "overlap"

FAMILY_LABELS = {
    "served": N_("niñas, niños y adolescentes atendidos"),
    "admitted": N_("ingresos"),
    "discharged": N_("egresos"),
    "at_start": N_("niñas, niños y adolescentes en acogida al inicio"),
    "at_end": N_("niñas, niños y adolescentes en acogida al final"),
    "undated": N_("residentes sin fecha de ingreso"),
    "services": N_("atenciones"),
    "svc_children": N_("niñas, niños y adolescentes con atenciones"),
    "pti": N_("objetivos de PTI"),
    "followups": N_("informes de seguimiento"),
    "visits": N_("visitas de seguimiento"),
}
_TOTALS = {("svc_total",), ("svc_children",), ("fu_total",), ("visit_total",)}


def _is_total(key) -> bool:
    return (key[0] == "summary" or key in _TOTALS or key[0] == "pti_total")


@dataclass(frozen=True)
class Release:
    id: str
    made_at: str                       # ISO local time
    user: str
    fmt: str                           # pdf | csv
    start: dt.date
    end: dt.date
    shelter: str | None
    tables: tuple[str, ...]
    cells: dict                        # repr(key) -> [value, mark, family]
    populations: dict                  # family -> {member hash: times}

    def period_text(self) -> str:
        return _t(N_("del {start} al {end}")).format(start=self.start.strftime("%d/%m/%Y"),
                                                    end=self.end.strftime("%d/%m/%Y"))


class ReleaseRefused(ReportError):
    """A shared export that, next to an earlier one, would let a few children be recognized."""

    def __init__(self, message: str, family: str, release: Release):
        super().__init__(message)
        self.family, self.release = family, release


# ====================================================================== the log

def releases(vault: Vault) -> list[Release]:
    """Every release recorded in this vault, oldest first."""
    with vault.reading():
        rows = release_log.entries(vault.conn)
    out = []
    for rid, value in rows:
        try:
            out.append(_decode(PREFIX + rid, value))
        except (ValueError, KeyError, TypeError, zlib.error):
            # Only a damaged or foreign entry (one from another laptop's batch that this
            # version cannot read): it must not stop every later export.
            continue
    return out


def _decode(key: str, value: str) -> Release:
    d = json.loads(zlib.decompress(base64.b64decode(value)))
    return Release(key[len(PREFIX):], d["made_at"], d["user"], d["fmt"],
                   dt.date.fromisoformat(d["start"]), dt.date.fromisoformat(d["end"]),
                   d["shelter"], tuple(d["tables"]), d["cells"], d["populations"])


def _published(report: Report, table_ids: Iterable[str] | None):
    """(key, value, mark) of every count the export prints, once each."""
    wanted = None if table_ids is None else set(table_ids)
    seen = set()
    for t in report.tables:
        if wanted is not None and t.id not in wanted:
            continue
        for r in t.rows:
            for c, col in zip(r.cells, t.columns):
                if col.kind == "count" and c.key is not None and c.key not in seen:
                    seen.add(c.key)
                    yield c.key, int(cast(float, c.value)), c.mark   # counts hold numbers


def _body(report: Report, table_ids: Iterable[str] | None) -> dict:
    cells = {repr(k): [v, m, family_of(k)] for k, v, m in _published(report, table_ids)}
    fams = {f for _v, _m, f in cells.values() if f is not None}
    mine = hashed({f: m for f, m in report.populations.items() if f in fams})
    req = report.request
    return {"cells": cells, "populations": {f: mine.get(f, {}) for f in sorted(fams)},
            "start": req.start.isoformat(), "end": req.end.isoformat(),
            "shelter": req.shelter}


def release_of(report: Report, fmt: str = "pdf", table_ids: Iterable[str] | None = None,
               *, user: str = "", made_at: str | None = None) -> Release:
    """The release an export of `report` would be, without logging it (benchmarks)."""
    body = _body(report, table_ids)
    made_at = made_at or dt.datetime.now().replace(microsecond=0).isoformat()
    return _decode(PREFIX + made_at, _encode({**body, "made_at": made_at, "user": user,
                                              "fmt": fmt, "tables": _table_ids(report,
                                                                               table_ids)}))


def _table_ids(report: Report, table_ids: Iterable[str] | None) -> list[str]:
    wanted = None if table_ids is None else set(table_ids)
    return [t.id for t in report.tables if wanted is None or t.id in wanted]


def _encode(body: dict) -> str:
    return base64.b64encode(zlib.compress(json.dumps(body, separators=(",", ":")).encode(),
                                          6)).decode()


def record(vault: Vault, report: Report, fmt: str,
           table_ids: Iterable[str] | None = None) -> str:
    """Adds what an export published to the log (once: the same content again is not a new
    release). Returns the release id."""
    if not report.protected:
        raise ValueError("only protected reports are released")
    table_ids = None if table_ids is None else list(table_ids)
    body = _body(report, table_ids)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    now = dt.datetime.now().replace(microsecond=0).isoformat()
    body.update({"made_at": now, "user": vault.user.name, "fmt": fmt,
                 "tables": _table_ids(report, table_ids), "digest": digest, "v": 1})
    rid = f"{now}:{digest}"
    with vault.transaction() as conn:
        if release_log.has_digest(conn, digest):
            return rid
        release_log.add(conn, rid, _encode(body))
    return rid


# ====================================================================== the check

def _difference(a: dict, b: dict) -> tuple[int, int]:
    """(|a − b|, |b − a|) of two populations {member: 1}, exact when it matters: when
    neither holds the other and their sizes differ by T or more, (T, T) stands for "both
    sides T or more apart" (most pairs: other periods; the subset tests stop early)."""
    a_in_b = len(a) <= len(b) and a.keys() <= b.keys()
    b_in_a = len(b) <= len(a) and b.keys() <= a.keys()
    if a_in_b or b_in_a:
        return len(a) - len(b) if b_in_a else 0, len(b) - len(a) if a_in_b else 0
    if abs(len(a) - len(b)) >= T:
        return T, T
    return len(a.keys() - b.keys()), len(b.keys() - a.keys())


def control(vault: Vault, full: Report, table_ids: Iterable[str] | None = None, *,
            log: list[Release] | None = None) -> Report:
    """The protected report, with what the release log requires hidden too; raises
    ReleaseRefused when the export would differ from an earlier one by 1–4 children."""
    table_ids = None if table_ids is None else list(table_ids)
    log = releases(vault) if log is None else log
    problem = problem_of(full)
    marks = suppression.suppress(problem)
    if not log:
        return protect(full, marks=marks)
    keys = {k: (v, m) for k, v, m in _published(protect(full, marks=marks), table_ids)}
    by_repr = {repr(k): k for k in keys}
    pops = hashed(full.populations)
    modes: list[tuple[Release, dict[str, str]]] = []
    for rel in log:
        # Families both releases break down (shown or hidden: bounds on hidden counts tell
        # too — "<5" next to a 5 says the newcomer is in that row).
        both: dict[str, bool] = {}
        for rk, (_rv, _rmark, fam) in rel.cells.items():
            k = by_repr.get(rk)
            if k is None or fam is None:
                continue
            both[fam] = both.get(fam, False) or not _is_total(k)
        mode = {}
        for fam, breakdown in both.items():
            a, b = _difference(pops.get(fam, {}), rel.populations.get(fam, {}))
            if a == b == 0:
                mode[fam] = SAME
            elif a == 0 or b == 0:
                if a + b < T and breakdown:
                    raise _refusal(fam, rel)
                mode[fam] = NESTED
            else:
                if a + b < T and breakdown:
                    raise _refusal(fam, rel)
                mode[fam] = OVERLAP
        modes.append((rel, mode))
    forced: dict = {}
    for _round in range(20):
        changed = False
        for rel, mode in modes:
            for rk, (rv, rmark, fam) in rel.cells.items():
                k = by_repr.get(rk)
                if k is None or k in forced or mode.get(fam) not in (SAME, NESTED):
                    continue
                value, mark = problem.values[k], marks.get(k)
                if mark is not None:
                    continue
                if rmark is None and 0 < abs(value - rv) < T:
                    forced[k] = suppression.COMPLEMENT
                    changed = True
                elif rmark is not None and mode[fam] == SAME and value == rv:
                    forced[k] = rmark
                    changed = True
        if not changed:
            break
        marks = suppression.suppress(problem, forced)
    return protect(full, marks=marks)


def _refusal(fam: str, rel: Release) -> ReleaseRefused:
    made = dt.datetime.fromisoformat(rel.made_at).strftime("%d/%m/%Y %H:%M")
    text = _t(N_("No se puede compartir este informe: sus cifras de {what} difieren en menos "
                 "de 5 de las del informe ya compartido {period} (exportado el {made}). "
                 "Comparando los dos se podría reconocer a esas pocas personas. Vuelva a "
                 "enviar el archivo ya exportado, o exporte un mes, trimestre, semestre o año "
                 "completo que no se parezca tanto a aquel.")).format(
        what=_t(FAMILY_LABELS.get(fam, fam)), period=rel.period_text(), made=made)
    return ReleaseRefused(text, fam, rel)


# ====================================================================== shared exports

def check_shareable(request: ReportRequest, today: dt.date) -> periods.Period:
    """The calendar period of a request that may be shared, or ReportError with the reason.

    Only complete months, quarters, semesters and years: with free dates, or a period "to
    date" exported again the next day, two exports differ by the child admitted that day."""
    period = periods.classify(request.start, request.end, today)
    if period is None:
        raise ReportError(_t(N_("Solo se comparten informes de un mes, un trimestre, un "
                                "semestre o un año completos: con fechas libres, dos informes "
                                "casi iguales permitirían reconocer a una niña, niño o "
                                "adolescente. Elija uno de esos periodos; este periodo se "
                                "puede ver en pantalla.")))
    if period.partial:
        raise ReportError(_t(N_("El periodo {period} todavía no ha terminado: un informe "
                                "parcial compartido hoy y otro mañana permitirían reconocer a "
                                "quien ingresó entre los dos. Véalo en pantalla y compártalo "
                                "cuando el periodo termine.")).format(
            period=period.label()(_t)))
    return period


def export(vault: Vault, request: ReportRequest, out: Path | str, fmt: str, lang: str = "es",
           table_id: str | None = None, *, today: dt.date | None = None,
           data=None) -> tuple[Path, Report]:
    """Builds the protected report, checks it against the release log, writes it, and logs
    it: what `cpc report` and the window's export buttons do. Returns (path, report)."""
    from .compute import build_report
    from .csv_export import write_csv
    from .pdf import write_pdf

    tables = None if table_id is None else [table_id]
    report = build_report(vault, request, purpose="export", today=today, data=data,
                          tables=tables)
    if table_id is not None and table_id not in {t.id for t in report.tables}:
        raise ReportError(_t(N_("No hay ninguna tabla «{id}». Tablas: {ids}.")).format(
            id=table_id, ids=", ".join(t.id for t in report.tables)))
    if fmt == "pdf":
        path = write_pdf(report, out, lang)
    elif fmt == "csv":
        path = write_csv(report, out, lang, table_id)
    else:
        raise ValueError(fmt)
    try:
        record(vault, report, fmt, tables)
    except BaseException:
        # Not in the log, so not shared: the file must not stay behind.
        Path(path).unlink(missing_ok=True)
        raise
    return path, report
