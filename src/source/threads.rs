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

    /// Sets the threads per software decoder for decoders created from now on (in
    /// running pipelines too): the cores shared out among `streams` streams, at least
    /// one. With several streams the parallelism comes from the streams, and each
    /// decoder thread holds frames of its own.
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

/// Gives libav decoders their share of threads as decodebin creates them, reading
/// `settings` each time (a reload's new share reaches running pipelines).
pub(super) fn limit_decoder_threads(pipeline: &gst::Pipeline, settings: Arc<PipelineSettings>) {
    pipeline.connect_deep_element_added(move |_, _, element| {
        let n = settings.decoder_threads();
        let is_libav = element
            .factory()
            .is_some_and(|f| f.name().starts_with("avdec_"));
        if n > 0 && is_libav && element.find_property("max-threads").is_some() {
            element.set_property("max-threads", n as i32);
        }
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
}
