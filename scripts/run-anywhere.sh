#!/usr/bin/env bash
# A pagelab binary run away from any source tree, without PAGELAB_LESSONS: it must list
# every lesson of this tree (they are built into it) and check them all with none failed.
# usage: run-anywhere.sh BINARY...
set -euo pipefail
cd "$(dirname "$0")/.."
lessons=$(find lessons -maxdepth 1 -name '[0-9][0-9]-*.md' | wc -l)
elsewhere=$(mktemp -d)
trap 'rm -rf "$elsewhere"' EXIT
for binary in "$@"; do
    binary=$(realpath "$binary")
    (
        cd "$elsewhere"
        listed=$(env -u PAGELAB_LESSONS "$binary" list | wc -l)
        if [ "$listed" -ne "$lessons" ]; then
            echo "run-anywhere: $binary lists $listed lessons from $elsewhere, the tree has $lessons"
            exit 1
        fi
        rc=0
        env -u PAGELAB_LESSONS "$binary" check --format json > result.json || rc=$?
        python3 - result.json "$lessons" "$binary" "$rc" <<'PY'
import json, sys
path, lessons, binary, rc = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
result = json.load(open(path))
totals, checked = result["totals"], len(result["lessons"])
machine = result["machine"]
print(f"run-anywhere: {binary} ({machine['arch']}, {machine['libc']}): {checked} lessons, "
      f"{totals['held']} held, {totals['failed']} failed, {totals['skipped']} skipped, "
      f"lessons {result['lessons_digest'][:19]}")
if checked != lessons or totals["failed"] != 0 or rc != 0:
    sys.exit(f"run-anywhere: expected {lessons} lessons, none failed and exit status 0 (got {rc})")
PY
    )
done
