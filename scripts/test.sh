#!/usr/bin/env bash
# Runs the whole test suite; on first use creates .venv and installs what is missing.
source "$(dirname "$0")/_setup.sh"
apt_install "${QT_SYSTEM_PACKAGES[@]}" poppler-utils xvfb xauth desktop-file-utils
ensure_venv "test"
exec .venv/bin/python -m pytest "$@"
