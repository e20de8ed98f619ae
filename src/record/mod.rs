//! Evidence: on a label-change event, the seconds around it as an MP4 clip
//! (the camera's own H.264/H.265 packets, remuxed; sources without them are
//! re-encoded at a low rate) and the event frame as a JPEG, with retention by
//! age and size and a free-space floor.
//!
//! [`start`] installs the recording of a daemon's config; pipelines call [`tap`]
//! as they are built, and the inference worker calls [`on_event`].

mod encode;
mod files;
mod retention;
mod ring;
mod stream;
mod tap;
mod writer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use gstreamer as gst;

use crate::config::{Config, RecordConfig};
use stream::StreamRecorder;

/// The recording of the running daemon (one per process).
struct Recording {
    config: RecordConfig,
    /// Names of the streams that record.
    streams: Vec<String>,
    /// Why nothing can be recorded (the directory is not writable), if so.
    broken: Option<String>,
    /// The recorders made so far, by stream.
    recorders: Mutex<HashMap<String, Arc<StreamRecorder>>>,
    /// Whether recording is paused for lack of free space.
    paused: Mutex<bool>,
    /// Start of the URLs of clips served over HTTP (`[http]` on), else None.
    base_url: Option<String>,
}

static ACTIVE: RwLock<Option<Arc<Recording>>> = RwLock::new(None);

/// How often retention runs besides after each clip (so that ages apply on a quiet camera).
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

fn active() -> Option<Arc<Recording>> {
    ACTIVE.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Installs `config`'s recording (none without `[record]`): creates and checks the
/// directory and removes clips a crash left unfinished. Returns the error that
/// keeps anything from being recorded (the streams run regardless).
pub fn start(config: &Config) -> Option<String> {
    install(config, true)
}

/// Installs `config`'s recording in place of the running one (a reload): the clips
/// being written end now with what they have; the streams that record must restart
/// (their pipelines feed the recorders of the recording they were built with).
pub fn reload(config: &Config) -> Option<String> {
    if let Some(old) = active() {
        let recorders = old.recorders.lock().unwrap_or_else(|p| p.into_inner());
        recorders.values().for_each(|r| r.end_now());
    }
    install(config, false)
}

fn install(config: &Config, at_start: bool) -> Option<String> {
    let Some(rc) = config.record.clone() else {
        *ACTIVE.write().unwrap_or_else(|p| p.into_inner()) = None;
        return None;
    };
    let broken = files::check_writable(&rc.dir).err().map(|e| {
        format!(
            "recording off: clip directory {} is not writable: {e}",
            rc.dir.display()
        )
    });
    if broken.is_none() {
        // At a reload, .part files may be clips still being written.
        let n = if at_start {
            files::remove_parts(&rc.dir)
        } else {
            0
        };
        if n > 0 {
            tracing::info!("removed {n} unfinished clip(s) under {}", rc.dir.display());
        }
        let deleted = retention::apply(&rc.dir, rc.max_age(), rc.max_bytes);
        crate::publish::metrics::global().record_deleted(deleted);
        if let Some(low) = files::free_bytes(&rc.dir)
            .ok()
            .and_then(|f| low_space(f, &rc))
        {
            tracing::warn!("{low}: events are not recorded until there is room");
        }
    }
    let streams = config
        .streams
        .iter()
        .filter(|s| s.record)
        .map(|s| s.name.clone())
        .collect();
    let base_url = config.http.as_ref().map(|h| base_url(&rc.url, h.listen));
    let recording = Recording {
        base_url,
        config: rc,
        streams,
        broken: broken.clone(),
        recorders: Mutex::new(HashMap::new()),
        paused: Mutex::new(false),
    };
    let recording = Arc::new(recording);
    if broken.is_none() {
        retention_timer(&recording, RETENTION_EVERY);
    }
    *ACTIVE.write().unwrap_or_else(|p| p.into_inner()) = Some(recording);
    broken
}

/// Applies `rec`'s retention every `every` on a thread of its own, until `rec` is
/// dropped (replaced at a reload, or the daemon ends).
fn retention_timer(
    rec: &Arc<Recording>,
    every: std::time::Duration,
) -> Option<std::thread::JoinHandle<()>> {
    let weak = Arc::downgrade(rec);
    let spawned = std::thread::Builder::new()
        .name("record-retention".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            let Some(rec) = weak.upgrade() else {
                return;
            };
            let c = &rec.config;
            let deleted = retention::apply(&c.dir, c.max_age(), c.max_bytes);
            crate::publish::metrics::global().record_deleted(deleted);
        });
    spawned
        .map_err(|e| tracing::warn!("no retention timer (retention runs after each clip): {e}"))
        .ok()
}

/// The warning for `record.labels` the model (of `labels`) does not have, if any.
pub fn unknown_labels(config: &Config, labels: &[String]) -> Option<String> {
    let rc = config.record.as_ref()?;
    let unknown: Vec<&String> = rc.labels.iter().filter(|l| !labels.contains(l)).collect();
    (!unknown.is_empty()).then(|| {
        format!(
            "record.labels names {unknown:?}, which the model does not have (its labels: {labels:?}); no event into them can be recorded"
        )
    })
}

/// The start of clip URLs: `url` if set, else `http://<listen>` (this host's name for
/// an unspecified address).
fn base_url(url: &str, listen: std::net::SocketAddr) -> String {
    if !url.is_empty() {
        return url.to_string();
    }
    if listen.ip().is_unspecified() {
        return format!("http://{}:{}", crate::config::hostname(), listen.port());
    }
    format!("http://{listen}")
}

impl Recording {
    /// The URL `path` (a file under the clip directory) is served at, with `[http]`.
    fn url(&self, path: &std::path::Path) -> Option<String> {
        let rel = path.strip_prefix(&self.config.dir).ok()?;
        let base = self.base_url.as_ref()?;
        Some(format!("{base}/clips/{}", rel.to_str()?))
    }

    fn recorder(&self, stream: &str) -> Option<Arc<StreamRecorder>> {
        if self.broken.is_some() || !self.streams.iter().any(|s| s == stream) {
            return None;
        }
        let mut map = self.recorders.lock().unwrap_or_else(|p| p.into_inner());
        let r = map
            .entry(stream.to_string())
            .or_insert_with(|| StreamRecorder::new(stream, self.config.clone()));
        Some(r.clone())
    }

    /// Whether free space is below the floor now, and the notice if that changed.
    fn check_space(&self) -> (bool, Option<String>) {
        let free = files::free_bytes(&self.config.dir).unwrap_or(u64::MAX);
        let mut paused = self.paused.lock().unwrap_or_else(|p| p.into_inner());
        let notice = pause_change(&mut paused, free, &self.config);
        (*paused, notice)
    }
}

/// Updates `paused` for `free` bytes against `config`'s floor; the notice for a
/// `status` message when it changes.
fn pause_change(paused: &mut bool, free: u64, config: &RecordConfig) -> Option<String> {
    let low = low_space(free, config);
    if low.is_some() == *paused {
        return None;
    }
    *paused = low.is_some();
    Some(match low {
        Some(low) => format!("recording paused: {low}"),
        None => "recording resumed: free space is above the floor again".into(),
    })
}

/// What is wrong with `free` bytes under `config`'s directory, if below its floor.
fn low_space(free: u64, config: &RecordConfig) -> Option<String> {
    (free < config.min_free_bytes).then(|| {
        format!(
            "less than {} bytes free under {} ({free} free, below record.min_free_bytes)",
            config.min_free_bytes,
            config.dir.display()
        )
    })
}

/// Feeds `stream`'s recorder (if it records) from `pipeline`'s compressed video,
/// or re-encodes the decoded frames that reach `raw` when it has none.
pub fn tap(pipeline: &gst::Pipeline, raw: &gst::Pad, stream: &str) {
    if let Some(r) = active().and_then(|a| a.recorder(stream)) {
        tap::tap(pipeline, raw, r);
    }
}

/// Ends the clips being written with what they have and waits (at most `limit`)
/// for them to be complete on disk: a daemon that stops keeps its last clips.
pub fn finish(limit: std::time::Duration) {
    if let Some(rec) = active() {
        let recorders = rec.recorders.lock().unwrap_or_else(|p| p.into_inner());
        for r in recorders.values() {
            r.end_now();
        }
    }
    let end = std::time::Instant::now() + limit;
    while stream::WRITING.load(std::sync::atomic::Ordering::SeqCst) > 0 {
        if std::time::Instant::now() >= end {
            tracing::warn!("clips still being written at exit are lost (.part files)");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The finished clip or snapshot at `rel` (`<stream>/<day>/<file>.mp4|.jpg` under the
/// clip directory) and its content type; None for anything else (no `..`, no hidden
/// or partial files, nothing outside the directory).
pub fn served_file(rel: &str) -> Option<(PathBuf, &'static str)> {
    let parts: Vec<&str> = rel.split('/').collect();
    let safe = |p: &&str| {
        !p.is_empty()
            && !p.starts_with('.')
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    };
    if parts.len() != 3 || !parts.iter().all(safe) {
        return None;
    }
    let kind = match parts[2].rsplit_once('.')?.1 {
        "mp4" => "video/mp4",
        "jpg" => "image/jpeg",
        _ => return None,
    };
    let rec = active()?;
    Some((rec.config.dir.join(rel), kind))
}

/// What an event did to the recording.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The clip's final path, if one is being written.
    pub clip: Option<PathBuf>,
    /// The snapshot's path, if written.
    pub snapshot: Option<PathBuf>,
    /// The clip's URL, with `[http]`.
    pub clip_url: Option<String>,
    /// The snapshot's URL, with `[http]`.
    pub snapshot_url: Option<String>,
    /// A change worth a `status` message (paused or resumed for free space).
    pub notice: Option<String>,
}

/// An event into `label` on `stream`, with `frame` the frame the model saw at it.
pub fn on_event(stream: &str, label: &str, frame: Option<&gst::Sample>) -> Outcome {
    let Some(rec) = active() else {
        return Outcome::default();
    };
    if !rec.config.wants(label) {
        return Outcome::default();
    }
    let Some(recorder) = rec.recorder(stream) else {
        return Outcome::default();
    };
    let (low, notice) = rec.check_space();
    match &notice {
        Some(n) if low => tracing::warn!(stream, "{n}"),
        Some(n) => tracing::info!(stream, "{n}"),
        None => {}
    }
    let mut out = Outcome {
        notice,
        ..Outcome::default()
    };
    if low {
        crate::publish::metrics::global().record_skipped(stream);
        return out;
    }
    match recorder.trigger(label, SystemTime::now()) {
        Ok(paths) => {
            out.snapshot = frame.and_then(|f| snapshot(stream, f, &paths.snapshot));
            out.snapshot_url = out.snapshot.as_deref().and_then(|p| rec.url(p));
            out.clip_url = rec.url(&paths.clip);
            out.clip = Some(paths.clip);
        }
        Err(e) if recorder.first_failure() => {
            tracing::warn!(stream, "no clip of this event: {e}")
        }
        Err(e) => tracing::debug!(stream, "no clip of this event: {e}"),
    }
    out
}

/// Writes `frame` as a JPEG at `path` (unless one is there: an extended clip keeps the first).
fn snapshot(stream: &str, frame: &gst::Sample, path: &std::path::Path) -> Option<PathBuf> {
    if path.exists() {
        return Some(path.to_path_buf());
    }
    let written = crate::publish::snapshot::encode(frame)
        .and_then(|jpeg| std::fs::write(path, jpeg).map_err(|e| e.to_string()));
    match written {
        Ok(()) => Some(path.to_path_buf()),
        Err(e) => {
            tracing::warn!(stream, "no snapshot of this event: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_pauses_below_the_floor_and_resumes_by_itself() {
        let config = RecordConfig {
            min_free_bytes: 1000,
            ..RecordConfig::default()
        };
        let mut paused = false;
        assert_eq!(pause_change(&mut paused, 5000, &config), None);
        let n = pause_change(&mut paused, 999, &config).unwrap();
        assert!(
            paused
                && n.starts_with("recording paused: less than 1000 bytes free")
                && n.contains("(999 free, below record.min_free_bytes)"),
            "{n}"
        );
        assert_eq!(pause_change(&mut paused, 10, &config), None, "said once");
        let n = pause_change(&mut paused, 1000, &config).unwrap();
        assert!(!paused && n.starts_with("recording resumed"), "{n}");
    }

    #[test]
    fn record_labels_the_model_lacks_are_named() {
        let text = |labels: &str| {
            format!("[model]\npath = \"m.onnx\"\n[[stream]]\nname = \"a\"\nuri = \"test:ball\"\n\n[record]\nlabels = {labels}\n")
        };
        let parse = |t: &str| Config::parse(t, std::path::Path::new("/etc/a.toml")).unwrap();
        let model = ["walk".to_string(), "fall".to_string()];
        let w = unknown_labels(&parse(&text("[\"fall\", \"Fall\", \"run\"]")), &model).unwrap();
        assert!(w.starts_with("record.labels names [\"Fall\", \"run\"], which the model does not have (its labels: [\"walk\", \"fall\"])"), "{w}");
        assert_eq!(unknown_labels(&parse(&text("[\"fall\"]")), &model), None);
        assert_eq!(unknown_labels(&parse(&text("[]")), &model), None);
    }

    #[test]
    fn retention_runs_on_a_timer_until_the_recording_goes() {
        let dir = tempfile::tempdir().unwrap();
        let day = dir.path().join("a/2020-01-01");
        std::fs::create_dir_all(&day).unwrap();
        let old = day.join("00-00-00.000_x.mp4");
        let file = std::fs::File::create(&old).unwrap();
        let long_ago = SystemTime::now() - std::time::Duration::from_secs(3 * 86_400);
        file.set_modified(long_ago).unwrap();
        let fresh = dir.path().join("a/fresh.jpg");
        std::fs::write(&fresh, b"x").unwrap();
        let rec = Arc::new(Recording {
            config: RecordConfig {
                dir: dir.path().to_path_buf(),
                max_age_days: 1.0,
                ..RecordConfig::default()
            },
            streams: vec![],
            broken: None,
            recorders: Mutex::new(HashMap::new()),
            paused: Mutex::new(false),
            base_url: None,
        });
        let timer = retention_timer(&rec, std::time::Duration::from_millis(20)).unwrap();
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while old.exists() && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(
            !old.exists() && !day.exists(),
            "the old clip goes without a new one"
        );
        assert!(fresh.exists());
        drop(rec);
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !timer.is_finished() && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(timer.is_finished(), "the timer ends with its recording");
    }

    #[test]
    fn clip_urls_start_at_the_configured_url_or_the_listen_address() {
        let at = |s: &str| s.parse().unwrap();
        assert_eq!(base_url("", at("127.0.0.1:9464")), "http://127.0.0.1:9464");
        assert_eq!(base_url("", at("[::1]:80")), "http://[::1]:80");
        let host = crate::config::hostname();
        assert_eq!(
            base_url("", at("0.0.0.0:9464")),
            format!("http://{host}:9464")
        );
        assert_eq!(base_url("https://box", at("0.0.0.0:1")), "https://box");
    }

    #[test]
    fn only_finished_clips_under_the_directory_are_served() {
        // A directory below a file: not writable, even for root.
        let file = tempfile::NamedTempFile::new().unwrap();
        let dir = file.path().join("clips");
        let text = format!(
            "[model]\npath = \"m.onnx\"\n[[stream]]\nname = \"a\"\nuri = \"test:ball\"\n\n[record]\ndir = {:?}\n",
            dir.display().to_string()
        );
        let config = Config::parse(&text, std::path::Path::new("/etc/a.toml")).unwrap();
        assert!(start(&config).is_some(), "not writable");
        let (path, kind) = served_file("a/2026-01-01/10-00-00.000_x.mp4").unwrap();
        assert_eq!(path, dir.join("a/2026-01-01/10-00-00.000_x.mp4"));
        assert_eq!(kind, "video/mp4");
        assert_eq!(served_file("a/d/x.jpg").unwrap().1, "image/jpeg");
        for bad in [
            "../etc/passwd.mp4",
            "a/../x.mp4",
            "a/d/x.mp4.part",
            "a/d/.x.mp4",
            "a/x.mp4",
            "a/d/e/x.mp4",
            "a/d/x.txt",
            "a//x.mp4",
            "a/d/x%2F.mp4",
        ] {
            assert_eq!(served_file(bad), None, "{bad}");
        }
    }
}
