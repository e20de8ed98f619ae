//! One supervisor thread per stream: builds the pipeline, watches its bus and its
//! frames, and rebuilds it after errors, end of stream or silence, with capped
//! exponential backoff and jitter, forever.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::pipeline::{self, StreamPipeline, Target};
use crate::config::{redact_uri, SourceKind, StreamConfig};
use crate::hub::{FrameHub, StreamSlot};
use crate::publish::StreamState;

/// A state change of one stream.
#[derive(Debug, Clone)]
pub struct StatusUpdate {
    /// Stream name.
    pub stream: String,
    /// New state.
    pub state: StreamState,
    /// Why (human readable, credentials redacted).
    pub reason: String,
}

/// Where status updates go.
pub type StatusFn = Arc<dyn Fn(StatusUpdate) + Send + Sync>;

/// A stop request, with the reason given in the stream's final `status`, that
/// also interrupts backoff sleeps.
#[derive(Default)]
pub struct StopSignal {
    /// Some(reason) once stop was requested.
    stopped: Mutex<Option<String>>,
    cv: Condvar,
}

impl StopSignal {
    /// Requests the stop because the daemon is stopping.
    pub fn stop(&self) {
        self.stop_with("daemon stopping");
    }

    /// Requests the stop with `reason` (the first reason given wins).
    pub fn stop_with(&self, reason: &str) {
        let mut s = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        if s.is_none() {
            *s = Some(reason.to_string());
        }
        drop(s);
        self.cv.notify_all();
    }

    /// True once stop was requested.
    pub fn is_stopped(&self) -> bool {
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Why the stop was requested, if it was.
    pub fn reason(&self) -> Option<String> {
        self.stopped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sleeps up to `d`; returns true if stopped meanwhile.
    pub fn sleep(&self, d: Duration) -> bool {
        let guard = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = self
            .cv
            .wait_timeout_while(guard, d, |s| s.is_none())
            .unwrap_or_else(|p| p.into_inner());
        guard.is_some()
    }
}

/// Longest time a pipeline may take to stop before it is abandoned.
pub const TEARDOWN_LIMIT: Duration = Duration::from_secs(3);

/// Handle to a running stream supervisor.
pub struct Supervisor {
    /// Stream name.
    pub name: String,
    stop: Arc<StopSignal>,
    thread: Option<JoinHandle<()>>,
}

impl Supervisor {
    /// Starts supervising `stream`, delivering frames to its `slot` of `hub`.
    pub fn spawn(
        stream: StreamConfig,
        target: Target,
        hub: Arc<FrameHub>,
        slot: StreamSlot,
        status: StatusFn,
    ) -> Self {
        let stop = Arc::new(StopSignal::default());
        let name = stream.name.clone();
        let s2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("stream-{}", stream.name))
            .spawn(move || supervise(&stream, &target, &hub, &slot, &status, &s2))
            .expect("spawning a stream thread");
        Supervisor {
            name,
            stop,
            thread: Some(thread),
        }
    }

    /// Asks the supervisor to stop (non-blocking).
    pub fn request_stop(&self) {
        self.stop.stop();
    }

    /// Asks the supervisor to stop (non-blocking); `reason` goes into the final `status`.
    pub fn request_stop_with(&self, reason: &str) {
        self.stop.stop_with(reason);
    }

    /// Waits up to `limit` for the supervisor to finish; returns false if it did not.
    pub fn join(mut self, limit: Duration) -> bool {
        self.stop.stop();
        let Some(t) = self.thread.take() else {
            return true;
        };
        let deadline = Instant::now() + limit;
        while !t.is_finished() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        t.join().is_ok()
    }
}

/// Delay before retry number `attempt` (0-based): min·2^attempt capped at max, ±20 % jitter.
pub fn backoff(min_s: f64, max_s: f64, attempt: u32, jitter: f64) -> Duration {
    let base = (min_s * 2f64.powi(attempt.min(30) as i32)).min(max_s);
    let j = 1.0 + 0.2 * jitter.clamp(-1.0, 1.0);
    Duration::from_secs_f64((base * j).clamp(0.0, max_s * 1.2))
}

enum Outcome {
    Retry(String),
    Ended(String),
    Failed(String),
    Stop,
}

fn describe_source(s: &StreamConfig) -> String {
    match &s.source {
        SourceKind::Pipeline(_) => "pipeline fragment".into(),
        _ => redact_uri(s.uri.as_deref().unwrap_or_default()),
    }
}

fn supervise(
    s: &StreamConfig,
    target: &Target,
    hub: &Arc<FrameHub>,
    slot: &StreamSlot,
    status: &StatusFn,
    stop: &StopSignal,
) {
    let _span = tracing::info_span!("stream", stream = %s.name).entered();
    let report = |state: StreamState, reason: String| {
        match state {
            // The stream's name is in the span and, for journal and log readers, the text.
            StreamState::Running | StreamState::Starting | StreamState::Stopped => {
                tracing::info!(state = %state, "{} is {state}: {reason}", s.name)
            }
            _ => tracing::warn!(state = %state, "{} is {state}: {reason}", s.name),
        }
        status(StatusUpdate {
            stream: s.name.clone(),
            state,
            reason,
        });
    };
    let stats = slot.stats.clone();
    let mut attempt: u32 = 0;
    let mut reason = format!("opening {}", describe_source(s));
    loop {
        if stop.is_stopped() {
            break;
        }
        let generation = stats.generation.fetch_add(1, Ordering::Relaxed) + 1;
        report(StreamState::Starting, reason.clone());
        let delivery = pipeline::Delivery::Latest {
            hub: hub.clone(),
            slot: slot.clone(),
            generation,
        };
        let outcome = match pipeline::build(s, target, delivery) {
            Ok(p) => {
                let out = watch(s, &p, &stats, stop, &report, &mut attempt);
                // From here on, frames of this pipeline are stale, even if it
                // must be abandoned and still delivers some.
                stats.generation.fetch_add(1, Ordering::Relaxed);
                if !teardown(p.pipeline, &s.name) {
                    stats.abandoned.fetch_add(1, Ordering::Relaxed);
                }
                hub.clear(slot);
                out
            }
            Err(e) if e.is_permanent() => Outcome::Failed(e.to_string()),
            Err(e) => Outcome::Retry(e.to_string()),
        };
        match outcome {
            Outcome::Stop => break,
            Outcome::Ended(why) => {
                report(StreamState::Stopped, why);
                while !stop.sleep(Duration::from_secs(3600)) {}
                break;
            }
            Outcome::Failed(why) => {
                report(StreamState::Failed, why);
                while !stop.sleep(Duration::from_secs(3600)) {}
                break;
            }
            Outcome::Retry(why) => {
                let delay = backoff(
                    s.reconnect_min_s,
                    s.reconnect_max_s,
                    attempt,
                    rand::random::<f64>() * 2.0 - 1.0,
                );
                attempt = attempt.saturating_add(1);
                stats.reconnects.fetch_add(1, Ordering::Relaxed);
                report(
                    StreamState::Reconnecting,
                    format!("{why}; retry {attempt} in {:.1} s", delay.as_secs_f64()),
                );
                if stop.sleep(delay) {
                    break;
                }
                reason = format!("reconnecting to {} (attempt {attempt})", describe_source(s));
            }
        }
    }
    let why = stop.reason().unwrap_or_else(|| "daemon stopping".into());
    report(StreamState::Stopped, why);
}

fn watch(
    s: &StreamConfig,
    p: &StreamPipeline,
    stats: &crate::hub::StreamStats,
    stop: &StopSignal,
    report: &dyn Fn(StreamState, String),
    attempt: &mut u32,
) -> Outcome {
    let bus = p.pipeline.bus().expect("a pipeline has a bus");
    if let Err(e) = p.pipeline.set_state(gst::State::Playing) {
        let detail = bus
            .pop_filtered(&[gst::MessageType::Error])
            .and_then(|m| match m.view() {
                gst::MessageView::Error(err) => Some(err.error().to_string()),
                _ => None,
            })
            .unwrap_or_else(|| e.to_string());
        return Outcome::Retry(format!("could not start: {detail}"));
    }
    let started = Instant::now();
    let received_at_start = stats.received.load(Ordering::Relaxed);
    let stall = Duration::from_secs_f64(s.stall_timeout_s);
    let mut running = false;
    loop {
        if stop.is_stopped() {
            return Outcome::Stop;
        }
        if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) {
            match msg.view() {
                gst::MessageView::Error(err) => {
                    let src = msg
                        .src()
                        .map(|o| o.path_string().to_string())
                        .unwrap_or_default();
                    let debug = err.debug().map(|d| format!(" ({d})")).unwrap_or_default();
                    return Outcome::Retry(redact_uri(&format!(
                        "error from {src}: {}{debug}",
                        err.error()
                    )));
                }
                gst::MessageView::Warning(w) => {
                    tracing::warn!("GStreamer warning: {}", redact_uri(&w.error().to_string()));
                }
                gst::MessageView::Eos(_) => {
                    if matches!(s.source, SourceKind::File(_)) && s.r#loop {
                        if let Err(e) = p.pipeline.seek_simple(
                            gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
                            gst::ClockTime::ZERO,
                        ) {
                            return Outcome::Retry(format!("end of file; rewinding failed: {e}"));
                        }
                        tracing::debug!("end of file; looping");
                    } else if p.live || matches!(s.source, SourceKind::Http(_)) {
                        return Outcome::Retry("end of stream".into());
                    } else {
                        return Outcome::Ended("end of stream".into());
                    }
                }
                _ => {}
            }
        }
        let have_frames = stats.received.load(Ordering::Relaxed) > received_at_start;
        if !running && have_frames {
            running = true;
            *attempt = 0;
            report(StreamState::Running, "frames flowing".into());
        }
        let silent_for = if running {
            stats.since_last_frame().unwrap_or_default()
        } else {
            started.elapsed()
        };
        if silent_for > stall {
            let why = format!("no frame for {:.1} s", silent_for.as_secs_f64());
            report(StreamState::Stalled, why.clone());
            return Outcome::Retry(why);
        }
    }
}

/// Stops a pipeline off the caller's thread; abandons it if it takes longer than
/// [`TEARDOWN_LIMIT`]. Returns false if it was abandoned.
fn teardown(pipeline: gst::Pipeline, name: &str) -> bool {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("teardown".into())
        .spawn(move || {
            let _ = pipeline.set_state(gst::State::Null);
            let _ = tx.send(());
        });
    if spawned.is_err() || rx.recv_timeout(TEARDOWN_LIMIT).is_err() {
        tracing::error!(stream = %name, "pipeline did not stop within {:?}; abandoned", TEARDOWN_LIMIT);
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1.0, 30.0, 0, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(1.0, 30.0, 3, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(1.0, 30.0, 10, 0.0), Duration::from_secs(30));
        let hi = backoff(1.0, 30.0, 1, 1.0).as_secs_f64();
        let lo = backoff(1.0, 30.0, 1, -1.0).as_secs_f64();
        assert!(
            (hi - 2.4).abs() < 1e-9 && (lo - 1.6).abs() < 1e-9,
            "{hi} {lo}"
        );
    }

    #[test]
    fn stop_interrupts_sleep() {
        let s = Arc::new(StopSignal::default());
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.sleep(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        s.stop();
        assert!(t.join().unwrap());
    }
}
