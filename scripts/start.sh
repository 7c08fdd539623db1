#!/usr/bin/env bash
# Starts CPC Desktop; on first use installs the locked dependency set (uv.lock) into .venv.
source "$(dirname "$0")/_setup.sh"
apt_install "${QT_SYSTEM_PACKAGES[@]}"
# inexact: starting the program keeps the test tools a developer installed in .venv.
SYNC_MODE=inexact ensure_venv
exec .venv/bin/cpc-desktop "$@"
