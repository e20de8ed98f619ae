//! One stream's recorder: the ring of its encoded packets and the clip being
//! written, if any. Packets come from the stream's pipeline thread, triggers from
//! the inference worker; the clip is written on a thread of its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use gstreamer as gst;

use super::files::{self, ClipPaths};
use super::retention;
use super::ring::{Packet, Ring};
use super::writer::Writer;
use crate::config::RecordConfig;
use crate::publish::metrics;

/// Most bytes a ring may hold, whatever the bitrate (about 60 s at 8 Mbit/s).
const MAX_RING_BYTES: usize = 64 << 20;
/// Longest clip: later events no longer extend it past this.
const MAX_CLIP: Duration = Duration::from_secs(300);
/// Packets waiting for the clip's writer thread, at most.
const QUEUE: usize = 4096;

/// Clip writer threads running, in the whole process.
pub(super) static WRITING: AtomicUsize = AtomicUsize::new(0);

/// Counts a writer thread while it lives.
struct Writing;

impl Writing {
    fn start() -> Self {
        WRITING.fetch_add(1, Ordering::SeqCst);
        Writing
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        WRITING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An encoded packet (a reference to the pipeline's buffer; nothing is copied).
#[derive(Clone)]
struct Pkt(gst::Buffer);

impl Packet for Pkt {
    fn bytes(&self) -> usize {
        self.0.size()
    }

    fn is_key(&self) -> bool {
        !self.0.flags().contains(gst::BufferFlags::DELTA_UNIT)
    }
}

/// Why no clip was started.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// No H.264/H.265 packet arrived yet (or the source has no compressed stream).
    #[error("no H.264 or H.265 packets from this source to record")]
    NoPackets,
    /// The clip's folder could not be made.
    #[error("cannot create {0}: {1}")]
    Folder(String, std::io::Error),
}

/// The clip being written.
struct Active {
    id: u64,
    tx: SyncSender<gst::Buffer>,
    started: Instant,
    until: Instant,
    paths: ClipPaths,
}

struct Inner {
    ring: Ring<Pkt>,
    caps: Option<gst::Caps>,
    clip: Option<Active>,
    next_id: u64,
}

/// One stream's recorder.
pub struct StreamRecorder {
    name: String,
    config: RecordConfig,
    inner: Mutex<Inner>,
    /// Whether an event could not be recorded yet (warned about once).
    failed: std::sync::atomic::AtomicBool,
}

impl StreamRecorder {
    /// A recorder for stream `name` with `config`.
    pub fn new(name: &str, config: RecordConfig) -> Arc<Self> {
        // One key-frame interval more than pre_s may be needed; the ring keeps that.
        let keep = Duration::from_secs_f64(config.pre_s);
        Arc::new(StreamRecorder {
            name: name.to_string(),
            config,
            inner: Mutex::new(Inner {
                ring: Ring::new(keep, MAX_RING_BYTES),
                caps: None,
                clip: None,
                next_id: 1,
            }),
            failed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new pipeline: what is held may not continue, and a clip being written ends now.
    pub fn restart(&self) {
        let mut inner = self.lock();
        inner.ring.clear();
        inner.caps = None;
        if let Some(clip) = inner.clip.as_mut() {
            clip.until = Instant::now();
        }
    }

    /// True the first time it is called: an event could not be recorded (logged once
    /// as a warning, later ones at debug level).
    pub fn first_failure(&self) -> bool {
        !self.failed.swap(true, Ordering::Relaxed)
    }

    /// Ends the clip being written, if any, with what it has (the daemon stops).
    pub fn end_now(&self) {
        if let Some(clip) = self.lock().clip.as_mut() {
            clip.until = Instant::now();
        }
    }

    /// One packet of the stream, with the caps it flows with.
    pub fn packet(&self, caps: Option<gst::Caps>, buffer: &gst::Buffer) {
        let mut inner = self.lock();
        if let Some(caps) = caps {
            if inner.caps.as_ref() != Some(&caps) {
                inner.ring.clear();
                inner.caps = Some(caps);
            }
        }
        inner.ring.push(Instant::now(), Pkt(buffer.clone()));
        if let Some(clip) = &inner.clip {
            let _ = clip.tx.try_send(buffer.clone());
        }
    }

    /// An event into `label` at `at`: extends the clip being written, or starts one
    /// with the ring's last `pre_s`. Returns the clip's paths.
    pub fn trigger(
        self: &Arc<Self>,
        label: &str,
        at: SystemTime,
    ) -> Result<ClipPaths, TriggerError> {
        let now = Instant::now();
        let post = Duration::from_secs_f64(self.config.post_s);
        let mut inner = self.lock();
        if let Some(clip) = inner.clip.as_mut() {
            clip.until = (now + post).min(clip.started + MAX_CLIP);
            return Ok(clip.paths.clone());
        }
        let caps = inner.caps.clone().ok_or(TriggerError::NoPackets)?;
        let from = now
            .checked_sub(Duration::from_secs_f64(self.config.pre_s))
            .unwrap_or(now);
        let first: Vec<gst::Buffer> = inner.ring.since(from).into_iter().map(|p| p.0).collect();
        if first.is_empty() {
            return Err(TriggerError::NoPackets);
        }
        let paths = files::clip_paths(&self.config.dir, &self.name, label, at);
        if let Some(folder) = paths.clip.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|e| TriggerError::Folder(folder.display().to_string(), e))?;
        }
        let (tx, rx) = sync_channel(QUEUE);
        let id = inner.next_id;
        inner.next_id += 1;
        inner.clip = Some(Active {
            id,
            tx,
            started: now,
            until: now + post,
            paths: paths.clone(),
        });
        drop(inner);
        let me = self.clone();
        let p = paths.clone();
        let writing = Writing::start();
        let spawned = std::thread::Builder::new()
            .name(format!("record-{}", self.name))
            .spawn(move || {
                me.write(id, caps, first, rx, p);
                drop(writing);
            });
        if let Err(e) = spawned {
            tracing::warn!(stream = %self.name, "cannot start a clip writer thread: {e}");
            self.lock().clip = None;
        }
        Ok(paths)
    }

    /// Whether clip `id` is over; if so it is no longer fed.
    fn due(&self, id: u64) -> bool {
        let mut inner = self.lock();
        match &inner.clip {
            Some(c) if c.id == id && Instant::now() < c.until => false,
            Some(c) if c.id == id => {
                inner.clip = None;
                true
            }
            _ => true,
        }
    }

    /// The clip writer thread: writes, renames, counts, applies retention.
    fn write(
        &self,
        id: u64,
        caps: gst::Caps,
        first: Vec<gst::Buffer>,
        rx: std::sync::mpsc::Receiver<gst::Buffer>,
        paths: ClipPaths,
    ) {
        let result = Writer::start(&caps, &paths).and_then(|mut w| {
            for b in &first {
                w.push(b);
            }
            drop(first);
            w.feed(&rx, || self.due(id));
            w.finish()
        });
        self.due(id); // a writer that failed to start stops being fed
        let m = metrics::global();
        match result.and_then(|()| rename(&paths)) {
            Ok(bytes) => {
                m.record_clip(&self.name, bytes);
                tracing::info!(stream = %self.name, "clip written: {}", paths.clip.display());
            }
            Err(e) => {
                let _ = std::fs::remove_file(&paths.part);
                tracing::warn!(stream = %self.name, "clip not written: {e}");
            }
        }
        let c = &self.config;
        let deleted = retention::apply(&c.dir, c.max_age(), c.max_bytes);
        m.record_deleted(deleted);
    }
}

/// Renames the finished `.part` file; returns its size.
fn rename(paths: &ClipPaths) -> Result<u64, super::writer::WriteError> {
    let fail = |e: std::io::Error| super::writer::WriteError::Pipeline {
        path: paths.part.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::rename(&paths.part, &paths.clip).map_err(fail)?;
    std::fs::metadata(&paths.clip)
        .map(|m| m.len())
        .map_err(fail)
}
