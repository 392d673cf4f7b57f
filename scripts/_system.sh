# shellcheck shell=bash
# Sourced by scripts/test before the virtualenv step: make sure the Debian
# packages the end-to-end tests drive are installed.
#
#   chromium  headless browser for tests/test_browser.py (driven by Playwright
#             through executable_path; Playwright never downloads a browser)
#   nginx     reverse proxy for tests/test_deploy_nginx.py
#   redis-server, postgresql, wrk, iproute2
#             the demo's cluster (scripts/cluster, tests/test_cluster.py): shared
#             sessions/cache/queue, the shared database, the load during a failover;
#             wrk also drives the load soak (bench/reliability.py,
#             tests/test_reliability_smoke.py)
#
# Installs them with apt-get when running as root on a system that has it
# (CI and a fresh Debian machine), quietly and only when something is missing.
# Otherwise it only says what to install: the tests that need them then fail
# with a clear message instead of being skipped.

_system_missing() {
    local missing=()
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    [ -x /usr/sbin/nginx ] || missing+=(nginx)
    [ -x /usr/bin/redis-server ] || missing+=(redis-server)
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
    [ -x /usr/bin/wrk ] || missing+=(wrk)
    command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || missing+=(iproute2)
    [ "${#missing[@]}" -eq 0 ] || printf '%s\n' "${missing[@]}"
}

ensure_system_packages() {
    local missing log policy="" rc=0
    mapfile -t missing < <(_system_missing)
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        printf 'note: the browser and nginx tests need these Debian packages: %s\n' "${missing[*]}" >&2
        printf '      e.g. sudo apt-get install --no-install-recommends %s\n' "${missing[*]}" >&2
        return 0
    fi
    printf '==> installing %s with apt-get (for the browser and nginx tests)\n' "${missing[*]}" >&2
    log="$(mktemp)"
    # The tests start nginx themselves on ports they choose: keep the package's
    # postinst from starting a system nginx on port 80 (the usual container
    # policy-rc.d; left alone when the machine already has one).
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    fi
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                "${missing[@]}"
    } >"$log" 2>&1 || rc=$?
    [ -n "$policy" ] && rm -f "$policy"
    if [ "$rc" -ne 0 ]; then
        tail -n 20 "$log" >&2
        printf 'error: apt-get install %s failed (log above)\n' "${missing[*]}" >&2
    fi
    rm -f "$log"
    return "$rc"
}

ensure_system_packages
