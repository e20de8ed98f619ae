//! Leaving undecoded the encoded frames the sampler would drop anyway: a probe before
//! each H.264 / H.265 decoder drops non-reference frames that the [`Mirror`] of the
//! stream's `videorate` shows it is certain to drop, and a probe on `videorate`'s
//! input keeps the mirror in step with it.

use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::nal::{Codec, Format};
use super::pipeline::fps_fraction;
use super::unsampled::Mirror;
use crate::config::StreamConfig;

/// Sets up skipping in `pipeline` whose sampler starts with `sampler` (`videorate`),
/// if `stream` samples and allows it.
pub(super) fn attach(pipeline: &gst::Pipeline, sampler: &gst::Element, stream: &StreamConfig) {
    if !stream.skip_unsampled || stream.sample_fps <= 0.0 {
        return;
    }
    let is_videorate = sampler.factory().is_some_and(|f| f.name() == "videorate");
    let Some(pad) = sampler.static_pad("sink").filter(|_| is_videorate) else {
        return;
    };
    let rate = fps_fraction(stream.sample_fps);
    let (num, den) = (rate.numer(), rate.denom());
    if num <= 0 || den <= 0 {
        return;
    }
    let mirror = Arc::new(Mutex::new(Mirror::new(num as u64, den as u64)));
    follow_sampler(&pad, mirror.clone());
    let name = stream.name.clone();
    pipeline.connect_deep_element_added(move |_, _, element| {
        let is_decoder = element.factory().is_some_and(|f| {
            let klass = f.metadata(gst::ELEMENT_METADATA_KLASS).unwrap_or_default();
            klass.contains("Decoder") && klass.contains("Video")
        });
        if let Some(pad) = element.static_pad("sink").filter(|_| is_decoder) {
            before_decoder(&pad, mirror.clone(), name.clone());
        }
    });
}

/// Feeds the mirror what reaches the sampler: frames, flushes, segments and caps.
fn follow_sampler(pad: &gst::Pad, mirror: Arc<Mutex<Mirror>>) {
    pad.add_probe(
        gst::PadProbeType::BUFFER
            | gst::PadProbeType::EVENT_DOWNSTREAM
            | gst::PadProbeType::EVENT_FLUSH,
        move |_, info| {
            let Ok(mut m) = mirror.lock() else {
                return gst::PadProbeReturn::Ok;
            };
            match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => match b.pts() {
                    Some(pts) => m.sampled(pts.nseconds()),
                    None => m.sampler_changed(),
                },
                Some(gst::PadProbeData::Event(e)) => match e.type_() {
                    gst::EventType::FlushStop => m.sampler_flushed(),
                    gst::EventType::Segment | gst::EventType::Caps => m.sampler_changed(),
                    _ => {}
                },
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
}

/// The format of encoded video with `caps`, if its frames can be judged.
fn format_of(caps: &gst::CapsRef) -> Option<Format> {
    let s = caps.structure(0)?;
    let codec = match s.name().as_str() {
        "video/x-h264" => Codec::H264,
        "video/x-h265" => Codec::H265,
        _ => return None,
    };
    if s.get::<&str>("alignment").ok() != Some("au") {
        return None;
    }
    let stream_format = s.get::<&str>("stream-format").ok()?;
    let data = s.get::<gst::Buffer>("codec_data").ok();
    let map = data.as_ref().and_then(|d| d.map_readable().ok());
    Format::from_caps(codec, stream_format, map.as_ref().map(|m| m.as_slice()))
}

/// Drops, before `pad`'s decoder, the non-reference frames the sampler will drop.
fn before_decoder(pad: &gst::Pad, mirror: Arc<Mutex<Mirror>>, stream: String) {
    let format: Mutex<Option<Format>> = Mutex::new(None);
    pad.add_probe(
        gst::PadProbeType::BUFFER
            | gst::PadProbeType::EVENT_DOWNSTREAM
            | gst::PadProbeType::EVENT_FLUSH,
        move |_, info| {
            let (Ok(mut m), Ok(mut format)) = (mirror.lock(), format.lock()) else {
                return gst::PadProbeReturn::Ok;
            };
            let buffer = match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => b,
                Some(gst::PadProbeData::Event(e)) => {
                    match e.view() {
                        gst::EventView::FlushStop(_) => m.decoder_flushed(),
                        gst::EventView::Caps(c) => {
                            *format = format_of(c.caps());
                            if format.is_some() {
                                tracing::debug!(stream, "skipping unsampled non-reference frames");
                            }
                        }
                        _ => {}
                    }
                    return gst::PadProbeReturn::Ok;
                }
                _ => return gst::PadProbeReturn::Ok,
            };
            let Some(pts) = buffer.pts() else {
                return gst::PadProbeReturn::Ok;
            };
            let plain = buffer.flags().contains(gst::BufferFlags::DELTA_UNIT)
                && !buffer
                    .flags()
                    .intersects(gst::BufferFlags::DISCONT | gst::BufferFlags::HEADER);
            let droppable = format.as_mut().is_some_and(|f| {
                // H.265 buffers are all read: in-band SPS give the sub-layer count.
                (plain || f.codec == Codec::H265)
                    && buffer
                        .map_readable()
                        .is_ok_and(|map| f.is_non_reference(map.as_slice()))
            }) && plain;
            if m.keep(pts.nseconds(), droppable) {
                gst::PadProbeReturn::Ok
            } else {
                // Handled, not Drop: gstreamer-rs 0.24 takes the buffer out of the
                // probe's info and releases it; after Drop, GStreamer 1.22 also unrefs
                // the info's data, now NULL (a CRITICAL per frame; fixed in 1.24.8).
                gst::PadProbeReturn::Handled
            }
        },
    );
}
