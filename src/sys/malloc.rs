//! glibc malloc tuning for the daemon's workload.

/// Tunes glibc's malloc for this workload, unless the environment does
/// (`MALLOC_ARENA_MAX`, `GLIBC_TUNABLES`): two arenas (one per streaming thread kept
/// tens of MiB of freed memory), and blocks up to 32 MiB served from the heap and kept
/// there (up to 128 MiB free) instead of mapped and unmapped around every inference
/// run, which page-faulted a batch of 4 to two-thirds of its speed. Call before any
/// thread starts.
pub fn tune_malloc() {
    let set_by_user = ["MALLOC_ARENA_MAX", "GLIBC_TUNABLES"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    #[cfg(target_env = "gnu")]
    if !set_by_user {
        // SAFETY: mallopt only changes allocator parameters; no thread runs yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
        }
    }
}
