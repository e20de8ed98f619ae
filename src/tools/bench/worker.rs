//! The rows measured inside a child process (`actiond bench-worker`), so that each
//! has its own peak memory: raw inference and decode-only.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use serde::{Deserialize, Serialize};

use super::measure::{children_cpu_s, children_peak_rss_mib, peak_rss_mib, quantile, self_cpu_s};
use crate::config::RuntimeConfig;
use crate::model::Classifier;

/// What a child measures.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Spec {
    /// ONNX Runtime alone on preprocessed frames.
    Raw {
        /// The model.
        model: PathBuf,
        /// `libonnxruntime.so`, if not found the usual way.
        onnxruntime: Option<PathBuf>,
        /// Intra-op threads (0 = ONNX Runtime's default).
        intra_threads: usize,
        /// Frames per run.
        batch: usize,
        /// Seconds measured.
        duration_s: f64,
        /// Seconds run before measuring.
        warmup_s: f64,
    },
    /// GStreamer decoding to a fakesink, as fast as it goes.
    Decode {
        /// The video file.
        file: PathBuf,
        /// Least seconds measured (whole passes over the file).
        duration_s: f64,
        /// Threads per libav decoder (`max-threads`); none = its own choice.
        #[serde(default)]
        threads: Option<u32>,
    },
    /// The ffmpeg command-line tool decoding with one thread to its null muxer: the
    /// cheapest decode of the file this machine offers (no conversion, no copy out).
    Ffmpeg {
        /// The video file.
        file: PathBuf,
        /// Least seconds measured (whole passes over the file).
        duration_s: f64,
    },
}

/// What a child reports (one JSON line on stdout).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measured {
    /// Frames analyzed (raw) or decoded (decode).
    pub frames: u64,
    /// Seconds measured.
    pub wall_s: f64,
    /// CPU seconds (user + system) in that time.
    pub cpu_s: f64,
    /// Per-run latency median, ms (raw only).
    pub latency_p50_ms: Option<f64>,
    /// Per-run latency 99th percentile, ms (raw only).
    pub latency_p99_ms: Option<f64>,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mib: f64,
    /// Frames per run that the model took (raw only).
    pub batch: Option<usize>,
}

/// Runs `spec` in this process and returns the figures.
pub fn measure(spec: &Spec) -> Result<Measured, String> {
    match spec {
        Spec::Raw {
            model,
            onnxruntime,
            intra_threads,
            batch,
            duration_s,
            warmup_s,
        } => raw(
            model,
            onnxruntime.clone(),
            *intra_threads,
            *batch,
            *duration_s,
            *warmup_s,
        ),
        Spec::Decode {
            file,
            duration_s,
            threads,
        } => decode(file, *duration_s, *threads),
        Spec::Ffmpeg { file, duration_s } => ffmpeg_decode(file, *duration_s),
    }
}

fn raw(
    model: &std::path::Path,
    onnxruntime: Option<PathBuf>,
    intra_threads: usize,
    batch: usize,
    duration_s: f64,
    warmup_s: f64,
) -> Result<Measured, String> {
    let rt = RuntimeConfig {
        onnxruntime,
        intra_threads,
        max_batch: batch,
        ..RuntimeConfig::default()
    };
    let mut c = Classifier::load(&rt, model).map_err(|e| e.to_string())?;
    let n = batch.min(c.max_batch());
    let (w, h) = (c.manifest.input.width, c.manifest.input.height);
    // A frame with texture (not a constant), preprocessed like the daemon's.
    let pixels: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i * 7 + i / (w * 3) * 13) % 251) as u8)
        .collect();
    for slot in 0..n {
        c.fill(slot, &pixels, w * 3).map_err(|e| e.to_string())?;
    }
    let end = Instant::now() + Duration::from_secs_f64(warmup_s);
    while Instant::now() < end {
        c.run(n).map_err(|e| e.to_string())?;
    }
    let mut runs = Vec::new();
    let cpu0 = self_cpu_s();
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() < duration_s {
        let t = Instant::now();
        c.run(n).map_err(|e| e.to_string())?;
        runs.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let wall_s = t0.elapsed().as_secs_f64();
    let cpu_s = self_cpu_s() - cpu0;
    let frames = (runs.len() * n) as u64;
    Ok(Measured {
        frames,
        wall_s,
        cpu_s,
        latency_p50_ms: quantile(&mut runs, 0.5),
        latency_p99_ms: quantile(&mut runs, 0.99),
        peak_rss_mib: peak_rss_mib(std::process::id()).unwrap_or(0.0),
        batch: Some(n),
    })
}

fn decode(
    file: &std::path::Path,
    duration_s: f64,
    threads: Option<u32>,
) -> Result<Measured, String> {
    gst::init().map_err(|e| e.to_string())?;
    let uri = gst::glib::filename_to_uri(file, None).map_err(|e| e.to_string())?;
    let frames = Arc::new(AtomicU64::new(0));
    let cpu0 = self_cpu_s();
    let t0 = Instant::now();
    // Whole passes, each a fresh pipeline, until the time is reached.
    loop {
        let desc = format!("uridecodebin uri=\"{uri}\" ! fakesink name=sink sync=false");
        let pipeline = gst::parse::launch(&desc)
            .map_err(|e| e.to_string())?
            .downcast::<gst::Bin>()
            .map_err(|_| "not a bin".to_string())?;
        if let Some(n) = threads {
            pipeline.connect_deep_element_added(move |_, _, element| {
                let libav = element
                    .factory()
                    .is_some_and(|f| f.name().starts_with("avdec_"));
                if libav && element.find_property("max-threads").is_some() {
                    element.set_property("max-threads", n as i32);
                }
            });
        }
        let pad = pipeline
            .by_name("sink")
            .and_then(|s| s.static_pad("sink"))
            .ok_or("fakesink without a sink pad")?;
        let counter = frames.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            counter.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
        let bus = pipeline.bus().ok_or("pipeline without a bus")?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| e.to_string())?;
        let result = loop {
            let Some(msg) = bus.timed_pop(gst::ClockTime::from_seconds(60)) else {
                break Err("no end of stream within 60 s".to_string());
            };
            match msg.view() {
                gst::MessageView::Eos(_) => break Ok(()),
                gst::MessageView::Error(e) => break Err(e.error().to_string()),
                _ => {}
            }
        };
        let _ = pipeline.set_state(gst::State::Null);
        result.map_err(|e| format!("decoding {}: {e}", file.display()))?;
        if t0.elapsed().as_secs_f64() >= duration_s {
            break;
        }
    }
    let wall_s = t0.elapsed().as_secs_f64();
    Ok(Measured {
        frames: frames.load(Ordering::Relaxed),
        wall_s,
        cpu_s: self_cpu_s() - cpu0,
        latency_p50_ms: None,
        latency_p99_ms: None,
        peak_rss_mib: peak_rss_mib(std::process::id()).unwrap_or(0.0),
        batch: None,
    })
}

/// `ffmpeg -threads 1 -i FILE -map 0:v:0 -f null -` in whole passes until `duration_s`;
/// its CPU is read from the finished children's usage, its frames from `-progress`.
fn ffmpeg_decode(file: &std::path::Path, duration_s: f64) -> Result<Measured, String> {
    let cpu0 = children_cpu_s();
    let t0 = Instant::now();
    let mut frames = 0u64;
    loop {
        let out = std::process::Command::new("ffmpeg")
            .args([
                "-nostdin",
                "-loglevel",
                "error",
                "-nostats",
                "-threads",
                "1",
                "-i",
            ])
            .arg(file)
            .args(["-map", "0:v:0", "-f", "null", "-progress", "pipe:1", "-"])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| format!("starting ffmpeg: {e}"))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "ffmpeg: {}",
                err.lines().last().unwrap_or("failed")
            ));
        }
        frames += String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("frame="))
            .filter_map(|n| n.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or(0);
        if t0.elapsed().as_secs_f64() >= duration_s {
            break;
        }
    }
    Ok(Measured {
        frames,
        wall_s: t0.elapsed().as_secs_f64(),
        cpu_s: children_cpu_s() - cpu0,
        latency_p50_ms: None,
        latency_p99_ms: None,
        peak_rss_mib: children_peak_rss_mib(),
        batch: None,
    })
}
