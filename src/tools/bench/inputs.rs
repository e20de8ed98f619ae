//! The benchmark's input videos: H.264 (with and without B-frames) and H.265 files with
//! motion, rendered once with GStreamer and reused from the work folder.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::BenchError;

/// One generated input: a name for the table and its file.
#[derive(Debug, Clone)]
pub struct Input {
    /// Short name, e.g. `720p30`.
    pub name: String,
    /// The video file.
    pub path: PathBuf,
    /// Frames per second of the file.
    pub fps: f64,
}

/// A rendered input: name, width, height, and the encoder (GStreamer elements up to
/// the parser, before the MP4 muxer).
const RENDERED: [(&str, u32, u32, &str); 5] = [
    // As cameras send it: no B-frames, a key frame every 2 s.
    (
        "720p30",
        1280,
        720,
        "x264enc speed-preset=veryfast bitrate=4000 key-int-max=60 bframes=0 ! \
         video/x-h264,profile=main ! h264parse",
    ),
    (
        "1080p30",
        1920,
        1080,
        "x264enc speed-preset=veryfast bitrate=8000 key-int-max=60 bframes=0 ! \
         video/x-h264,profile=main ! h264parse",
    ),
    // As files are: 3 B-frames between references, the middle one a reference (libx264's
    // b-pyramid), so half the frames are non-reference. Adaptive B-frames chose P-frames
    // for this content (16 B-frames in 300), and x264enc's own `b-adapt=false` is not
    // applied: x264's option string is.
    (
        "720p30-bframes",
        1280,
        720,
        "x264enc speed-preset=veryfast bitrate=4000 key-int-max=60 \
         option-string=bframes=3:b-adapt=0:b-pyramid=normal:scenecut=0 ! \
         video/x-h264,profile=main ! h264parse",
    ),
    // H.265 as newer cameras send it, at both sizes.
    (
        "720p30-h265",
        1280,
        720,
        "x265enc speed-preset=veryfast bitrate=2500 key-int-max=60 option-string=bframes=0 ! \
         h265parse",
    ),
    (
        "1080p30-h265",
        1920,
        1080,
        "x265enc speed-preset=veryfast bitrate=5000 key-int-max=60 option-string=bframes=0 ! \
         h265parse",
    ),
];

/// Renders (or reuses) the inputs of `seconds` seconds in `dir`: 720p30 and 1080p30
/// H.264 as cameras send it, 720p30 H.264 with B-frames as files are, 720p30 and
/// 1080p30 H.265.
pub fn generated(dir: &Path, seconds: u32) -> Result<Vec<Input>, BenchError> {
    std::fs::create_dir_all(dir).map_err(|e| BenchError::Io(dir.to_path_buf(), e))?;
    let mut out = Vec::new();
    for (name, w, h, encoder) in RENDERED {
        // The encoder's hash in the name: a changed encoder renders anew.
        let mut hash = std::hash::DefaultHasher::new();
        encoder.hash(&mut hash);
        let path = dir.join(format!(
            "bench-{name}-{seconds}s-{:08x}.mp4",
            hash.finish() as u32
        ));
        if !path.is_file() {
            eprintln!(
                "bench: rendering {} ({seconds} s of {name}, {w}x{h})…",
                path.display()
            );
            render(&path, w, h, encoder, seconds)?;
        }
        out.push(Input {
            name: name.to_string(),
            path,
            fps: 30.0,
        });
    }
    Ok(out)
}

/// Wraps given files as inputs (named after their stems); their rate is probed.
pub fn given(files: &[PathBuf]) -> Result<Vec<Input>, BenchError> {
    files
        .iter()
        .map(|f| {
            if !f.is_file() {
                return Err(BenchError::Input(f.clone(), "no such file".into()));
            }
            let path = f.canonicalize().map_err(|e| BenchError::Io(f.clone(), e))?;
            let name = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "input".into());
            let fps = probe_fps(&path)?;
            Ok(Input { name, path, fps })
        })
        .collect()
}

/// A video with motion in the whole picture (the SMPTE bars scroll) and a moving ball
/// on top, through `encoder`.
fn render(path: &Path, w: u32, h: u32, encoder: &str, seconds: u32) -> Result<(), BenchError> {
    let partial = path.with_extension("mp4.partial");
    let desc = format!(
        "videotestsrc num-buffers={n} pattern=smpte horizontal-speed=4 ! \
         video/x-raw,width={w},height={h},framerate=30/1 ! mix.sink_0 \
         videotestsrc num-buffers={n} pattern=ball motion=wavy background-color=0x00000000 ! \
         video/x-raw,width={bw},height={bh},framerate=30/1,format=BGRA ! mix.sink_1 \
         compositor name=mix sink_1::xpos={bx} sink_1::ypos={by} ! videoconvert ! \
         video/x-raw,format=I420 ! {encoder} ! mp4mux ! filesink location=\"{loc}\"",
        n = seconds * 30,
        bw = w / 3,
        bh = h / 3,
        bx = w / 3,
        by = h / 3,
        loc = partial.display()
    );
    run_to_eos(&desc).map_err(|e| BenchError::Input(path.to_path_buf(), e))?;
    std::fs::rename(&partial, path).map_err(|e| BenchError::Io(path.to_path_buf(), e))
}

/// Runs a `gst-launch` style pipeline until end of stream.
pub fn run_to_eos(desc: &str) -> Result<(), String> {
    let pipeline = gst::parse::launch(desc).map_err(|e| e.to_string())?;
    let bus = pipeline.bus().ok_or("pipeline without a bus")?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    let result = loop {
        let Some(msg) = bus.timed_pop(gst::ClockTime::NONE) else {
            break Err("bus closed".to_string());
        };
        match msg.view() {
            gst::MessageView::Eos(_) => break Ok(()),
            gst::MessageView::Error(e) => {
                break Err(format!(
                    "{}: {}",
                    e.src()
                        .map(|s| s.path_string().to_string())
                        .unwrap_or_default(),
                    e.error()
                ))
            }
            _ => {}
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// The frame rate of a video file, from its caps after preroll (30 if unknown).
fn probe_fps(path: &Path) -> Result<f64, BenchError> {
    let uri = gst::glib::filename_to_uri(path, None)
        .map_err(|e| BenchError::Input(path.to_path_buf(), e.to_string()))?;
    let desc = format!("uridecodebin uri=\"{uri}\" ! fakesink name=sink");
    let pipeline = gst::parse::launch(&desc)
        .map_err(|e| BenchError::Input(path.to_path_buf(), e.to_string()))?
        .downcast::<gst::Bin>()
        .map_err(|_| BenchError::Input(path.to_path_buf(), "not a bin".into()))?;
    let _ = pipeline.set_state(gst::State::Paused);
    let (res, _, _) = pipeline.state(gst::ClockTime::from_seconds(10));
    let fps = pipeline
        .by_name("sink")
        .and_then(|s| s.static_pad("sink"))
        .and_then(|p| p.current_caps())
        .and_then(|c| {
            c.structure(0)
                .and_then(|s| s.get::<gst::Fraction>("framerate").ok())
        })
        .filter(|f| f.numer() > 0 && f.denom() > 0)
        .map(|f| f.numer() as f64 / f.denom() as f64);
    let _ = pipeline.set_state(gst::State::Null);
    if res.is_err() {
        return Err(BenchError::Input(
            path.to_path_buf(),
            "GStreamer cannot decode it".into(),
        ));
    }
    Ok(fps.unwrap_or(30.0))
}
