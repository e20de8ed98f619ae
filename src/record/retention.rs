//! Retention: clips and snapshots older than the maximum age go, then the oldest
//! until the total fits the maximum size.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::files;

/// One kept file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Its path.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// When it was last written.
    pub modified: SystemTime,
}

/// The files to delete, oldest first: those older than `max_age` at `now`, then the
/// oldest until the rest total at most `max_bytes`.
pub fn plan(mut kept: Vec<Kept>, now: SystemTime, max_age: Duration, max_bytes: u64) -> Vec<Kept> {
    kept.sort_by_key(|k| k.modified);
    let mut total: u64 = kept.iter().map(|k| k.bytes).sum();
    let mut doomed = Vec::new();
    for k in kept {
        let age = now.duration_since(k.modified).unwrap_or_default();
        if age > max_age || total > max_bytes {
            total -= k.bytes;
            doomed.push(k);
        }
    }
    doomed
}

/// The finished clips and snapshots under `dir` (not `.part` files).
pub fn scan(dir: &Path) -> Vec<Kept> {
    files::walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mp4" || e == "jpg"))
        .filter_map(|path| {
            let meta = std::fs::metadata(&path).ok()?;
            Some(Kept {
                bytes: meta.len(),
                modified: meta.modified().ok()?,
                path,
            })
        })
        .collect()
}

/// One retention pass at a time (the timer's and a clip writer's).
static PASS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Applies the retention to `dir`; returns the clips (MP4 files) deleted.
pub fn apply(dir: &Path, max_age: Duration, max_bytes: u64) -> u64 {
    let _pass = PASS.lock().unwrap_or_else(|p| p.into_inner());
    let mut clips = 0;
    for k in plan(scan(dir), SystemTime::now(), max_age, max_bytes) {
        match std::fs::remove_file(&k.path) {
            Ok(()) => {
                clips += u64::from(k.path.extension().is_some_and(|e| e == "mp4"));
                if let Some(day) = k.path.parent() {
                    let _ = std::fs::remove_dir(day); // only when empty
                }
            }
            Err(e) => tracing::warn!("retention: cannot delete {}: {e}", k.path.display()),
        }
    }
    clips
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(name: &str, bytes: u64, secs: u64) -> Kept {
        Kept {
            path: name.into(),
            bytes,
            modified: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    #[test]
    fn old_first_then_oldest_until_it_fits() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let files = vec![
            kept("c", 100, 900),
            kept("a", 100, 100),
            kept("b", 100, 800),
            kept("d", 100, 950),
        ];
        let names = |d: Vec<Kept>| d.into_iter().map(|k| k.path).collect::<Vec<_>>();
        // Age only: "a" is 900 s old.
        let d = plan(files.clone(), now, Duration::from_secs(500), 1000);
        assert_eq!(names(d), vec![PathBuf::from("a")]);
        // Size: 400 bytes to fit in 250: the two oldest go.
        let d = plan(files.clone(), now, Duration::from_secs(5000), 250);
        assert_eq!(names(d), vec![PathBuf::from("a"), PathBuf::from("b")]);
        // Nothing to do.
        assert!(plan(files, now, Duration::from_secs(5000), 400).is_empty());
    }
}
