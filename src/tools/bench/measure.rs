//! What the benchmark reads about a process: CPU time, peak memory, and latency
//! percentiles.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

/// User + system CPU seconds of process `pid` so far (all its threads), from `/proc`.
pub fn process_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after `state`.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime + stime) / tick.max(1.0))
}

/// User + system CPU seconds of this process so far (all threads).
pub fn self_cpu_s() -> f64 {
    cpu_s(&usage(libc::RUSAGE_SELF))
}

/// User + system CPU seconds of this process's finished (waited-for) children.
pub fn children_cpu_s() -> f64 {
    cpu_s(&usage(libc::RUSAGE_CHILDREN))
}

/// Peak resident memory of the largest finished child, MiB.
pub fn children_peak_rss_mib() -> f64 {
    usage(libc::RUSAGE_CHILDREN).ru_maxrss as f64 / 1024.0
}

fn usage(who: libc::c_int) -> libc::rusage {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid rusage to write into.
    unsafe { libc::getrusage(who, &mut u) };
    u
}

fn cpu_s(u: &libc::rusage) -> f64 {
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Peak resident memory (`VmHWM`) of process `pid` in MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The `q` quantile (0..=1) of `values`, nearest rank; `None` when empty.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = (q * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

/// GET `path` from an HTTP/1.1 server on `addr`; returns the body.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    match text.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_string()),
        _ => Err(std::io::Error::other(format!(
            "unexpected reply to GET {path}: {}",
            text.lines().next().unwrap_or("")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&mut v, 0.5), Some(50.0));
        assert_eq!(quantile(&mut v, 0.99), Some(99.0));
        assert_eq!(quantile(&mut v, 1.0), Some(100.0));
        assert_eq!(quantile(&mut [3.0], 0.99), Some(3.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }

    #[test]
    fn own_cpu_and_memory_are_readable() {
        let pid = std::process::id();
        let before = process_cpu_s(pid).unwrap();
        // Spin until /proc shows 0.1 s more CPU (a loaded machine may give this
        // thread little of the wall time), or fail after 30 s of wall time.
        let t = std::time::Instant::now();
        let mut x = 0u64;
        let mut after = before;
        while after - before <= 0.1 && t.elapsed() < Duration::from_secs(30) {
            for _ in 0..1_000_000 {
                x = x.wrapping_mul(31).wrapping_add(7);
            }
            after = process_cpu_s(pid).unwrap();
        }
        std::hint::black_box(x);
        assert!(after - before > 0.1, "{before} → {after}");
        assert!(self_cpu_s() >= after - 0.05);
        assert!(peak_rss_mib(pid).unwrap() > 1.0);
    }
}
