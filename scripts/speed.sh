#!/usr/bin/env bash
# Speed targets, measured in one run on this machine and compared with the targets:
#   - clean `cargo build --tests` (a fresh target directory; crates already downloaded) < 60 s
#   - warm `cargo test` (nothing to rebuild), median of 5 runs                            < 3 s
#   - `pagelab check` over all lessons (release binary, warm), median of 5 runs          < 0.3 s
#   - smaps lookup against the procfs crate and a whole-file read: cargo bench --bench versus_procfs
# Exits 1 if a target is missed. Run it on a quiet machine: every figure is wall-clock time.
set -euo pipefail
cd "$(dirname "$0")/.."

missed=0
# report NAME SECONDS LIMIT
report() {
    local verdict=ok
    if ! awk -v s="$2" -v l="$3" 'BEGIN { exit !(s < l) }'; then
        verdict=MISSED
        missed=1
    fi
    printf '%-48s %7.2f s   target < %s s   %s\n' "$1" "$2" "$3" "$verdict"
}

target=$(bash scripts/target-dir.sh)
log=$(mktemp)
trap 'rm -f "$log"; rm -rf "$target/speed-clean"' EXIT

# quietly COMMAND...: runs it with its output kept aside; if it fails, says which command
# failed and shows the end of its output, and returns its status.
quietly() {
    local rc=0
    "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "speed: \`$*\` failed (exit $rc); the end of its output:" >&2
        tail -n 30 "$log" >&2
    fi
    return "$rc"
}

# seconds COMMAND...: wall-clock seconds of one run, output discarded; fails if it fails.
seconds() {
    local start end
    start=$(date +%s.%N)
    quietly "$@" || return
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

# median_of N COMMAND...: fails as soon as a run fails.
median_of() {
    local n=$1 times=() t
    shift
    for _ in $(seq "$n"); do
        t=$(seconds "$@") || return
        times+=("$t")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "=== clean cargo build --tests ($target/speed-clean)"
rm -rf "$target/speed-clean"
clean=$(CARGO_TARGET_DIR="$target/speed-clean" seconds cargo build --tests)
rm -rf "$target/speed-clean"
crates=$(cargo tree -e normal,dev,build --prefix none | sort -u | wc -l)

echo "=== warm cargo test"
quietly cargo test --no-run
quietly cargo test
warm=$(median_of 5 cargo test)

echo "=== pagelab check (release)"
quietly cargo build --release --quiet
check=$(median_of 5 "$target/release/pagelab" check)

echo
report "clean cargo build --tests ($crates crates)" "$clean" 60
report "warm cargo test (median of 5)" "$warm" 3
report "pagelab check, all lessons (median of 5)" "$check" 0.3

echo
echo "=== cargo bench --bench versus_procfs"
if ! cargo bench --bench versus_procfs; then
    echo "speed: \`cargo bench --bench versus_procfs\` failed"
    missed=1
fi
exit "$missed"
