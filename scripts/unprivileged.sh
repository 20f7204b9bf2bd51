#!/usr/bin/env bash
# The whole test suite as an unprivileged user: `nobody`, no capabilities, no supplementary
# groups, RLIMIT_MEMLOCK of 64 KiB (soft and hard), as a student's account would be.
#
#   scripts/unprivileged.sh        (as root: it needs to switch users)
#
# Builds the test binaries as the current user (`cargo test --no-run`), then runs each one
# under `prlimit --memlock=65536:65536 setpriv --reuid=nobody ...` from the crate directory
# with a TMPDIR and HOME that nobody owns. The tests find the lessons, fixtures and the
# pagelab binary through paths compiled in (`env!("CARGO_MANIFEST_DIR")`,
# `env!("CARGO_BIN_EXE_pagelab")`), so nobody must be able to read the crate directory;
# where it cannot (a clone under /root), the crate is copied to a readable temporary
# directory and built there. Doc tests are not run (they need rustdoc, not a binary).
#
# Prints each binary's result, then every claim skipped as nobody with its reason, marking
# those that do not skip as root (the suite is run as root first, for that comparison).
# Exits 1 if any test fails as nobody.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Where what it keeps goes: the crate's target directory, before the copy below gets its own.
target=$(bash scripts/target-dir.sh)
umask 022

if [ "$(id -u)" -ne 0 ]; then
    echo "unprivileged: run as root (it switches to nobody for the tests)" >&2
    exit 2
fi
user=nobody
group=$(id -gn "$user")
memlock=65536
as_nobody=(prlimit "--memlock=$memlock:$memlock"
    setpriv "--reuid=$user" "--regid=$group" --clear-groups --inh-caps=-all --bounding-set=-all)

step() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pagelab-unprivileged.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir "$work/home"
chown "$user:$group" "$work/home"

# Can nobody read the crate (every directory on the way, the lessons, the fixtures)?
readable() {
    # shellcheck disable=SC2016 # $1 is the inner sh's argument, expanded there
    "${as_nobody[@]}" sh -c 'test -r "$1/lessons" && test -x "$1/lessons" &&
        test -r "$1/tests/fixtures/README.md" && ls "$1/lessons" >/dev/null' sh "$1" 2>/dev/null
}
crate=$root
if ! readable "$crate"; then
    step "$user cannot read $root: building a copy in $work/crate"
    mkdir "$work/crate"
    tar -C "$root" --exclude=./target --exclude=./.git -cf - . | tar -C "$work/crate" -xf -
    crate=$work/crate
    export CARGO_TARGET_DIR=$work/target
    readable "$crate" || { echo "unprivileged: $user cannot read the copy either" >&2; exit 1; }
fi

step "build the test binaries as $(id -un)"
cd "$crate"
cargo test --no-run --message-format=json-render-diagnostics >"$work/build.json"
# Test binaries: artifacts built with the test profile that have an executable, as
# "KIND:NAME EXECUTABLE" (the library's and the binary's unit tests share the name pagelab).
mapfile -t tests < <(grep '"reason":"compiler-artifact"' "$work/build.json" |
    grep '"profile":{[^}]*"test":true' |
    sed -n 's/.*"target":{"kind":\["\([^"]*\)"\][^}]*"name":"\([^"]*\)".*"executable":"\([^"]*\)".*/\1:\2 \3/p' |
    sort -u)
exes=("${tests[@]#* }")
[ ${#exes[@]} -gt 0 ] || { echo "unprivileged: no test binaries were built" >&2; exit 1; }
for exe in "${exes[@]}"; do
    "${as_nobody[@]}" test -x "$exe" || { echo "unprivileged: $user cannot run $exe" >&2; exit 1; }
done

# The environment the tests get: nothing of root's, only what a login would give.
clean_env=(env -i "PATH=/usr/local/bin:/usr/bin:/bin" "HOME=$work/home" "TMPDIR=$work/home"
    "LANG=C.UTF-8")

# run_all WHO LOGDIR PREFIX...: runs every test binary; returns the number that failed.
run_all() {
    local who=$1 logs=$2 failed=0 exe name
    shift 2
    mkdir -p "$logs"
    for test in "${tests[@]}"; do
        name=${test%% *}
        exe=${test#* }
        if "$@" "${clean_env[@]}" "$exe" >"$logs/${name/:/-}.out" 2>"$logs/${name/:/-}.err"; then
            status=ok
        else
            status=FAILED
            failed=$((failed + 1))
        fi
        if [ "$who" = "$user" ]; then
            printf '  %-26s %-6s %s\n' "$name" "$status" \
                "$(grep -h '^test result:' "$logs/${name/:/-}.out" | sed 's/^test result: //; s/; finished.*//' | head -1)"
            if [ "$status" = FAILED ]; then
                grep -hE '^(---- |thread .* panicked|    [a-z_:]+$)' "$logs/${name/:/-}.out" "$logs/${name/:/-}.err" |
                    head -20 | sed 's/^/      /' || true
            fi
        fi
    done
    return "$failed"
}

# The suite prints one line per skipped claim block: "  skipped FILE:LINES (step S): REASON".
# Addresses differ from run to run, so they are blanked for the comparison with root's.
skips() {
    cat "$1"/*.err | grep -E '^  skipped ' | sed 's/^  skipped //; s/0x[0-9a-f]\+/0x…/g' | sort -u
}

step "the suite as root, for comparison"
root_failed=0
run_all root "$work/root" || root_failed=$?
echo "  $root_failed binaries failed as root"

step "the suite as $user (no capabilities, RLIMIT_MEMLOCK $((memlock / 1024)) KiB)"
nobody_failed=0
run_all "$user" "$work/nobody" "${as_nobody[@]}" || nobody_failed=$?

step "claims skipped as $user (* = not skipped as root)"
skips "$work/root" >"$work/root-skips.txt"
skips "$work/nobody" >"$work/nobody-skips.txt"
only_nobody=0
while IFS= read -r line; do
    if grep -qxF "$line" "$work/root-skips.txt"; then
        echo "    $line"
    else
        echo "  * $line"
        only_nobody=$((only_nobody + 1))
    fi
done <"$work/nobody-skips.txt"
echo "$(wc -l <"$work/nobody-skips.txt") skipped claim blocks as $user, $only_nobody of them only as $user"
# The other way round: claims that hold as nobody but skip as root (the other branch).
mapfile -t only_root < <(comm -23 "$work/root-skips.txt" "$work/nobody-skips.txt")
if [ ${#only_root[@]} -gt 0 ]; then
    echo "skipped as root but checked as $user:"
    printf '    %s\n' "${only_root[@]}"
fi
mkdir -p "$target"
cp "$work/nobody-skips.txt" "$target/unprivileged-skips.txt"

if [ "$nobody_failed" -gt 0 ]; then
    echo "unprivileged: $nobody_failed test binaries FAILED as $user"
    mkdir -p "$target/unprivileged"
    cp "$work/nobody"/* "$target/unprivileged/"
    echo "their output: $target/unprivileged/"
    exit 1
fi
echo "unprivileged: every test binary passed as $user (${#exes[@]} binaries)"
