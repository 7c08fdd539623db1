#!/usr/bin/env bash
# Builds the Linux bundle from a clean clone: compiles the translations, runs PyInstaller on
# packaging/cpc-desktop.spec (one folder: dist/cpc-desktop/ with cpc-desktop and cpc), runs the
# bundle's self-test offscreen, and tars it with the desktop file, icons and install.sh:
#   dist/cpc-desktop-<version>-linux-x86_64.tar.gz
# Not part of the test suite (it takes a minute or two). Usage: packaging/build.sh
# Installs exactly the locked set (uv.lock) with PyInstaller into build/venv-bundle.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The bundle's own environment, from the lock (with PyInstaller), on the bundle's Python:
# packaging/bundle-python-version, the same file the Windows workflow reads. 3.12+ makes None,
# True and False immortal, so PySide6 6.12.0's refcount bug cannot abort a shipped program.
source scripts/_setup.sh
apt_install "${QT_SYSTEM_PACKAGES[@]}"
# BUNDLE_PYTHON=3.11 packaging/build.sh builds on 3.11 instead (to prove the bundle's guard).
BUNDLE_PYTHON="${BUNDLE_PYTHON:-$(tr -d '[:space:]' < packaging/bundle-python-version)}"
ENV_DIR=build/venv-bundle PYTHON_VERSION="$BUNDLE_PYTHON" ensure_venv bundle
PY=build/venv-bundle/bin/python
# Every locked package must have a Windows amd64 wheel for the bundle's Python (the Windows
# workflow installs the same lock there): checked offline against uv.lock's file list.
"$PY" packaging/check_lock.py --platform win_amd64 --python "$BUNDLE_PYTHON" --extra bundle

VERSION="$("$PY" -c 'import cpc_desktop; print(cpc_desktop.__version__)')"
NAME="cpc-desktop-${VERSION}-linux-$(uname -m)"
echo "CPC Desktop ${VERSION}: compilando traducciones y empaquetando…" >&2

"$PY" -m cpc_desktop.cli i18n compile >/dev/null
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/cpc-desktop.spec

BUNDLE=dist/cpc-desktop
QT_QPA_PLATFORM=offscreen "$BUNDLE/cpc-desktop" --self-test
"$BUNDLE/cpc" --version
"$BUNDLE/cpc" forms >/dev/null

STAGE="build/tar/cpc-desktop-${VERSION}"
rm -rf build/tar
mkdir -p "$STAGE/share/applications"
cp -a "$BUNDLE/." "$STAGE/"
cp packaging/linux/cpc-desktop.desktop "$STAGE/share/applications/"
cp -a packaging/linux/icons "$STAGE/share/icons"
cp packaging/linux/install.sh "$STAGE/install.sh"
cp LICENSE "$STAGE/LICENSE"
tar -C build/tar -czf "dist/${NAME}.tar.gz" "cpc-desktop-${VERSION}"

echo >&2
echo "Paquete: dist/${NAME}.tar.gz ($(du -sh "dist/${NAME}.tar.gz" | cut -f1); carpeta $(du -sh "$BUNDLE" | cut -f1))" >&2
echo "Lo más pesado:" >&2
du -sh "$BUNDLE"/_internal/* 2>/dev/null | sort -h | tail -n 5 >&2
du -sh "$BUNDLE"/_internal/PySide6/Qt/lib/* 2>/dev/null | sort -h | tail -n 5 >&2
