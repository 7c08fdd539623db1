# Sourced by start.sh, test.sh and packaging/build.sh: installs exactly the locked set (uv.lock)
# into a virtual environment, with the uv of scripts/uv-requirements.txt (checked by hash).
# System packages are installed only when missing, with sudo when not root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Trust the system's certificate store as pip does (a shelter's office or a provider may put a
# TLS proxy with its own root in it); uv alone would use only its bundled roots.
export UV_SYSTEM_CERTS="${UV_SYSTEM_CERTS:-1}"

# The Pythons uv.lock is resolved for (pyproject.toml: requires-python).
SUPPORTED_PYTHONS=(3.13 3.12 3.11)

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

python_version_of() {
    "$1" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null
}

# find_python [VERSION]: the newest supported Python on PATH (or exactly VERSION); one clear
# line and failure when there is none.
find_python() {
    local wanted=("$@") seen=() py ver pyenv_dir="${PYENV_ROOT:-$HOME/.pyenv}/versions"
    # Pythons that pyenv keeps off PATH count only when one version is asked for (build.sh).
    [ ${#wanted[@]} -gt 0 ] || { wanted=("${SUPPORTED_PYTHONS[@]}"); pyenv_dir=/nonexistent; }
    for want in "${wanted[@]}"; do
        for py in "python$want" python3 "$pyenv_dir/$want".*/bin/"python$want"; do
            command -v "$py" >/dev/null 2>&1 || continue
            ver="$(python_version_of "$py")" || continue
            seen+=("$ver")
            [ "$ver" = "$want" ] && { echo "$py"; return 0; }
        done
    done
    local found
    found="$(printf '%s\n' "${seen[@]:-ninguno}" | sort -u | paste -sd, -)"
    echo "CPC Desktop necesita Python ${wanted[*]} (encontrado: ${found}); instale uno de ellos (Debian/Ubuntu: sudo apt install python3)." >&2
    return 1
}

ensure_python_venv_module() {
    local py="$1" ver
    if ! "$py" -m venv --help >/dev/null 2>&1 || ! "$py" -c 'import ensurepip' >/dev/null 2>&1; then
        ver="$(python_version_of "$py")"
        apt_install "python${ver}-venv" || apt_install python3-venv
    fi
}

# uv lives in .uv/, outside the project environment (uv sync removes what the lock lacks).
ensure_uv() {
    local py="$1" stamp=".uv/.installed"
    if [ ! -x .uv/bin/uv ] || [ ! -f "$stamp" ] || [ scripts/uv-requirements.txt -nt "$stamp" ]; then
        ensure_python_venv_module "$py"
        rm -rf .uv
        "$py" -m venv .uv
        if ! .uv/bin/python -m pip install -q --disable-pip-version-check --require-hashes \
                -r scripts/uv-requirements.txt >.uv/install.log 2>&1; then
            tail -n 20 .uv/install.log >&2
            echo "No se pudo instalar uv; el detalle está en .uv/install.log" >&2
            return 1
        fi
        touch "$stamp"
    fi
    UV="$ROOT/.uv/bin/uv"
}

# ensure_venv [EXTRA...] — with ENV_DIR (default .venv), PYTHON_VERSION (default: newest
# supported) and SYNC_MODE (exact: remove what the lock does not list; inexact: keep other extras).
ensure_venv() {
    local env_dir="${ENV_DIR:-.venv}" py
    py="$(find_python ${PYTHON_VERSION:-})"
    ensure_uv "$py"
    local args=(sync --locked --python "$py" --no-python-downloads)
    for extra in "$@"; do args+=(--extra "$extra"); done
    [ "${SYNC_MODE:-exact}" = "inexact" ] && args+=(--inexact)
    if ! UV_PROJECT_ENVIRONMENT="$env_dir" "$UV" "${args[@]}" -q >"$ROOT/.uv/sync.log" 2>&1 &&
       ! UV_PROJECT_ENVIRONMENT="$env_dir" "$UV" "${args[@]}" -q --offline >>"$ROOT/.uv/sync.log" 2>&1; then
        tail -n 20 "$ROOT/.uv/sync.log" >&2
        echo "No se pudieron instalar las dependencias fijadas en uv.lock; el detalle está en .uv/sync.log" >&2
        return 1
    fi
}

# Qt's xcb platform plugin needs these on a bare Debian/Ubuntu.
QT_SYSTEM_PACKAGES=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3
    libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
    libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0)
