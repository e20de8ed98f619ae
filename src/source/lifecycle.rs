//! A stream's lifecycle as a pure state machine: fed [`Event`]s carrying the instants
//! they happened at, it answers with the [`Action`]s the supervisor carries out. No
//! GStreamer, no threads and no clock reads, so each rule is unit-tested in milliseconds.
//!
//! The rules: a pipeline is built and started; the first frame after a (re)start makes the
//! stream `running` and resets the attempt counter; no frame for `stall_timeout_s` (since
//! the start, or since the latest frame once running) makes it `stalled`, then it is
//! rebuilt; a pipeline error is rebuilt; end of stream loops a file with `loop`, rebuilds a
//! live or HTTP source and ends anything else; a build error retrying cannot fix makes it
//! `failed`. Rebuilds wait [`backoff`] (capped exponential with jitter). A source that
//! cannot work as it is now (not video, empty, missing, no decoder or element installed)
//! is `failed` and checked again slowly, every [`slow_retry`]. A `pipeline` fragment is
//! rebuilt at its end like a live source unless marked `finite`. A stop request ends
//! everything with the stop's reason.

use std::time::{Duration, Instant};

use super::rtsp::{self, Transport, TransportChoice};
use super::StreamState;
use crate::config::{redact_uri, SourceKind, StreamConfig};

/// Delay before retry number `attempt` (0-based): min·2^attempt capped at max, ±20 % jitter.
pub fn backoff(min_s: f64, max_s: f64, attempt: u32, jitter: f64) -> Duration {
    let base = (min_s * 2f64.powi(attempt.min(30) as i32)).min(max_s);
    let j = 1.0 + 0.2 * jitter.clamp(-1.0, 1.0);
    Duration::from_secs_f64((base * j).clamp(0.0, max_s * 1.2))
}

/// Shortest delay between two checks of a source that cannot work as it is now.
pub const SLOW_RETRY_S: f64 = 60.0;

/// Stall timeouts a starting stream may wait for its first usable frame while its decoder
/// drops corrupted ones (a long GOP joined midway); then it is retried.
const KEY_FRAME_PATIENCE: u32 = 6;

/// Delay before checking an unusable source again: [`SLOW_RETRY_S`] or `max_s` if larger, ±20 % jitter.
pub fn slow_retry(max_s: f64, jitter: f64) -> Duration {
    let slow = SLOW_RETRY_S.max(max_s);
    backoff(slow, slow, 0, jitter)
}

/// Why a stream's pipeline is rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryReason {
    /// The pipeline posted an error.
    Error,
    /// A live or HTTP source ended.
    Eos,
    /// No frame arrived for `stall_timeout_s`.
    Stall,
    /// The pipeline could not be built or set playing.
    StartFailed,
    /// A looping file could not be rewound at its end.
    RewindFailed,
}

impl RetryReason {
    /// Every reason, in the order of [`crate::stats::RetryCounts`].
    pub const ALL: [RetryReason; 5] = [
        RetryReason::Error,
        RetryReason::Eos,
        RetryReason::Stall,
        RetryReason::StartFailed,
        RetryReason::RewindFailed,
    ];

    /// The reason's stable snake_case name (a metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            RetryReason::Error => "error",
            RetryReason::Eos => "eos",
            RetryReason::Stall => "stall",
            RetryReason::StartFailed => "start_failed",
            RetryReason::RewindFailed => "rewind_failed",
        }
    }
}

impl std::fmt::Display for RetryReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the end of a stream leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndOfStream {
    /// Rewind and play again (a file with `loop`).
    Loop,
    /// Rebuild the pipeline (a live source, or HTTP).
    Retry,
    /// The stream is over: `stopped` until the daemon stops.
    End,
}

impl EndOfStream {
    /// The rule for a source of `kind`, with `looping` (the `loop` key) and `live` (the pipeline's).
    pub fn of(kind: &SourceKind, looping: bool, live: bool) -> Self {
        match kind {
            SourceKind::File(_) if looping => EndOfStream::Loop,
            SourceKind::Http(_) => EndOfStream::Retry,
            _ if live => EndOfStream::Retry,
            _ => EndOfStream::End,
        }
    }

    /// The rule for a stream: a `pipeline` fragment is rebuilt at its end unless `finite`;
    /// any other source follows [`EndOfStream::of`].
    pub fn of_stream(stream: &StreamConfig, live: bool) -> Self {
        match &stream.source {
            SourceKind::Pipeline(_) if stream.finite => EndOfStream::End,
            SourceKind::Pipeline(_) => EndOfStream::Retry,
            kind => EndOfStream::of(kind, stream.r#loop, live),
        }
    }
}

/// What the lifecycle of one stream needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The source as status reasons name it (credentials redacted).
    pub source: String,
    /// Longest silence before the stream counts as stalled.
    pub stall: Duration,
    /// Shortest reconnect delay in seconds.
    pub reconnect_min_s: f64,
    /// Longest reconnect delay in seconds (before jitter).
    pub reconnect_max_s: f64,
    /// What end of stream leads to.
    pub end_of_stream: EndOfStream,
}

impl Settings {
    /// The settings of `stream`, whose pipeline is `live` or not.
    pub fn of(stream: &StreamConfig, live: bool) -> Self {
        Settings {
            source: describe_source(stream),
            stall: Duration::from_secs_f64(stream.stall_timeout_s),
            reconnect_min_s: stream.reconnect_min_s,
            reconnect_max_s: stream.reconnect_max_s,
            end_of_stream: EndOfStream::of_stream(stream, live),
        }
    }
}

/// How status reasons name a stream's source.
fn describe_source(s: &StreamConfig) -> String {
    match &s.source {
        SourceKind::Pipeline(_) => "pipeline fragment".into(),
        _ => redact_uri(s.uri.as_deref().unwrap_or_default()),
    }
}

/// Something that happened to a stream, fed to [`Lifecycle::handle`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The supervisor begins (the first event).
    Begin,
    /// The pipeline was built and set playing `at`, when `frames` frames had been received.
    Started {
        /// When it started playing.
        at: Instant,
        /// The stream's received-frame counter then.
        frames: u64,
    },
    /// The pipeline could not be built.
    BuildFailed {
        /// True when retrying cannot help (the configuration or installation must change).
        permanent: bool,
        /// What went wrong.
        error: String,
    },
    /// The pipeline was built but could not be set playing.
    PlayFailed {
        /// What went wrong.
        detail: String,
    },
    /// A look at the frames while the pipeline plays.
    Tick {
        /// Now.
        now: Instant,
        /// The stream's received-frame counter.
        frames: u64,
        /// When the latest frame arrived, if any did.
        last_frame: Option<Instant>,
    },
    /// The pipeline posted an error.
    BusError {
        /// The element's path.
        from: String,
        /// The error.
        error: String,
        /// GStreamer's debug detail, if any.
        debug: Option<String>,
    },
    /// The pipeline posted an error whose cause is known (GStreamer's text already logged);
    /// retried like [`Event::BusError`] with `why` as the reason.
    SourceFailed {
        /// The cause, in words a user can act on.
        why: String,
    },
    /// The pipeline reached the end of the stream.
    Eos,
    /// An RTSP camera failed for a cause a user can act on (see [`rtsp::diagnose`]).
    RtspFailed {
        /// What it means.
        cause: rtsp::Cause,
        /// The element's path.
        from: String,
        /// GStreamer's error.
        error: String,
        /// GStreamer's debug detail, if any.
        debug: Option<String>,
    },
    /// Rewinding a looping file failed.
    SeekFailed {
        /// What went wrong.
        error: String,
    },
    /// The source cannot work as it is now (not video, empty, missing, no decoder or
    /// element installed): `failed`, checked again after [`slow_retry`]. Answers
    /// [`Action::Build`] or comes while a pipeline plays.
    Unusable {
        /// Why, in words a user can act on.
        why: String,
    },
    /// The delay of an [`Action::Sleep`] passed.
    BackoffElapsed,
    /// Stop was requested, with the reason for the final status.
    StopRequested {
        /// Why.
        reason: String,
    },
}

/// Something for the supervisor to do, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Publish the stream's new state and why.
    Report(StreamState, String),
    /// Build a pipeline and set it playing; answer `Started`, `BuildFailed` or `PlayFailed`.
    Build,
    /// Rewind the pipeline to its start; answer `SeekFailed` if that fails.
    Seek,
    /// Stop and drop the current pipeline.
    Teardown,
    /// Count one rebuild, for this reason.
    Retry(RetryReason),
    /// Wait this long; answer `BackoffElapsed`, or `StopRequested` if stopped meanwhile.
    Sleep(Duration),
    /// Wait for the stop request; answer `StopRequested`.
    AwaitStop,
    /// The supervisor is done.
    Exit,
}

/// Where the lifecycle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Nothing happened yet.
    Idle,
    /// Waiting for the answer to [`Action::Build`].
    Building,
    /// The pipeline plays; no frame yet since `since`, when the counter stood at `frames`.
    Starting {
        /// When the pipeline started playing.
        since: Instant,
        /// The received-frame counter then.
        frames: u64,
    },
    /// Frames flow.
    Running,
    /// Waiting for the retry delay.
    Backoff,
    /// Failed for now: waiting for the slow retry's delay to check the source again.
    FailedWaiting,
    /// Ended or failed: waiting for the stop request.
    Parked,
    /// Finished.
    Done,
}

/// The lifecycle of one stream. See the module documentation for its rules.
pub struct Lifecycle {
    settings: Settings,
    phase: Phase,
    /// Retries since the latest first frame.
    attempt: u32,
    /// Gives each backoff's jitter, in -1..=1.
    jitter: Box<dyn FnMut() -> f64>,
    /// An RTSP camera's transport: the next attempt's, and what worked.
    rtsp: Option<TransportChoice>,
}

impl Lifecycle {
    /// A lifecycle in [`Phase::Idle`]; `jitter` gives each backoff's jitter, in -1..=1.
    pub fn new(settings: Settings, jitter: impl FnMut() -> f64 + 'static) -> Self {
        Lifecycle {
            settings,
            phase: Phase::Idle,
            attempt: 0,
            jitter: Box::new(jitter),
            rtsp: None,
        }
    }

    /// The lifecycle of an RTSP camera whose transport `choice` follows the fallback rules.
    pub fn with_rtsp(mut self, choice: Option<TransportChoice>) -> Self {
        self.rtsp = choice;
        self
    }

    /// The transport the next RTSP attempt asks for (`None`: not an RTSP camera).
    pub fn rtsp_transport(&self) -> Option<Transport> {
        self.rtsp.map(|c| c.current())
    }

    /// Where the lifecycle is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Retries since the latest first frame (the next retry's number minus one).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// True while a pipeline plays and the supervisor should watch it (bus and ticks).
    pub fn watching(&self) -> bool {
        matches!(self.phase, Phase::Starting { .. } | Phase::Running)
    }

    /// Applies `event`; returns what to do, in order. Events that do not apply
    /// in the current phase change nothing.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        match event {
            Event::StopRequested { reason } => self.stop(reason),
            Event::Begin if self.phase == Phase::Idle => {
                self.build(format!("opening {}", self.settings.source))
            }
            Event::BackoffElapsed if self.phase == Phase::FailedWaiting => self.check_again(),
            Event::Unusable { why } if self.phase == Phase::Building || self.watching() => {
                self.fail_slowly(why)
            }
            Event::BackoffElapsed if self.phase == Phase::Backoff => self.build(format!(
                "reconnecting to {} (attempt {})",
                self.settings.source, self.attempt
            )),
            Event::Started { at, frames } if self.phase == Phase::Building => {
                self.phase = Phase::Starting { since: at, frames };
                Vec::new()
            }
            Event::BuildFailed { permanent, error } if self.phase == Phase::Building => {
                if permanent {
                    self.phase = Phase::Parked;
                    vec![
                        Action::Report(StreamState::Failed, error),
                        Action::AwaitStop,
                    ]
                } else {
                    self.retry(RetryReason::StartFailed, error, false)
                }
            }
            Event::PlayFailed { detail } if self.phase == Phase::Building => self.retry(
                RetryReason::StartFailed,
                format!("could not start: {detail}"),
                true,
            ),
            Event::Tick {
                now,
                frames,
                last_frame,
            } if self.watching() => self.tick(now, frames, last_frame),
            Event::BusError { from, error, debug } if self.watching() => {
                let debug = debug.map(|d| format!(" ({d})")).unwrap_or_default();
                let why = redact_uri(&format!("error from {from}: {error}{debug}"));
                self.retry(RetryReason::Error, why, true)
            }
            Event::RtspFailed {
                cause,
                from,
                error,
                debug,
            } if self.watching() => self.rtsp_failed(cause, from, error, debug),
            Event::SourceFailed { why } if self.watching() => {
                self.retry(RetryReason::Error, redact_uri(&why), true)
            }
            Event::Eos if self.watching() => self.end_of_stream(),
            Event::SeekFailed { error } if self.watching() => self.retry(
                RetryReason::RewindFailed,
                format!("end of file; rewinding failed: {error}"),
                true,
            ),
            _ => Vec::new(),
        }
    }

    fn build(&mut self, reason: String) -> Vec<Action> {
        self.phase = Phase::Building;
        vec![Action::Report(StreamState::Starting, reason), Action::Build]
    }

    fn stop(&mut self, reason: String) -> Vec<Action> {
        let mut out = Vec::new();
        match self.phase {
            Phase::Done => return out,
            Phase::Starting { .. } | Phase::Running => out.push(Action::Teardown),
            _ => {}
        }
        self.phase = Phase::Done;
        out.extend([Action::Report(StreamState::Stopped, reason), Action::Exit]);
        out
    }

    fn tick(&mut self, now: Instant, frames: u64, last_frame: Option<Instant>) -> Vec<Action> {
        let mut out = Vec::new();
        if let Phase::Starting { frames: before, .. } = self.phase {
            if frames > before {
                self.phase = Phase::Running;
                self.attempt = 0;
                out.push(Action::Report(StreamState::Running, self.flowing()));
            }
        }
        let silent_for = match self.phase {
            // Before the first frame: since the start, or since a later sign of life (frames
            // its decoder dropped as corrupted while waiting for a key frame), but no longer
            // than KEY_FRAME_PATIENCE stall timeouts in all.
            Phase::Starting { since, .. } => {
                let waited = now.saturating_duration_since(since);
                let quiet =
                    now.saturating_duration_since(last_frame.map_or(since, |t| t.max(since)));
                if waited > self.settings.stall * KEY_FRAME_PATIENCE {
                    waited
                } else {
                    quiet
                }
            }
            _ => last_frame
                .map(|t| now.saturating_duration_since(t))
                .unwrap_or_default(),
        };
        if silent_for > self.settings.stall {
            let why = format!("no frame for {:.1} s", silent_for.as_secs_f64());
            out.push(Action::Report(StreamState::Stalled, why.clone()));
            out.extend(self.retry(RetryReason::Stall, why, true));
        }
        out
    }

    /// The `running` reason: "frames flowing", naming an RTSP camera's transport.
    fn flowing(&self) -> String {
        match self.rtsp_transport() {
            Some(t) => format!("frames flowing ({})", t.describe()),
            None => "frames flowing".into(),
        }
    }

    /// An RTSP failure: switches transport where `"auto"` allows, then retries with a
    /// reason that leads with the cause and keeps GStreamer's text.
    fn rtsp_failed(
        &mut self,
        cause: rtsp::Cause,
        from: String,
        error: String,
        debug: Option<String>,
    ) -> Vec<Action> {
        let tried = self.rtsp_transport().unwrap_or(Transport::Tcp);
        let switched = self.rtsp.as_mut().and_then(|c| c.after(cause));
        let answer = rtsp::answer_timeout(self.settings.stall);
        let lead = cause.explain(tried, switched, answer);
        let debug = debug.map(|d| format!(" ({d})")).unwrap_or_default();
        let why = redact_uri(&format!("{lead} [error from {from}: {error}{debug}]"));
        self.retry(RetryReason::Error, why, true)
    }

    fn end_of_stream(&mut self) -> Vec<Action> {
        match self.settings.end_of_stream {
            EndOfStream::Loop => vec![Action::Seek],
            EndOfStream::Retry => self.retry(RetryReason::Eos, "end of stream".into(), true),
            EndOfStream::End => {
                self.phase = Phase::Parked;
                vec![
                    Action::Teardown,
                    Action::Report(StreamState::Stopped, "end of stream".into()),
                    Action::AwaitStop,
                ]
            }
        }
    }

    /// Tears down (if a pipeline exists), counts the retry, reports `failed` and waits
    /// [`slow_retry`]: the file may be replaced or a plugin installed meanwhile.
    fn fail_slowly(&mut self, why: String) -> Vec<Action> {
        let reason = if self.watching() {
            RetryReason::Error
        } else {
            RetryReason::StartFailed
        };
        let delay = slow_retry(self.settings.reconnect_max_s, (self.jitter)());
        self.attempt = self.attempt.saturating_add(1);
        self.phase = Phase::FailedWaiting;
        vec![
            Action::Teardown,
            Action::Retry(reason),
            Action::Report(
                StreamState::Failed,
                format!("{why}; checking again in {:.0} s", delay.as_secs_f64()),
            ),
            Action::Sleep(delay),
        ]
    }

    /// Builds again after a slow retry's delay; the stream stays `failed` until frames flow.
    fn check_again(&mut self) -> Vec<Action> {
        self.phase = Phase::Building;
        vec![Action::Build]
    }

    /// Tears down (if a pipeline exists), counts the retry, reports `reconnecting` and waits.
    fn retry(&mut self, reason: RetryReason, why: String, teardown: bool) -> Vec<Action> {
        let s = &self.settings;
        let delay = backoff(
            s.reconnect_min_s,
            s.reconnect_max_s,
            self.attempt,
            (self.jitter)(),
        );
        self.attempt = self.attempt.saturating_add(1);
        self.phase = Phase::Backoff;
        let mut out = Vec::with_capacity(4);
        if teardown {
            out.push(Action::Teardown);
        }
        out.extend([
            Action::Retry(reason),
            Action::Report(
                StreamState::Reconnecting,
                format!(
                    "{why}; retry {} in {:.1} s",
                    self.attempt,
                    delay.as_secs_f64()
                ),
            ),
            Action::Sleep(delay),
        ]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::RetryCounts;
    use std::path::PathBuf;
    use Action::*;
    use StreamState::*;

    const STALL: Duration = Duration::from_secs(10);

    fn settings(end_of_stream: EndOfStream) -> Settings {
        Settings {
            source: "rtsp://cam/1".into(),
            stall: STALL,
            reconnect_min_s: 1.0,
            reconnect_max_s: 30.0,
            end_of_stream,
        }
    }

    fn machine(end_of_stream: EndOfStream) -> Lifecycle {
        Lifecycle::new(settings(end_of_stream), || 0.0)
    }

    fn secs(t0: Instant, s: f64) -> Instant {
        t0 + Duration::from_secs_f64(s)
    }

    fn tick(now: Instant, frames: u64, last_frame: Option<Instant>) -> Event {
        Event::Tick {
            now,
            frames,
            last_frame,
        }
    }

    fn report(state: StreamState, why: &str) -> Action {
        Report(state, why.into())
    }

    /// The daemon stopping ends `m` at once, with nothing to tear down.
    fn assert_stops_at_once(m: &mut Lifecycle) {
        assert_eq!(
            m.handle(Event::StopRequested {
                reason: "daemon stopping".into()
            }),
            [report(Stopped, "daemon stopping"), Exit]
        );
    }

    /// A machine whose pipeline plays since `t0`, counter at 100, no frame yet.
    fn playing(end_of_stream: EndOfStream, t0: Instant) -> Lifecycle {
        let mut m = machine(end_of_stream);
        assert_eq!(
            m.handle(Event::Begin),
            [report(Starting, "opening rtsp://cam/1"), Build]
        );
        assert_eq!(
            m.handle(Event::Started {
                at: t0,
                frames: 100
            }),
            []
        );
        m
    }

    /// The retry actions after a pipeline existed.
    fn retried(reason: RetryReason, why: &str) -> Vec<Action> {
        vec![
            Teardown,
            Retry(reason),
            report(Reconnecting, why),
            Sleep(Duration::from_secs(1)),
        ]
    }

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
    fn first_frame_makes_it_running_and_resets_the_attempts() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Retry, t0);
        m.handle(Event::BusError {
            from: "/pipeline/src".into(),
            error: "gone".into(),
            debug: None,
        });
        assert_eq!(m.attempt(), 1);
        let again = m.handle(Event::BackoffElapsed);
        assert_eq!(
            again,
            [
                report(Starting, "reconnecting to rtsp://cam/1 (attempt 1)"),
                Build
            ]
        );
        m.handle(Event::Started {
            at: secs(t0, 2.0),
            frames: 100,
        });
        // No new frame yet: still starting, nothing said.
        assert_eq!(m.handle(tick(secs(t0, 2.1), 100, None)), []);
        assert!(matches!(m.phase(), Phase::Starting { .. }));
        assert_eq!(m.attempt(), 1);
        let t = secs(t0, 2.2);
        assert_eq!(
            m.handle(tick(t, 101, Some(t))),
            [report(Running, "frames flowing")]
        );
        assert_eq!(m.phase(), Phase::Running);
        assert_eq!(m.attempt(), 0);
        // Said once only.
        assert_eq!(m.handle(tick(secs(t0, 2.3), 102, Some(t))), []);
    }

    #[test]
    fn stall_before_the_first_frame_counts_from_the_start() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Retry, t0);
        assert_eq!(m.handle(tick(secs(t0, 10.0), 100, None)), []);
        // An old frame (from before this pipeline) does not count.
        let old = t0.checked_sub(Duration::from_secs(1));
        let mut expected = vec![report(Stalled, "no frame for 10.1 s")];
        expected.extend(retried(
            RetryReason::Stall,
            "no frame for 10.1 s; retry 1 in 1.0 s",
        ));
        assert_eq!(m.handle(tick(secs(t0, 10.1), 100, old)), expected);
        assert_eq!(m.phase(), Phase::Backoff);
    }

    #[test]
    fn frames_dropped_as_corrupt_keep_a_starting_stream_from_stalling() {
        // A camera joined between key frames 12 s apart: its decoder drops corrupt frames
        // (a sign of life, no frame received) until the key frame.
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Retry, t0);
        let touched = Some(secs(t0, 9.5));
        assert_eq!(m.handle(tick(secs(t0, 12.0), 100, touched)), []);
        assert_eq!(
            m.phase(),
            Phase::Starting {
                since: t0,
                frames: 100
            }
        );
        // Nothing at all after that: stalled 10 s after the latest sign of life.
        let out = m.handle(tick(secs(t0, 19.6), 100, touched));
        assert_eq!(out[0], report(Stalled, "no frame for 10.1 s"));
    }

    #[test]
    fn only_corrupt_frames_stall_after_six_timeouts() {
        // A decoder that never gets a usable frame: retried after 60 s (6 × 10 s), as a new
        // session may start at a key frame.
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Retry, t0);
        assert_eq!(
            m.handle(tick(secs(t0, 59.9), 100, Some(secs(t0, 59.8)))),
            []
        );
        let out = m.handle(tick(secs(t0, 60.1), 100, Some(secs(t0, 60.0))));
        assert_eq!(out[0], report(Stalled, "no frame for 60.1 s"));
    }

    #[test]
    fn stall_once_running_counts_from_the_latest_frame() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Retry, t0);
        let last = secs(t0, 30.0);
        m.handle(tick(last, 500, Some(last)));
        assert_eq!(m.phase(), Phase::Running);
        // 40 s after the start but 10 s after the latest frame: not yet.
        assert_eq!(m.handle(tick(secs(t0, 40.0), 500, Some(last))), []);
        let out = m.handle(tick(secs(t0, 40.5), 500, Some(last)));
        assert_eq!(out[0], report(Stalled, "no frame for 10.5 s"));
        assert_eq!(
            out[1..],
            retried(RetryReason::Stall, "no frame for 10.5 s; retry 1 in 1.0 s")
        );
    }

    #[test]
    fn end_of_a_looping_file_rewinds() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Loop, t0);
        assert_eq!(m.handle(Event::Eos), [Seek]);
        assert!(m.watching());
        assert_eq!(m.attempt(), 0);
    }

    #[test]
    fn a_failed_rewind_rebuilds() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Loop, t0);
        m.handle(Event::Eos);
        assert_eq!(
            m.handle(Event::SeekFailed {
                error: "not seekable".into()
            }),
            retried(
                RetryReason::RewindFailed,
                "end of file; rewinding failed: not seekable; retry 1 in 1.0 s"
            )
        );
    }

    #[test]
    fn end_of_a_file_without_loop_stops_it_until_the_daemon_stops() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::End, t0);
        assert_eq!(
            m.handle(Event::Eos),
            [Teardown, report(Stopped, "end of stream"), AwaitStop]
        );
        assert_eq!(m.phase(), Phase::Parked);
        assert_eq!(m.handle(tick(secs(t0, 60.0), 100, None)), []);
        assert_stops_at_once(&mut m);
    }

    #[test]
    fn a_diagnosed_error_leads_the_reason() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Retry, t0);
        let why = "401 unauthorized: http://u:pw@cam/x refused".to_string();
        assert_eq!(
            m.handle(Event::SourceFailed { why }),
            retried(
                RetryReason::Error,
                "401 unauthorized: http://***@cam/x refused; retry 1 in 1.0 s"
            )
        );
    }

    #[test]
    fn end_of_a_live_stream_rebuilds() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Retry, t0);
        assert_eq!(
            m.handle(Event::Eos),
            retried(RetryReason::Eos, "end of stream; retry 1 in 1.0 s")
        );
    }

    #[test]
    fn end_of_stream_rule_follows_the_source_kind() {
        let file = SourceKind::File(PathBuf::from("a.mp4"));
        assert_eq!(EndOfStream::of(&file, true, false), EndOfStream::Loop);
        assert_eq!(EndOfStream::of(&file, false, false), EndOfStream::End);
        let http = SourceKind::Http("http://h/a.mp4".into());
        assert_eq!(EndOfStream::of(&http, false, false), EndOfStream::Retry);
        assert_eq!(EndOfStream::of(&http, true, false), EndOfStream::Retry);
        let rtsp = SourceKind::Rtsp("rtsp://h/a".into());
        assert_eq!(EndOfStream::of(&rtsp, false, true), EndOfStream::Retry);
        let fragment = SourceKind::Pipeline("videotestsrc num-buffers=5".into());
        assert_eq!(EndOfStream::of(&fragment, false, false), EndOfStream::End);
    }

    #[test]
    fn errors_rebuild_with_growing_delays() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Retry, t0);
        let mut delays = Vec::new();
        for n in 1..=7 {
            let out = m.handle(Event::BusError {
                from: "/GstPipeline:stream-a/src".into(),
                error: "Could not open rtsp://user:secret@cam/1".into(),
                debug: Some("dbg".into()),
            });
            assert_eq!(out[0], Teardown);
            assert_eq!(out[1], Retry(RetryReason::Error));
            let Sleep(d) = out[3] else {
                panic!("no sleep in {out:?}")
            };
            let Report(Reconnecting, why) = &out[2] else {
                panic!("no report in {out:?}")
            };
            assert!(!why.contains("secret"), "{why}");
            assert!(why.starts_with("error from /GstPipeline:stream-a/src: Could not open"));
            assert!(
                why.ends_with(&format!(" (dbg); retry {n} in {:.1} s", d.as_secs_f64())),
                "{why}"
            );
            delays.push(d.as_secs());
            let again = m.handle(Event::BackoffElapsed);
            assert_eq!(
                again[0],
                report(
                    Starting,
                    &format!("reconnecting to rtsp://cam/1 (attempt {n})")
                )
            );
            m.handle(Event::Started {
                at: secs(t0, n as f64),
                frames: 100,
            });
        }
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn jitter_is_applied_to_the_delay() {
        let mut m = Lifecycle::new(settings(EndOfStream::Retry), || 1.0);
        m.handle(Event::Begin);
        let out = m.handle(Event::BuildFailed {
            permanent: false,
            error: "building the pipeline failed: x".into(),
        });
        assert_eq!(
            out,
            [
                Retry(RetryReason::StartFailed),
                report(
                    Reconnecting,
                    "building the pipeline failed: x; retry 1 in 1.2 s"
                ),
                Sleep(Duration::from_secs_f64(1.2)),
            ]
        );
    }

    #[test]
    fn a_pipeline_that_will_not_play_is_torn_down_and_rebuilt() {
        let mut m = machine(EndOfStream::Retry);
        m.handle(Event::Begin);
        assert_eq!(
            m.handle(Event::PlayFailed {
                detail: "no such device".into()
            }),
            retried(
                RetryReason::StartFailed,
                "could not start: no such device; retry 1 in 1.0 s"
            )
        );
    }

    #[test]
    fn a_permanent_build_error_fails_until_the_daemon_stops() {
        let mut m = machine(EndOfStream::Retry);
        m.handle(Event::Begin);
        let why = "pipeline fragment does not parse: no element \"nosuch\"";
        assert_eq!(
            m.handle(Event::BuildFailed {
                permanent: true,
                error: why.into()
            }),
            [report(Failed, why), AwaitStop]
        );
        assert_eq!(m.handle(Event::BackoffElapsed), []);
        assert_eq!(
            m.handle(Event::StopRequested {
                reason: "removed from the configuration".into()
            }),
            [report(Stopped, "removed from the configuration"), Exit]
        );
        assert_eq!(m.phase(), Phase::Done);
    }

    #[test]
    fn stop_during_backoff_needs_no_teardown() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Retry, t0);
        m.handle(Event::Eos);
        assert_eq!(m.phase(), Phase::Backoff);
        assert_stops_at_once(&mut m);
        assert_eq!(m.handle(Event::BackoffElapsed), []);
    }

    #[test]
    fn stop_while_playing_tears_down_first() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Retry, t0);
        assert_eq!(
            m.handle(Event::StopRequested {
                reason: "configuration changed; restarting".into()
            }),
            [
                Teardown,
                report(Stopped, "configuration changed; restarting"),
                Exit
            ]
        );
        assert_eq!(
            m.handle(Event::StopRequested {
                reason: "again".into()
            }),
            []
        );
    }

    #[test]
    fn stop_before_the_start_reports_stopped() {
        let mut m = machine(EndOfStream::Retry);
        assert_stops_at_once(&mut m);
        assert_eq!(m.handle(Event::Begin), []);
    }

    #[test]
    fn retries_are_counted_by_reason() {
        let t0 = Instant::now();
        let counts = RetryCounts::default();
        let mut m = playing(EndOfStream::Retry, t0);
        let apply = |out: Vec<Action>| {
            for a in out {
                if let Retry(r) = a {
                    counts.add(r);
                }
            }
        };
        apply(m.handle(Event::Eos));
        apply(m.handle(Event::BackoffElapsed));
        apply(m.handle(Event::BuildFailed {
            permanent: false,
            error: "x".into(),
        }));
        apply(m.handle(Event::BackoffElapsed));
        apply(m.handle(Event::Started { at: t0, frames: 0 }));
        apply(m.handle(tick(secs(t0, 11.0), 0, None)));
        apply(m.handle(Event::BackoffElapsed));
        apply(m.handle(Event::Started { at: t0, frames: 0 }));
        apply(m.handle(tick(secs(t0, 11.0), 0, None)));
        assert_eq!(
            counts.snapshot(),
            [
                ("error", 0),
                ("eos", 1),
                ("stall", 2),
                ("start_failed", 1),
                ("rewind_failed", 0)
            ]
        );
        assert_eq!(m.attempt(), 4);
    }

    #[test]
    fn events_out_of_place_change_nothing() {
        let t0 = Instant::now();
        let mut m = machine(EndOfStream::Retry);
        assert_eq!(m.handle(Event::Eos), []);
        assert_eq!(m.handle(tick(secs(t0, 100.0), 0, None)), []);
        assert_eq!(m.handle(Event::Started { at: t0, frames: 0 }), []);
        assert_eq!(m.phase(), Phase::Idle);
    }

    fn rtsp_machine(mode: crate::config::RtspTransport, t0: Instant) -> Lifecycle {
        let mut m = machine(EndOfStream::Retry).with_rtsp(Some(TransportChoice::new(mode)));
        m.handle(Event::Begin);
        m.handle(Event::Started { at: t0, frames: 0 });
        m
    }

    fn rtsp_failed(cause: rtsp::Cause) -> Event {
        Event::RtspFailed {
            cause,
            from: "/GstPipeline:stream-a/src".into(),
            error: "Not found".into(),
            debug: Some("rtsp://user:secret@cam/1".into()),
        }
    }

    /// The reconnecting reason in `out` (after Teardown and Retry).
    fn reconnecting(out: &[Action]) -> &str {
        match &out[2] {
            Report(Reconnecting, why) => why,
            other => panic!("no reconnecting report in {out:?}: {other:?}"),
        }
    }

    /// Rebuilds after the backoff and lets frames flow at `t`; returns the running reason.
    fn rebuilt_and_flowing(m: &mut Lifecycle, t: Instant, frames: u64) -> String {
        m.handle(Event::BackoffElapsed);
        m.handle(Event::Started { at: t, frames });
        match &m.handle(tick(t, frames + 1, Some(t)))[..] {
            [Report(Running, why)] => why.clone(),
            other => panic!("not running: {other:?}"),
        }
    }

    #[test]
    fn auto_falls_back_to_udp_when_tcp_is_refused_and_remembers_it() {
        use crate::config::RtspTransport::Auto;
        let t0 = Instant::now();
        let mut m = rtsp_machine(Auto, t0);
        assert_eq!(m.rtsp_transport(), Some(Transport::Tcp));
        let out = m.handle(rtsp_failed(rtsp::Cause::TransportRefused));
        assert_eq!(out[1], Retry(RetryReason::Error));
        let why = reconnecting(&out);
        assert!(
            why.starts_with("transport refused: the camera refused RTP over TCP; trying RTP over UDP next [error from /GstPipeline:stream-a/src: Not found ("),
            "{why}"
        );
        assert!(!why.contains("secret"), "{why}");
        assert_eq!(m.rtsp_transport(), Some(Transport::Udp));
        let flowing = rebuilt_and_flowing(&mut m, secs(t0, 2.0), 10);
        assert_eq!(flowing, "frames flowing (RTP over UDP)");
        // The camera goes away and comes back: what worked is kept.
        m.handle(rtsp_failed(rtsp::Cause::ConnectFailed));
        assert_eq!(m.rtsp_transport(), Some(Transport::Udp));
        m.handle(Event::BackoffElapsed);
        m.handle(Event::Started {
            at: secs(t0, 3.0),
            frames: 20,
        });
        m.handle(tick(secs(t0, 13.1), 20, None));
        assert_eq!(m.rtsp_transport(), Some(Transport::Udp));
        let flowing = rebuilt_and_flowing(&mut m, secs(t0, 20.0), 20);
        assert_eq!(flowing, "frames flowing (RTP over UDP)");
    }

    #[test]
    fn auto_goes_back_to_tcp_when_udp_gets_no_packets() {
        use crate::config::RtspTransport::Auto;
        let t0 = Instant::now();
        let mut m = rtsp_machine(Auto, t0);
        m.handle(rtsp_failed(rtsp::Cause::TransportRefused));
        m.handle(Event::BackoffElapsed);
        m.handle(Event::Started { at: t0, frames: 0 });
        let out = m.handle(rtsp_failed(rtsp::Cause::NoUdpPackets));
        assert!(
            reconnecting(&out).starts_with(
                "no RTP packets over UDP arrived (a firewall or NAT drops them); trying RTP over TCP next"
            ),
            "{out:?}"
        );
        assert_eq!(m.rtsp_transport(), Some(Transport::Tcp));
        let flowing = rebuilt_and_flowing(&mut m, secs(t0, 5.0), 0);
        assert_eq!(flowing, "frames flowing (RTP over TCP)");
    }

    #[test]
    fn strict_transports_never_switch_and_say_how_to_fix_it() {
        use crate::config::RtspTransport::{Tcp, Udp};
        let t0 = Instant::now();
        let mut m = rtsp_machine(Tcp, t0);
        let out = m.handle(rtsp_failed(rtsp::Cause::TransportRefused));
        assert!(
            reconnecting(&out).starts_with(
                "transport refused: the camera refused RTP over TCP; allow the other with rtsp_transport = \"auto\""
            ),
            "{out:?}"
        );
        assert_eq!(m.rtsp_transport(), Some(Transport::Tcp));
        let mut m = rtsp_machine(Udp, t0);
        m.handle(rtsp_failed(rtsp::Cause::NoUdpPackets));
        assert_eq!(m.rtsp_transport(), Some(Transport::Udp));
        assert_eq!(
            rebuilt_and_flowing(&mut m, secs(t0, 2.0), 0),
            "frames flowing (RTP over UDP)"
        );
    }

    #[test]
    fn a_silent_camera_is_named_with_the_answer_timeout() {
        let t0 = Instant::now();
        let mut m = rtsp_machine(crate::config::RtspTransport::Auto, t0);
        let out = m.handle(rtsp_failed(rtsp::Cause::NoAnswer));
        assert!(
            reconnecting(&out).starts_with("no answer from the camera within 5 s"),
            "{out:?}"
        );
        assert_eq!(m.rtsp_transport(), Some(Transport::Tcp));
    }

    #[test]
    fn slow_retry_is_a_minute_or_the_longest_backoff() {
        assert_eq!(slow_retry(30.0, 0.0), Duration::from_secs(60));
        assert_eq!(slow_retry(120.0, 0.0), Duration::from_secs(120));
        assert_eq!(slow_retry(30.0, 1.0), Duration::from_secs(72));
        assert_eq!(slow_retry(30.0, -1.0), Duration::from_secs(48));
    }

    #[test]
    fn an_unusable_source_fails_and_is_checked_again_slowly() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::End, t0);
        let failed = || {
            vec![
                Teardown,
                Retry(RetryReason::Error),
                report(Failed, "not a video file; checking again in 60 s"),
                Sleep(Duration::from_secs(60)),
            ]
        };
        let unusable = || Event::Unusable {
            why: "not a video file".into(),
        };
        assert_eq!(m.handle(unusable()), failed());
        assert_eq!(m.phase(), Phase::FailedWaiting);
        assert_eq!(m.attempt(), 1);
        // Nothing is watched meanwhile: no stall, no end of stream.
        assert_eq!(m.handle(tick(secs(t0, 200.0), 100, None)), []);
        assert_eq!(m.handle(Event::Eos), []);
        // Checked again without leaving `failed`.
        assert_eq!(m.handle(Event::BackoffElapsed), [Build]);
        m.handle(Event::Started {
            at: secs(t0, 60.0),
            frames: 100,
        });
        assert_eq!(m.handle(unusable()), failed());
        assert_eq!(m.attempt(), 2);
        // The file was replaced: frames flow, the stream runs, the attempts reset.
        assert_eq!(m.handle(Event::BackoffElapsed), [Build]);
        m.handle(Event::Started {
            at: secs(t0, 120.0),
            frames: 100,
        });
        let t = secs(t0, 120.5);
        assert_eq!(
            m.handle(tick(t, 101, Some(t))),
            [report(Running, "frames flowing")]
        );
        assert_eq!(m.attempt(), 0);
    }

    #[test]
    fn an_unusable_build_fails_slowly_and_a_stop_ends_the_wait() {
        let mut m = Lifecycle::new(
            Settings {
                reconnect_max_s: 90.0,
                ..settings(EndOfStream::Retry)
            },
            || 0.0,
        );
        m.handle(Event::Begin);
        let why = "pipeline fragment does not parse: no element \"nvh264dec\"";
        assert_eq!(
            m.handle(Event::Unusable { why: why.into() }),
            [
                Teardown,
                Retry(RetryReason::StartFailed),
                report(Failed, &format!("{why}; checking again in 90 s")),
                Sleep(Duration::from_secs(90)),
            ]
        );
        assert_stops_at_once(&mut m);
        assert_eq!(m.handle(Event::BackoffElapsed), []);
    }

    #[test]
    fn unusable_out_of_place_changes_nothing() {
        let t0 = Instant::now();
        let mut m = playing(EndOfStream::Retry, t0);
        m.handle(Event::Eos);
        assert_eq!(m.phase(), Phase::Backoff);
        assert_eq!(m.handle(Event::Unusable { why: "x".into() }), []);
        assert_eq!(m.phase(), Phase::Backoff);
    }

    #[test]
    fn a_fragment_is_rebuilt_at_its_end_unless_finite() {
        let fragment = SourceKind::Pipeline("videotestsrc num-buffers=50".into());
        let mut stream = StreamConfig::new("f", fragment);
        let s = Settings::of(&stream, false);
        assert_eq!(s.end_of_stream, EndOfStream::Retry);
        assert_eq!(s.source, "pipeline fragment");
        // Ended, rebuilt with the same backoff, running again.
        let t0 = Instant::now();
        let mut m = Lifecycle::new(s, || 0.0);
        m.handle(Event::Begin);
        m.handle(Event::Started { at: t0, frames: 0 });
        let t = secs(t0, 0.5);
        m.handle(tick(t, 50, Some(t)));
        assert_eq!(
            m.handle(Event::Eos),
            retried(RetryReason::Eos, "end of stream; retry 1 in 1.0 s")
        );
        assert_eq!(
            m.handle(Event::BackoffElapsed),
            [
                report(Starting, "reconnecting to pipeline fragment (attempt 1)"),
                Build
            ]
        );
        stream.finite = true;
        assert_eq!(Settings::of(&stream, false).end_of_stream, EndOfStream::End);
        // Files keep their own rule; `finite` means nothing to them.
        let file = StreamConfig::new("v", SourceKind::File(PathBuf::from("a.mp4")));
        assert_eq!(EndOfStream::of_stream(&file, false), EndOfStream::End);
        let looping = StreamConfig {
            r#loop: true,
            finite: true,
            ..file
        };
        assert_eq!(EndOfStream::of_stream(&looping, false), EndOfStream::Loop);
    }

    #[test]
    fn reason_names_are_stable_and_distinct() {
        let names: Vec<_> = RetryReason::ALL.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            names,
            ["error", "eos", "stall", "start_failed", "rewind_failed"]
        );
        for (i, r) in RetryReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }
}
