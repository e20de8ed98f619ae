//! Building one stream's GStreamer pipeline: source → decode → sample → convert
//! and scale to the model's input → appsink holding at most one frame.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::config::{RtspTransport, SourceKind, StreamConfig};
use crate::hub::{Frame, FrameHub, StreamSlot, StreamStats};
use crate::model::{ChannelOrder, Resize};

/// What the model wants from every frame.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Byte order of each pixel.
    pub channel_order: ChannelOrder,
    /// How frames are fitted to width×height.
    pub resize: Resize,
}

/// Why a pipeline could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A GStreamer element is not installed.
    #[error("GStreamer element `{0}` is not available (install the GStreamer plugin packages)")]
    MissingElement(&'static str),
    /// The user's pipeline fragment does not parse.
    #[error("pipeline fragment does not parse: {0}")]
    Fragment(String),
    /// Linking or configuring elements failed.
    #[error("building the pipeline failed: {0}")]
    Build(String),
}

impl PipelineError {
    /// True when retrying cannot help (the configuration or installation must change).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            PipelineError::MissingElement(_) | PipelineError::Fragment(_)
        )
    }
}

/// A running stream pipeline.
pub struct StreamPipeline {
    /// The pipeline.
    pub pipeline: gst::Pipeline,
    /// Whether the source is live (camera, RTSP, test) rather than a file.
    pub live: bool,
    /// The appsink delivering frames at the model's size.
    pub sink: gst_app::AppSink,
}

/// Where a pipeline's frames go.
pub enum Delivery {
    /// The daemon: the latest frame replaces an unclaimed one in the stream's `slot` of `hub`.
    Latest {
        /// The hub.
        hub: Arc<FrameHub>,
        /// The stream's slot.
        slot: StreamSlot,
        /// Pipeline generation to tag frames with.
        generation: u64,
    },
    /// Offline extraction: the caller pulls every sampled frame from the sink, as fast as it can.
    Pull,
}

fn make(factory: &'static str) -> Result<gst::Element, PipelineError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| PipelineError::MissingElement(factory))
}

/// Approximates `fps` as a fraction with a small denominator.
pub fn fps_fraction(fps: f64) -> gst::Fraction {
    for den in [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 25, 100, 1000] {
        let num = fps * den as f64;
        if (num - num.round()).abs() < 1e-6 {
            return gst::Fraction::new(num.round() as i32, den);
        }
    }
    gst::Fraction::new((fps * 1000.0).round() as i32, 1000)
}

/// The caps delivered to the appsink.
pub fn output_caps(target: &Target) -> gst::Caps {
    let format = match target.channel_order {
        ChannelOrder::Rgb => "RGB",
        ChannelOrder::Bgr => "BGR",
    };
    gst::Caps::builder("video/x-raw")
        .field("format", format)
        .field("width", target.width as i32)
        .field("height", target.height as i32)
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .build()
}

/// The elements after decoding, linked in order and ending in the appsink.
struct Tail {
    /// Every element, first to last.
    chain: Vec<gst::Element>,
    /// The appsink.
    sink: gst_app::AppSink,
    /// The first element that converts (after sampling).
    converting: gst::Element,
}

/// The elements after decoding: sampling first, so dropped frames are never converted.
fn tail(stream: &StreamConfig, target: &Target, drop: bool) -> Result<Tail, PipelineError> {
    let mut chain = Vec::new();
    if stream.sample_fps > 0.0 {
        let rate = make("videorate")?;
        rate.set_property("drop-only", true);
        // Timestamps alone decide what is dropped; no frames are ever duplicated.
        rate.set_property("skip-to-first", true);
        let caps = make("capsfilter")?;
        caps.set_property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("framerate", fps_fraction(stream.sample_fps))
                .build(),
        );
        chain.push(rate);
        chain.push(caps);
    }
    if target.resize == Resize::CenterCrop {
        let crop = make("aspectratiocrop")?;
        crop.set_property(
            "aspect-ratio",
            gst::Fraction::new(target.width as i32, target.height as i32),
        );
        chain.push(crop);
    }
    let convert = make("videoconvertscale")?;
    convert.set_property("add-borders", target.resize == Resize::Letterbox);
    chain.push(convert);
    let caps = make("capsfilter")?;
    caps.set_property("caps", output_caps(target));
    chain.push(caps);
    let sink = gst_app::AppSink::builder()
        .max_buffers(1)
        .drop(drop)
        .build();
    let converting = chain[if stream.sample_fps > 0.0 { 2 } else { 0 }].clone();
    chain.push(sink.clone().upcast());
    Ok(Tail {
        chain,
        sink,
        converting,
    })
}

fn rtsp_protocols(t: RtspTransport) -> &'static str {
    match t {
        RtspTransport::Tcp => "tcp",
        RtspTransport::Udp => "udp-mcast+udp",
        RtspTransport::Auto => "tcp+udp-mcast+udp",
    }
}

/// Threads each software decoder may use; 0 = the decoder's own choice (one per core).
static DECODER_THREADS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Sets the threads per software decoder for pipelines built from now on: the
/// cores shared out among `streams` streams, at least one. With several streams the
/// parallelism comes from the streams, and each decoder thread holds frames of its own.
pub fn share_decoder_threads(streams: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = (cores / streams.max(1)).max(1) as u32;
    DECODER_THREADS.store(n, std::sync::atomic::Ordering::Relaxed);
}

/// Gives libav decoders their share of threads as decodebin creates them.
fn limit_decoder_threads(pipeline: &gst::Pipeline) {
    pipeline.connect_deep_element_added(|_, _, element| {
        let n = DECODER_THREADS.load(std::sync::atomic::Ordering::Relaxed);
        let is_libav = element
            .factory()
            .is_some_and(|f| f.name().starts_with("avdec_"));
        if n > 0 && is_libav && element.find_property("max-threads").is_some() {
            element.set_property("max-threads", n as i32);
        }
    });
}

/// Nice value added to the streaming threads of pipelines built from now on; 0 = none.
static STREAM_NICE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Sets how much lower than the rest of the daemon (the inference worker, ONNX
/// Runtime's threads) pipelines built from now on run their streaming threads.
pub fn set_stream_nice(nice: i32) {
    STREAM_NICE.store(nice.clamp(0, 19), std::sync::atomic::Ordering::Relaxed);
}

/// Gives each streaming thread of `pipeline` (demuxing, decoding, converting; and
/// the decoder threads they start, which inherit it) the daemon's nice value plus
/// [`STREAM_NICE`], as the thread enters: under load the CPU goes to inference first,
/// and decoders, which have slack, take what is left.
fn lower_streaming_threads(pipeline: &gst::Pipeline) {
    let add = STREAM_NICE.load(std::sync::atomic::Ordering::Relaxed);
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
                static WARNED: std::sync::atomic::AtomicBool =
                    std::sync::atomic::AtomicBool::new(false);
                if failed && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
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

/// Builds the pipeline for `stream`, delivering frames as `delivery` says.
pub fn build(
    stream: &StreamConfig,
    target: &Target,
    delivery: Delivery,
) -> Result<StreamPipeline, PipelineError> {
    let pipeline = gst::Pipeline::with_name(&format!("stream-{}", stream.name));
    limit_decoder_threads(&pipeline);
    let pull = matches!(delivery, Delivery::Pull);
    let Tail {
        chain,
        sink,
        converting,
    } = tail(stream, target, !pull)?;
    let first = chain[0].clone();
    let build_err = |e: &dyn std::fmt::Display| PipelineError::Build(e.to_string());

    // The head: an element whose src pad (static or dynamic) carries raw video.
    let (head, live, dynamic): (gst::Element, bool, bool) = match &stream.source {
        SourceKind::Test(pattern) => {
            let desc = format!(
                "videotestsrc is-live=true pattern={pattern} ! capsfilter caps=\"video/x-raw,width=640,height=480,framerate=30/1\""
            );
            let bin = gst::parse::bin_from_description(&desc, true)
                .map_err(|e| PipelineError::Build(e.to_string()))?;
            (bin.upcast(), true, false)
        }
        SourceKind::Pipeline(fragment) => {
            let bin = gst::parse::bin_from_description(fragment, true)
                .map_err(|e| PipelineError::Fragment(e.to_string()))?;
            if bin.static_pad("src").is_none() {
                return Err(PipelineError::Fragment(
                    "the fragment has no unlinked source pad to take video from".into(),
                ));
            }
            (bin.upcast(), false, false)
        }
        SourceKind::V4l2(device) => {
            let src = make("v4l2src")?;
            src.set_property("device", device.to_string_lossy().as_ref());
            let decode = make("decodebin")?;
            pipeline
                .add_many([&src, &decode])
                .map_err(|e| build_err(&e))?;
            src.link(&decode).map_err(|e| build_err(&e))?;
            (decode, true, true)
        }
        SourceKind::Rtsp(uri) | SourceKind::Http(uri) => {
            let live = matches!(stream.source, SourceKind::Rtsp(_));
            (uridecodebin(uri, stream)?, live, true)
        }
        SourceKind::File(path) => {
            let uri = gst::glib::filename_to_uri(path, None).map_err(|e| build_err(&e))?;
            (uridecodebin(uri.as_str(), stream)?, false, true)
        }
    };
    if head.parent().is_none() {
        pipeline.add(&head).map_err(|e| build_err(&e))?;
    }
    pipeline.add_many(&chain).map_err(|e| build_err(&e))?;
    gst::Element::link_many(&chain).map_err(|e| build_err(&e))?;
    if dynamic {
        let sinkpad = first
            .static_pad("sink")
            .expect("first tail element has a sink pad");
        head.connect_pad_added(move |_, pad| {
            if sinkpad.is_linked() {
                return;
            }
            let is_video = pad
                .current_caps()
                .or_else(|| Some(pad.query_caps(None)))
                .and_then(|c| c.structure(0).map(|s| s.name().starts_with("video/")))
                .unwrap_or(false);
            if is_video {
                if let Err(e) = pad.link(&sinkpad) {
                    tracing::warn!("linking decoded video failed: {e:?}");
                }
            }
        });
    } else {
        head.link(&first).map_err(|e| build_err(&e))?;
    }
    match delivery {
        Delivery::Latest {
            hub,
            slot,
            generation,
        } => {
            lower_streaming_threads(&pipeline);
            // Live sources: deliver at once. Files and fragments: play at their own pace.
            sink.set_property("sync", !live);
            count_decoded(&first, &slot.stats);
            skip_while_waiting(&converting, hub.clone(), slot.clone());
            attach_sink(&sink, hub, slot, generation);
        }
        Delivery::Pull => sink.set_property("sync", false),
    }
    Ok(StreamPipeline {
        pipeline,
        live,
        sink,
    })
}

fn uridecodebin(uri: &str, stream: &StreamConfig) -> Result<gst::Element, PipelineError> {
    let dec = make("uridecodebin")?;
    dec.set_property("uri", uri);
    dec.set_property(
        "caps",
        gst::Caps::builder("video/x-raw").any_features().build(),
    );
    dec.set_property("expose-all-streams", false);
    let transport = rtsp_protocols(stream.rtsp_transport);
    let latency = stream.latency_ms;
    dec.connect("source-setup", false, move |args| {
        let source = args[1]
            .get::<gst::Element>()
            .expect("source-setup passes an element");
        let factory = source
            .factory()
            .map(|f| f.name().to_string())
            .unwrap_or_default();
        if factory == "rtspsrc" {
            source.set_property_from_str("protocols", transport);
            source.set_property("latency", latency);
            source.set_property("drop-on-latency", true);
        }
        None
    });
    Ok(dec)
}

/// Wall-clock capture estimate: now minus how long ago, on the pipeline clock, the frame's
/// running time was reached (decode and pipeline latency count as latency).
fn capture_time(
    sink: &gst_app::AppSink,
    sample: &gst::Sample,
    pts: Option<gst::ClockTime>,
) -> SystemTime {
    let now = SystemTime::now();
    let (Some(clock), Some(base), Some(pts)) = (sink.clock(), sink.base_time(), pts) else {
        return now;
    };
    let Some(segment) = sample.segment() else {
        return now;
    };
    let Some(segment) = segment.downcast_ref::<gst::ClockTime>() else {
        return now;
    };
    let Some(running) = segment.to_running_time(pts) else {
        return now;
    };
    let age = clock.time().saturating_sub(base + running);
    now.checked_sub(Duration::from_nanos(age.nseconds().min(10_000_000_000)))
        .unwrap_or(now)
}

/// Counts the decoded frames entering `first` (the sampler) in the stream's `decoded` counter.
fn count_decoded(first: &gst::Element, stats: &Arc<StreamStats>) {
    let Some(pad) = first.static_pad("sink") else {
        return;
    };
    let stats = stats.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        stats
            .decoded
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        gst::PadProbeReturn::Ok
    });
}

/// How long a frame waits for the worker before the worker counts as behind.
const BEHIND: std::time::Duration = std::time::Duration::from_millis(20);

/// Drops a sampled frame before conversion while the stream's previous frame has
/// waited [`BEHIND`] or more for the worker (counted as sampled and dropped): when
/// inference cannot keep up, frames it would never see cost no conversion.
fn skip_while_waiting(converting: &gst::Element, hub: Arc<FrameHub>, slot: StreamSlot) {
    let Some(pad) = converting.static_pad("sink") else {
        return;
    };
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        if !hub.waiting(&slot, BEHIND) {
            return gst::PadProbeReturn::Ok;
        }
        let stats = &slot.stats;
        stats
            .received
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        stats
            .dropped
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        stats.touch();
        // Handled: the buffer is released here with the probe's data (Drop makes
        // GStreamer unref it a second time through gstreamer-rs).
        gst::PadProbeReturn::Handled
    });
}

fn attach_sink(sink: &gst_app::AppSink, hub: Arc<FrameHub>, slot: StreamSlot, generation: u64) {
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let pts = sample.buffer().and_then(|b| b.pts());
                let capture = capture_time(sink, &sample, pts);
                let stream_id = slot.stats.id;
                hub.offer(
                    &slot,
                    Frame {
                        sample,
                        pts_ns: pts.map(|p| p.nseconds()),
                        capture,
                        generation,
                        arrived: std::time::Instant::now(),
                        stream_id,
                    },
                );
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fps_fractions() {
        assert_eq!(fps_fraction(5.0), gst::Fraction::new(5, 1));
        assert_eq!(fps_fraction(2.5), gst::Fraction::new(5, 2));
        assert_eq!(fps_fraction(0.2), gst::Fraction::new(1, 5));
    }

    #[test]
    fn output_caps_follow_channel_order() {
        gst::init().unwrap();
        let t = Target {
            width: 160,
            height: 120,
            channel_order: ChannelOrder::Bgr,
            resize: Resize::Stretch,
        };
        let caps = output_caps(&t);
        let s = caps.structure(0).unwrap();
        assert_eq!(s.get::<&str>("format").unwrap(), "BGR");
        assert_eq!(s.get::<i32>("width").unwrap(), 160);
    }
}
