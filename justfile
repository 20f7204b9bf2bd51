# pagelab's common tasks. `just` alone lists them.

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
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings

# Benchmarks: smaps lookup by address, and checking all lessons
bench:
    cargo bench

# What CI runs
ci:
    bash .ci/run
