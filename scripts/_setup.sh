# Sourced by start.sh and test.sh: makes .venv (first use) and keeps it in step with pyproject.toml.
# System packages are installed only when missing, with sudo when not root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || { echo "Faltan paquetes del sistema: ${missing[*]}" >&2; return 0; }
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Instalando paquetes del sistema: ${missing[*]}" >&2
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

find_python() {
    for py in python3.13 python3.12 python3.11 python3; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$py"; return 0
        fi
    done
    echo "Se necesita Python 3.11 o más reciente." >&2
    return 1
}

ensure_venv() {
    local extras="$1"
    local py
    py="$(find_python)"
    if [ ! -x .venv/bin/python ]; then
        if ! "$py" -m venv --help >/dev/null 2>&1 || ! "$py" -c 'import ensurepip' >/dev/null 2>&1; then
            local ver
            ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            apt_install "python${ver}-venv" || apt_install python3-venv
        fi
        "$py" -m venv .venv
    fi
    local stamp=".venv/.installed-${extras:-base}"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "Instalando las dependencias en .venv (solo la primera vez; unos minutos)…" >&2
        if ! { .venv/bin/python -m pip install -q --upgrade pip &&
               .venv/bin/python -m pip install -q -e ".${extras:+[$extras]}"; } \
                >.venv/install.log 2>&1; then
            tail -n 20 .venv/install.log >&2
            echo "La instalación falló; el detalle está en .venv/install.log" >&2
            return 1
        fi
        touch "$stamp"
    fi
}

# Qt's xcb platform plugin needs these on a bare Debian/Ubuntu.
QT_SYSTEM_PACKAGES=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3
    libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
    libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0)
