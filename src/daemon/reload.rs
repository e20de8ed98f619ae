//! Reload: a pure [`plan`] of what changes between two configurations, and an
//! [`apply`] that carries it out on the running streams.
//!
//! `[[stream]]` is applied: removed streams stop, changed ones restart with their
//! new settings (keeping their `seq`), added ones start, unchanged ones are not
//! touched. Models are applied too: an added model is loaded and gets a worker, a
//! removed one stops, and one whose `path` changed or whose files were replaced
//! (their fingerprint differs) is loaded anew; the streams that run a changed model,
//! or now run another, restart (their `seq` starts again at 1). A `[record]` change
//! (or of which streams record) installs the new recording and restarts the streams
//! that record before or after. Other sections take effect only at the next
//! restart; a change there is reported.

use std::time::Duration;

use crate::config::{Config, StreamConfig};
use crate::publish::Publisher;
use crate::source::TEARDOWN_LIMIT;

use super::fleet::{enabled, stop_all, Fleet, Running, Stopped};
use super::models::{self, Loaded, WorkerParts};
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
    /// Models of the new configuration that do not run yet (loaded and started).
    pub models_added: Vec<String>,
    /// Running models the new configuration drops (stopped).
    pub models_removed: Vec<String>,
    /// Running models whose `path` changed or whose files were replaced (loaded anew).
    pub models_changed: Vec<String>,
}

/// Compares `old` (the running configuration) with `new`: which streams stop, restart,
/// start or stay, which models start, stop or load anew, and which other sections changed.
pub fn plan(old: &Config, new: &Config) -> ReloadPlan {
    plan_replacing(old, new, &[])
}

/// [`plan`], where the running models named in `replaced` had their files replaced.
pub fn plan_replacing(old: &Config, new: &Config, replaced: &[String]) -> ReloadPlan {
    let running = enabled(old);
    let wanted = enabled(new);
    let find = |set: &[StreamConfig], name: &str| set.iter().position(|s| s.name == name);
    let record_changed = recording(old) != recording(new);
    let (models_added, models_removed, models_changed) = model_changes(old, new, replaced);
    let (mut removed, mut changed, mut unchanged) = (Vec::new(), Vec::new(), Vec::new());
    for r in &running {
        let records = |c: &Config, s: &StreamConfig| c.record.is_some() && s.record;
        let reloaded = |s: &StreamConfig| uses_any(s, &models_changed);
        match find(&wanted, &r.name) {
            None => removed.push(r.name.clone()),
            Some(i) if needs_restart(&wanted[i], r) => changed.push(r.name.clone()),
            Some(i) if reloaded(r) || reloaded(&wanted[i]) => changed.push(r.name.clone()),
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
        models_added,
        models_removed,
        models_changed,
    }
}

/// The models `new` adds, drops, and changes (another `path`, or named in `replaced`).
fn model_changes(
    old: &Config,
    new: &Config,
    replaced: &[String],
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let names = |from: &Config, keep: &dyn Fn(&crate::config::ModelConfig) -> bool| {
        let kept = from.models.iter().filter(|m| keep(m));
        kept.map(|m| m.name.clone()).collect::<Vec<_>>()
    };
    let added = names(new, &|m| old.model(&m.name).is_none());
    let removed = names(old, &|m| new.model(&m.name).is_none());
    let changed = names(old, &|m| {
        new.model(&m.name)
            .is_some_and(|n| n != m || replaced.contains(&m.name))
    });
    (added, removed, changed)
}

/// Whether `s` (or one of its regions) runs one of `models`.
fn uses_any(s: &StreamConfig, models: &[String]) -> bool {
    models.contains(&s.model) || s.regions.iter().any(|r| models.contains(&r.model))
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
        let mut line = format!(
            "reloaded: {} stream(s) running; added {:?}, removed {:?}, changed {:?}, {} unchanged",
            self.wanted.len(),
            self.added,
            self.removed,
            self.changed,
            self.unchanged.len()
        );
        let (a, r, c) = (
            &self.models_added,
            &self.models_removed,
            &self.models_changed,
        );
        if !(a.is_empty() && r.is_empty() && c.is_empty()) {
            line += &format!("; models added {a:?}, removed {r:?}, reloaded {c:?}");
        }
        line
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

/// What applying a plan needs besides the plan and the fleet.
pub(super) struct Apply<'a> {
    /// The bus (new `hello`, tags).
    pub publisher: &'a std::sync::Arc<Publisher>,
    /// The running configuration (smoothing and output settings of new workers).
    pub config: &'a Config,
    /// The models the plan adds or changes, loaded.
    pub loaded: Vec<Loaded>,
    /// The new configuration's model names, in file order.
    pub order: Vec<String>,
}

/// Carries `plan` out on `fleet`: stops removed and changed streams (bounded, in
/// parallel), stops, starts and swaps models, restarts changed streams in their slots
/// (new ones where their model changed), tells subscribers the new stream list,
/// starts added ones, and keeps the file's order. Returns the summary.
pub(super) async fn apply(plan: &ReloadPlan, fleet: &mut Fleet, with: Apply<'_>) -> String {
    plan.warn_restart_needed();
    let publisher = with.publisher;
    publisher.set_tags(super::start::tags_of(&plan.wanted));
    fleet
        .pipeline_settings
        .share_decoder_threads(plan.wanted.len());
    let stopped = stop_removed_and_changed(plan, fleet).await;
    swap_models(plan, fleet, with).await;
    restart(plan, fleet, stopped);
    // The new stream list goes out (a new `hello`) before any added stream's first status.
    let wanted_names: Vec<String> = plan
        .wanted
        .iter()
        .flat_map(super::fleet::published_names)
        .collect();
    let described = fleet.models.described();
    for line in super::models::rate_mismatches(&described, &plan.wanted) {
        tracing::warn!("reload: {line}");
    }
    publisher.set_streams(super::start::hello(&described, &plan.wanted), &wanted_names);
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

/// Stops the workers of removed and changed models (their lanes close) and starts
/// the loaded ones on lanes of their own, keeping the file's order of models.
async fn swap_models(plan: &ReloadPlan, fleet: &mut Fleet, with: Apply<'_>) {
    let gone = |n: &String| plan.models_removed.contains(n) || plan.models_changed.contains(n);
    let (old, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut fleet.models.running)
        .into_iter()
        .partition(|m| gone(&m.config.name));
    fleet.models.running = kept;
    for m in &old {
        tracing::info!(model = %m.config.name, "reload: model stopped");
        m.close(&fleet.hub);
    }
    let _ = tokio::task::spawn_blocking(move || old.into_iter().for_each(|m| m.join())).await;
    let parts = WorkerParts {
        hub: &fleet.hub,
        publisher: with.publisher,
        config: with.config,
    };
    for l in with.loaded {
        fleet
            .models
            .running
            .push(models::start_one(l, false, &parts));
    }
    let order = with.order;
    fleet.models.running.sort_by_key(|m| {
        order
            .iter()
            .position(|n| *n == m.config.name)
            .unwrap_or(usize::MAX)
    });
}

impl Daemon {
    /// Applies `new`'s streams (see the module doc); the running configuration keeps
    /// its other sections. Returns the one-line summary.
    pub async fn reload(&mut self, new: Config) -> String {
        let replaced = self.replaced_models().await;
        let plan = plan_replacing(&self.config, &new, &replaced);
        let loaded = match self.load_models(&plan, &new).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("reload rejected, still running the previous configuration: {e:#}");
                let n = self.fleet.streams.len();
                return format!("reload rejected ({e:#}); running {n} stream(s)");
            }
        };
        if plan.record_changed {
            self.reload_record(&new);
        }
        let with = Apply {
            publisher: &self.publisher,
            config: &self.config,
            loaded,
            order: new.models.iter().map(|m| m.name.clone()).collect(),
        };
        let summary = apply(&plan, &mut self.fleet, with).await;
        self.config.streams = new.streams;
        self.config.models = new.models;
        self.show_config();
        summary
    }

    /// The running models whose files no longer match their fingerprint.
    async fn replaced_models(&self) -> Vec<String> {
        let running: Vec<(String, std::path::PathBuf, u64)> = (self.fleet.models.running.iter())
            .map(|m| (m.config.name.clone(), m.config.path.clone(), m.fingerprint))
            .collect();
        let changed = tokio::task::spawn_blocking(move || {
            running
                .into_iter()
                .filter(|(_, path, was)| models::fingerprint(path) != *was)
                .map(|(name, ..)| name)
                .collect()
        });
        changed.await.unwrap_or_default()
    }

    /// Loads the models `plan` adds or changes, as `new` configures them.
    async fn load_models(&self, plan: &ReloadPlan, new: &Config) -> anyhow::Result<Vec<Loaded>> {
        let wanted: Vec<_> = new
            .models
            .iter()
            .filter(|m| {
                plan.models_added.contains(&m.name) || plan.models_changed.contains(&m.name)
            })
            .cloned()
            .collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let runtime = self.config.runtime.clone();
        tokio::task::spawn_blocking(move || models::load(&runtime, &wanted)).await?
    }

    /// Installs `new`'s recording (with the running `[http]`), before the streams restart.
    fn reload_record(&mut self, new: &Config) {
        let mut next = self.config.clone();
        next.streams.clone_from(&new.streams);
        next.record.clone_from(&new.record);
        if let Some(problem) = crate::record::reload(&next) {
            tracing::error!("reload: {problem}; the streams run without recording");
        }
        if let Some(w) = crate::record::unknown_labels(&next, &self.fleet.models.all_labels()) {
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

/// Stops the streams `plan` removes or changes; forgets the removed ones.
async fn stop_removed_and_changed(plan: &ReloadPlan, fleet: &mut Fleet) -> Vec<Stopped> {
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
    let mut restarting = Vec::new();
    for r in stop_all(to_stop, RELOAD_STOP_LIMIT).await {
        let name = r.config.name.clone();
        tracing::info!(stream = %name, "stats: {}", r.slot.stats.snapshot());
        for g in &r.regions {
            tracing::info!(stream = %g.name, "stats: {}", g.slot.stats.snapshot());
        }
        if plan.wanted.iter().any(|w| w.name == name) {
            restarting.push(r);
            continue;
        }
        fleet.detach(&r.slot);
        fleet.detach_regions(&r.regions);
        if !r.in_time {
            tracing::error!(stream = %name, "did not stop within {RELOAD_STOP_LIMIT:?}; abandoned");
        }
        tracing::info!(stream = %name, "reload: stream removed");
    }
    restarting
}

/// Restarts the changed streams that stopped: in their slots (their seq goes on)
/// where they run the same model as before, in new ones where not.
fn restart(plan: &ReloadPlan, fleet: &mut Fleet, stopped: Vec<Stopped>) {
    for r in stopped {
        let name = r.config.name.clone();
        let Some(w) = plan.wanted.iter().find(|w| w.name == name).cloned() else {
            continue;
        };
        if !r.in_time {
            // The old supervisor is still running somewhere: keep it away from
            // the new one (a slot of its own; seq starts again).
            tracing::error!(stream = %name, "did not stop within {RELOAD_STOP_LIMIT:?}; abandoned, starting the new one beside it");
            fleet.detach(&r.slot);
            fleet.detach_regions(&r.regions);
            fleet.add(w);
            continue;
        }
        tracing::info!(stream = %name, "reload: stream restarted with its new settings");
        if fleet.runs(&r.slot, &w.model) {
            // Same slot and counters: the worker sees a new pipeline generation,
            // restarts the stream's window and carries its seq on.
            fleet.hub.clear(&r.slot);
            fleet.spawn(w, r.slot, r.regions);
        } else {
            fleet.detach(&r.slot);
            let slot = fleet.attach(&w.name, &w.model);
            fleet.spawn(w, slot, r.regions);
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
        // A model takes effect by reload (see the model tests below).
        let model = format!("{}{}", BASE.replace("m.onnx", "n.onnx"), ab());
        let new = Config::parse(&model, Path::new("/etc/actiond/actiond.toml")).unwrap();
        assert!(plan(&old, &new).needs_restart.is_empty());
        assert_eq!(plan(&old, &new).models_changed, ["default"]);
    }

    /// `[[model]]`s `m` and `n` (`m` first: the default), then `streams`.
    fn two_models(n_path: &str, streams: &str) -> Config {
        let text = format!(
            "[[model]]\nname = \"m\"\npath = \"m.onnx\"\n\n[[model]]\nname = \"n\"\npath = \"{n_path}\"\n\n{streams}"
        );
        Config::parse(&text, Path::new("/etc/actiond/actiond.toml"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_stream_that_changes_its_model_restarts_alone() {
        let old = two_models("n.onnx", &ab());
        let new = two_models(
            "n.onnx",
            &ab().replace("test:smpte\"\n", "test:smpte\"\nmodel = \"n\"\n"),
        );
        let p = plan(&old, &new);
        assert_eq!(lists(&p), [vec![], vec![], names(&["b"]), names(&["a"])]);
        assert!(p.models_changed.is_empty() && p.models_added.is_empty());
    }

    #[test]
    fn a_changed_or_replaced_model_restarts_only_its_streams() {
        let streams = ab().replace("test:smpte\"\n", "test:smpte\"\nmodel = \"n\"\n");
        let old = two_models("n.onnx", &streams);
        let p = plan(&old, &two_models("n2.onnx", &streams));
        assert_eq!(p.models_changed, ["n"]);
        assert_eq!(lists(&p), [vec![], vec![], names(&["b"]), names(&["a"])]);
        // The same files, but `m`'s were replaced: `a` restarts, `b` goes on.
        let p = plan_replacing(&old, &old, &["m".to_string()]);
        assert_eq!(p.models_changed, ["m"]);
        assert_eq!(lists(&p), [vec![], vec![], names(&["a"]), names(&["b"])]);
        assert!(p.summary().contains("reloaded [\"m\"]"), "{}", p.summary());
    }

    #[test]
    fn a_region_running_a_changed_model_restarts_its_stream() {
        let region =
            "[[stream.region]]\nname = \"left\"\nrect = [0.0, 0.0, 0.5, 1.0]\nmodel = \"n\"\n\n";
        let streams = format!(
            "{}{region}{}",
            stream("a", "test:ball"),
            stream("b", "test:smpte")
        );
        let old = two_models("n.onnx", &streams);
        let p = plan(&old, &two_models("n2.onnx", &streams));
        assert_eq!(lists(&p), [vec![], vec![], names(&["a"]), names(&["b"])]);
    }

    #[test]
    fn models_are_added_and_removed() {
        let old = config(&ab());
        let new = two_models("n.onnx", &ab());
        let p = plan(&old, &new);
        assert_eq!(p.models_added, names(&["m", "n"]));
        assert_eq!(p.models_removed, names(&["default"]));
        // Every stream ran `default` and now runs `m`: both restart.
        assert_eq!(lists(&p)[2..], [names(&["a", "b"]), vec![]]);
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
