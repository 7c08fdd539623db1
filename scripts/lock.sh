#!/usr/bin/env bash
# Refreshes uv.lock: the newest versions pyproject.toml's ranges allow, for Linux x86_64 and
# Windows amd64, Python 3.11-3.13. Run it, then ./scripts/test.sh, and commit uv.lock only if green.
# `scripts/lock.sh --upgrade-package NAME` refreshes one package only.
source "$(dirname "$0")/_setup.sh"
ensure_uv "$(find_python)"
if [ $# -eq 0 ]; then set -- --upgrade; fi
exec "$UV" lock "$@"
