//! Encoded media for tests, made with GStreamer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Mp4,
    Matroska,
}

impl Container {
    fn muxer(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4mux",
            Container::Matroska => "matroskamux",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Matroska => "mkv",
        }
    }
}

/// What to encode: `frames` frames of `videotestsrc pattern=…` as H.264.
#[derive(Clone, Debug)]
pub struct EncodeSpec {
    pub frames: u32,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub pattern: String,
    pub container: Container,
}

impl Default for EncodeSpec {
    fn default() -> Self {
        EncodeSpec {
            frames: 45,
            width: 320,
            height: 240,
            fps: 15,
            pattern: "ball".into(),
            container: Container::Mp4,
        }
    }
}

/// Encodes `spec` into `dir/name.<ext>` and returns the path.
pub fn encode_h264(dir: &Path, name: &str, spec: &EncodeSpec) -> PathBuf {
    super::gst_init();
    let path = dir.join(format!("{name}.{}", spec.container.extension()));
    let desc = format!(
        "videotestsrc num-buffers={} pattern={} \
         ! video/x-raw,width={},height={},framerate={}/1 \
         ! x264enc speed-preset=ultrafast key-int-max={} \
         ! h264parse ! {} ! filesink name=out",
        spec.frames,
        spec.pattern,
        spec.width,
        spec.height,
        spec.fps,
        spec.fps,
        spec.container.muxer()
    );
    launch_to_file(&desc, &path);
    path
}

/// A Matroska file at `out` of raw RGB frames (`bytes`: whole `w`x`h` frames, one after
/// another) at `fps`: lossless, `uridecodebin` plays it bit-exact.
pub fn raw_rgb_mkv(out: &Path, bytes: &[u8], (w, h): (usize, usize), fps: u64) {
    let raw = out.with_extension("rgb");
    std::fs::write(&raw, bytes).unwrap();
    let desc = format!(
        "filesrc location={} ! rawvideoparse width={w} height={h} format=rgb framerate={fps}/1 ! matroskamux ! filesink location={}",
        raw.display(),
        out.display()
    );
    let st = std::process::Command::new("gst-launch-1.0")
        .arg("-q")
        .args(desc.split_whitespace())
        .status()
        .expect("gst-launch-1.0");
    assert!(st.success(), "making {}", out.display());
}

/// Runs the gst-launch description `desc`, whose `filesink` is named `out`, writing `path`.
pub fn launch_to_file(desc: &str, path: &Path) {
    let pipeline = gst::parse::launch(desc)
        .unwrap_or_else(|e| panic!("parse {desc:?}: {e}"))
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    pipeline
        .by_name("out")
        .expect("filesink")
        .set_property("location", path.to_str().expect("UTF-8 path"));
    run_to_eos(&pipeline, Duration::from_secs(60), desc);
}

/// Plays `pipeline` until EOS; panics on error or timeout. Leaves it in Null.
pub fn run_to_eos(pipeline: &gst::Pipeline, timeout: Duration, what: &str) {
    pipeline
        .set_state(gst::State::Playing)
        .unwrap_or_else(|e| panic!("{what}: set Playing: {e}"));
    let bus = pipeline.bus().expect("bus");
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    let _ = pipeline.set_state(gst::State::Null);
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => {}
        Some(gst::MessageView::Error(e)) => panic!(
            "{what}: error from {:?}: {} ({:?})",
            e.src().map(|s| s.path_string()),
            e.error(),
            e.debug()
        ),
        _ => panic!("{what}: no EOS within {timeout:?}"),
    }
}

/// Decodes a media file and counts its video frames.
pub fn count_decoded_frames(path: &Path) -> usize {
    super::gst_init();
    let desc = "filesrc name=src ! decodebin ! videoconvert ! appsink name=sink sync=false";
    let pipeline = gst::parse::launch(desc)
        .expect("parse decode pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    pipeline
        .by_name("src")
        .unwrap()
        .set_property("location", path.to_str().expect("UTF-8 path"));
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).expect("Playing");
    let bus = pipeline.bus().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut frames = 0;
    loop {
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(100)) {
            drop(sample);
            frames += 1;
            continue;
        }
        if sink.is_eos() {
            break;
        }
        if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            let _ = pipeline.set_state(gst::State::Null);
            panic!("decoding {}: {msg:?}", path.display());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "decoding {} did not finish",
            path.display()
        );
    }
    let _ = pipeline.set_state(gst::State::Null);
    frames
}

/// `file:///…` for an absolute path (test paths need no escaping; asserted).
pub fn file_uri(path: &Path) -> String {
    let s = path.to_str().expect("UTF-8 path");
    assert!(path.is_absolute(), "file_uri needs an absolute path: {s}");
    assert!(
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b)),
        "file_uri does not escape; path {s:?} needs escaping"
    );
    format!("file://{s}")
}
