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

/// Every `period`, hands the heap's free pages back to the kernel (`malloc_trim`): the
/// tuning above keeps freed blocks on the heap so that inference runs do not page-fault,
/// but what fragmentation leaves free between them stays resident otherwise (about
/// 20 MiB with four 720p streams). Pages in use again are faulted back once per period,
/// not once per run.
pub async fn trim_periodically(period: std::time::Duration) {
    let mut tick = tokio::time::interval(period);
    tick.tick().await; // the first tick is immediate
    loop {
        tick.tick().await;
        trim();
    }
}

/// Returns the free pages of every malloc arena to the kernel.
pub fn trim() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory; it is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}
