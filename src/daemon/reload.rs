//! Reload: a pure [`plan`] of what changes between two configurations, and an
//! [`apply`] that carries it out on the running streams.
//!
//! `[[stream]]` is applied: removed streams stop, changed ones restart with their
//! new settings (keeping their `seq`), added ones start, unchanged ones are not
//! touched. A `[record]` change (or of which streams record) installs the new
//! recording and restarts the streams that record before or after. Other sections
//! take effect only at the next restart; a change there is reported.

use std::time::Duration;

use crate::config::{Config, StreamConfig};
use crate::model::Manifest;
use crate::publish::Publisher;
use crate::source::TEARDOWN_LIMIT;

use super::fleet::{enabled, stop_all, Fleet, Running};
use super::start::Daemon;

/// How long a reload waits for a removed or changed stream to stop. A supervisor
/// abandons a pipeline that does not stop within [`TEARDOWN_LIMIT`], so this is
/// only exceeded if GStreamer hangs while building or starting one.
const RELOAD_STOP_LIMIT: Duration = Duration::from_secs(TEARDOWN_LIMIT.as_secs() + 2);

/// What a reload changes, worked out from the running and the new configuration alone.
#[derive(Debug, Clone, PartialEq)]
pub struct ReloadPlan {
    /// The new configuration's enabled streams, in file order: what runs afterwards.
    pub wanted: Vec<StreamConfig>,
    /// Running streams the new configuration drops (or disables), in running order.
    pub removed: Vec<String>,
    /// Running streams whose settings changed (restarted), in running order.
    pub changed: Vec<String>,
    /// Streams that start, in the new file's order.
    pub added: Vec<String>,
    /// Running streams left alone, in running order.
    pub unchanged: Vec<String>,
    /// Sections that differ but take effect only at the next restart, e.g. `[smoothing]`.
    pub needs_restart: Vec<&'static str>,
    /// Whether the recording changes (`[record]`, or which streams record): it is
    /// installed anew and the streams that record, before or after, restart.
    pub record_changed: bool,
}

/// Compares `old` (the running configuration) with `new`: which streams stop, restart,
/// start or stay, and which other sections changed.
pub fn plan(old: &Config, new: &Config) -> ReloadPlan {
    let running = enabled(old);
    let wanted = enabled(new);
    let find = |set: &[StreamConfig], name: &str| set.iter().position(|s| s.name == name);
    let record_changed = recording(old) != recording(new);
    let (mut removed, mut changed, mut unchanged) = (Vec::new(), Vec::new(), Vec::new());
    for r in &running {
        let records = |c: &Config, s: &StreamConfig| c.record.is_some() && s.record;
        match find(&wanted, &r.name) {
            None => removed.push(r.name.clone()),
            Some(i) if needs_restart(&wanted[i], r) => changed.push(r.name.clone()),
            Some(i) if record_changed && (records(old, r) || records(new, &wanted[i])) => {
                changed.push(r.name.clone())
            }
            Some(_) => unchanged.push(r.name.clone()),
        }
    }
    let added = wanted
        .iter()
        .filter(|w| find(&running, &w.name).is_none())
        .map(|w| w.name.clone())
        .collect();
    let sections = [
        ("[runtime]", new.runtime != old.runtime),
        ("[model]", new.model != old.model),
        ("[smoothing]", new.smoothing != old.smoothing),
        ("[output]", new.output != old.output),
        ("[mqtt]", new.mqtt != old.mqtt),
        ("[http]", new.http != old.http),
    ];
    ReloadPlan {
        wanted,
        removed,
        changed,
        added,
        unchanged,
        needs_restart: sections
            .into_iter()
            .filter_map(|(s, differs)| differs.then_some(s))
            .collect(),
        record_changed,
    }
}

/// `[record]` and the names of the streams that record (all streams, enabled or not).
fn recording(c: &Config) -> Option<(&crate::config::RecordConfig, Vec<&str>)> {
    let streams = c.streams.iter().filter(|s| s.record);
    let names = streams.map(|s| s.name.as_str()).collect();
    c.record.as_ref().map(|r| (r, names))
}

impl ReloadPlan {
    /// The one-line summary logged and sent to systemd once the plan is applied.
    pub fn summary(&self) -> String {
        format!(
            "reloaded: {} stream(s) running; added {:?}, removed {:?}, changed {:?}, {} unchanged",
            self.wanted.len(),
            self.added,
            self.removed,
            self.changed,
            self.unchanged.len()
        )
    }

    /// Logs each section that changed but needs a restart.
    fn warn_restart_needed(&self) {
        for section in &self.needs_restart {
            tracing::warn!(
                "reload: {section} changed; it takes effect only when the daemon restarts (still running with the previous {section})"
            );
        }
    }
}

/// Whether `new` differs from `old` in more than its `tags` (new tags need no restart:
/// the next messages carry them).
fn needs_restart(new: &StreamConfig, old: &StreamConfig) -> bool {
    let mut same_tags = new.clone();
    same_tags.tags.clone_from(&old.tags);
    same_tags != *old
}

/// Carries `plan` out on `fleet`: stops removed and changed streams (bounded, in
/// parallel), restarts changed ones in their slots, tells subscribers the new stream
/// list, starts added ones, and keeps the file's order. Returns the summary.
pub(super) async fn apply(
    plan: &ReloadPlan,
    fleet: &mut Fleet,
    manifest: &Manifest,
    publisher: &Publisher,
) -> String {
    plan.warn_restart_needed();
    publisher.set_tags(super::start::tags_of(&plan.wanted));
    fleet
        .pipeline_settings
        .share_decoder_threads(plan.wanted.len());
    restart_or_remove(plan, fleet).await;
    // The new stream list goes out (a new `hello`) before any added stream's first status.
    let wanted_names: Vec<String> = plan
        .wanted
        .iter()
        .flat_map(super::fleet::published_names)
        .collect();
    publisher.set_streams(
        super::start::hello(manifest, wanted_names.clone()),
        &wanted_names,
    );
    for w in &plan.wanted {
        if plan.added.contains(&w.name) {
            tracing::info!(stream = %w.name, "reload: stream added");
            fleet.add(w.clone());
        }
    }
    // Keep the file's order (it is the order of `hello` and of status replays).
    fleet.streams.sort_by_key(|r| {
        wanted_names
            .iter()
            .position(|w| *w == r.config.name)
            .unwrap_or(usize::MAX)
    });
    let summary = plan.summary();
    tracing::info!("{summary}");
    summary
}

impl Daemon {
    /// Applies `new`'s streams (see the module doc); the running configuration keeps
    /// its other sections. Returns the one-line summary.
    pub async fn reload(&mut self, new: Config) -> String {
        let plan = plan(&self.config, &new);
        if plan.record_changed {
            self.reload_record(&new);
        }
        let summary = apply(&plan, &mut self.fleet, &self.manifest, &self.publisher).await;
        self.config.streams = new.streams;
        self.show_config();
        summary
    }

    /// Installs `new`'s recording (with the running `[http]`), before the streams restart.
    fn reload_record(&mut self, new: &Config) {
        let mut next = self.config.clone();
        next.streams.clone_from(&new.streams);
        next.record.clone_from(&new.record);
        if let Some(problem) = crate::record::reload(&next) {
            tracing::error!("reload: {problem}; the streams run without recording");
        }
        if let Some(w) = crate::record::unknown_labels(&next, &self.manifest.labels) {
            tracing::warn!("reload: {w}");
        }
        tracing::info!("reload: [record] applied; the streams that record restart");
        self.config.record = new.record.clone();
    }

    /// Starts or stops one configured stream (an MQTT command) as a reload would; its
    /// state afterwards. The file decides again at the next reload or restart.
    pub async fn set_enabled(&mut self, stream: &str, enabled: bool) -> Result<bool, String> {
        let mut new = self.config.clone();
        let Some(s) = new.streams.iter_mut().find(|s| s.name == stream) else {
            return Err(format!("no stream named `{stream}` in the configuration"));
        };
        s.enabled = enabled;
        let summary = self.reload(new).await;
        let what = if enabled { "enabled" } else { "disabled" };
        tracing::info!(stream, "stream {what} by an MQTT command: {summary}");
        Ok(enabled)
    }

    /// Re-reads the file the running configuration came from and reloads it. An
    /// invalid file is rejected as a whole and the running configuration stays.
    pub async fn reload_from_file(&mut self) -> String {
        let Some(path) = self.config.source_path.clone() else {
            tracing::error!(
                "reload: the configuration did not come from a file; nothing to re-read"
            );
            return "reload impossible: no configuration file".into();
        };
        match Config::load(&path) {
            Ok(new) => self.reload(new).await,
            Err(e) => {
                tracing::error!("reload rejected, still running the previous configuration: {e}");
                format!(
                    "reload rejected ({e}); running {} stream(s)",
                    self.fleet.streams.len()
                )
            }
        }
    }
}

/// Stops the streams `plan` removes or changes; restarts the changed ones.
async fn restart_or_remove(plan: &ReloadPlan, fleet: &mut Fleet) {
    let mut to_stop: Vec<(Running, &'static str)> = Vec::new();
    let mut kept = Vec::new();
    for r in std::mem::take(&mut fleet.streams) {
        if plan.removed.contains(&r.config.name) {
            to_stop.push((r, "removed from the configuration"));
        } else if plan.changed.contains(&r.config.name) {
            to_stop.push((r, "configuration changed; restarting"));
        } else {
            kept.push(r);
        }
    }
    fleet.streams = kept;
    for r in stop_all(to_stop, RELOAD_STOP_LIMIT).await {
        let name = r.config.name.clone();
        tracing::info!(stream = %name, "stats: {}", r.slot.stats.snapshot());
        for g in &r.regions {
            tracing::info!(stream = %g.name, "stats: {}", g.slot.stats.snapshot());
        }
        match plan.wanted.iter().find(|w| w.name == name).cloned() {
            None => {
                fleet.detach(&r.slot);
                fleet.detach_regions(&r.regions);
                if !r.in_time {
                    tracing::error!(stream = %name, "did not stop within {RELOAD_STOP_LIMIT:?}; abandoned");
                }
                tracing::info!(stream = %name, "reload: stream removed");
            }
            Some(w) if r.in_time => {
                // Same slot and counters: the worker sees a new pipeline generation,
                // restarts the stream's window and carries its seq on.
                fleet.hub.clear(&r.slot);
                tracing::info!(stream = %name, "reload: stream restarted with its new settings");
                fleet.spawn(w, r.slot, r.regions);
            }
            Some(w) => {
                // The old supervisor is still running somewhere: keep it away from
                // the new one (a slot of its own; seq starts again).
                tracing::error!(stream = %name, "did not stop within {RELOAD_STOP_LIMIT:?}; abandoned, starting the new one beside it");
                fleet.detach(&r.slot);
                fleet.detach_regions(&r.regions);
                fleet.add(w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const BASE: &str = "[model]\npath = \"m.onnx\"\n\n[smoothing]\nwindow = 8\n\n";

    /// A config of `BASE` plus `extra` (sections or streams), parsed as a file would be.
    fn config(extra: &str) -> Config {
        Config::parse(
            &format!("{BASE}{extra}"),
            Path::new("/etc/actiond/actiond.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}\n{BASE}{extra}"))
    }

    fn stream(name: &str, uri: &str) -> String {
        format!("[[stream]]\nname = \"{name}\"\nuri = \"{uri}\"\n\n")
    }

    fn ab() -> String {
        stream("a", "test:ball") + &stream("b", "test:smpte")
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// (added, removed, changed, unchanged) of the plan from `old` to `new`.
    fn lists(p: &ReloadPlan) -> [Vec<String>; 4] {
        [
            p.added.clone(),
            p.removed.clone(),
            p.changed.clone(),
            p.unchanged.clone(),
        ]
    }

    #[test]
    fn the_same_config_changes_nothing() {
        let p = plan(&config(&ab()), &config(&ab()));
        assert_eq!(lists(&p), [vec![], vec![], vec![], names(&["a", "b"])]);
        assert!(p.needs_restart.is_empty());
        assert_eq!(
            p.summary(),
            "reloaded: 2 stream(s) running; added [], removed [], changed [], 2 unchanged"
        );
    }

    #[test]
    fn a_new_stream_is_added() {
        let new = ab() + &stream("c", "test:snow");
        let p = plan(&config(&ab()), &config(&new));
        assert_eq!(
            lists(&p),
            [names(&["c"]), vec![], vec![], names(&["a", "b"])]
        );
        assert_eq!(p.wanted.len(), 3);
        assert!(p.summary().contains("added [\"c\"]"), "{}", p.summary());
    }

    #[test]
    fn a_dropped_stream_is_removed() {
        let p = plan(&config(&ab()), &config(&stream("a", "test:ball")));
        assert_eq!(lists(&p), [vec![], names(&["b"]), vec![], names(&["a"])]);
        assert_eq!(p.wanted.len(), 1);
    }

    #[test]
    fn a_new_uri_changes_the_stream() {
        let new = stream("a", "test:ball") + &stream("b", "test:snow");
        let p = plan(&config(&ab()), &config(&new));
        assert_eq!(lists(&p), [vec![], vec![], names(&["b"]), names(&["a"])]);
        assert_eq!(p.wanted[1].uri.as_deref(), Some("test:snow"));
    }

    #[test]
    fn a_new_stream_setting_changes_the_stream() {
        let new = ab().replace("test:smpte\"\n", "test:smpte\"\nsample_fps = 2\n");
        let p = plan(&config(&ab()), &config(&new));
        assert_eq!(lists(&p), [vec![], vec![], names(&["b"]), names(&["a"])]);
        assert_eq!(p.wanted[1].sample_fps, 2.0);
    }

    #[test]
    fn a_rename_removes_the_old_name_and_adds_the_new() {
        let new = stream("a", "test:ball") + &stream("c", "test:smpte");
        let p = plan(&config(&ab()), &config(&new));
        assert_eq!(
            lists(&p),
            [names(&["c"]), names(&["b"]), vec![], names(&["a"])]
        );
    }

    #[test]
    fn a_reorder_changes_no_stream_but_the_order() {
        let new = stream("b", "test:smpte") + &stream("a", "test:ball");
        let p = plan(&config(&ab()), &config(&new));
        assert_eq!(lists(&p), [vec![], vec![], vec![], names(&["a", "b"])]);
        let order: Vec<&str> = p.wanted.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(order, ["b", "a"]);
    }

    #[test]
    fn disabling_removes_and_enabling_adds() {
        let off = ab().replace("test:smpte\"\n", "test:smpte\"\nenabled = false\n");
        let p = plan(&config(&ab()), &config(&off));
        assert_eq!(lists(&p), [vec![], names(&["b"]), vec![], names(&["a"])]);
        let p = plan(&config(&off), &config(&ab()));
        assert_eq!(lists(&p), [names(&["b"]), vec![], vec![], names(&["a"])]);
        // Disabled in both: not running, not started.
        let p = plan(&config(&off), &config(&off));
        assert_eq!(lists(&p), [vec![], vec![], vec![], names(&["a"])]);
    }

    #[test]
    fn a_smoothing_change_needs_a_restart_and_leaves_the_streams() {
        let new = config(&ab());
        let mut changed = new.clone();
        changed.smoothing.window = 6;
        let p = plan(&new, &changed);
        assert_eq!(p.needs_restart, ["[smoothing]"]);
        assert_eq!(lists(&p), [vec![], vec![], vec![], names(&["a", "b"])]);
        // The same from a file.
        let text = ab();
        let edited = format!("{BASE}{text}").replace("window = 8", "window = 6");
        let from_file = Config::parse(&edited, Path::new("/etc/actiond/actiond.toml")).unwrap();
        assert_eq!(
            plan(&config(&text), &from_file).needs_restart,
            ["[smoothing]"]
        );
    }

    #[test]
    fn each_section_that_needs_a_restart_is_named() {
        let old = config(&ab());
        let cases = [
            ("[runtime]\nintra_threads = 1\n\n", "[runtime]"),
            ("[output]\nsocket = \"/tmp/other.sock\"\n\n", "[output]"),
            ("[mqtt]\nurl = \"mqtt://127.0.0.1:1883\"\n\n", "[mqtt]"),
            ("[http]\nlisten = \"127.0.0.1:9464\"\n\n", "[http]"),
        ];
        for (section, name) in cases {
            let p = plan(&old, &config(&format!("{section}{}", ab())));
            assert_eq!(p.needs_restart, [name], "{section}");
            assert_eq!(p.unchanged.len(), 2, "{section}");
        }
        let model = format!("{}{}", BASE.replace("m.onnx", "n.onnx"), ab());
        let new = Config::parse(&model, Path::new("/etc/actiond/actiond.toml")).unwrap();
        assert_eq!(plan(&old, &new).needs_restart, ["[model]"]);
    }

    #[test]
    fn a_record_change_restarts_the_streams_that_record() {
        let b_off = ab().replace("test:smpte\"\n", "test:smpte\"\nrecord = false\n");
        let rec = |post: &str| format!("[record]\ndir = \"/tmp/c\"\npost_s = {post}\n\n");
        let old = config(&format!("{}{b_off}", rec("5")));
        // Another post_s: `a` records and restarts; `b` does not record and goes on.
        let p = plan(&old, &config(&format!("{}{b_off}", rec("8"))));
        assert!(p.record_changed && p.needs_restart.is_empty());
        assert_eq!(lists(&p)[2..], [names(&["a"]), names(&["b"])]);
        // [record] removed: `a` restarts without it.
        let p = plan(&old, &config(&b_off));
        assert!(p.record_changed);
        assert_eq!(lists(&p)[2..], [names(&["a"]), names(&["b"])]);
        // `b` starts recording: both restart (a new recording is installed for both).
        let p = plan(&old, &config(&format!("{}{}", rec("5"), ab())));
        assert!(p.record_changed);
        assert_eq!(lists(&p)[2..], [names(&["a", "b"]), vec![]]);
        // Nothing about recording changed: nothing restarts.
        let p = plan(&old, &config(&format!("{}{b_off}", rec("5"))));
        assert!(!p.record_changed && p.changed.is_empty());
    }

    #[test]
    fn everything_at_once() {
        let old = config(&(ab() + &stream("c", "test:snow")));
        let new = config(&format!(
            "[http]\nlisten = \"127.0.0.1:9464\"\n\n{}{}{}",
            stream("d", "test:circular"),
            stream("c", "test:pinwheel"),
            stream("a", "test:ball"),
        ));
        let p = plan(&old, &new);
        assert_eq!(
            lists(&p),
            [names(&["d"]), names(&["b"]), names(&["c"]), names(&["a"])]
        );
        assert_eq!(p.needs_restart, ["[http]"]);
        assert_eq!(
            p.summary(),
            "reloaded: 3 stream(s) running; added [\"d\"], removed [\"b\"], changed [\"c\"], 1 unchanged"
        );
    }
}
