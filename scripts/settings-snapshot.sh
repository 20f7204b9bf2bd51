#!/usr/bin/env bash
# Prints every readable memory setting, one `path: value` line each, sorted: the files under
# /proc/sys/vm and /sys/kernel/mm/transparent_hugepage (recursively). Counters that change
# on their own are left out, as in tests/settings_untouched.rs: stat_refresh (reading it is
# an action), khugepaged's pages_collapsed and full_scans, and the per-size stats/.
# Used by `just soak` to diff the settings before and after its runs. Only reads.
set -euo pipefail
for root in /proc/sys/vm /sys/kernel/mm/transparent_hugepage; do
    [ -d "$root" ] || continue
    find "$root" -type f \
        ! -name stat_refresh \
        ! -path '*/khugepaged/pages_collapsed' ! -path '*/khugepaged/full_scans' \
        ! -path '*/stats/*' -print0
done | sort -z | while IFS= read -r -d '' file; do
    # Write-only and root-only files fail to read: not observable settings, skipped alike
    # before and after.
    if value=$( { tr '\n' ' ' <"$file"; } 2>/dev/null ); then
        printf '%s: %s\n' "$file" "${value% }"
    fi
done
