#!/usr/bin/env bash
# Soak: the test suite run many times, to catch flaky tests, leaked processes, leaked
# temporary files and changed kernel settings.
#
#   scripts/soak.sh [TESTS=200] [NEXTESTS=50] [LOADED=50]
#
# Builds once, then runs `cargo test` TESTS times, `cargo nextest run` NEXTESTS times, and
# `cargo test` LOADED times while stress-ng loads every CPU and a quarter of the memory
# (stress-ng is installed with apt-get if missing, and always stopped on exit). Then
# reports leftover processes (any process still alive that a run started), leftover
# temporary files (every run gets the same private TMPDIR, which must end empty), and a
# diff of the memory settings (/proc/sys/vm, /sys/kernel/mm/transparent_hugepage) from
# before to after. Failing runs' output is kept in <target dir>/soak/. Exits 1 on any failure,
# leftover or changed setting.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tests=${1:-200}
nextests=${2:-50}
loaded=${3:-50}
for n in "$tests" "$nextests" "$loaded"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "usage: $0 [tests] [nextests] [loaded] (counts)" >&2; exit 2; }
done

step() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

out=$(bash scripts/target-dir.sh)/soak
rm -rf "$out"
mkdir -p "$out"

# Every run shares this TMPDIR; whatever is left in it at the end was leaked by a run.
private=$(mktemp -d "${TMPDIR:-/tmp}/pagelab-soak.XXXXXX")
stress_pid=""

stop_stress() {
    if [ -n "$stress_pid" ]; then
        # stress-ng was started as the leader of its own process group: end the whole
        # group (its workers), then collect it.
        kill -TERM -- "-$stress_pid" 2>/dev/null || true
        wait "$stress_pid" 2>/dev/null || true
        stress_pid=""
    fi
}
cleanup() {
    stop_stress
    rm -rf "$private"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "tools"
if [ "$nextests" -gt 0 ] && ! command -v cargo-nextest >/dev/null 2>&1; then
    cargo install cargo-nextest --locked
fi
if [ "$loaded" -gt 0 ] && ! command -v stress-ng >/dev/null 2>&1; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q stress-ng
fi
cargo --version
[ "$nextests" -eq 0 ] || cargo nextest --version | head -1
[ "$loaded" -eq 0 ] || stress-ng --version

step "build once, so that every run is warm"
cargo test --no-run
[ "$nextests" -eq 0 ] || cargo nextest run --no-run

bash scripts/settings-snapshot.sh >"$out/settings-before.txt"
find /tmp -mindepth 1 -maxdepth 1 -printf '%P\n' | sort >"$out/tmp-before.txt"

summary=()
failed_runs=0

# run_phase NAME COUNT COMMAND...: runs COMMAND COUNT times with the private TMPDIR.
run_phase() {
    local name=$1 count=$2
    shift 2
    local i fails=0 start=$SECONDS log
    step "$name: $count runs of $*"
    for ((i = 1; i <= count; i++)); do
        log=$out/$name-$i.log
        if TMPDIR=$private "$@" >"$log" 2>&1; then
            rm -f "$log"
        else
            fails=$((fails + 1))
            echo "  run $i FAILED: output in ${log#"$root"/}"
            grep -E '^(test .* FAILED|failures:|    [a-z_:]+$)|FAIL \[' "$log" | head -20 | sed 's/^/    /' || true
        fi
        if ((i % 10 == 0 || i == count)); then
            echo "  $i/$count runs, $fails failed ($((SECONDS - start)) s)"
        fi
    done
    summary+=("$(printf '%-28s %4d runs, %3d failed, %5d s' "$name" "$count" "$fails" "$((SECONDS - start))")")
    failed_runs=$((failed_runs + fails))
}

run_phase "cargo-test" "$tests" cargo test
run_phase "cargo-nextest" "$nextests" cargo nextest run

if [ "$loaded" -gt 0 ]; then
    step "loading the machine: stress-ng --cpu 2 --vm 1 --vm-bytes 25%"
    # Bounded even if this script were killed with SIGKILL and never got to stop it.
    setsid stress-ng --cpu 2 --vm 1 --vm-bytes 25% --timeout "$((loaded * 120 + 600))s" \
        >"$out/stress-ng.log" 2>&1 &
    stress_pid=$!
    sleep 2
    kill -0 "$stress_pid" 2>/dev/null || { cat "$out/stress-ng.log"; echo "stress-ng did not start" >&2; exit 1; }
    run_phase "cargo-test-under-stress-ng" "$loaded" cargo test
    stop_stress
fi

step "leftovers"
sleep 1 # a child killed at the very end of the last run may still be exiting
# Every process a run started, however deep, inherited TMPDIR=$private: any still alive
# is a leftover (whatever its binary), and nothing else on the machine is counted.
leftover_procs=()
for dir in /proc/[0-9]*; do
    if tr '\0' '\n' 2>/dev/null <"$dir/environ" | grep -qxF "TMPDIR=$private"; then
        leftover_procs+=("${dir#/proc/} $(readlink "$dir/exe" 2>/dev/null || echo '?') $(tr '\0' ' ' 2>/dev/null <"$dir/cmdline" | cut -c1-120)")
    fi
done
mapfile -t leftover_tmp < <(find "$private" -mindepth 1 -maxdepth 1 -printf '%P\n' | sort)
find /tmp -mindepth 1 -maxdepth 1 -printf '%P\n' | sort >"$out/tmp-after.txt"
mapfile -t new_in_tmp < <(comm -13 "$out/tmp-before.txt" "$out/tmp-after.txt" | grep -v "^${private##*/}\$" || true)
bash scripts/settings-snapshot.sh >"$out/settings-after.txt"
settings_diff=$(diff -u "$out/settings-before.txt" "$out/settings-after.txt" || true)

step "summary"
printf '%s\n' "${summary[@]}"
echo "leftover processes started by the runs: ${#leftover_procs[@]}"
[ ${#leftover_procs[@]} -eq 0 ] || printf '  %s\n' "${leftover_procs[@]}"
echo "leftover files in the runs' private TMPDIR: ${#leftover_tmp[@]}"
[ ${#leftover_tmp[@]} -eq 0 ] || printf '  %s\n' "${leftover_tmp[@]}"
# /tmp is shared with everything else on the machine, so new entries there are only
# reported: the tests never see /tmp, only their private TMPDIR.
echo "new entries in /tmp (shared with the rest of the machine; not counted): ${#new_in_tmp[@]}"
[ ${#new_in_tmp[@]} -eq 0 ] || printf '  %s\n' "${new_in_tmp[@]:0:20}"
if [ -z "$settings_diff" ]; then
    echo "memory settings: unchanged ($(wc -l <"$out/settings-before.txt") files)"
else
    echo "memory settings CHANGED:"
    # shellcheck disable=SC2001 # indents every line, which ${var//...} cannot anchor
    echo "$settings_diff" | sed 's/^/  /'
fi

if [ "$failed_runs" -gt 0 ] || [ ${#leftover_procs[@]} -gt 0 ] || [ ${#leftover_tmp[@]} -gt 0 ] || [ -n "$settings_diff" ]; then
    echo "soak: FAILED (failing runs' output in ${out#"$root"/})"
    exit 1
fi
echo "soak: ok"
