# pagelab's common tasks. `just` alone lists them.

# This list
default:
    @just --list

# The overview: this kernel and each lesson's status on it
overview:
    cargo run --quiet

# Every lesson's claims, checked on this kernel (text or json)
check format="text":
    cargo run --quiet -- check --format {{format}}

# A lesson step by step (pass --no-pause for scripts)
run lesson *flags:
    cargo run --quiet -- run {{lesson}} {{flags}}

# A lesson, rendered for the terminal
show lesson:
    cargo run --quiet -- show {{lesson}}

# The test suite, as students and CI run it
test:
    cargo test

# The test suite under nextest (one process per test)
nextest:
    cargo nextest run

# Formatting and lints, as CI enforces them
lint:
    # The exercise checks' modules are declared by the `lessons!` macro, where cargo fmt
    # does not look for files: name them.
    cargo fmt --check -- src/homework/checks/*.rs
    cargo clippy --all-targets -- -D warnings

# Benchmarks: smaps lookup by address, and checking all lessons
bench:
    cargo bench

# The parser property tests (the scan's own in src/ too) with CASES each (`cargo test`: 64)
fuzz cases="32768":
    PROPTEST_CASES={{cases}} cargo test --release --lib --test parser_properties

# Rerun the current exercise on every save
watch:
    cargo run --quiet -- watch

# FILE defaults to <target dir>/results/host.json; LABEL names the column in `pagelab matrix`.

# This machine's result file: every claim and exercise, its description, the lessons' digest
result file="" label="host":
    #!/usr/bin/env bash
    set -euo pipefail
    file={{quote(file)}}
    if [ -z "$file" ]; then file="$(bash scripts/target-dir.sh)/results/host.json"; fi
    mkdir -p "$(dirname "$file")"
    rc=0
    cargo run --quiet --release -- check --format json --exercises --label {{quote(label)}} > "$file" || rc=$?
    echo "result file: $file"
    exit $rc

# Pass `--format markdown` or `--format json` for the other renderings.

# The claim × configuration table of result files or directories; exit 1 if one failed
matrix +args:
    cargo run --quiet --release -- matrix {{args}}

# Without FILES: `just result`'s file and `just kernels`' <target dir>/kernel-matrix/results/.

# Result files merged into one table: printed, and as markdown in <target dir>/merged-matrix.md
[positional-arguments]
merge *files:
    #!/usr/bin/env bash
    set -euo pipefail
    target=$(bash scripts/target-dir.sh)
    files=("$@")
    if [ ${#files[@]} -eq 0 ]; then files=("$target/results/host.json" "$target/kernel-matrix/results"); fi
    cargo build --quiet --release
    started=$EPOCHREALTIME
    rc=0
    "$target/release/pagelab" matrix "${files[@]}" || rc=$?
    # Exit 1 means a column failed, which the text rendering above has said; above 1, the
    # markdown could not be written.
    md=0
    "$target/release/pagelab" matrix --format markdown "${files[@]}" > "$target/merged-matrix.md" 2>/dev/null || md=$?
    if [ "$md" -gt 1 ]; then echo "merge: the markdown rendering failed (exit $md)"; exit "$md"; fi
    seconds=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
    echo "merged: ${files[*]} -> $target/merged-matrix.md (both renderings: ${seconds}s)"
    exit $rc

# Installs what it lacks (as root): qemu-system-x86/-arm from backports, the aarch64 cross
# linker, cpio, xz (modules), Rust targets. Kernels and busybox come through a private apt state; all is
# cached under cargo's target dir (kernel-matrix/), the report is <target dir>/kernel-matrix.md.
# Words select: `just kernels arm64`, `just kernels 16k never`, `just kernels 7.2`, `musl`.

# Every lesson on Debian kernels under QEMU, in each configuration
kernels *only:
    cargo run --quiet --release -- kernels {{only}}

# The mdBook the book is made and tested with (src/book/mod.rs names it to users too).
mdbook_version := "0.5.4"

# mdBook, which makes the site of `pagelab book`'s source: installed as a program unless there (no student's build compiles it)
mdbook:
    #!/usr/bin/env bash
    set -euo pipefail
    if ! mdbook --version 2>/dev/null | grep -q "v{{mdbook_version}}"; then
        cargo install mdbook --version {{mdbook_version}} --locked --no-default-features --features search
    fi
    mdbook --version

# Every claim with its verdicts, the residency pictures of each step. Installs mdBook if
# missing. Extra arguments go to `pagelab book` (for instance `--results target/results/`).

# The course as a website in OUT (source) and OUT/html (the site); OUT defaults to <target dir>/book
book out="" *flags: mdbook
    #!/usr/bin/env bash
    set -euo pipefail
    out={{quote(out)}}
    if [ -z "$out" ]; then out="$(bash scripts/target-dir.sh)/book"; fi
    cargo run --quiet --release -- book "$out" {{flags}}

# BEGIN AUTHORS
# The authors' and CI's recipes: `pagelab handout` leaves them out of a student's crate,
# which has no scripts/ (but scripts/target-dir.sh) and no .ci/.

# Installs cargo-nextest and stress-ng if missing; failing runs' output goes to <target dir>/soak/.

# The suite many times (cargo test, nextest, cargo test under stress-ng), then leftovers and settings
soak tests="200" nextests="50" loaded="50":
    bash scripts/soak.sh {{tests}} {{nextests}} {{loaded}}

# The whole suite as nobody with RLIMIT_MEMLOCK of 64 KiB (as root); lists what skips and why
unprivileged:
    bash scripts/unprivileged.sh

# Speed targets in one run: clean build, warm cargo test, pagelab check, lookup vs procfs
speed:
    bash scripts/speed.sh

# Fetches linux-source's tools/testing/kunit into <target dir>/ci-cache once, and installs
# junitparser if missing.

# KTAP and JUnit read by their own consumers (the kernel's kunit.py, junitparser) agree with the JSON
formats:
    #!/usr/bin/env bash
    set -euo pipefail
    python3 -c 'import junitparser' 2>/dev/null || pip install --quiet junitparser
    kunit=$(bash scripts/kunit-tool.sh)
    cargo build --quiet
    python3 scripts/check_formats.py "$kunit" "$(bash scripts/target-dir.sh)/debug/pagelab"

# A student copy of the crate: exercises stubbed, solutions left out
handout dir:
    cargo run --quiet -- handout {{dir}}

# The authors' check: exercises, ids, tests, and a handout that fails until solved
dev-check *flags:
    cargo run --quiet -- dev check {{flags}}

# What CI runs
ci:
    bash .ci/run

# The kernel matrix's own builds (profile matrix-guest), which `just kernels` then boots;
# installs the aarch64 cross linker if missing (as root). This machine's architecture's
# binaries then check every lesson away from the source (scripts/run-anywhere.sh).

# Static release binaries for x86-64 and aarch64, glibc and musl, with SHA256SUMS, in <target dir>/dist
dist:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo run --quiet --release -- dev dist
    dist="$(bash scripts/target-dir.sh)/dist"
    bash scripts/run-anywhere.sh "$dist"/pagelab-"$(uname -m)"-unknown-linux-*

# An installed pagelab, its source copy removed, lists and checks every lesson elsewhere
install-check:
    bash scripts/install-check.sh

# `pagelab book` with 25 result files (copies of this host's) must take at most 3 s beyond the checks
book-speed:
    bash scripts/book-speed.sh

# END AUTHORS
