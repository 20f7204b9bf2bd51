//! Counters of `/proc/vmstat` that a measurement needs to know it was not disturbed.

/// Pages the kernel has migrated since boot (`pgmigrate_success`): compaction, NUMA
/// balancing, memory offlining. `None` where the kernel has no page migration (or the file
/// cannot be read): then nothing can have moved.
pub fn pages_migrated() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/vmstat").ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("pgmigrate_success "))
        .and_then(|value| value.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_kernel_counts_migrations_or_has_none() {
        let has_migration = std::fs::read_to_string("/proc/vmstat")
            .is_ok_and(|text| text.lines().any(|l| l.starts_with("pgmigrate_success ")));
        assert_eq!(super::pages_migrated().is_some(), has_migration);
    }
}
