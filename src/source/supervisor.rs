//! One supervisor thread per stream: builds the pipeline, watches its bus and its
//! frames, and rebuilds it after errors, end of stream or silence, with capped
//! exponential backoff and jitter, forever.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::diagnose::Clues;
pub use super::lifecycle::backoff;
use super::lifecycle::{self, Action, Event, Lifecycle};
use super::pipeline::{self, StreamPipeline, Target};
use super::regions::{self, RegionTarget};
use super::rtsp::{self, Transport, TransportChoice};
use super::threads::PipelineSettings;
use crate::config::{redact_uri, StreamConfig};
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
    /// Starts supervising `stream`, delivering frames to its `slot` of `hub`; its
    /// pipelines take their thread settings from `settings`.
    pub fn spawn(
        stream: StreamConfig,
        target: Target,
        hub: Arc<FrameHub>,
        slot: StreamSlot,
        regions: Vec<RegionTarget>,
        status: StatusFn,
        settings: Arc<PipelineSettings>,
    ) -> Self {
        let stop = Arc::new(StopSignal::default());
        let name = stream.name.clone();
        let s2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("stream-{}", stream.name))
            .spawn(move || {
                Driver {
                    stream: &stream,
                    target: &target,
                    hub: &hub,
                    slot: &slot,
                    regions: &regions,
                    status: &status,
                    stop: &s2,
                    settings: &settings,
                    pipeline: None,
                    rtsp: None,
                    clues: Clues::default(),
                    received_at_start: 0,
                }
                .supervise()
            })
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

/// How long the bus is waited on between looks at the frames.
const POLL: gst::ClockTime = gst::ClockTime::from_mseconds(100);

/// The GStreamer side of one stream's supervisor thread: turns what happens to the
/// pipeline into lifecycle [`Event`]s and carries out the lifecycle's [`Action`]s.
struct Driver<'a> {
    stream: &'a StreamConfig,
    target: &'a Target,
    hub: &'a Arc<FrameHub>,
    slot: &'a StreamSlot,
    /// The stream's regions (none: the whole frame goes to `slot`).
    regions: &'a [RegionTarget],
    status: &'a StatusFn,
    stop: &'a StopSignal,
    settings: &'a Arc<PipelineSettings>,
    /// The current pipeline, while one exists.
    pipeline: Option<StreamPipeline>,
    /// The transport an RTSP camera's next pipeline asks for (the lifecycle's choice).
    rtsp: Option<Transport>,
    /// What the current pipeline's bus said that explains its errors.
    clues: Clues,
    /// The received-frame counter when the current pipeline was built.
    received_at_start: u64,
}

impl Driver<'_> {
    /// Runs the stream's lifecycle until it exits (after a stop request).
    fn supervise(mut self) {
        let _span = tracing::info_span!("stream", stream = %self.stream.name).entered();
        let live = pipeline::is_live(&self.stream.source);
        let mut machine = Lifecycle::new(lifecycle::Settings::of(self.stream, live), || {
            rand::random::<f64>() * 2.0 - 1.0
        })
        .with_rtsp(TransportChoice::of(self.stream));
        let mut queue: VecDeque<Action> = machine.handle(Event::Begin).into();
        loop {
            let event = match queue.pop_front() {
                Some(Action::Exit) => return,
                Some(action) => {
                    self.rtsp = machine.rtsp_transport();
                    self.perform(action)
                }
                // Nothing to do but watch the playing pipeline.
                None => Some(self.watch_once()),
            };
            if let Some(event) = event {
                queue.extend(machine.handle(event));
            }
        }
    }

    /// Carries out `action`; returns the event that answers it, if any.
    fn perform(&mut self, action: Action) -> Option<Event> {
        let stats = &self.slot.stats;
        match action {
            Action::Report(state, reason) => self.report(state, reason),
            Action::Build => return Some(self.build()),
            Action::Seek => return self.rewind(),
            Action::Teardown => self.teardown(),
            Action::Retry(reason) => {
                stats.reconnects.fetch_add(1, Ordering::Relaxed);
                stats.retries.add(reason);
            }
            Action::Sleep(delay) => {
                let stopped = self.stop.sleep(delay);
                return Some(if stopped {
                    self.stop_requested()
                } else {
                    Event::BackoffElapsed
                });
            }
            Action::AwaitStop => {
                while !self.stop.sleep(Duration::from_secs(3600)) {}
                return Some(self.stop_requested());
            }
            Action::Exit => {}
        }
        None
    }

    /// Publishes a state change and logs it.
    fn report(&self, state: StreamState, reason: String) {
        let name = &self.stream.name;
        match state {
            // The stream's name is in the span and, for journal and log readers, the text.
            StreamState::Running | StreamState::Starting | StreamState::Stopped => {
                tracing::info!(state = %state, "{name} is {state}: {reason}")
            }
            _ => tracing::warn!(state = %state, "{name} is {state}: {reason}"),
        }
        (self.status)(StatusUpdate {
            stream: name.clone(),
            state,
            reason: reason.clone(),
        });
        for r in self.regions {
            // A region that does not fit the frame keeps its own status.
            if !r.misfit.load(Ordering::Relaxed) {
                (self.status)(StatusUpdate {
                    stream: r.name.clone(),
                    state,
                    reason: reason.clone(),
                });
            }
        }
    }

    fn stop_requested(&self) -> Event {
        let reason = self
            .stop
            .reason()
            .unwrap_or_else(|| "daemon stopping".into());
        Event::StopRequested { reason }
    }

    /// Builds a pipeline of a new generation and sets it playing.
    fn build(&mut self) -> Event {
        let stats = &self.slot.stats;
        let generation = stats.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let delivery = pipeline::Delivery::Latest {
            hub: self.hub.clone(),
            slot: self.slot.clone(),
            generation,
            settings: self.settings.clone(),
        };
        self.clues = Clues::default();
        self.received_at_start = stats.received.load(Ordering::Relaxed);
        let stream = rtsp::with_transport(self.stream, self.rtsp);
        let built = if self.regions.is_empty() {
            pipeline::build(&stream, self.target, delivery)
        } else {
            for r in self.regions {
                r.slot.stats.generation.fetch_add(1, Ordering::Relaxed);
                r.misfit.store(false, Ordering::Relaxed);
            }
            regions::build(&stream, self.target, delivery, self.regions, self.status)
        };
        let p = match built {
            Ok(p) => p,
            Err(e) if e.is_installable() => return Event::Unusable { why: e.to_string() },
            Err(e) => {
                return Event::BuildFailed {
                    permanent: e.is_permanent(),
                    error: e.to_string(),
                }
            }
        };
        let played = p.pipeline.set_state(gst::State::Playing);
        let bus = p.pipeline.bus();
        self.pipeline = Some(p);
        if let Err(e) = played {
            return self.play_failed(bus, e);
        }
        Event::Started {
            at: Instant::now(),
            frames: stats.sampled.load(Ordering::Relaxed),
        }
    }

    /// The event for a pipeline that would not play: the first error on its bus, as
    /// [`Event::Unusable`] if it says the source cannot work, else [`Event::PlayFailed`].
    fn play_failed(&mut self, bus: Option<gst::Bus>, e: gst::StateChangeError) -> Event {
        let mut detail = None;
        while let Some(msg) = bus.as_ref().and_then(|b| b.pop()) {
            if self.clues.observe(&msg) {
                continue;
            }
            if let gst::MessageView::Error(err) = msg.view() {
                if let Some(event) = self.unusable(&msg, err) {
                    return event;
                }
                detail = Some(err.error().to_string());
                break;
            }
        }
        Event::PlayFailed {
            detail: detail.unwrap_or_else(|| e.to_string()),
        }
    }

    /// [`Event::Unusable`] if the error `err` in `msg` says the source cannot work as it
    /// is now; GStreamer's own text goes to the log.
    fn unusable(&self, msg: &gst::Message, err: &gst::message::Error) -> Option<Event> {
        let detail = err.debug().map(|d| d.to_string());
        let decoded = self.slot.stats.received.load(Ordering::Relaxed) > self.received_at_start;
        let why = self.clues.unusable(
            &self.stream.source,
            &err.error(),
            detail.as_deref(),
            decoded,
        )?;
        tracing::warn!(
            "GStreamer error from {}: {} ({})",
            source_path(msg),
            redact_uri(&err.error().to_string()),
            redact_uri(detail.as_deref().unwrap_or("no detail"))
        );
        Some(Event::Unusable { why })
    }

    /// Rewinds the pipeline to its start (a looping file at its end).
    fn rewind(&self) -> Option<Event> {
        let p = self.pipeline.as_ref()?;
        let flags = gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT;
        match p.pipeline.seek_simple(flags, gst::ClockTime::ZERO) {
            Ok(()) => {
                tracing::debug!("end of file; looping");
                None
            }
            Err(e) => Some(Event::SeekFailed {
                error: e.to_string(),
            }),
        }
    }

    /// Stops the current pipeline, if any; its frames are stale from here on.
    fn teardown(&mut self) {
        let Some(p) = self.pipeline.take() else {
            return;
        };
        let stats = &self.slot.stats;
        // From here on, frames of this pipeline are stale, even if it
        // must be abandoned and still delivers some.
        stats.generation.fetch_add(1, Ordering::Relaxed);
        for r in self.regions {
            r.slot.stats.generation.fetch_add(1, Ordering::Relaxed);
        }
        if !teardown(p.pipeline, &self.stream.name) {
            stats.abandoned.fetch_add(1, Ordering::Relaxed);
        }
        self.hub.clear(self.slot);
        for r in self.regions {
            self.hub.clear(&r.slot);
        }
    }

    /// The next thing that happens to the playing pipeline: a stop request, a bus
    /// message (waited for up to [`POLL`]) or else a look at the frames.
    fn watch_once(&mut self) -> Event {
        if self.stop.is_stopped() {
            return self.stop_requested();
        }
        let Some(bus) = self.pipeline.as_ref().and_then(|p| p.pipeline.bus()) else {
            // No pipeline to watch (cannot happen while the lifecycle watches).
            while !self.stop.sleep(Duration::from_secs(3600)) {}
            return self.stop_requested();
        };
        if let Some(msg) = bus.timed_pop(POLL) {
            self.clues.observe(&msg);
            if let gst::MessageView::Error(err) = msg.view() {
                if let Some(event) = self.unusable(&msg, err) {
                    return event;
                }
            }
            let event = super::http::event(&msg, &self.stream.source).or_else(|| bus_event(&msg));
            if let Some(event) = event {
                return event;
            }
        }
        self.tick()
    }

    /// A look at the frames.
    fn tick(&self) -> Event {
        let stats = &self.slot.stats;
        let now = Instant::now();
        Event::Tick {
            now,
            frames: stats.sampled.load(Ordering::Relaxed),
            last_frame: stats.since_last_frame().and_then(|d| now.checked_sub(d)),
        }
    }
}

/// The lifecycle event a bus message means, if any (warnings are logged).
fn bus_event(msg: &gst::Message) -> Option<Event> {
    match msg.view() {
        gst::MessageView::Error(err) => {
            let from = source_path(msg);
            let error = err.error().to_string();
            let debug = err.debug().map(|d| d.to_string());
            Some(match rtsp::diagnose(&err.error(), debug.as_deref()) {
                Some(cause) => Event::RtspFailed {
                    cause,
                    from,
                    error,
                    debug,
                },
                None => Event::BusError { from, error, debug },
            })
        }
        gst::MessageView::Warning(w) => {
            tracing::warn!("GStreamer warning: {}", redact_uri(&w.error().to_string()));
            None
        }
        gst::MessageView::Eos(_) => Some(Event::Eos),
        _ => None,
    }
}

/// The path of the element that posted `msg`.
fn source_path(msg: &gst::Message) -> String {
    msg.src()
        .map(|o| o.path_string().to_string())
        .unwrap_or_default()
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
    fn stop_interrupts_sleep() {
        let s = Arc::new(StopSignal::default());
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.sleep(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        s.stop();
        assert!(t.join().unwrap());
    }
}
