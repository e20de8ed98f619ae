//! The worker's per-stream state, by hub slot: name, counters, smoother, the
//! pipeline generation last seen and the cached video info of its frames.

use std::sync::Arc;

use gstreamer as gst;
use gstreamer_video as gst_video;

use super::temporal::{TemporalCtx, TemporalSpec};
use crate::hub::StreamSlot;
use crate::smooth::{Smoother, SmootherSettings};
use crate::stats::StreamStats;

/// What the worker keeps of one stream.
pub(super) struct StreamCtx {
    /// The stream's name, for messages and logs.
    pub name: String,
    /// The stream's counters (shared with its pipeline and supervisor).
    pub stats: Arc<StreamStats>,
    /// Smooths the stream's frame results into clips.
    pub smoother: Smoother,
    /// Pipeline generation of the last frame dispatched (0 = none yet).
    pub generation: u64,
    /// Caps of the last frame and the video info parsed from them.
    pub info: Option<(gst::Caps, gst_video::VideoInfo)>,
    /// Clip ring and model state (clip and stateful models).
    pub temporal: TemporalCtx,
}

/// The attached streams, indexed by hub slot; a slot's context belongs to the
/// stream whose id it holds.
#[derive(Default)]
pub(super) struct Streams {
    slots: Vec<Option<StreamCtx>>,
}

impl Streams {
    /// A stream now owns `slot`: a fresh smoother (seq from 1).
    pub fn attach(
        &mut self,
        slot: StreamSlot,
        name: String,
        smoothing: &SmootherSettings,
        classes: usize,
        spec: &TemporalSpec,
    ) {
        if self.slots.len() <= slot.index {
            self.slots.resize_with(slot.index + 1, || None);
        }
        self.slots[slot.index] = Some(StreamCtx {
            name,
            stats: slot.stats,
            smoother: Smoother::new(smoothing.clone(), classes),
            generation: 0,
            info: None,
            temporal: TemporalCtx::new(spec),
        });
    }

    /// The stream of `slot` is gone (unless the slot was reused meanwhile).
    pub fn detach(&mut self, slot: &StreamSlot) {
        if let Some(c) = self.slots.get_mut(slot.index) {
            if c.as_ref().is_some_and(|c| c.stats.id == slot.stats.id) {
                *c = None;
            }
        }
    }

    /// The context of `slot` if it still belongs to stream `stream_id` (a frame
    /// taken just before its stream was removed, or its slot reused, has none).
    pub fn get_mut(&mut self, slot: usize, stream_id: u64) -> Option<&mut StreamCtx> {
        self.slots
            .get_mut(slot)
            .and_then(Option::as_mut)
            .filter(|c| c.stats.id == stream_id)
    }

    /// Number of attached streams.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }
}
