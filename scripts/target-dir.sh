#!/usr/bin/env bash
# cargo's target directory (CARGO_TARGET_DIR, build.target-dir or ./target), as cargo
# resolves it, for the recipes and scripts that look for what cargo built.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
