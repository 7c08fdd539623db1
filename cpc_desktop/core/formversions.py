"""Declared form versions: what changed from one version of a form to the next, and the one
function that brings a record's values up to date.

A form's JSON lists its history under "versions" (docs/forms-format.md, "Versions and
migrations"); each step names renames, splits and replaced choices. `upgrade` is a pure
function of the values and the version they were written with, so every laptop that
upgrades a record writes the same values, whichever laptop does it first and in whatever
order the changes then travel. It never drops a value: what it cannot place (a rename onto a
field that already holds another value, a removed field) stays in the record as it was, and
`kept()` shows it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .i18n import _

# The system field holding the form version a record was last written with; absent means 1
# (every record written before forms had versions).
FORM_VERSION = "_form_version"

_STEP_KEYS = {"version", "note", "renames", "splits", "choices", "removed"}


@dataclass(frozen=True)
class Split:
    source: str
    into: tuple[str, ...]
    separator: str


@dataclass(frozen=True)
class Step:
    """What changed from version - 1 to `version`."""
    version: int
    note: str = ""
    renames: tuple[tuple[str, str], ...] = ()
    splits: tuple[Split, ...] = ()
    choices: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()   # field, (old, new)…
    removed: tuple[str, ...] = ()


def version_of(values: dict) -> int:
    v = values.get(FORM_VERSION)
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else 1


def parse_steps(raw, current: int, field_ids: set[str], fail: Callable[[str, str], Any]
                ) -> tuple[Step, ...]:
    """The "versions" list of a form; `fail(where, message)` raises."""
    if not isinstance(raw, list):
        fail("versions", "'versions' is a list of steps")
    steps, expected = [], 2
    for i, s in enumerate(raw):
        where = f"versions {i}"
        if not isinstance(s, dict) or set(s) - _STEP_KEYS:
            fail(where, f"a step is an object with keys among {sorted(_STEP_KEYS)}")
        if s.get("version") != expected:
            fail(where, f"steps go up one version at a time from 2 (expected {expected})")
        expected += 1
        renames = s.get("renames", {})
        splits = s.get("splits", {})
        choices = s.get("choices", {})
        removed = s.get("removed", [])
        if not isinstance(renames, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in renames.items()):
            fail(where, "'renames' is {\"old id\": \"new id\"}")
        if not isinstance(splits, dict) or not all(
                isinstance(v, dict) and set(v) <= {"into", "separator"}
                and isinstance(v.get("into"), list) and len(v["into"]) >= 2
                and isinstance(v.get("separator", " "), str) and v.get("separator", " ")
                for v in splits.values()):
            fail(where, "'splits' is {\"old id\": {\"into\": [ids…], \"separator\": \" \"}}")
        if not isinstance(choices, dict) or not all(
                isinstance(m, dict) and all(isinstance(a, str) and isinstance(b, str)
                                            for a, b in m.items()) for m in choices.values()):
            fail(where, "'choices' is {\"field id\": {\"old value\": \"new value\"}}")
        if not isinstance(removed, list) or not all(isinstance(r, str) for r in removed):
            fail(where, "'removed' is a list of field ids")
        note = s.get("note", "")
        if not isinstance(note, str):
            fail(where, "'note' is text")
        steps.append(Step(
            expected - 1, note, tuple(sorted(renames.items())),
            tuple(Split(k, tuple(v["into"]), v.get("separator", " "))
                  for k, v in sorted(splits.items())),
            tuple((k, tuple(sorted(m.items()))) for k, m in sorted(choices.items())),
            tuple(removed)))
    # No steps at all: earlier versions changed nothing a record holds (layout, labels).
    if steps and steps[-1].version != current:
        fail("versions", f"the last step must be the form's 'version' ({current})")
    # Only the last step can be checked against this definition: earlier ones name fields of
    # their own time.
    if steps:
        last = steps[-1]
        targets = [new for _old, new in last.renames] + [t for sp in last.splits
                                                         for t in sp.into]
        targets += [f for f, _m in last.choices]
        for t in targets:
            if t not in field_ids:
                fail(f"versions {len(steps) - 1}", f"{t!r} is not a field of this version")
    return tuple(steps)


@dataclass(frozen=True)
class Upgraded:
    values: dict
    notes: tuple[str, ...]      # what changed, translated, for the person editing


def upgrade(steps: tuple[Step, ...], values: dict, written: int, label: Callable[[str], str],
            target: int) -> Upgraded:
    """`values` (written with version `written`) brought to version `target` (the form's).
    Deterministic and idempotent; never removes a value it could not place."""
    out = dict(values)
    notes: list[str] = []
    for step in steps:
        if step.version <= written:
            continue
        for old, new in step.renames:
            if old not in out:
                continue
            if new not in out:
                out[new] = out.pop(old)
                notes.append(_("«{old}» se llama ahora «{new}».").format(old=label(old),
                                                                         new=label(new)))
            elif out[new] == out[old]:
                del out[old]
            else:
                notes.append(_("«{old}» tenía otro valor que «{new}»; se conserva aparte.")
                             .format(old=label(old), new=label(new)))
        for sp in step.splits:
            value = out.get(sp.source)
            if not isinstance(value, str) or any(t in out for t in sp.into):
                continue
            parts = [p.strip() for p in value.split(sp.separator, len(sp.into) - 1)]
            del out[sp.source]
            for into, part in zip(sp.into, parts):
                if part:
                    out[into] = part
            notes.append(_("«{old}» se dividió en {new}.").format(
                old=label(sp.source), new=", ".join(f"«{label(t)}»" for t in sp.into)))
        for fid, mapping in step.choices:
            table = dict(mapping)
            value = out.get(fid)
            if isinstance(value, str) and value in table:
                out[fid] = table[value]
            elif isinstance(value, list) and any(v in table for v in value):
                out[fid] = list(dict.fromkeys(table.get(v, v) for v in value))
            else:
                continue
            notes.append(_("En «{field}» una opción que ya no existe se cambió por la "
                           "que la reemplaza.").format(field=label(fid)))
        for fid in step.removed:
            if fid in out:
                notes.append(_("«{old}» ya no está en el formulario; su valor se conserva "
                               "aparte.").format(old=label(fid)))
    if target > written or FORM_VERSION in out:
        out[FORM_VERSION] = max(target, written)
    return Upgraded(out, tuple(notes))
