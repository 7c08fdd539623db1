#!/usr/bin/env bash
# Starts CPC Desktop; on first use creates .venv and installs what is missing.
source "$(dirname "$0")/_setup.sh"
apt_install "${QT_SYSTEM_PACKAGES[@]}"
ensure_venv ""
exec .venv/bin/cpc-desktop "$@"
