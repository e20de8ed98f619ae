//! Figures of this process read from /proc.

/// The process's resident memory in KiB (`VmRSS` of /proc/self/status).
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Figures of this process from /proc.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessStats {
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// Virtual memory size, bytes.
    pub virtual_bytes: u64,
    /// User + system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Threads.
    pub threads: u64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// Start time, seconds since the Unix epoch (None where /proc/stat is hidden,
    /// as under the shipped unit's `ProcSubset=pid`).
    pub start_time_s: Option<f64>,
}

/// Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on every Linux ABI).
const USER_HZ: f64 = 100.0;

/// Reads this process's figures from /proc (None off Linux).
pub fn process_stats() -> Option<ProcessStats> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        let n = line[key.len()..].trim().trim_end_matches("kB").trim();
        n.parse::<u64>().ok().map(|k| k * 1024)
    };
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // f[0] is field 3 (state); utime = 14, stime = 15, num_threads = 20, starttime = 22.
    let field = |n: usize| -> Option<f64> { f.get(n - 3)?.parse().ok() };
    let cpu = (field(14)? + field(15)?) / USER_HZ;
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<f64>().ok())
    });
    let open_fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    Some(ProcessStats {
        rss_bytes: kb("VmRSS:").unwrap_or(0),
        virtual_bytes: kb("VmSize:").unwrap_or(0),
        cpu_seconds: cpu,
        threads: field(20)? as u64,
        open_fds,
        start_time_s: boot.and_then(|b| Some(b + field(22)? / USER_HZ)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_stats_are_plausible() {
        let p = process_stats().expect("/proc is readable");
        assert!(p.rss_bytes > 1 << 20, "{p:?}");
        assert!(p.virtual_bytes >= p.rss_bytes, "{p:?}");
        assert!(p.threads >= 1 && p.open_fds >= 3, "{p:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = p.start_time_s.expect("/proc/stat is readable here");
        assert!(start <= now + 1.0 && start > now - 3600.0, "{p:?}");
    }
}
