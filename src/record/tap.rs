//! Taps a stream's compressed video before its decoder: the H.264/H.265 parser
//! that decodebin plugs in front of the decoder hands every packet (a reference,
//! not a copy) to the stream's recorder. A stream without one (its first decoded
//! frame came through no such parser) is re-encoded instead ([`super::encode`]).

use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::stream::StreamRecorder;

/// The parsers whose output is recorded.
const PARSERS: [&str; 2] = ["h264parse", "h265parse"];

/// Watches `pipeline` for the parser of its video and feeds `recorder` from its
/// output, or else re-encodes the decoded frames that reach `raw`; the recorder
/// starts afresh with this pipeline.
pub fn tap(pipeline: &gst::Pipeline, raw: &gst::Pad, recorder: Arc<StreamRecorder>) {
    recorder.restart();
    let tapped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    super::encode::watch(raw, recorder.clone(), tapped.clone());
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
