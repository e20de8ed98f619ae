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
    /// With `[http]`: the start of the clip URLs in events, e.g. `http://box.lan:9464`;
    /// empty (the default): `http://<http.listen>`, this host's name for an unspecified address.
    #[serde(deserialize_with = "base_url")]
    pub url: String,
}

/// `record.url`: empty, or an `http://` or `https://` URL, kept without a trailing `/`.
fn base_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = leaf::string(d)?;
    let web = s.starts_with("http://") || s.starts_with("https://");
    if !(s.is_empty() || web) || s.contains(char::is_whitespace) {
        return Err(serde::de::Error::custom(format!(
            "`{s}` is not an http:// or https:// URL"
        )));
    }
    Ok(s.trim_end_matches('/').to_string())
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
            url: String::new(),
        }
    }
}

impl RecordConfig {
    /// `max_age_days` as a duration.
    pub fn max_age(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64((self.max_age_days * 86_400.0).min(1e15))
    }

    /// Whether an event into `label` is recorded.
    pub fn wants(&self, label: &str) -> bool {
        self.labels.is_empty() || self.labels.iter().any(|l| l == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::services::tests::reference_with_sections_on;
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, crate::config::ConfigError> {
        Config::parse(text, std::path::Path::new("/etc/actiond/actiond.toml"))
    }

    #[test]
    fn reference_config_documents_every_key_with_its_default() {
        let text = include_str!("../../config/actiond.toml");
        for key in super::super::de::keys::<RecordConfig>() {
            assert!(
                text.contains(&format!("# {key} = ")),
                "config/actiond.toml does not document record.{key}"
            );
        }
        assert!(text.contains("\nrecord = true\n"), "stream key `record`");
        assert_eq!(parse(text).unwrap().record, None, "shipped off");
        let on = reference_with_sections_on(&["password", "ca_file", "cert_file", "key_file"]);
        let c = parse(&on).unwrap_or_else(|e| panic!("{e}\n{on}"));
        assert_eq!(c.record, Some(RecordConfig::default()));
    }

    #[test]
    fn values_are_checked_and_dir_is_resolved() {
        let minimal = "[model]\npath = \"m.onnx\"\n\n[[stream]]\nname = \"a\"\nuri = \"test:ball\"\nrecord = false\n";
        let c = parse(&format!("{minimal}\n[record]\ndir = \"clips\"\n")).unwrap();
        let r = c.record.unwrap();
        assert_eq!(r.dir, std::path::Path::new("/etc/actiond/clips"));
        assert!(!c.streams[0].record);
        let c = parse(&format!("{minimal}\n[record]\nurl = \"https://box/\"\n")).unwrap();
        assert_eq!(c.record.unwrap().url, "https://box");
        for (line, key, message) in [
            ("pre_s = 0", "record.pre_s", "must be greater than 0"),
            (
                "max_bytes = 0",
                "record.max_bytes",
                "must be at least 1, got 0",
            ),
            ("labels = \"a\"", "record.labels", "expected"),
            ("dir = \"\"", "record.dir", "empty"),
            ("keep = 1", "record.keep", "unknown key `keep`"),
            (
                "url = \"box:9464\"",
                "record.url",
                "not an http:// or https:// URL",
            ),
        ] {
            let err = parse(&format!("{minimal}\n[record]\n{line}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("/etc/actiond/actiond.toml:10:")
                    && err.contains(key)
                    && err.contains(message),
                "{line}: {err}"
            );
        }
    }

    #[test]
    fn empty_labels_mean_any() {
        let mut r = RecordConfig::default();
        assert!(r.wants("x"));
        r.labels = vec!["fall".into()];
        assert!(r.wants("fall") && !r.wants("walk"));
    }
}
