//! The threads of stream pipelines: how many each software decoder may use and how
//! much lower than the rest of the daemon the streaming threads run. Settings passed
//! to every supervisor, shared with the daemon, which updates them on reload.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;

/// Thread settings shared by every stream pipeline of a daemon.
#[derive(Debug, Default)]
pub struct PipelineSettings {
    /// Threads each software decoder may use; 0 = the decoder's own choice (one per core).
    decoder_threads: AtomicU32,
    /// Nice value added to the streaming threads; 0 = none.
    stream_nice: AtomicI32,
}

impl PipelineSettings {
    /// Settings with `stream_nice` (clamped to 0..=19) and decoders left to their own choice.
    pub fn new(stream_nice: i32) -> Self {
        let s = PipelineSettings::default();
        s.set_stream_nice(stream_nice);
        s
    }

    /// Sets the threads per software decoder of a stream above one thread's pixel rate
    /// (see [`threads_for`]) for decoders created from now on (in running pipelines
    /// too): the cores shared out among `streams` streams, at least one. With several
    /// streams the parallelism comes from the streams, and each decoder thread holds
    /// frames of its own.
    pub fn share_decoder_threads(&self, streams: usize) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let n = (cores / streams.max(1)).max(1) as u32;
        self.decoder_threads.store(n, Ordering::Relaxed);
    }

    /// Threads each software decoder may use; 0 = the decoder's own choice.
    pub fn decoder_threads(&self) -> u32 {
        self.decoder_threads.load(Ordering::Relaxed)
    }

    /// Sets how much lower than the rest of the daemon (the inference worker, ONNX
    /// Runtime's threads) pipelines built from now on run their streaming threads.
    pub fn set_stream_nice(&self, nice: i32) {
        self.stream_nice.store(nice.clamp(0, 19), Ordering::Relaxed);
    }

    /// Nice value added to the streaming threads of pipelines built from now on.
    pub fn stream_nice(&self) -> i32 {
        self.stream_nice.load(Ordering::Relaxed)
    }
}

/// Pixels per second (1080p at 30 fps) up to which one decoder thread is given: one
/// thread decodes 720p30 H.264 here for 6 % of a core and costs less CPU per frame
/// than frame threading (1.68 against 1.82 ms, 2 threads), and each extra thread holds
/// frames of its own (about 10–17 MiB at 720p). Above it a decoder gets the cores'
/// share ([`PipelineSettings::share_decoder_threads`]) so that it keeps up.
const ONE_THREAD_PIXEL_RATE: f64 = 1920.0 * 1080.0 * 30.0;

/// Threads for a decoder of `width`×`height` at `fps` (0: unknown, counted as 30)
/// given the cores' `share` (0: the decoder's own choice).
pub fn threads_for(width: i32, height: i32, fps: f64, share: u32) -> u32 {
    let fps = if fps > 0.0 { fps } else { 30.0 };
    let rate = f64::from(width.max(0)) * f64::from(height.max(0)) * fps;
    if rate <= ONE_THREAD_PIXEL_RATE {
        1
    } else {
        share
    }
}

/// Gives libav decoders their threads as decodebin creates them: when their input's
/// caps arrive (before the decoder opens), one thread up to [`ONE_THREAD_PIXEL_RATE`],
/// else the share in `settings`, read each time (a reload's new share reaches running
/// pipelines).
pub(super) fn limit_decoder_threads(pipeline: &gst::Pipeline, settings: Arc<PipelineSettings>) {
    pipeline.connect_deep_element_added(move |_, _, element| {
        let is_libav = element
            .factory()
            .is_some_and(|f| f.name().starts_with("avdec_"));
        if !is_libav || element.find_property("max-threads").is_none() {
            return;
        }
        let Some(pad) = element.static_pad("sink") else {
            return;
        };
        let settings = settings.clone();
        let decoder = element.downgrade();
        pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
            let Some(gst::PadProbeData::Event(e)) = &info.data else {
                return gst::PadProbeReturn::Ok;
            };
            let (gst::EventView::Caps(c), Some(decoder)) = (e.view(), decoder.upgrade()) else {
                return gst::PadProbeReturn::Ok;
            };
            let Some(s) = c.caps().structure(0) else {
                return gst::PadProbeReturn::Ok;
            };
            let fps = s
                .get::<gst::Fraction>("framerate")
                .ok()
                .filter(|f| f.denom() > 0)
                .map_or(0.0, |f| f64::from(f.numer()) / f64::from(f.denom()));
            let (w, h) = (
                s.get::<i32>("width").unwrap_or(0),
                s.get::<i32>("height").unwrap_or(0),
            );
            let n = threads_for(w, h, fps, settings.decoder_threads());
            if n > 0 {
                decoder.set_property("max-threads", n as i32);
            }
            gst::PadProbeReturn::Ok
        });
    });
}

/// Gives each streaming thread of `pipeline` (demuxing, decoding, converting; and
/// the decoder threads they start, which inherit it) the daemon's nice value plus
/// `add`, as the thread enters: under load the CPU goes to inference first,
/// and decoders, which have slack, take what is left.
pub(super) fn lower_streaming_threads(pipeline: &gst::Pipeline, add: i32) {
    if add == 0 {
        return;
    }
    // The daemon's nice value, read in the calling supervisor thread (an absolute value
    // is set, as a pooled streaming thread may come back already lowered).
    // SAFETY: getpriority has no memory effects; errno is not consulted since a
    // nice value is always in -20..=19.
    let base = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let nice = (base + add).min(19);
    let Some(bus) = pipeline.bus() else {
        return;
    };
    bus.set_sync_handler(move |_, msg| {
        if let gst::MessageView::StreamStatus(s) = msg.view() {
            if s.get().0 == gst::StreamStatusType::Enter {
                // SAFETY: both calls only read or set the calling thread's scheduling value.
                let failed = unsafe {
                    let tid = libc::gettid();
                    libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) != 0
                };
                static WARNED: AtomicBool = AtomicBool::new(false);
                if failed && !WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "stream_nice: cannot lower the streaming threads' priority ({}); they run at the daemon's",
                        std::io::Error::last_os_error()
                    );
                }
            }
        }
        gst::BusSyncReply::Pass
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_threads_share_the_cores_and_nice_is_clamped() {
        let s = PipelineSettings::new(25);
        assert_eq!(s.stream_nice(), 19);
        assert_eq!(s.decoder_threads(), 0);
        s.share_decoder_threads(usize::MAX);
        assert_eq!(s.decoder_threads(), 1);
        s.share_decoder_threads(0);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(s.decoder_threads(), cores as u32);
        s.set_stream_nice(-3);
        assert_eq!(s.stream_nice(), 0);
    }

    #[test]
    fn one_decoder_thread_up_to_1080p30_then_the_share() {
        assert_eq!(threads_for(1280, 720, 30.0, 2), 1);
        assert_eq!(threads_for(1920, 1080, 30.0, 2), 1);
        assert_eq!(
            threads_for(1920, 1080, 0.0, 2),
            1,
            "unknown rate counts as 30"
        );
        assert_eq!(threads_for(1920, 1080, 60.0, 2), 2);
        assert_eq!(threads_for(3840, 2160, 25.0, 4), 4);
        assert_eq!(
            threads_for(3840, 2160, 25.0, 0),
            0,
            "the decoder's own choice"
        );
    }
}
