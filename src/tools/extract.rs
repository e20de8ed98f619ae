//! Offline frame extraction for training: the daemon's own sampling, resize and
//! colour conversion, so that training and serving see the same pixels.
//!
//! Output per input file: `<stem>.rgb` (frames back to back, height×width×3 bytes
//! each, no row padding, in the target's channel order) and `<stem>.json`
//! (geometry, frame count and each frame's PTS).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use serde::Serialize;

use crate::config::{SourceKind, StreamConfig};
use crate::model::{ChannelOrder, Resize};
use crate::source::pipeline::{self, Delivery, PipelineError, StreamPipeline};
use crate::source::Target;

/// Why extraction failed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The pipeline could not be built.
    #[error("{file}: {source}")]
    Pipeline {
        /// The input file.
        file: PathBuf,
        /// The cause.
        source: PipelineError,
    },
    /// GStreamer reported an error while decoding.
    #[error("{file}: decoding failed: {message}")]
    Decode {
        /// The input file.
        file: PathBuf,
        /// GStreamer's message.
        message: String,
    },
    /// Writing the output failed.
    #[error("{file}: {source}")]
    Io {
        /// The file being written.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What one extraction wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Extracted {
    /// The input video.
    pub source: PathBuf,
    /// The raw frames file.
    pub frames_file: PathBuf,
    /// Frame width.
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// "RGB" or "BGR".
    pub channel_order: &'static str,
    /// Resize mode used.
    pub resize: &'static str,
    /// Sampling rate (0 = every frame).
    pub sample_fps: f64,
    /// Number of frames written.
    pub frames: usize,
    /// PTS of each frame in ns (null when unknown).
    pub pts_ns: Vec<Option<u64>>,
}

/// Decodes `input`, samples at `sample_fps`, fits frames to `target` and writes them to `out_dir`.
pub fn extract(
    input: &Path,
    out_dir: &Path,
    target: &Target,
    sample_fps: f64,
) -> Result<Extracted, ExtractError> {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "frames".into());
    let frames_file = out_dir.join(format!("{stem}.rgb"));
    let meta_file = out_dir.join(format!("{stem}.json"));
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let mut stream = StreamConfig::new("extract", SourceKind::File(input.to_path_buf()));
    stream.sample_fps = sample_fps;
    let p = pipeline::build(&stream, target, Delivery::Pull).map_err(|source| {
        ExtractError::Pipeline {
            file: input.to_path_buf(),
            source,
        }
    })?;
    let file = std::fs::File::create(&frames_file).map_err(io(&frames_file))?;
    let mut out = Output {
        file: frames_file,
        writer: std::io::BufWriter::new(file),
    };
    let mut pts_ns = Vec::new();
    let result = pull_frames(&p, input, target, &mut out, &mut pts_ns);
    stop(&p.pipeline);
    result?;
    out.writer.flush().map_err(io(&out.file))?;
    let extracted = Extracted {
        source: input.to_path_buf(),
        frames_file: out.file,
        width: target.width,
        height: target.height,
        channel_order: match target.channel_order {
            ChannelOrder::Rgb => "RGB",
            ChannelOrder::Bgr => "BGR",
        },
        resize: match target.resize {
            Resize::Stretch => "stretch",
            Resize::CenterCrop => "center_crop",
            Resize::Letterbox => "letterbox",
        },
        sample_fps,
        frames: pts_ns.len(),
        pts_ns,
    };
    let json = serde_json::to_string_pretty(&extracted).expect("serializable");
    std::fs::write(&meta_file, json).map_err(io(&meta_file))?;
    Ok(extracted)
}

/// The raw frames file being written.
struct Output {
    file: PathBuf,
    writer: std::io::BufWriter<std::fs::File>,
}

/// The error maker for a failed write of `file`.
fn io(file: &Path) -> impl FnOnce(std::io::Error) -> ExtractError {
    let file = file.to_path_buf();
    move |source| ExtractError::Io { file, source }
}

/// Plays the pipeline to its end, writing each frame's rows without padding to
/// `out` and its PTS to `pts_ns`.
fn pull_frames(
    p: &StreamPipeline,
    input: &Path,
    target: &Target,
    out: &mut Output,
    pts_ns: &mut Vec<Option<u64>>,
) -> Result<(), ExtractError> {
    let decode = |message: String| ExtractError::Decode {
        file: input.to_path_buf(),
        message,
    };
    let bus = p.pipeline.bus().expect("a pipeline has a bus");
    p.pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| decode(e.to_string()))?;
    let row = target.width * 3;
    loop {
        if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(e) = msg.view() {
                return Err(decode(e.error().to_string()));
            }
        }
        let Some(sample) = p.sink.try_pull_sample(gst::ClockTime::from_mseconds(200)) else {
            if p.sink.is_eos() {
                return Ok(());
            }
            continue;
        };
        let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else {
            continue;
        };
        let info = gst_video::VideoInfo::from_caps(caps).map_err(|e| decode(e.to_string()))?;
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)
            .map_err(|_| decode("cannot map a frame".into()))?;
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data(0).map_err(|e| decode(e.to_string()))?;
        for y in 0..target.height {
            out.writer
                .write_all(&data[y * stride..y * stride + row])
                .map_err(io(&out.file))?;
        }
        pts_ns.push(buffer.pts().map(|t| t.nseconds()));
    }
}

/// Stops the pipeline, waiting at most 5 s for it.
fn stop(pipeline: &gst::Pipeline) {
    let (tx, rx) = std::sync::mpsc::channel();
    let pl = pipeline.clone();
    std::thread::spawn(move || {
        let _ = pl.set_state(gst::State::Null);
        let _ = tx.send(());
    });
    let _ = rx.recv_timeout(Duration::from_secs(5));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders `source` (a gst-launch fragment) as lossless raw RGB in Matroska.
    fn render(dir: &Path, name: &str, source: &str) -> PathBuf {
        gst::init().unwrap();
        let video = dir.join(name);
        let desc = format!(
            "{source} ! videoconvert ! video/x-raw,format=RGB ! matroskamux ! filesink location={}",
            video.display()
        );
        let pipeline = gst::parse::launch(&desc).unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(20),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .unwrap();
        assert!(
            matches!(msg.view(), gst::MessageView::Eos(_)),
            "rendering failed: {msg:?}"
        );
        pipeline.set_state(gst::State::Null).unwrap();
        video
    }

    /// Pixel (x, y) of the first frame of an extraction `w` pixels wide.
    fn pixel(bytes: &[u8], w: usize, x: usize, y: usize) -> [u8; 3] {
        let i = (y * w + x) * 3;
        [bytes[i], bytes[i + 1], bytes[i + 2]]
    }

    #[test]
    fn resize_modes_stretch_crop_and_letterbox() {
        let dir = tempfile::tempdir().unwrap();
        // 80×40: a green 40×40 square with 20 px red bands left and right.
        let video = render(
            dir.path(),
            "wide.mkv",
            "videotestsrc num-buffers=2 pattern=solid-color foreground-color=0xff00ff00 ! \
             video/x-raw,width=40,height=40,framerate=10/1 ! videobox left=-20 right=-20 fill=red",
        );
        let run = |resize: Resize| {
            let target = Target {
                width: 20,
                height: 20,
                channel_order: ChannelOrder::Rgb,
                resize,
            };
            let out = dir.path().join(format!("{resize:?}"));
            extract(&video, &out, &target, 0.0).unwrap();
            std::fs::read(out.join("wide.rgb")).unwrap()
        };
        let (red, green, black) = ([255, 0, 0], [0, 255, 0], [0, 0, 0]);
        let s = run(Resize::Stretch);
        assert_eq!(pixel(&s, 20, 0, 10), red, "stretch keeps the red bands");
        assert_eq!(pixel(&s, 20, 10, 0), green, "stretch has no borders");
        let c = run(Resize::CenterCrop);
        assert_eq!(
            pixel(&c, 20, 0, 10),
            green,
            "center crop cuts the bands off"
        );
        assert_eq!(pixel(&c, 20, 19, 19), green);
        let l = run(Resize::Letterbox);
        assert_eq!(pixel(&l, 20, 10, 0), black, "letterbox pads top and bottom");
        assert_eq!(pixel(&l, 20, 0, 10), red);
        assert_eq!(pixel(&l, 20, 10, 10), green);
    }

    #[test]
    fn extracts_sampled_frames_at_model_size() {
        let dir = tempfile::tempdir().unwrap();
        // 2 s of 30 fps lossless video.
        let video = render(
            dir.path(),
            "clip.mkv",
            "videotestsrc num-buffers=60 pattern=red ! video/x-raw,width=64,height=48,framerate=30/1",
        );

        let target = Target {
            width: 10,
            height: 6,
            channel_order: ChannelOrder::Bgr,
            resize: Resize::Stretch,
        };
        let out = dir.path().join("out");
        let got = extract(&video, &out, &target, 5.0).unwrap();
        assert_eq!(got.frames, 10, "2 s sampled at 5 fps");
        let bytes = std::fs::read(out.join("clip.rgb")).unwrap();
        assert_eq!(bytes.len(), 10 * 6 * 10 * 3);
        // Pure red in BGR order: blue 0, green 0, red 255.
        assert_eq!(&bytes[..3], &[0, 0, 255]);
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("clip.json")).unwrap()).unwrap();
        assert_eq!(meta["frames"], 10);
        assert_eq!(meta["channel_order"], "BGR");
        let pts: Vec<u64> = meta["pts_ns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert!(pts.windows(2).all(|w| w[1] > w[0]), "{pts:?}");
    }
}
