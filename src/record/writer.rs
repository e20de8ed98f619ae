//! One clip being written: a small pipeline (appsrc → parser → mp4mux → filesink)
//! fed with the ring's packets, then the live ones, remuxed without re-encoding;
//! on its end the `.part` file is renamed to its final name.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::files::ClipPaths;

/// Why a clip could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The stream's codec cannot be remuxed into MP4 here.
    #[error("cannot record {0} (only H.264 and H.265 are remuxed)")]
    Codec(String),
    /// Building or running the writer pipeline failed.
    #[error("writing {path}: {reason}")]
    Pipeline {
        /// The `.part` file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// How long the muxer may take to finish the file after the last packet.
const FINISH_LIMIT: gst::ClockTime = gst::ClockTime::from_seconds(10);
/// How often the writer looks whether the clip should end when no packet comes.
pub const TICK: Duration = Duration::from_millis(100);

/// A writer pipeline for `caps`, writing `paths.part`.
pub struct Writer {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    part: String,
    /// Subtracted from every timestamp, so the clip starts at 0.
    offset: Option<gst::ClockTime>,
}

impl Writer {
    /// Builds and starts the writer pipeline.
    pub fn start(caps: &gst::Caps, paths: &ClipPaths) -> Result<Self, WriteError> {
        let name = caps
            .structure(0)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        let parser = match name.as_str() {
            "video/x-h264" => "h264parse",
            "video/x-h265" => "h265parse",
            _ => return Err(WriteError::Codec(name)),
        };
        let part = paths.part.to_string_lossy().to_string();
        let fail = |reason: String| WriteError::Pipeline {
            path: part.clone(),
            reason,
        };
        let desc = format!("appsrc name=src format=time ! {parser} ! mp4mux ! filesink name=out");
        let pipeline = gst::parse::launch(&desc)
            .map_err(|e| fail(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| fail("not a pipeline".into()))?;
        let by = |n: &str| {
            pipeline
                .by_name(n)
                .ok_or_else(|| fail(format!("no element {n}")))
        };
        by("out")?.set_property("location", &part);
        let src = by("src")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| fail("src is not an appsrc".into()))?;
        src.set_caps(Some(caps));
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| fail(e.to_string()))?;
        Ok(Writer {
            pipeline,
            src,
            part,
            offset: None,
        })
    }

    /// Pushes one packet, its timestamps moved so the clip starts at 0.
    pub fn push(&mut self, buffer: &gst::Buffer) {
        let offset = *self.offset.get_or_insert_with(|| {
            buffer
                .dts()
                .or(buffer.pts())
                .unwrap_or(gst::ClockTime::ZERO)
        });
        let mut b = buffer.copy();
        {
            let m = b.make_mut();
            m.set_pts(buffer.pts().map(|t| t.saturating_sub(offset)));
            m.set_dts(buffer.dts().map(|t| t.saturating_sub(offset)));
        }
        let _ = self.src.push_buffer(b);
    }

    /// Feeds packets from `rx` until `done` says the clip is over (checked every [`TICK`]).
    pub fn feed(&mut self, rx: &Receiver<gst::Buffer>, mut done: impl FnMut() -> bool) {
        loop {
            match rx.recv_timeout(TICK) {
                Ok(b) => self.push(&b),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if done() {
                break;
            }
        }
        while let Ok(b) = rx.try_recv() {
            self.push(&b);
        }
    }

    /// Ends the stream and waits for the muxer to finish the file; Err if it did not.
    pub fn finish(self) -> Result<(), WriteError> {
        let _ = self.src.end_of_stream();
        let bus = self.pipeline.bus();
        let end = bus.as_ref().and_then(|b| {
            b.timed_pop_filtered(
                FINISH_LIMIT,
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
        });
        let _ = self.pipeline.set_state(gst::State::Null);
        match end.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(_)) => Ok(()),
            Some(gst::MessageView::Error(e)) => Err(WriteError::Pipeline {
                path: self.part,
                reason: e.error().to_string(),
            }),
            _ => Err(WriteError::Pipeline {
                path: self.part,
                reason: "the muxer did not finish in time".into(),
            }),
        }
    }
}
