//! Building one stream's GStreamer pipeline: source → decode → sample → convert
//! and scale to the model's input → appsink holding at most one frame.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::threads::{self, PipelineSettings};
use crate::config::{SourceKind, StreamConfig, TEST_FRAME};
use crate::hub::{Frame, FrameHub, StreamSlot};
use crate::model::{ChannelOrder, Resize};
use crate::stats::StreamStats;

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
    /// The user's pipeline fragment names an element that is not installed.
    #[error(
        "pipeline fragment does not parse: {0} (install the GStreamer plugin that provides it)"
    )]
    FragmentElement(String),
    /// Linking or configuring elements failed.
    #[error("building the pipeline failed: {0}")]
    Build(String),
}

impl PipelineError {
    /// True when retrying cannot help (the configuration or installation must change).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            PipelineError::MissingElement(_)
                | PipelineError::Fragment(_)
                | PipelineError::FragmentElement(_)
        )
    }

    /// True when installing a GStreamer plugin could fix it (worth checking again slowly).
    pub fn is_installable(&self) -> bool {
        matches!(
            self,
            PipelineError::MissingElement(_) | PipelineError::FragmentElement(_)
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
        /// Decoder threads and streaming-thread priority.
        settings: Arc<PipelineSettings>,
    },
    /// Offline extraction: the caller pulls every sampled frame from the sink, as fast as it can.
    Pull,
}

pub(super) fn make(factory: &'static str) -> Result<gst::Element, PipelineError> {
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
    let mut chain = sampler(stream)?;
    let converting = chain.len();
    chain.extend(fit(target)?);
    let sink = appsink(drop);
    let converting = chain[converting].clone();
    chain.push(sink.clone().upcast());
    Ok(Tail {
        chain,
        sink,
        converting,
    })
}

/// `videorate ! capsfilter` dropping to `sample_fps` (nothing when it is 0).
pub(super) fn sampler(stream: &StreamConfig) -> Result<Vec<gst::Element>, PipelineError> {
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
    Ok(chain)
}

/// Cropping to the model's aspect ratio (if it center-crops), scaling and converting
/// to the model's input: the elements between sampling and the appsink.
pub(super) fn fit(target: &Target) -> Result<Vec<gst::Element>, PipelineError> {
    let mut chain = Vec::new();
    if target.resize == Resize::CenterCrop {
        let crop = make("aspectratiocrop")?;
        crop.set_property(
            "aspect-ratio",
            gst::Fraction::new(target.width as i32, target.height as i32),
        );
        chain.push(crop);
    }
    chain.extend(converters(target.resize == Resize::Letterbox)?);
    let caps = make("capsfilter")?;
    caps.set_property("caps", output_caps(target));
    chain.push(caps);
    Ok(chain)
}

/// An appsink holding at most one frame; `drop`: a newer frame replaces an unclaimed one.
pub(super) fn appsink(drop: bool) -> gst_app::AppSink {
    gst_app::AppSink::builder()
        .max_buffers(1)
        .drop(drop)
        .build()
}

/// Scaling and colour conversion: `videoconvertscale` (GStreamer ≥ 1.22), else
/// `videoscale ! videoconvert` (1.20: Ubuntu 22.04, JetPack 6), scaling first so the
/// conversion works on the small frame.
fn converters(letterbox: bool) -> Result<Vec<gst::Element>, PipelineError> {
    if gst::ElementFactory::find("videoconvertscale").is_some() {
        let convert = make("videoconvertscale")?;
        convert.set_property("add-borders", letterbox);
        return Ok(vec![convert]);
    }
    split_converters(letterbox)
}

/// `videoscale ! videoconvert`, the chain GStreamer 1.20 has.
fn split_converters(letterbox: bool) -> Result<Vec<gst::Element>, PipelineError> {
    let scale = make("videoscale")?;
    scale.set_property("add-borders", letterbox);
    Ok(vec![scale, make("videoconvert")?])
}

/// Whether a source of `kind` is live (camera, RTSP, test) rather than played at its own pace.
pub fn is_live(kind: &SourceKind) -> bool {
    matches!(
        kind,
        SourceKind::Test(_) | SourceKind::V4l2(_) | SourceKind::Rtsp(_)
    )
}

/// Builds the pipeline for `stream`, delivering frames as `delivery` says.
pub fn build(
    stream: &StreamConfig,
    target: &Target,
    delivery: Delivery,
) -> Result<StreamPipeline, PipelineError> {
    let pipeline = gst::Pipeline::with_name(&format!("stream-{}", stream.name));
    if let Delivery::Latest { settings, slot, .. } = &delivery {
        threads::limit_decoder_threads(&pipeline, settings.clone());
        super::decoders::watch(&pipeline, &slot.stats);
    }
    let pull = matches!(delivery, Delivery::Pull);
    let tail = tail(stream, target, !pull)?;
    if let (false, Some(raw)) = (pull, tail.chain[0].static_pad("sink")) {
        crate::record::tap(&pipeline, &raw, &stream.name); // evidence clips, if on
        super::skipping::attach(&pipeline, &tail.chain[0], stream);
    }
    let head = head(stream, &pipeline)?;
    assemble(&pipeline, &head, &tail.chain)?;
    let live = is_live(&stream.source);
    deliver(&pipeline, &tail, live, delivery);
    Ok(StreamPipeline {
        pipeline,
        live,
        sink: tail.sink,
    })
}

/// The start of a pipeline: an element whose src pad carries raw video.
pub(super) struct Head {
    /// The element.
    element: gst::Element,
    /// Whether its video pad appears only once playing (decodebin's).
    dynamic: bool,
}

fn build_err(e: &dyn std::fmt::Display) -> PipelineError {
    PipelineError::Build(e.to_string())
}

/// The head for `stream`'s source kind; elements before it are added to `pipeline`.
pub(super) fn head(stream: &StreamConfig, pipeline: &gst::Pipeline) -> Result<Head, PipelineError> {
    let (element, dynamic): (gst::Element, bool) = match &stream.source {
        SourceKind::Test(pattern) => {
            let desc = format!(
                "videotestsrc is-live=true pattern={pattern} ! capsfilter caps=\"video/x-raw,width={w},height={h},framerate=30/1\"",
                w = TEST_FRAME.0,
                h = TEST_FRAME.1
            );
            let bin = gst::parse::bin_from_description(&desc, true)
                .map_err(|e| PipelineError::Build(e.to_string()))?;
            (bin.upcast(), false)
        }
        SourceKind::Pipeline(fragment) => {
            let bin = gst::parse::bin_from_description(fragment, true).map_err(fragment_error)?;
            if bin.static_pad("src").is_none() {
                return Err(PipelineError::Fragment(
                    "the fragment has no unlinked source pad to take video from".into(),
                ));
            }
            (bin.upcast(), false)
        }
        SourceKind::V4l2(device) => {
            let src = make("v4l2src")?;
            src.set_property("device", device.to_string_lossy().as_ref());
            let decode = make("decodebin")?;
            pipeline
                .add_many([&src, &decode])
                .map_err(|e| build_err(&e))?;
            src.link(&decode).map_err(|e| build_err(&e))?;
            (decode, true)
        }
        SourceKind::Rtsp(uri) => (uridecodebin(uri, stream)?, true),
        SourceKind::Http(uri) => (super::http::head(uri, stream.sample_fps)?, true),
        SourceKind::File(path) => {
            let uri = gst::glib::filename_to_uri(path, None).map_err(|e| build_err(&e))?;
            (uridecodebin(uri.as_str(), stream)?, true)
        }
    };
    Ok(Head { element, dynamic })
}

/// A fragment's parse error: a missing element apart, as installing a plugin fixes it.
fn fragment_error(e: gst::glib::Error) -> PipelineError {
    if e.matches(gst::ParseError::NoSuchElement) {
        PipelineError::FragmentElement(e.to_string())
    } else {
        PipelineError::Fragment(e.to_string())
    }
}

/// Adds `head` and the `chain` after it to `pipeline` and links them; a dynamic head's
/// first video pad is linked when it appears.
pub(super) fn assemble(
    pipeline: &gst::Pipeline,
    head: &Head,
    chain: &[gst::Element],
) -> Result<(), PipelineError> {
    let first = &chain[0];
    if head.element.parent().is_none() {
        pipeline.add(&head.element).map_err(|e| build_err(&e))?;
    }
    pipeline.add_many(chain).map_err(|e| build_err(&e))?;
    gst::Element::link_many(chain).map_err(|e| build_err(&e))?;
    if !head.dynamic {
        return head.element.link(first).map_err(|e| build_err(&e));
    }
    let sinkpad = first
        .static_pad("sink")
        .ok_or_else(|| PipelineError::Build("the first tail element has no sink pad".into()))?;
    head.element.connect_pad_added(move |_, pad| {
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
    Ok(())
}

/// Sets up the appsink (and, for the daemon, counting and skipping) as `delivery` says.
fn deliver(pipeline: &gst::Pipeline, tail: &Tail, live: bool, delivery: Delivery) {
    match delivery {
        Delivery::Latest {
            hub,
            slot,
            generation,
            settings,
        } => {
            threads::lower_streaming_threads(pipeline, settings.stream_nice());
            // Live sources: deliver at once. Files and fragments: play at their own pace.
            tail.sink.set_property("sync", !live);
            count_received(&tail.chain[0], &slot.stats);
            skip_while_waiting(&tail.converting, hub.clone(), slot.clone());
            attach_sink(&tail.sink, hub, slot, generation);
        }
        Delivery::Pull => tail.sink.set_property("sync", false),
    }
}

fn uridecodebin(uri: &str, stream: &StreamConfig) -> Result<gst::Element, PipelineError> {
    let dec = make("uridecodebin")?;
    dec.set_property("uri", uri);
    dec.set_property(
        "caps",
        gst::Caps::builder("video/x-raw").any_features().build(),
    );
    dec.set_property("expose-all-streams", false);
    let rtsp = super::rtsp::RtspSettings::of(stream);
    dec.connect("source-setup", false, move |args| {
        let source = args[1]
            .get::<gst::Element>()
            .expect("source-setup passes an element");
        let factory = source
            .factory()
            .map(|f| f.name().to_string())
            .unwrap_or_default();
        if factory == "rtspsrc" {
            super::rtsp::configure(&source, &rtsp);
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

/// Counts the decoded frames entering `first` (the sampler) in the stream's `received` counter.
pub(super) fn count_received(first: &gst::Element, stats: &Arc<StreamStats>) {
    let Some(pad) = first.static_pad("sink") else {
        return;
    };
    let stats = stats.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        stats
            .received
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        gst::PadProbeReturn::Ok
    });
}

/// How long a frame waits for the worker before the worker counts as behind.
const BEHIND: std::time::Duration = std::time::Duration::from_millis(20);

/// Drops a sampled frame before conversion while the stream's previous frame has
/// waited [`BEHIND`] or more for the worker (counted as sampled and dropped): when
/// inference cannot keep up, frames it would never see cost no conversion.
pub(super) fn skip_while_waiting(converting: &gst::Element, hub: Arc<FrameHub>, slot: StreamSlot) {
    let Some(pad) = converting.static_pad("sink") else {
        return;
    };
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        if !hub.waiting(&slot, BEHIND) {
            return gst::PadProbeReturn::Ok;
        }
        let stats = &slot.stats;
        stats
            .sampled
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        stats
            .dropped_busy
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        stats.touch();
        // Handled: the buffer is released here with the probe's data (after Drop,
        // GStreamer 1.22 also unrefs the info's data, which gstreamer-rs emptied:
        // a CRITICAL).
        gst::PadProbeReturn::Handled
    });
}

pub(super) fn attach_sink(
    sink: &gst_app::AppSink,
    hub: Arc<FrameHub>,
    slot: StreamSlot,
    generation: u64,
) {
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

    /// One 96x48 RGB frame of SMPTE bars (640x480 I420 in) through `chain`.
    fn frame_through(chain: Vec<gst::Element>, letterbox: bool) -> Vec<u8> {
        let pipeline = gst::Pipeline::new();
        let src = gst::ElementFactory::make("videotestsrc")
            .property("num-buffers", 1)
            .build()
            .unwrap();
        let input = make("capsfilter").unwrap();
        input.set_property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("format", "I420")
                .field("width", 640)
                .field("height", 480)
                .build(),
        );
        let t = Target {
            width: 96,
            height: 48,
            channel_order: ChannelOrder::Rgb,
            resize: if letterbox {
                Resize::Letterbox
            } else {
                Resize::Stretch
            },
        };
        let output = make("capsfilter").unwrap();
        output.set_property("caps", output_caps(&t));
        let sink = gst_app::AppSink::builder().build();
        let mut all = vec![src, input];
        all.extend(chain);
        all.extend([output, sink.clone().upcast()]);
        pipeline.add_many(&all).unwrap();
        gst::Element::link_many(&all).unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let sample = sink.pull_sample().expect("a frame");
        let bytes = sample.buffer().unwrap().map_readable().unwrap().to_vec();
        pipeline.set_state(gst::State::Null).unwrap();
        bytes
    }

    /// GStreamer 1.20 has no `videoconvertscale`: its `videoscale ! videoconvert`
    /// gives frames of the same size and borders, within rounding of the same pixels.
    #[test]
    fn the_gstreamer_1_20_chain_gives_the_same_frames() {
        gst::init().unwrap();
        for letterbox in [false, true] {
            let one = frame_through(converters(letterbox).unwrap(), letterbox);
            let split = frame_through(split_converters(letterbox).unwrap(), letterbox);
            assert_eq!(one.len(), 96 * 48 * 3);
            assert_eq!(split.len(), one.len());
            let worst = one
                .iter()
                .zip(&split)
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap();
            // Bars' edges land on slightly different pixels when scaling before converting.
            let mean = one
                .iter()
                .zip(&split)
                .map(|(a, b)| f64::from(a.abs_diff(*b)))
                .sum::<f64>()
                / one.len() as f64;
            assert!(
                mean < 4.0,
                "letterbox {letterbox}: mean difference {mean}, worst {worst}"
            );
            if letterbox {
                // 640x480 into 96x48: a 64x48 picture, black borders of 16 px each side.
                let px = |buf: &[u8], x: usize, y: usize| buf[(y * 96 + x) * 3..][..3].to_vec();
                for buf in [&one, &split] {
                    assert_eq!(px(buf, 2, 24), vec![0, 0, 0], "left border");
                    assert_eq!(px(buf, 93, 24), vec![0, 0, 0], "right border");
                    assert!(px(buf, 20, 10).iter().any(|&c| c > 100), "picture");
                }
            }
        }
    }

    /// A fragment's pipeline, played to its end and stopped, is freed with everything
    /// it holds (no reference cycle through its callbacks): reconnects do not leak.
    #[test]
    fn a_stopped_fragment_pipeline_is_freed() {
        gst::init().unwrap();
        let hub = FrameHub::new();
        let slot = hub.attach("f");
        let mut stream = StreamConfig::new(
            "f",
            SourceKind::Pipeline(
                "videotestsrc num-buffers=5 ! capsfilter caps=video/x-raw,width=64,height=48"
                    .into(),
            ),
        );
        stream.sample_fps = 0.0;
        let target = Target {
            width: 32,
            height: 32,
            channel_order: ChannelOrder::Rgb,
            resize: Resize::Letterbox,
        };
        for _ in 0..3 {
            let delivery = Delivery::Latest {
                hub: hub.clone(),
                slot: slot.clone(),
                generation: 1,
                settings: Arc::new(PipelineSettings::new(0)),
            };
            let p = build(&stream, &target, delivery).unwrap();
            let weak = p.pipeline.downgrade();
            let sink = p.sink.downgrade();
            p.pipeline.set_state(gst::State::Playing).unwrap();
            let bus = p.pipeline.bus().unwrap();
            let end = bus.timed_pop_filtered(
                gst::ClockTime::from_seconds(10),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            );
            assert!(matches!(
                end.map(|m| m.type_()),
                Some(gst::MessageType::Eos)
            ));
            p.pipeline.set_state(gst::State::Null).unwrap();
            hub.clear(&slot);
            drop((p, bus));
            assert!(
                weak.upgrade().is_none(),
                "the pipeline outlived its teardown"
            );
            assert!(
                sink.upgrade().is_none(),
                "the appsink outlived its teardown"
            );
        }
        assert_eq!(
            Arc::strong_count(&slot.stats),
            2,
            "callbacks still hold the stats"
        );
    }
}
