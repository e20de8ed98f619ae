//! Re-encoding for sources without a compressed stream (test patterns, MJPEG,
//! raw V4L2, pipeline fragments): a small H.264 encoder of its own (appsrc →
//! scale → x264enc, low bitrate, a key frame a second) fed with references to
//! the decoded frames at a modest rate, its packets going to the same ring as a
//! camera's own. Only streams that record have one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::stream::StreamRecorder;

/// Frames a second encoded.
pub const FPS: u32 = 10;
/// Widest frame encoded; wider ones are scaled down, keeping the aspect ratio.
pub const MAX_WIDTH: i32 = 640;
/// Encoder bitrate, kbit/s.
pub const KBPS: u32 = 500;
/// Most bytes of decoded frames waiting for the encoder; more are dropped.
const MAX_QUEUED: u64 = 4 << 20;

/// Why the encoder could not be started.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The frames are not plain raw video in system memory.
    #[error("cannot re-encode {0} for recording")]
    Caps(String),
    /// Building or starting the encoder pipeline failed (x264enc missing, …).
    #[error("cannot start the recording encoder: {0}")]
    Pipeline(String),
}

/// The encoder size for `width`×`height`: at most [`MAX_WIDTH`] wide, even sides.
pub fn encoded_size(width: i32, height: i32) -> (i32, i32) {
    let w = width.clamp(2, MAX_WIDTH);
    let h = (i64::from(height) * i64::from(w) / i64::from(width.max(1))) as i32;
    (w & !1, h.max(2) & !1)
}

/// One stream's encoder pipeline; stopped when dropped.
struct Encoder {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    caps: gst::Caps,
    started: Instant,
    /// Stream time of the last frame pushed.
    last: Option<gst::ClockTime>,
}

impl Encoder {
    /// An encoder for raw frames of `caps`, handing its packets to `recorder`.
    fn start(caps: &gst::Caps, recorder: Arc<StreamRecorder>) -> Result<Self, EncodeError> {
        let s = caps
            .structure(0)
            .ok_or_else(|| EncodeError::Caps(caps.to_string()))?;
        let plain = caps
            .features(0)
            .is_none_or(|f| f.size() == 0 || f.contains("memory:SystemMemory"));
        if s.name() != "video/x-raw" || !plain {
            return Err(EncodeError::Caps(caps.to_string()));
        }
        let (w, h) = match (s.get::<i32>("width"), s.get::<i32>("height")) {
            (Ok(w), Ok(h)) => encoded_size(w, h),
            _ => return Err(EncodeError::Caps(caps.to_string())),
        };
        let desc = format!(
            "appsrc name=src format=time ! videoconvert ! videoscale \
             ! video/x-raw,format=I420,width={w},height={h} \
             ! x264enc tune=zerolatency speed-preset=ultrafast threads=1 bitrate={KBPS} key-int-max={FPS} \
             ! video/x-h264,stream-format=avc,alignment=au ! appsink name=out sync=false"
        );
        let fail = |e: &dyn std::fmt::Display| EncodeError::Pipeline(e.to_string());
        let pipeline = gst::parse::launch(&desc)
            .map_err(|e| fail(&e))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| fail(&"not a pipeline"))?;
        let by = |n: &str| pipeline.by_name(n).ok_or_else(|| fail(&format!("no {n}")));
        let src = by("src")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| fail(&"src is not an appsrc"))?;
        src.set_caps(Some(caps));
        let sink = by("out")?
            .downcast::<gst_app::AppSink>()
            .map_err(|_| fail(&"out is not an appsink"))?;
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(buffer) = sample.buffer_owned() {
                        recorder.packet(sample.caps_owned(), &buffer);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| fail(&e))?;
        Ok(Encoder {
            pipeline,
            src,
            caps: caps.clone(),
            started: Instant::now(),
            last: None,
        })
    }

    /// Hands `frame` to the encoder (a reference, restamped) unless it comes sooner
    /// than 1/[`FPS`] after the last one or the encoder is behind.
    fn push(&mut self, frame: &gst::Buffer) {
        let now = gst::ClockTime::from_nseconds(self.started.elapsed().as_nanos() as u64);
        let step = gst::ClockTime::SECOND / u64::from(FPS);
        if self.last.is_some_and(|l| now < l + step) || self.src.current_level_bytes() > MAX_QUEUED
        {
            return;
        }
        self.last = Some(now);
        let mut b = frame.copy(); // shares the memory
        {
            let m = b.make_mut();
            m.set_pts(now);
            m.set_dts(gst::ClockTime::NONE);
            m.set_duration(step);
        }
        let _ = self.src.push_buffer(b);
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Watches `pad` (the stream's decoded video) and, from its first frame on, feeds
/// an encoder for `recorder` unless `remuxed` says the camera's own packets are
/// recorded already; then the watch is removed.
pub fn watch(pad: &gst::Pad, recorder: Arc<StreamRecorder>, remuxed: Arc<AtomicBool>) {
    let state: Mutex<Option<Encoder>> = Mutex::new(None);
    let warned = AtomicBool::new(false);
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        if remuxed.load(Ordering::Relaxed) {
            return gst::PadProbeReturn::Remove;
        }
        let (Some(buffer), Some(caps)) = (info.buffer(), pad.current_caps()) else {
            return gst::PadProbeReturn::Ok;
        };
        let mut enc = state.lock().unwrap_or_else(|p| p.into_inner());
        if enc.as_ref().is_none_or(|e| e.caps != caps) {
            *enc = None;
            match Encoder::start(&caps, recorder.clone()) {
                Ok(e) => {
                    tracing::info!(
                        stream = recorder.name(),
                        "clips re-encode this source (no H.264/H.265 stream): x264, {FPS} fps"
                    );
                    *enc = Some(e)
                }
                Err(e) => {
                    if !warned.swap(true, Ordering::Relaxed) {
                        tracing::warn!(stream = recorder.name(), "no clips: {e}");
                    }
                    return gst::PadProbeReturn::Remove;
                }
            }
        }
        if let Some(e) = enc.as_mut() {
            e.push(buffer);
        }
        gst::PadProbeReturn::Ok
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_capped_at_640_wide_with_even_sides() {
        assert_eq!(encoded_size(640, 480), (640, 480));
        assert_eq!(encoded_size(320, 240), (320, 240));
        assert_eq!(encoded_size(1920, 1080), (640, 360));
        assert_eq!(encoded_size(1280, 721), (640, 360));
        assert_eq!(encoded_size(321, 241), (320, 240));
    }
}
