//! The effective configuration: every key with its value after defaults, as
//! TOML (`print-config --effective`) or JSON (`/api/config`). Secrets show as
//! their `${…}` references, inline passwords as `***`, and the user and
//! password in URIs as `***` unless written as references.

use std::fmt::Write as _;
use std::path::Path;

use toml::Value;

use super::source::redact_userinfo;
use super::{Config, MqttPassword, StreamConfig};

/// One table of the effective configuration, its keys in reference-config order.
struct Table {
    /// `runtime`, `stream`, …
    name: &'static str,
    /// True for an entry of an array of tables (`[[stream]]`).
    array: bool,
    /// The keys and their values.
    entries: Vec<(&'static str, Value)>,
}

/// The effective configuration, ready to print.
pub struct Effective {
    /// The tables in reference-config order.
    tables: Vec<Table>,
}

/// A path as a TOML string.
fn path(p: &Path) -> Value {
    Value::String(p.display().to_string())
}

/// A count as a TOML integer.
fn int(n: impl TryInto<i64>) -> Value {
    Value::Integer(n.try_into().unwrap_or(i64::MAX))
}

/// A `uri` or `pipeline` as it may be shown.
fn shown(text: &str) -> Value {
    Value::String(redact_userinfo(text))
}

impl Config {
    /// The effective configuration (defaults filled in, secrets hidden).
    pub fn effective(&self) -> Effective {
        let rt = &self.runtime;
        let mut runtime = Vec::new();
        if let Some(lib) = &rt.onnxruntime {
            runtime.push(("onnxruntime", path(lib)));
        }
        let providers = rt.providers.iter().map(|p| p.as_str().into()).collect();
        runtime.extend([
            ("providers", Value::Array(providers)),
            ("intra_threads", int(rt.intra_threads)),
            ("sessions", int(rt.sessions)),
            ("max_batch", int(rt.max_batch)),
            ("allow_spinning", rt.allow_spinning.into()),
            ("cpu_arena", rt.cpu_arena.into()),
            ("inference_stall_s", rt.inference_stall_s.into()),
            ("stream_nice", int(rt.stream_nice)),
        ]);
        let sm = &self.smoothing;
        let out = &self.output;
        let mut output = vec![
            ("socket", path(&out.socket)),
            ("socket_mode", format!("{:04o}", out.socket_mode).into()),
        ];
        if let Some(g) = &out.socket_group {
            output.push(("socket_group", g.as_str().into()));
        }
        output.extend([
            ("stdout", out.stdout.into()),
            ("per_frame", out.per_frame.into()),
            ("subscriber_buffer", int(out.subscriber_buffer)),
        ]);
        let mut tables = vec![table("runtime", runtime)];
        tables.extend(models(&self.models));
        tables.extend([
            table(
                "smoothing",
                vec![
                    ("method", sm.method.as_str().into()),
                    ("window", int(sm.window)),
                    ("stride", int(sm.stride)),
                    ("threshold", f64::from(sm.threshold).into()),
                    ("confirm", int(sm.confirm)),
                    ("top_k", int(sm.top_k)),
                ],
            ),
            table("output", output),
        ]);
        for s in &self.streams {
            tables.push(stream(s));
            tables.extend(s.regions.iter().map(region));
        }
        tables.extend(self.mqtt.as_ref().map(mqtt));
        if let Some(h) = &self.http {
            tables.push(table("http", vec![("listen", h.listen.to_string().into())]));
        }
        if let Some(r) = &self.record {
            let labels = r.labels.iter().map(|l| l.as_str().into()).collect();
            tables.push(table(
                "record",
                vec![
                    ("dir", path(&r.dir)),
                    ("pre_s", r.pre_s.into()),
                    ("post_s", r.post_s.into()),
                    ("labels", Value::Array(labels)),
                    ("max_age_days", r.max_age_days.into()),
                    ("max_bytes", int(r.max_bytes)),
                    ("min_free_bytes", int(r.min_free_bytes)),
                ],
            ));
        }
        Effective { tables }
    }
}

/// A plain table.
fn table(name: &'static str, entries: Vec<(&'static str, Value)>) -> Table {
    Table {
        name,
        array: false,
        entries,
    }
}

/// `[model]` for the one model named `default` (as most files have it), else `[[model]]`s.
fn models(models: &[super::ModelConfig]) -> Vec<Table> {
    if let [m] = models {
        if m.name == super::DEFAULT_MODEL {
            return vec![table("model", vec![("path", path(&m.path))])];
        }
    }
    let entry = |m: &super::ModelConfig| Table {
        name: "model",
        array: true,
        entries: vec![("name", m.name.as_str().into()), ("path", path(&m.path))],
    };
    models.iter().map(entry).collect()
}

/// One `[[stream]]`.
fn stream(s: &StreamConfig) -> Table {
    let mut entries = vec![("name", s.name.as_str().into())];
    if let Some(uri) = &s.uri {
        entries.push(("uri", shown(uri)));
    }
    if let Some(p) = &s.pipeline {
        entries.push(("pipeline", shown(p)));
    }
    entries.extend([
        ("sample_fps", s.sample_fps.into()),
        ("skip_unsampled", s.skip_unsampled.into()),
        ("rtsp_transport", s.rtsp_transport.as_str().into()),
        ("latency_ms", int(s.latency_ms)),
        ("loop", s.r#loop.into()),
        ("finite", s.finite.into()),
        ("record", s.record.into()),
        (
            "tags",
            Value::Table(
                s.tags
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
        ),
        ("stall_timeout_s", s.stall_timeout_s.into()),
        ("reconnect_min_s", s.reconnect_min_s.into()),
        ("reconnect_max_s", s.reconnect_max_s.into()),
        ("enabled", s.enabled.into()),
        ("model", s.model.as_str().into()),
    ]);
    Table {
        name: "stream",
        array: true,
        entries,
    }
}

/// One `[[stream.region]]` (of the stream before it).
fn region(r: &super::RegionConfig) -> Table {
    Table {
        name: REGION,
        array: true,
        entries: vec![
            ("name", r.name.as_str().into()),
            ("rect", r.rect.to_toml()),
            ("model", r.model.as_str().into()),
        ],
    }
}

/// The name of a region's table, nested in the stream before it.
const REGION: &str = "stream.region";

/// `[mqtt]`.
fn mqtt(m: &super::MqttConfig) -> Table {
    let mut entries: Vec<(&'static str, Value)> = vec![
        ("url", m.url.as_str().into()),
        ("client_id", m.client_id.as_str().into()),
        ("topic_prefix", m.topic_prefix.as_str().into()),
        ("qos", int(m.qos)),
    ];
    if let Some(user) = m.username_reference.as_ref().or(m.username.as_ref()) {
        entries.push(("username", user.as_str().into()));
    }
    match &m.password {
        Some(MqttPassword::Inline(pw)) => entries.push(("password", pw.shown().into())),
        Some(MqttPassword::File(p)) => entries.push(("password_file", path(p))),
        None => {}
    }
    for (key, file) in [
        ("ca_file", &m.ca_file),
        ("cert_file", &m.cert_file),
        ("key_file", &m.key_file),
    ] {
        if let Some(f) = file {
            entries.push((key, path(f)));
        }
    }
    entries.extend([
        ("keep_alive_s", int(m.keep_alive_s)),
        ("queue", int(m.queue)),
        ("discovery", m.discovery.into()),
        ("discovery_prefix", m.discovery_prefix.as_str().into()),
        ("stats_interval_s", int(m.stats_interval_s)),
        ("commands", m.commands.into()),
    ]);
    table("mqtt", entries)
}

impl Effective {
    /// As a TOML document.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        for (i, t) in self.tables.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let _ = match t.array {
                true => writeln!(out, "[[{}]]", t.name),
                false => writeln!(out, "[{}]", t.name),
            };
            for (key, value) in &t.entries {
                let _ = writeln!(out, "{key} = {value}");
            }
        }
        out
    }

    /// As a JSON object: one object per table, `stream` an array of them.
    pub fn to_json(&self) -> serde_json::Value {
        let mut root = serde_json::Map::new();
        for t in &self.tables {
            let obj: serde_json::Map<String, serde_json::Value> = t
                .entries
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::to_value(v).unwrap_or_default()))
                .collect();
            if t.name == REGION {
                let last = root
                    .get_mut("stream")
                    .and_then(|s| s.as_array_mut())
                    .and_then(|s| s.last_mut())
                    .and_then(|s| s.as_object_mut());
                if let Some(stream) = last {
                    let list = stream
                        .entry("region")
                        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
                    if let serde_json::Value::Array(items) = list {
                        items.push(obj.into());
                    }
                }
            } else if t.array {
                let list = root
                    .entry(t.name)
                    .or_insert_with(|| serde_json::Value::Array(Vec::new()));
                if let serde_json::Value::Array(items) = list {
                    items.push(obj.into());
                }
            } else {
                root.insert(t.name.to_string(), obj.into());
            }
        }
        root.into()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::parse;

    #[test]
    fn effective_config_reparses_to_the_same_config() {
        let text = "[model]\npath = \"m.onnx\"\n\n[[stream]]\nname = \"a\"\nuri = \"test:ball\"\n\
                    [[stream]]\nname = \"b\"\npipeline = \"videotestsrc\"\nenabled = false\n\
                    tags = { site = \"hall\", camera = \"north 2\" }\n\
                    [[stream.region]]\nname = \"left\"\nrect = [0.0, 0.0, 0.5, 1.0]\n\
                    [[stream.region]]\nname = \"px\"\nrect = [0, 0, 64, 48]\n\
                    [mqtt]\nusername = \"u\"\npassword_file = \"pw\"\n[http]\n\
                    [record]\nlabels = [\"falling\"]\n";
        let c = parse(text).unwrap();
        let printed = c.effective().to_toml();
        assert!(printed.contains("max_batch = 4\n"), "{printed}");
        assert!(printed.contains("socket_mode = \"0660\"\n"), "{printed}");
        assert_eq!(parse(&printed).unwrap(), c, "{printed}");
        let json = c.effective().to_json();
        assert_eq!(json["stream"][1]["enabled"], false);
        assert_eq!(json["mqtt"]["password_file"], "/etc/actiond/pw");
        assert_eq!(json["http"]["listen"], "127.0.0.1:9464");
        assert_eq!(json["record"]["labels"][0], "falling");
        assert_eq!(json["stream"][0]["record"], true);
        assert_eq!(json["stream"][1]["tags"]["camera"], "north 2");
        assert_eq!(json["stream"][1]["region"][0]["name"], "left");
        assert_eq!(json["stream"][1]["region"][1]["rect"][2], 64);
        assert!(
            printed.contains("[[stream.region]]\nname = \"left\"\nrect = [0.0, 0.0, 0.5, 1.0]\n"),
            "{printed}"
        );
    }

    #[test]
    fn secrets_show_as_references_or_stars() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "hunter2\n").unwrap();
        let pw = dir.path().join("pw").display().to_string();
        let text = format!(
            "[model]\npath = \"m.onnx\"\n\n[[stream]]\nname = \"a\"\n\
             uri = \"rtsp://admin:${{file:{pw}}}@cam/x\"\n\
             [[stream]]\nname = \"b\"\nuri = \"rtsp://bob:inline-pw@cam/y\"\n\
             [mqtt]\nusername = \"${{file:{pw}}}\"\npassword = \"inline-pw\"\n"
        );
        let c = parse(&text).unwrap();
        let printed = c.effective().to_toml();
        let json = c.effective().to_json().to_string();
        for shown in [&printed, &json] {
            assert!(
                !shown.contains("hunter2") && !shown.contains("inline-pw"),
                "{shown}"
            );
            assert!(
                !shown.contains("bob") && !shown.contains("admin"),
                "{shown}"
            );
        }
        assert!(
            printed.contains(&format!("uri = \"rtsp://***:${{file:{pw}}}@cam/x\"")),
            "{printed}"
        );
        assert!(printed.contains("uri = \"rtsp://***@cam/y\""), "{printed}");
        assert!(
            printed.contains(&format!("username = \"${{file:{pw}}}\"")),
            "{printed}"
        );
        assert!(printed.contains("password = \"***\""), "{printed}");
    }
}
