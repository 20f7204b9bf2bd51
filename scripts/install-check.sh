#!/usr/bin/env bash
# An installed pagelab needs no source tree: `cargo install` from a copy of the source, the
# copy removed, then the installed binary run from another directory must list and check
# every lesson (scripts/run-anywhere.sh). The copy's build uses its own target dir under
# target/ so that its dependencies are compiled once, not on every run (tar keeps the
# files' times, so unchanged sources are not even rebuilt: what is proven is the binary's
# independence from every source path, which the removed copy's path would betray).
set -euo pipefail
cd "$(dirname "$0")/.."
target=$(bash scripts/target-dir.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/source"
tar --exclude=./target --exclude=./.git -cf - . | tar -xf - -C "$work/source"
started=$(date +%s)
CARGO_TARGET_DIR="$target/install-check" \
    cargo install --quiet --locked --path "$work/source" --root "$work/installed"
rm -rf "$work/source"
echo "install-check: installed $work/installed/bin/pagelab in $(( $(date +%s) - started ))s; source copy removed"
bash scripts/run-anywhere.sh "$work/installed/bin/pagelab"
