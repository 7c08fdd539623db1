#!/usr/bin/env bash
# Not in CI: runs the suite against the newest versions pyproject.toml's ranges allow (ignoring
# uv.lock), in .venv-newest/, so a dependency's new release is seen to break us before the lock
# takes it. Green here means `scripts/lock.sh` is safe to run; red names what to fix first.
source "$(dirname "$0")/_setup.sh"
apt_install "${QT_SYSTEM_PACKAGES[@]}" poppler-utils xvfb xauth desktop-file-utils
py="$(find_python ${PYTHON_VERSION:-})"
ensure_uv "$py"
"$UV" venv -q --allow-existing --python "$py" --no-python-downloads .venv-newest
VIRTUAL_ENV="$ROOT/.venv-newest" "$UV" pip install -q --upgrade --resolution highest -e ".[test]"
VIRTUAL_ENV="$ROOT/.venv-newest" "$UV" pip list --format freeze >&2
# The one test that must fail here: it checks that an environment is exactly the lock.
exec .venv-newest/bin/python -m pytest \
    --deselect tests/test_lock.py::test_this_environment_is_the_locked_set "$@"
