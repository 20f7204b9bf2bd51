#!/usr/bin/env bash
# Fetches the kernel's own KTAP parser (tools/testing/kunit from Debian's linux-source
# package) into <cargo's target dir>/ci-cache/linux, once, and prints the path of its kunit.py. kunit.py
# finds its kernel tree by its own path, so the tools/testing/kunit layout is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="$(bash scripts/target-dir.sh)/ci-cache"
tool=$cache/linux/tools/testing/kunit/kunit.py
if [ -f "$tool" ]; then
    echo "$tool"
    exit 0
fi
mkdir -p "$cache"
# The newest linux-source-X.Y the machine's own package index offers.
package=$(apt-cache search --names-only '^linux-source-[0-9.]+$' | awk '{print $1}' | sort -V | tail -n 1)
if [ -z "$package" ]; then
    apt-get update -q >&2
    package=$(apt-cache search --names-only '^linux-source-[0-9.]+$' | awk '{print $1}' | sort -V | tail -n 1)
fi
[ -n "$package" ] || { echo "no linux-source package in the index" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "$package" >&2)
series=${package#linux-source-}
dpkg-deb --fsys-tarfile "$work"/"$package"_*.deb \
    | tar -x -O "./usr/src/linux-source-$series.tar.xz" \
    | tar -xJ -C "$work" --wildcards "linux-source-$series/tools/testing/kunit/*"
rm -rf "$cache/linux"
mv "$work/linux-source-$series" "$cache/linux"
echo "$tool"
