#!/bin/sh
# Installs CPC Desktop for the current user (no administrator needed) from the unpacked tarball:
#   program   ~/.local/opt/cpc-desktop/           (replaced on update)
#   commands  ~/.local/bin/cpc-desktop, ~/.local/bin/cpc
#   menu      ~/.local/share/applications/cpc-desktop.desktop, icons in ~/.local/share/icons
# Vaults live in ~/.local/share/cpc-desktop/ (platformdirs), outside the program folder: neither
# an update nor `./install.sh --uninstall` ever touches them.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
PREFIX="$HOME/.local/opt/cpc-desktop"
BIN="$HOME/.local/bin"

remove_program() {
    rm -rf "$PREFIX"
    rm -f "$BIN/cpc-desktop" "$BIN/cpc" "$DATA/applications/cpc-desktop.desktop"
    find "$DATA/icons/hicolor" -name 'cpc-desktop.*' -delete 2>/dev/null || true
}

if [ "${1:-}" = "--uninstall" ]; then
    remove_program
    echo "CPC Desktop desinstalado. Sus bóvedas siguen en $DATA/cpc-desktop/."
    exit 0
fi

remove_program
mkdir -p "$PREFIX" "$BIN" "$DATA/applications" "$DATA/icons"
cp -a "$HERE/cpc-desktop" "$HERE/cpc" "$HERE/_internal" "$HERE/LICENSE" "$PREFIX/"
ln -sf "$PREFIX/cpc-desktop" "$BIN/cpc-desktop"
ln -sf "$PREFIX/cpc" "$BIN/cpc"
cp -a "$HERE/share/icons/." "$DATA/icons/"
sed -e "s|^Exec=.*|Exec=$PREFIX/cpc-desktop|" -e "s|^TryExec=.*|TryExec=$PREFIX/cpc-desktop|" \
    "$HERE/share/applications/cpc-desktop.desktop" > "$DATA/applications/cpc-desktop.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" 2>/dev/null || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q "$DATA/icons/hicolor" 2>/dev/null || true
echo "CPC Desktop instalado en $PREFIX (menú de aplicaciones: «CPC Desktop»)."
