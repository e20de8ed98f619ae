//! Taps a stream's compressed video before its decoder: the H.264/H.265 parser
//! that decodebin plugs in front of the decoder hands every packet (a reference,
//! not a copy) to the stream's recorder.

use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::stream::StreamRecorder;

/// The parsers whose output is recorded.
const PARSERS: [&str; 2] = ["h264parse", "h265parse"];

/// Watches `pipeline` for the parser of its video and feeds `recorder` from its
/// output; the recorder starts afresh with this pipeline.
pub fn tap(pipeline: &gst::Pipeline, recorder: Arc<StreamRecorder>) {
    recorder.restart();
    let tapped = std::sync::atomic::AtomicBool::new(false);
    pipeline.connect_deep_element_added(move |_, _, element| {
        let is_parser = element
            .factory()
            .is_some_and(|f| PARSERS.contains(&f.name().as_str()));
        if !is_parser || tapped.swap(true, std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let Some(pad) = element.static_pad("src") else {
            return;
        };
        let recorder = recorder.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            if let Some(buffer) = info.buffer() {
                recorder.packet(pad.current_caps(), buffer);
            }
            gst::PadProbeReturn::Ok
        });
    });
}
