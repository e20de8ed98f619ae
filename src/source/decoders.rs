//! The video decoders of a stream's pipelines, as they are created: each is counted, and
//! the frames it marks corrupted (a camera joined between key frames decodes grey until
//! the next one; lost packets smear) are dropped at its output, counted, and never reach
//! the model, while still showing the stream alive to the stall watchdog.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::stats::StreamStats;

/// Watches the video decoders added to `pipeline` (at any depth) for `stats`.
pub(super) fn watch(pipeline: &gst::Pipeline, stats: &Arc<StreamStats>) {
    let stats = stats.clone();
    pipeline.connect_deep_element_added(move |_, _, element| {
        let is_decoder = element.factory().is_some_and(|f| {
            let klass = f.metadata(gst::ELEMENT_METADATA_KLASS).unwrap_or_default();
            klass.contains("Decoder") && klass.contains("Video")
        });
        if !is_decoder {
            return;
        }
        stats.decoders.fetch_add(1, Ordering::Relaxed);
        let Some(pad) = element.static_pad("src") else {
            return;
        };
        let stats = stats.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let corrupted = info
                .buffer()
                .is_some_and(|b| b.flags().contains(gst::BufferFlags::CORRUPTED));
            if !corrupted {
                return gst::PadProbeReturn::Ok;
            }
            stats.corrupt.fetch_add(1, Ordering::Relaxed);
            stats.touch();
            gst::PadProbeReturn::Drop
        });
    });
}
