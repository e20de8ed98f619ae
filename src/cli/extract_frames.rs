//! `actiond extract-frames`: the serving path's frames, offline, for training.

use std::path::PathBuf;

use anyhow::{anyhow, bail};

use crate::model::{ChannelOrder, Manifest, Resize};
use crate::source::Target;

/// `actiond extract-frames` options.
#[derive(clap::Args)]
pub struct Args {
    /// Take size, resize mode and channel order from this model manifest (model.toml).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Frame size WIDTHxHEIGHT (without --manifest).
    #[arg(long, default_value = "224x224")]
    size: String,
    /// Resize mode: stretch, center_crop or letterbox (without --manifest).
    #[arg(long, default_value = "stretch")]
    resize: String,
    /// Channel order: RGB or BGR (without --manifest).
    #[arg(long, default_value = "RGB")]
    channel_order: String,
    /// Frames per second to keep; 0 = every frame.
    #[arg(long, default_value_t = 5.0)]
    sample_fps: f64,
    /// Output folder: <stem>.rgb and <stem>.json per input.
    #[arg(long)]
    out: PathBuf,
    /// Video files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

/// The frame size, resize mode and channel order, from the manifest or the flags.
fn target(a: &Args) -> anyhow::Result<Target> {
    if let Some(path) = &a.manifest {
        let m = Manifest::load(path)?;
        return Ok(Target {
            width: m.input.width,
            height: m.input.height,
            channel_order: m.input.channel_order,
            resize: m.input.resize,
        });
    }
    let size = &a.size;
    let (w, h) = size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .filter(|&(w, h): &(usize, usize)| w > 0 && h > 0)
        .ok_or_else(|| anyhow!("--size must look like 224x224, got `{size}`"))?;
    let resize = match a.resize.as_str() {
        "stretch" => Resize::Stretch,
        "center_crop" => Resize::CenterCrop,
        "letterbox" => Resize::Letterbox,
        other => bail!("--resize must be stretch, center_crop or letterbox, got `{other}`"),
    };
    let channel_order = match a.channel_order.as_str() {
        "RGB" => ChannelOrder::Rgb,
        "BGR" => ChannelOrder::Bgr,
        other => bail!("--channel-order must be RGB or BGR, got `{other}`"),
    };
    Ok(Target {
        width: w,
        height: h,
        channel_order,
        resize,
    })
}

/// Extracts each input and prints one JSON line per file.
pub fn run(a: Args) -> anyhow::Result<()> {
    if !(a.sample_fps.is_finite() && a.sample_fps >= 0.0) {
        bail!("--sample-fps must be >= 0, got {}", a.sample_fps);
    }
    let target = target(&a)?;
    gstreamer::init()?;
    for input in &a.inputs {
        let got = crate::tools::extract::extract(input, &a.out, &target, a.sample_fps)?;
        println!(
            "{}",
            serde_json::json!({"source": got.source, "frames_file": got.frames_file, "frames": got.frames})
        );
    }
    Ok(())
}
