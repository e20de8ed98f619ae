//! `[record]`: evidence clips and snapshots around label-change events, and how
//! long they are kept. Off unless the table is present.

use std::path::PathBuf;

use serde::Deserialize;

use super::de as leaf;

/// `[record]`: where clips go, how much of the stream around an event they hold,
/// and the retention that keeps the disk from filling.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordConfig {
    /// Directory of the clips, one folder per stream and day (default `/var/lib/actiond/clips`).
    #[serde(deserialize_with = "leaf::path")]
    pub dir: PathBuf,
    /// Seconds of video before the event, > 0 (default 5).
    #[serde(deserialize_with = "leaf::positive")]
    pub pre_s: f64,
    /// Seconds of video after the event (extended by later events), > 0 (default 5).
    #[serde(deserialize_with = "leaf::positive")]
    pub post_s: f64,
    /// Labels whose events are recorded; empty = every label (default empty).
    pub labels: Vec<String>,
    /// Clips older than this many days are deleted, > 0 (default 7).
    #[serde(deserialize_with = "leaf::positive")]
    pub max_age_days: f64,
    /// Most bytes all clips and snapshots may take; the oldest go first (default 10 GB).
    #[serde(deserialize_with = "leaf::int::<_, u64, 1, { i64::MAX as i128 }>")]
    pub max_bytes: u64,
    /// Recording pauses while the file system has less free space than this (default 1 GB).
    #[serde(deserialize_with = "leaf::int::<_, u64, 0, { i64::MAX as i128 }>")]
    pub min_free_bytes: u64,
}

impl Default for RecordConfig {
    fn default() -> Self {
        RecordConfig {
            dir: PathBuf::from("/var/lib/actiond/clips"),
            pre_s: 5.0,
            post_s: 5.0,
            labels: Vec::new(),
            max_age_days: 7.0,
            max_bytes: 10_000_000_000,
            min_free_bytes: 1_000_000_000,
        }
    }
}

impl RecordConfig {
    /// Whether an event into `label` is recorded.
    pub fn wants(&self, label: &str) -> bool {
        self.labels.is_empty() || self.labels.iter().any(|l| l == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_labels_mean_any() {
        let mut r = RecordConfig::default();
        assert!(r.wants("x"));
        r.labels = vec!["fall".into()];
        assert!(r.wants("fall") && !r.wants("walk"));
    }
}
