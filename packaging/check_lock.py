"""Checks, offline, that uv.lock can install on a platform we ship: every package that platform
needs (the markers evaluated for it) has a locked wheel it can use, and every locked file has a
hash. It reads only uv.lock, so it proves the Windows install from Linux without downloading.

    python packaging/check_lock.py --platform win_amd64 --python 3.12 [--extra bundle]

Exit 0 and one line per platform when it holds; otherwise the packages that lack a wheel.
"""
from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from packaging import tags
from packaging.markers import Marker
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "cpc-desktop"
# The oldest glibc we promise on Linux: Debian 12 has 2.36, Ubuntu 22.04 has 2.35.
GLIBC = (2, 35)

PLATFORMS = {
    "win_amd64": {"sys_platform": "win32", "platform_system": "Windows",
                  "platform_machine": "AMD64", "os_name": "nt"},
    "linux_x86_64": {"sys_platform": "linux", "platform_system": "Linux",
                     "platform_machine": "x86_64", "os_name": "posix"},
}


def platform_tags(platform: str) -> list[str]:
    if platform == "win_amd64":
        return ["win_amd64"]
    many = [f"manylinux_{GLIBC[0]}_{minor}_x86_64" for minor in range(GLIBC[1], 4, -1)]
    return many + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64",
                   "linux_x86_64"]


def supported(platform: str, python: tuple[int, int]) -> set[tags.Tag]:
    plats = platform_tags(platform)
    interp = f"cp{python[0]}{python[1]}"
    return set(tags.cpython_tags(python, platforms=plats)) | set(
        tags.compatible_tags(python, interpreter=interp, platforms=plats))


def environment(platform: str, python: tuple[int, int]) -> dict:
    env = dict(PLATFORMS[platform])
    env.update(python_version=f"{python[0]}.{python[1]}",
               python_full_version=f"{python[0]}.{python[1]}.0",
               implementation_name="cpython", platform_python_implementation="CPython",
               platform_release="", platform_version="", implementation_version="")
    env["extra"] = ""
    return env


def _applies(dep: dict, env: dict) -> bool:
    marker = dep.get("marker")
    return marker is None or Marker(marker).evaluate(env)


def closure(lock: dict, platform: str, python: tuple[int, int], extras: set[str]) -> dict:
    """name -> locked package entry, for everything installing PROJECT[extras] needs there."""
    packages = {canonicalize_name(p["name"]): p for p in lock["package"]}
    env = environment(platform, python)
    project = packages[PROJECT]
    for extra in extras:
        if extra not in project.get("optional-dependencies", {}):
            raise SystemExit(f"uv.lock has no extra {extra!r} of {PROJECT}")
    todo = list(project.get("dependencies", []))
    for extra in extras:
        todo += project["optional-dependencies"][extra]
    needed: dict = {}
    visited: set[tuple[str, str]] = set()   # (package, extra or "")
    while todo:
        dep = todo.pop()
        if not _applies(dep, env):
            continue
        name = canonicalize_name(dep["name"])
        entry = needed[name] = packages[name]
        for extra in ["", *dep.get("extra", [])]:
            if (name, extra) in visited:
                continue
            visited.add((name, extra))
            todo += (entry.get("dependencies", []) if not extra
                     else entry.get("optional-dependencies", {}).get(extra, []))
    return needed


def problems(lock: dict, platform: str, python: tuple[int, int], extras: set[str],
             allow_sdist: bool = False) -> list[str]:
    ok_tags = supported(platform, python)
    found = []
    for name, entry in sorted(closure(lock, platform, python, extras).items()):
        files = entry.get("wheels", []) + ([entry["sdist"]] if "sdist" in entry else [])
        if any(not f.get("hash", "").startswith("sha256:") for f in files):
            found.append(f"{name} {entry.get('version')}: a locked file without a sha256 hash")
        usable = [w for w in entry.get("wheels", [])
                  if parse_wheel_filename(w["url"].rsplit("/", 1)[-1])[3] & ok_tags]
        if not usable and not (allow_sdist and "sdist" in entry):
            found.append(f"{name} {entry.get('version')}: no wheel for {platform}, "
                         f"Python {python[0]}.{python[1]}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", choices=sorted(PLATFORMS), action="append")
    parser.add_argument("--python", action="append",
                        help="X.Y; repeatable (default 3.11, 3.12, 3.13)")
    parser.add_argument("--extra", action="append", default=[])
    parser.add_argument("--allow-sdist", action="store_true",
                        help="accept a package locked as source only (test tools, built once)")
    parser.add_argument("--lock", type=Path, default=ROOT / "uv.lock")
    args = parser.parse_args(argv)
    lock = tomllib.loads(args.lock.read_text(encoding="utf-8"))
    failed = False
    for platform in args.platform or sorted(PLATFORMS):
        for py in args.python or ["3.11", "3.12", "3.13"]:
            version = tuple(int(p) for p in py.split("."))[:2]
            found = problems(lock, platform, version, set(args.extra), args.allow_sdist)
            n = len(closure(lock, platform, version, set(args.extra)))
            if found:
                failed = True
                print(f"uv.lock cannot install on {platform}, Python {py}:", *found,
                      sep="\n  ", file=sys.stderr)
            else:
                print(f"uv.lock: {n} packages with wheels for {platform}, Python {py}"
                      + (f" (+{', '.join(args.extra)})" if args.extra else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
