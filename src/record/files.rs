//! Where clips go: `<dir>/<stream>/<YYYY-MM-DD>/<HH-MM-SS>_<label>.mp4` (and `.jpg`
//! beside it), written as `….mp4.part` first; leftovers of a crash are removed at start.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Suffix of a clip being written.
pub const PART: &str = "part";

/// The paths of one clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipPaths {
    /// The finished MP4.
    pub clip: PathBuf,
    /// The MP4 while it is written.
    pub part: PathBuf,
    /// The JPEG snapshot of the event frame.
    pub snapshot: PathBuf,
}

/// `label` with anything but `[A-Za-z0-9_.-]` replaced by `-` (file-name safe).
fn safe(label: &str) -> String {
    let s: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    s.trim_start_matches('.').chars().take(64).collect()
}

/// The paths of `stream`'s clip of an event into `label` at `at` (UTC), unique in its folder.
pub fn clip_paths(dir: &Path, stream: &str, label: &str, at: SystemTime) -> ClipPaths {
    let t = time::OffsetDateTime::from(at);
    let day = format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day());
    let folder = dir.join(stream).join(day);
    let base = format!(
        "{:02}-{:02}-{:02}.{:03}_{}",
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond(),
        safe(label)
    );
    ClipPaths {
        clip: folder.join(format!("{base}.mp4")),
        part: folder.join(format!("{base}.mp4.{PART}")),
        snapshot: folder.join(format!("{base}.jpg")),
    }
}

/// Creates `dir` if needed and checks that files can be written in it.
pub fn check_writable(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".actiond-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// Removes every `*.part` file under `dir` (clips a crash left unfinished); returns how many.
pub fn remove_parts(dir: &Path) -> usize {
    walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == PART))
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

/// Every file under `dir`, two folder levels deep (`<stream>/<day>/<file>`).
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for stream in entries(dir) {
        for day in entries(&stream) {
            out.extend(entries(&day).into_iter().filter(|p| p.is_file()));
        }
    }
    out
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Bytes available to an unprivileged user on the file system of `dir`.
pub fn free_bytes(dir: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid NUL-terminated path; `st` is written by statvfs.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn paths_by_stream_and_day() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let p = clip_paths(Path::new("/c"), "cam-1", "fall down/x", at);
        assert_eq!(
            p.clip,
            Path::new("/c/cam-1/2023-11-14/22-13-20.123_fall-down-x.mp4")
        );
        assert_eq!(
            p.part.to_string_lossy(),
            format!("{}.part", p.clip.display())
        );
        assert_eq!(p.snapshot.extension().unwrap(), "jpg");
    }

    #[test]
    fn parts_are_removed_and_free_space_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("s/2024-01-01");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(day.join("a.mp4.part"), b"x").unwrap();
        std::fs::write(day.join("b.mp4"), b"x").unwrap();
        assert_eq!(remove_parts(dir.path()), 1);
        assert_eq!(walk(dir.path()), vec![day.join("b.mp4")]);
        check_writable(&dir.path().join("new")).unwrap();
        assert!(free_bytes(dir.path()).unwrap() > 0);
    }
}
