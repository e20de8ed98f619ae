//! A camera with regions of interest: decoded and sampled once, then split with a
//! `tee`; each region is cropped from the same frame (`videocrop`, margins set from
//! the frame's caps), fitted to the model's input and delivered to its own slot.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::pipeline::{self, Delivery, PipelineError, StreamPipeline, Target};
use super::supervisor::{StatusFn, StatusUpdate};
use super::threads;
use crate::config::{Rect, StreamConfig};
use crate::hub::{FrameHub, StreamSlot};
use crate::publish::StreamState;
use crate::stats::StreamStats;

/// One region of a running stream: its stream name, rectangle and slot.
#[derive(Clone)]
pub struct RegionTarget {
    /// The region's stream name, `<stream>/<region>`.
    pub name: String,
    /// Its rectangle.
    pub rect: Rect,
    /// Its mailbox in the hub and its counters.
    pub slot: StreamSlot,
    /// True while the frame is too small for a pixel region (its status says so).
    pub misfit: Arc<AtomicBool>,
    /// Its model's input, when not the stream's (a region with a model of its own).
    pub target: Option<Target>,
}

impl RegionTarget {
    /// A region named `name` with `rect`, delivering to `slot`.
    pub fn new(name: String, rect: Rect, slot: StreamSlot) -> Self {
        RegionTarget {
            name,
            rect,
            slot,
            misfit: Arc::new(AtomicBool::new(false)),
            target: None,
        }
    }

    /// The same region fitted to `target` (its model's input) instead of the stream's.
    pub fn with_target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }
}

/// Builds the pipeline of `stream` (with `Delivery::Latest`: the daemon's) that decodes
/// and samples once and delivers each of `regions` to its slot; the stream's own slot
/// counts decoded and sampled frames (its liveness) but receives none. Region status
/// changes of its own (a pixel region that does not fit the frame) go to `status`.
pub fn build(
    stream: &StreamConfig,
    target: &Target,
    delivery: Delivery,
    regions: &[RegionTarget],
    status: &StatusFn,
) -> Result<StreamPipeline, PipelineError> {
    let Delivery::Latest {
        hub,
        slot,
        settings,
        ..
    } = delivery
    else {
        return Err(PipelineError::Build(
            "regions are only delivered to the daemon".into(),
        ));
    };
    let pipeline = gst::Pipeline::with_name(&format!("stream-{}", stream.name));
    threads::limit_decoder_threads(&pipeline, settings.clone());
    super::decoders::watch(&pipeline, &slot.stats);
    let mut chain = pipeline::sampler(stream)?;
    let tee = pipeline::make("tee")?;
    chain.push(tee.clone());
    if let Some(raw) = chain[0].static_pad("sink") {
        crate::record::tap(&pipeline, &raw, &stream.name); // evidence clips, if on
    }
    super::skipping::attach(&pipeline, &chain[0], stream);
    let head = pipeline::head(stream, &pipeline)?;
    pipeline::assemble(&pipeline, &head, &chain)?;
    let live = pipeline::is_live(&stream.source);
    threads::lower_streaming_threads(&pipeline, settings.stream_nice());
    pipeline::count_received(&chain[0], &slot.stats);
    count_sampled(&tee, &slot.stats);
    let mut sinks = Vec::new();
    for r in regions {
        let branch = Branch {
            region: r,
            target,
            live,
            hub: &hub,
            status,
        };
        sinks.push(branch.build(&pipeline, &tee)?);
    }
    let sink = sinks
        .into_iter()
        .next()
        .ok_or_else(|| PipelineError::Build("a stream with regions needs one".into()))?;
    Ok(StreamPipeline {
        pipeline,
        live,
        sink,
    })
}

/// Counts the frames that passed sampling as the stream's `sampled` (its liveness).
fn count_sampled(tee: &gst::Element, stats: &Arc<StreamStats>) {
    let Some(pad) = tee.static_pad("sink") else {
        return;
    };
    let stats = stats.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        stats.sampled.fetch_add(1, Ordering::Relaxed);
        stats.touch();
        gst::PadProbeReturn::Ok
    });
}

/// One region's branch after the tee: `queue ! videocrop ! fit ! appsink`.
struct Branch<'a> {
    region: &'a RegionTarget,
    target: &'a Target,
    live: bool,
    hub: &'a Arc<FrameHub>,
    status: &'a StatusFn,
}

impl Branch<'_> {
    /// Adds the branch to `pipeline`, linked to a new pad of `tee`; returns its appsink.
    fn build(
        &self,
        pipeline: &gst::Pipeline,
        tee: &gst::Element,
    ) -> Result<gstreamer_app::AppSink, PipelineError> {
        let r = self.region;
        let queue = pipeline::make("queue")?;
        // Live: a region the worker cannot keep up with loses its oldest frame, never
        // holds back the others. Files keep their pace through the appsinks' clock.
        queue.set_property("max-size-buffers", 2u32);
        queue.set_property("max-size-bytes", 0u32);
        queue.set_property("max-size-time", 0u64);
        if self.live {
            queue.set_property_from_str("leaky", "downstream");
        }
        let crop = pipeline::make("videocrop")?;
        let mut chain = vec![queue.clone(), crop.clone()];
        chain.extend(pipeline::fit(r.target.as_ref().unwrap_or(self.target))?);
        let sink = pipeline::appsink(true);
        sink.set_property("sync", !self.live);
        // A region whose frames are all dropped (it does not fit) never prerolls: the
        // pipeline must not wait for it.
        sink.set_property("async", false);
        chain.push(sink.clone().upcast());
        let err =
            |e: &dyn std::fmt::Display| PipelineError::Build(format!("region {}: {e}", r.name));
        pipeline.add_many(&chain).map_err(|e| err(&e))?;
        gst::Element::link_many(&chain).map_err(|e| err(&e))?;
        let tee_pad = tee
            .request_pad_simple("src_%u")
            .ok_or_else(|| err(&"the tee gave no pad"))?;
        let queue_pad = queue
            .static_pad("sink")
            .ok_or_else(|| err(&"the queue has no sink pad"))?;
        tee_pad.link(&queue_pad).map_err(|e| err(&e))?;
        self.crop_from_caps(&crop);
        let generation = r.slot.stats.generation.load(Ordering::Relaxed);
        pipeline::count_received(&queue, &r.slot.stats);
        pipeline::skip_while_waiting(&crop, self.hub.clone(), r.slot.clone());
        pipeline::attach_sink(&sink, self.hub.clone(), r.slot.clone(), generation);
        Ok(sink)
    }

    /// Sets `crop`'s margins from each frame size that reaches it; while the region
    /// does not fit (a pixel region in a smaller frame), its frames are dropped and its
    /// status says why.
    fn crop_from_caps(&self, crop: &gst::Element) {
        let Some(pad) = crop.static_pad("sink") else {
            return;
        };
        let (region, status, weak) = (self.region.clone(), self.status.clone(), crop.downgrade());
        pad.add_probe(
            gst::PadProbeType::EVENT_DOWNSTREAM | gst::PadProbeType::BUFFER,
            move |_, info| {
                let Some(gst::PadProbeData::Event(ev)) = &info.data else {
                    // Handled, not Drop: the buffer is released with the probe's data
                    // (after Drop GStreamer 1.22 unrefs the emptied info: a CRITICAL).
                    return match region.misfit.load(Ordering::Relaxed) {
                        true => gst::PadProbeReturn::Handled,
                        false => gst::PadProbeReturn::Ok,
                    };
                };
                let gst::EventView::Caps(c) = ev.view() else {
                    return gst::PadProbeReturn::Ok;
                };
                let size = c.caps().structure(0).and_then(|s| {
                    Some((s.get::<i32>("width").ok()?, s.get::<i32>("height").ok()?))
                });
                if let (Some((w, h)), Some(crop)) = (size, weak.upgrade()) {
                    apply(&crop, &region, &status, w.max(0) as u32, h.max(0) as u32);
                }
                gst::PadProbeReturn::Ok
            },
        );
    }
}

/// Sets `crop`'s margins for `region` in a `width`×`height` frame, or marks the region
/// as not fitting (full-frame margins meanwhile, so the caps still negotiate) and says so.
fn apply(crop: &gst::Element, region: &RegionTarget, status: &StatusFn, width: u32, height: u32) {
    let margins = region.rect.crop(width, height);
    let m = margins.clone().unwrap_or(crate::config::Crop {
        left: 0,
        top: 0,
        right: 0,
        bottom: 0,
    });
    for (prop, v) in [
        ("left", m.left),
        ("top", m.top),
        ("right", m.right),
        ("bottom", m.bottom),
    ] {
        crop.set_property(prop, v as i32);
    }
    let was = region.misfit.swap(margins.is_err(), Ordering::Relaxed);
    let (state, reason) = match margins {
        Err(why) if !was => (StreamState::Failed, format!("{why}; this region gets no frames until it fits (change its rect, or use fractions)")),
        Ok(_) if was => (StreamState::Running, format!("the region fits the {width}x{height} frame again")),
        _ => return,
    };
    tracing::warn!(stream = %region.name, "{}", reason);
    status(StatusUpdate {
        stream: region.name.clone(),
        state,
        reason,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use crate::model::{ChannelOrder, Resize};
    use std::sync::Mutex;

    /// A 64x32 frame whose left half is red and right half blue, as 4 regions see it.
    #[test]
    fn each_region_gets_its_crop_of_one_decoded_frame() {
        gst::init().unwrap();
        let hub = FrameHub::new();
        let camera = hub.attach("cam");
        let frag = "compositor name=m sink_1::xpos=32 ! capsfilter caps=video/x-raw,format=RGB,width=64,height=32 \
                    videotestsrc pattern=red num-buffers=3 ! capsfilter caps=video/x-raw,format=RGB,width=32,height=32 ! m.sink_0 \
                    videotestsrc pattern=blue num-buffers=3 ! capsfilter caps=video/x-raw,format=RGB,width=32,height=32 ! m.sink_1";
        let mut stream = StreamConfig::new("cam", SourceKind::Pipeline(frag.into()));
        stream.sample_fps = 0.0;
        let rects = [
            Rect::Fraction([0.0, 0.0, 0.5, 1.0]),
            Rect::Pixels([32, 0, 32, 32]),
            Rect::Pixels([0, 0, 128, 32]),
        ];
        let regions: Vec<RegionTarget> = rects
            .iter()
            .enumerate()
            .map(|(i, r)| {
                RegionTarget::new(format!("cam/{i}"), *r, hub.attach(&format!("cam/{i}")))
            })
            .collect();
        let target = Target {
            width: 8,
            height: 8,
            channel_order: ChannelOrder::Rgb,
            resize: Resize::Stretch,
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let status: StatusFn = Arc::new(move |u: StatusUpdate| s2.lock().unwrap().push(u));
        let delivery = Delivery::Latest {
            hub: hub.clone(),
            slot: camera.clone(),
            generation: 0,
            settings: Arc::new(threads::PipelineSettings::new(0)),
        };
        let p = build(&stream, &target, delivery, &regions, &status).unwrap();
        p.pipeline.set_state(gst::State::Playing).unwrap();
        let bus = p.pipeline.bus().unwrap();
        let end = bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(10),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        if let Some(gst::MessageView::Error(e)) = end.as_ref().map(|m| m.view()) {
            panic!("{} ({:?})", e.error(), e.debug());
        }
        assert!(
            matches!(end.as_ref().map(|m| m.type_()), Some(gst::MessageType::Eos)),
            "{end:?}"
        );
        let mut out = Vec::new();
        let mut cursor = 0;
        hub.take(
            &mut out,
            8,
            &mut cursor,
            std::time::Duration::from_millis(10),
        );
        p.pipeline.set_state(gst::State::Null).unwrap();
        let pixel = |slot: &StreamSlot| {
            let f = out.iter().find(|(i, _)| *i == slot.index).expect("a frame");
            let map = f.1.sample.buffer().unwrap().map_readable().unwrap();
            assert_eq!(map.len(), 8 * 8 * 3);
            map[..3].to_vec()
        };
        assert_eq!(pixel(&regions[0].slot), vec![255, 0, 0], "left half: red");
        assert_eq!(pixel(&regions[1].slot), vec![0, 0, 255], "right half: blue");
        assert!(out
            .iter()
            .all(|(i, _)| *i != regions[2].slot.index && *i != camera.index));
        assert_eq!(camera.stats.received.load(Ordering::Relaxed), 3);
        assert_eq!(camera.stats.sampled.load(Ordering::Relaxed), 3);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "one status: the region that does not fit");
        assert_eq!(
            (seen[0].stream.as_str(), seen[0].state),
            ("cam/2", StreamState::Failed)
        );
        assert!(
            seen[0].reason.contains("does not fit the 64x32 frame"),
            "{}",
            seen[0].reason
        );
    }

    /// A camera that comes back smaller, then at its old size again: the pixel region is
    /// `failed` while it does not fit, `running` again once it does; fractions always fit.
    #[test]
    fn a_pixel_region_follows_the_frame_size_it_gets() {
        gst::init().unwrap();
        let hub = FrameHub::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let status: StatusFn = Arc::new(move |u: StatusUpdate| s2.lock().unwrap().push(u));
        let px = RegionTarget::new(
            "c/px".into(),
            Rect::Pixels([640, 0, 640, 720]),
            hub.attach("c/px"),
        );
        let fr = RegionTarget::new(
            "c/fr".into(),
            Rect::Fraction([0.5, 0.0, 0.5, 1.0]),
            hub.attach("c/fr"),
        );
        let crop = pipeline::make("videocrop").unwrap();
        let margins =
            |c: &gst::Element| ["left", "top", "right", "bottom"].map(|p| c.property::<i32>(p));
        apply(&crop, &px, &status, 1280, 720);
        assert_eq!(margins(&crop), [640, 0, 0, 0]);
        apply(&crop, &px, &status, 640, 360);
        assert_eq!(
            margins(&crop),
            [0, 0, 0, 0],
            "full frame while it does not fit"
        );
        assert!(px.misfit.load(Ordering::Relaxed));
        apply(&crop, &px, &status, 640, 360);
        apply(&crop, &px, &status, 1280, 720);
        assert!(!px.misfit.load(Ordering::Relaxed));
        apply(&crop, &fr, &status, 640, 360);
        assert_eq!(margins(&crop), [320, 0, 0, 0]);
        let seen: Vec<(String, StreamState)> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|u| (u.stream.clone(), u.state))
            .collect();
        assert_eq!(
            seen,
            [
                ("c/px".to_string(), StreamState::Failed),
                ("c/px".to_string(), StreamState::Running),
            ],
            "one status per change, none for the fraction"
        );
    }
}
