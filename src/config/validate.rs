//! What serde cannot say about a config, each error pointing at its key:
//! the document's shape before deserializing (unknown keys in document order,
//! tables that are not tables, required sections), then the rules that need
//! several keys, the config file's directory, or every stream at once.

use std::collections::HashMap;
use std::path::Path;

use serde::de::Deserializer;

use super::de::{keys, non_empty, read, scalar, Leaf};
use super::raw::{Table, Value};
use super::reference::Resolver;
use super::{
    services, source, Config, ConfigError, HttpConfig, ModelConfig, MqttConfig, OutputConfig,
    Provider, RecordConfig, Redacted, RegionConfig, RuntimeConfig, SmoothingConfig, SourceKind,
    StreamConfig,
};

/// Checks the document's shape: every table holds only its struct's keys (the
/// first unknown one in document order is reported, with the known ones), and
/// `[model]` (or `[[model]]`) and at least one `[[stream]]` are present. `root`'s own
/// keys are already checked.
pub(super) fn shape(root: &Table<'_>) -> Result<(), ConfigError> {
    let sections = [
        ("runtime", keys::<RuntimeConfig>()),
        ("smoothing", keys::<SmoothingConfig>()),
        ("output", keys::<OutputConfig>()),
        ("mqtt", keys::<MqttConfig>()),
        ("http", keys::<HttpConfig>()),
        ("record", keys::<RecordConfig>()),
    ];
    for (name, known) in sections {
        if let Some(v) = root.get(name) {
            v.table(known)?;
        }
    }
    let Some(model) = root.get("model") else {
        return Err(root.error(
            "model.path",
            "missing required key; add a [model] table with `path = \"…\"`",
        ));
    };
    model_shape(&model)?;
    let Some(v) = root.get("stream") else {
        return Err(root.error("stream", "at least one [[stream]] is required"));
    };
    let items = v
        .array()
        .map_err(|_| v.type_error("an array of tables: write [[stream]], not [stream]"))?;
    if items.is_empty() {
        return Err(v.error("at least one [[stream]] is required"));
    }
    for item in &items {
        let t = item.table(keys::<StreamConfig>())?;
        if t.get("name").is_none() {
            return Err(t.missing("name"));
        }
        if let Some(v) = t.get("region") {
            region_shape(&v)?;
        }
    }
    Ok(())
}

/// `model`: a `[model]` table (just `path`), or `[[model]]` tables each with a `name`.
fn model_shape(v: &Value<'_>) -> Result<(), ConfigError> {
    let Ok(items) = v.array() else {
        // `[model]` is the model named `default`: it takes no `name`.
        return v.table(&["path"]).map(drop);
    };
    if items.is_empty() {
        return Err(v.error("at least one [[model]] is required"));
    }
    for item in &items {
        required(&item.table(keys::<ModelConfig>())?, &["name", "path"])?;
    }
    Ok(())
}

/// Each of `keys` is present in `t`; else the error names the first missing one.
fn required(t: &Table<'_>, keys: &[&str]) -> Result<(), ConfigError> {
    match keys.iter().find(|k| t.get(k).is_none()) {
        Some(key) => Err(t.missing(key)),
        None => Ok(()),
    }
}

/// A stream's `region`: an array of tables, each with a `name` and a `rect`.
fn region_shape(v: &Value<'_>) -> Result<(), ConfigError> {
    let items = v.array().map_err(|_| {
        v.type_error("an array of tables: write [[stream.region]], not [stream.region]")
    })?;
    for item in &items {
        required(&item.table(keys::<RegionConfig>())?, &["name", "rect"])?;
    }
    Ok(())
}

/// After deserializing: resolves relative paths against `base` and secret
/// references with `refs`, classifies each stream's source and checks the rules
/// that span keys or streams.
pub(super) fn finish(
    config: &mut Config,
    root: &Table<'_>,
    base: &Path,
    refs: &Resolver<'_>,
) -> Result<(), ConfigError> {
    let rt = &mut config.runtime;
    if let Some(lib) = rt.onnxruntime.take() {
        // A bare file name is left for the dynamic loader's search path.
        let bare = !lib.to_string_lossy().contains('/');
        rt.onnxruntime = Some(if bare {
            lib
        } else {
            source::resolve(base, &lib)
        });
    }
    if let Some(v) = section(root, "runtime").and_then(|t| t.get("providers")) {
        unique_providers(&v, &rt.providers)?;
    }
    for m in &mut config.models {
        m.path = source::resolve(base, &m.path);
    }
    if let Some(items) = root.get("model").and_then(|v| v.array().ok()) {
        unique_names(
            config.models.iter().map(|m| m.name.as_str()),
            &items,
            "model",
        )?;
    }
    config.output.socket = source::resolve(base, &config.output.socket);
    if let Some(r) = config.record.as_mut() {
        r.dir = source::resolve(base, &r.dir);
    }
    let items = root.get("stream").map(|v| v.array()).transpose()?;
    for (s, item) in config.streams.iter_mut().zip(items.iter().flatten()) {
        let Some(t) = item.entries() else { continue }; // not a table: shape said so
        stream_source(s, &t, base, refs)?;
        reconnect_range(s, &t)?;
        stream_models(s, &t, &config.models)?;
        if let Some(v) = t.get("region") {
            let items = v.array()?;
            let names = s.regions.iter().map(|r| r.name.as_str());
            unique_names(names, &items, "region")?;
            regions_in_known_frame(s, &items)?;
        }
    }
    let names = config.streams.iter().map(|s| s.name.as_str());
    unique_names(names, items.as_deref().unwrap_or_default(), "stream")?;
    if let (Some(m), Some(t)) = (config.mqtt.as_mut(), section(root, "mqtt")) {
        services::finish_mqtt(m, &t, base, refs)?;
    }
    Ok(())
}

/// The table `name` of `root`, if present.
fn section<'a>(root: &Table<'a>, name: &str) -> Option<Table<'a>> {
    root.get(name).and_then(|v| v.entries())
}

/// `runtime.providers`: a non-empty array of provider names.
pub(super) fn providers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Provider>, D::Error> {
    read(d, |leaf: Leaf<Provider>| match leaf {
        Leaf::Array(items) if items.is_empty() => Err(format!(
            "must list at least one provider, e.g. [\"cpu\"]; known: {}",
            Provider::ALL.map(Provider::as_str).join(", ")
        )),
        Leaf::Array(items) => Ok(items),
        other => Err(other.expected("an array")),
    })
}

/// No provider listed twice in `providers` (read from `v`); the error points
/// at the second mention.
fn unique_providers(v: &Value<'_>, providers: &[Provider]) -> Result<(), ConfigError> {
    for (i, (item, p)) in v.array()?.iter().zip(providers).enumerate() {
        if providers[..i].contains(p) {
            return Err(item.error(format!("provider `{p}` is listed more than once")));
        }
    }
    Ok(())
}

/// `output.socket_mode`: a string of octal digits, at most `0777`.
pub(super) fn socket_mode<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    scalar(d, |leaf| {
        let s = leaf.into_str("a string of octal digits like \"0660\"")?;
        if s.is_empty() || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return Err(format!(
                "`{s}` is not an octal mode; use digits 0-7, like \"0660\""
            ));
        }
        match u32::from_str_radix(&s, 8) {
            Ok(mode) if mode <= 0o777 => Ok(mode),
            _ => Err(format!("`{s}` is above 0777")),
        }
    })
}

/// Whether `s` is a name as streams and tags have them: 1..=64 characters of `[A-Za-z0-9_.-]`.
fn is_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A model's `name`, or a stream's or region's `model`: like a stream name.
pub(super) fn model_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    a_name(d, "model")
}

/// A name of a `what` (stream, model) that [`is_name`] accepts.
fn a_name<'de, D: Deserializer<'de>>(d: D, what: &str) -> Result<String, D::Error> {
    scalar(d, |leaf| {
        let name = leaf.into_str("a string")?;
        if is_name(&name) {
            Ok(name)
        } else {
            Err(format!(
                "invalid {what} name `{name}`; use 1 to 64 characters of A-Z a-z 0-9 _ . -"
            ))
        }
    })
}

/// `model`: one `[model]` table or an array of `[[model]]` tables.
pub(super) fn models<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ModelConfig>, D::Error> {
    use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
    use serde::de::{Deserialize, MapAccess, SeqAccess, Visitor};
    struct OneOrMany;
    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Vec<ModelConfig>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a [model] table or [[model]] tables")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            ModelConfig::deserialize(MapAccessDeserializer::new(map)).map(|m| vec![m])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::deserialize(SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_any(OneOrMany)
}

/// A stream `name`: 1..=64 characters of `[A-Za-z0-9_.-]`.
pub(super) fn stream_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    a_name(d, "stream")
}

/// Most `tags` a stream may have.
const MAX_TAGS: usize = 16;

/// A stream's `tags`: a table of at most 16 strings, names like stream names, values of
/// at most 256 characters without control characters.
pub(super) fn tags<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, String>, D::Error> {
    use serde::de::{Deserialize, Error};
    let map = std::collections::BTreeMap::<String, String>::deserialize(d)?;
    if map.len() > MAX_TAGS {
        return Err(D::Error::custom(format!(
            "{} tags; at most {MAX_TAGS}",
            map.len()
        )));
    }
    for (k, v) in &map {
        if !is_name(k) {
            return Err(D::Error::custom(format!(
                "invalid tag name `{k}`; use 1 to 64 characters of A-Z a-z 0-9 _ . -"
            )));
        }
        if v.chars().count() > 256 || v.chars().any(char::is_control) {
            return Err(D::Error::custom(format!(
                "tag `{k}`: at most 256 characters, no control characters"
            )));
        }
    }
    Ok(map)
}

/// A stream's `uri` or `pipeline`: non-empty text that may hold credentials.
pub(super) fn some_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Redacted>, D::Error> {
    non_empty(d).map(|s| Some(Redacted::from(s)))
}

/// Sets `s.source` from exactly one of `uri` and `pipeline`, whose
/// `${…}` references in them are resolved with `refs`.
fn stream_source(
    s: &mut StreamConfig,
    t: &Table<'_>,
    base: &Path,
    refs: &Resolver<'_>,
) -> Result<(), ConfigError> {
    s.source = match (t.get("uri"), t.get("pipeline")) {
        (Some(u), Some(p)) => {
            let later = if p.span.start > u.span.start { p } else { u };
            return Err(later.error("set either `uri` or `pipeline`, not both"));
        }
        (None, None) => {
            return Err(t.error(
                "uri",
                "missing `uri` (or `pipeline`); a stream needs exactly one",
            ))
        }
        (Some(u), None) => {
            let written = s.uri.as_deref().unwrap_or_default();
            let uri = refs.resolve(written).map_err(|m| u.error(m))?;
            source::parse_uri_shown(&uri.value, written, base).map_err(|m| u.error(m))?
        }
        (None, Some(p)) => {
            let written = s.pipeline.as_deref().unwrap_or_default();
            SourceKind::Pipeline(refs.resolve(written).map_err(|m| p.error(m))?.value)
        }
    };
    Ok(())
}

/// A stream's `model` and its regions' name configured models; absent, the stream's
/// is the first model and a region's its stream's.
fn stream_models(
    s: &mut StreamConfig,
    t: &Table<'_>,
    models: &[ModelConfig],
) -> Result<(), ConfigError> {
    let known = |name: &str, at: Option<Value<'_>>| match at {
        Some(v) if !models.iter().any(|m| m.name == name) => {
            let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
            Err(v.error(format!(
                "unknown model `{name}`; configured: {}",
                names.join(", ")
            )))
        }
        _ => Ok(()),
    };
    match t.get("model") {
        None => s.model.clone_from(&models[0].name),
        at => known(&s.model, at)?,
    }
    let items = match t.get("region") {
        Some(v) => v.array()?,
        None => Vec::new(),
    };
    for (r, item) in s.regions.iter_mut().zip(&items) {
        match item.entries().and_then(|t| t.get("model")) {
            None => r.model.clone_from(&s.model),
            at => known(&r.model, at)?,
        }
    }
    Ok(())
}

/// `reconnect_min_s <= reconnect_max_s`, blaming the key that was written
/// (`reconnect_max_s` when both were).
fn reconnect_range(s: &StreamConfig, t: &Table<'_>) -> Result<(), ConfigError> {
    let (min, max) = (s.reconnect_min_s, s.reconnect_max_s);
    if min <= max {
        return Ok(());
    }
    match (t.get("reconnect_max_s"), t.get("reconnect_min_s")) {
        (Some(v), _) => Err(v.error(format!(
            "must be at least reconnect_min_s ({min}), got {max}"
        ))),
        (None, Some(v)) => Err(v.error(format!(
            "must be at most reconnect_max_s ({max}, the default), got {min}"
        ))),
        (None, None) => Ok(()),
    }
}

/// A `test:` source's frame size is known: its pixel regions must fit it.
fn regions_in_known_frame(s: &StreamConfig, items: &[Value<'_>]) -> Result<(), ConfigError> {
    if !matches!(s.source, SourceKind::Test(_)) {
        return Ok(());
    }
    let (w, h) = super::TEST_FRAME;
    for (r, item) in s.regions.iter().zip(items) {
        if let Err(why) = r.rect.crop(w, h) {
            let at = item.entries().and_then(|t| t.get("rect"));
            return Err(at.as_ref().unwrap_or(item).error(format!(
                "outside the frame: {why} (test: sources are {w}x{h})"
            )));
        }
    }
    Ok(())
}

/// Names are unique among `items` (the tables they come from, in order); the error
/// points at the second use and calls the name a `what` name (`stream`, `region`).
pub(super) fn unique_names<'n>(
    names: impl Iterator<Item = &'n str>,
    items: &[Value<'_>],
    what: &str,
) -> Result<(), ConfigError> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (name, item) in names.zip(items) {
        if let Some(first) = seen.insert(name, &item.key) {
            let at = item.entries().and_then(|t| t.get("name"));
            return Err(at.as_ref().unwrap_or(item).error(format!(
                "duplicate {what} name `{name}`; {first} already uses it"
            )));
        }
    }
    Ok(())
}
