# shellcheck shell=bash
# Sourced by scripts/test and scripts/demo: make sure the project virtualenv
# (.venv in the repo) exists and holds an up-to-date editable install.
#
# After sourcing: REPO is the repo root (and the current directory), VENV the
# virtualenv folder, VENV_PY its python. Knobs: PYTHON picks the interpreter
# that creates the venv (default: the first python3.x >= 3.11 on PATH).

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
VENV_PY="$VENV/bin/python"
# Every optional feature is tested, so the suite needs every extra.
EXTRAS="dev,asgi,dotenv"
cd "$REPO"

_say() { printf '%s\n' "$*" >&2; }

_is_311_plus() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

_find_python() {
    local candidate
    for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 && _is_311_plus "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    _say "error: demijohn needs Python 3.11 or newer; none found on PATH (set PYTHON=/path/to/python3)."
    return 1
}

# Debian splits venv support (ensurepip) into the python3-venv package.
_ensure_ensurepip() {
    local py="$1" version
    "$py" -c 'import ensurepip' >/dev/null 2>&1 && return 0
    version="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
        && [ "$(dirname "$(readlink -f "$py")")" = /usr/bin ]; then
        _say "==> $py cannot create virtualenvs; installing python${version}-venv with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${version}-venv" >&2 \
            && "$py" -c 'import ensurepip' >/dev/null 2>&1 && return 0
    fi
    _say "error: $py has no 'ensurepip', so 'python3 -m venv' cannot work."
    _say "       On Debian/Ubuntu: sudo apt-get install python${version}-venv"
    return 1
}

_create_venv() {
    local py
    py="$(_find_python)" || return 1
    _ensure_ensurepip "$py" || return 1
    _say "==> creating $VENV with $py"
    # --clear so a half-made or broken .venv (moved interpreter) is rebuilt.
    "$py" -m venv --clear "$VENV"
}

_install_stamp() {
    # What the install depends on: the project metadata, the extras, the interpreter.
    {
        cat "$REPO/pyproject.toml" "$REPO/requirements/extensions.txt" \
            "$REPO/requirements/extensions-deps.txt"
        printf '%s\n' "$EXTRAS"
        "$VENV_PY" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

ensure_venv() {
    if ! { [ -x "$VENV_PY" ] && _is_311_plus "$VENV_PY" && "$VENV_PY" -m pip --version >/dev/null 2>&1; }; then
        _create_venv || return 1
    fi
    local stamp_file="$VENV/.demijohn-install" want have=""
    want="$(_install_stamp)"
    [ -f "$stamp_file" ] && have="$(cat "$stamp_file")"
    if [ "$want" != "$have" ] || ! "$VENV_PY" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("demijohn") is None)' \
        >/dev/null 2>&1; then
        _say "==> installing demijohn (editable, extras: $EXTRAS) into .venv"
        local log="$VENV/pip-install.log"
        # The real Flask extensions the tests run: --no-deps, so their
        # requirement on "flask" never installs the real Flask; their own
        # dependencies come pinned from extensions-deps.txt.
        if ! { "$VENV_PY" -m pip install --quiet --disable-pip-version-check \
                -e ".[$EXTRAS]" -r requirements/extensions-deps.txt \
            && "$VENV_PY" -m pip install --quiet --disable-pip-version-check \
                --no-deps -r requirements/extensions.txt; } >"$log" 2>&1; then
            cat "$log" >&2
            _say "error: pip install failed (log above, also in $log)"
            return 1
        fi
        printf '%s\n' "$want" >"$stamp_file"
    fi
}
