#!/usr/bin/env bash
# Runs the whole test suite; installs exactly the locked set (uv.lock, with the test extra) first.
source "$(dirname "$0")/_setup.sh"
apt_install "${QT_SYSTEM_PACKAGES[@]}" poppler-utils xvfb xauth desktop-file-utils
ensure_venv test
exec .venv/bin/python -m pytest "$@"
