//! `actiond inspect-model PATH`: what an ONNX model declares and what its
//! manifest says, read from the file alone (no ONNX Runtime needed).

use std::path::Path;

use serde_json::{json, Value};

use crate::model::{manifest, Manifest};
use crate::tools::onnx::{self, Dim, Port};

fn shape_json(p: &Port) -> Value {
    match &p.shape {
        Some(dims) => Value::Array(
            dims.iter()
                .map(|d| match d {
                    Dim::Fixed(n) => json!(n),
                    Dim::Symbol(s) => json!(s),
                    Dim::Unknown => Value::Null,
                })
                .collect(),
        ),
        None => Value::Null,
    }
}

/// Guesses the layout of an image input from its shape: `NCHW` when dimension 1 is 3,
/// `NHWC` when the last is 3.
fn layout_guess(p: &Port) -> Option<&'static str> {
    let dims = p.shape.as_ref()?;
    if dims.len() != 4 {
        return None;
    }
    match (&dims[1], &dims[3]) {
        (Dim::Fixed(3), _) => Some("NCHW"),
        (_, Dim::Fixed(3)) => Some("NHWC"),
        _ => None,
    }
}

/// The manifest (beside the model or in its metadata) as JSON: where it was
/// found and what it says, or why it is invalid.
fn manifest_json(path: &Path, metadata: &serde_json::Map<String, Value>) -> Value {
    let (manifest_source, manifest) = match Manifest::beside(path) {
        Some(p) => (Some(p.display().to_string()), Some(Manifest::load(&p))),
        None => match metadata.get(manifest::METADATA_KEY).and_then(Value::as_str) {
            Some(text) => (
                Some(format!("ONNX metadata `{}`", manifest::METADATA_KEY)),
                Some(Manifest::parse(
                    text,
                    &format!("{} metadata", path.display()),
                    path.parent().unwrap_or(Path::new(".")),
                )),
            ),
            None => (None, None),
        },
    };
    match manifest {
        None => json!({"found": false}),
        Some(Err(e)) => json!({"found": true, "source": manifest_source, "error": e.to_string()}),
        Some(Ok(m)) => {
            let i = &m.input;
            json!({
                "found": true,
                "source": manifest_source,
                "name": m.name,
                "labels": m.labels,
                "input": {
                    "name": i.name,
                    "layout": i.layout.name(),
                    "frames": i.frames,
                    "frame_stride": i.layout.is_clip().then(|| m.frame_stride()),
                    "sample_fps": i.sample_fps,
                    "width": i.width,
                    "height": i.height,
                    "channel_order": format!("{:?}", i.channel_order).to_uppercase(),
                    "resize": format!("{:?}", i.resize),
                    "scale": i.scale,
                    "mean": i.mean,
                    "std": i.std,
                },
                "output": {
                    "name": m.output.name,
                    "kind": format!("{:?}", m.output.kind).to_lowercase(),
                },
                "kind": m.kind().name(),
                "states": m.states.iter().map(|p| json!({"input": p.input, "output": p.output})).collect::<Vec<_>>(),
            })
        }
    }
}

/// An input or output as JSON.
fn port_json(p: &Port) -> Value {
    json!({
        "name": p.name,
        "type": p.elem_type,
        "shape": shape_json(p),
        "layout": layout_guess(p),
    })
}

/// Everything `inspect-model` reports, as JSON.
pub fn inspect(path: &Path) -> anyhow::Result<Value> {
    let model = onnx::load(path)?;
    let graph = model.graph.as_ref().expect("load checks the graph");
    let (inputs, outputs) = onnx::ports(&model);
    let params = onnx::parameter_count(&model);
    let macs = onnx::count_macs(&model);
    let metadata: serde_json::Map<String, Value> = model
        .metadata_props
        .iter()
        .map(|e| (e.key.clone(), json!(e.value)))
        .collect();
    let mut ops: std::collections::BTreeMap<&str, usize> = Default::default();
    for n in &graph.node {
        *ops.entry(n.op_type.as_str()).or_default() += 1;
    }

    let manifest_json = manifest_json(path, &metadata);
    Ok(json!({
        "path": path.display().to_string(),
        "size_bytes": std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        "ir_version": model.ir_version,
        "opsets": model.opset_import.iter().map(|o| json!({
            "domain": if o.domain.is_empty() { "ai.onnx" } else { o.domain.as_str() },
            "version": o.version,
        })).collect::<Vec<_>>(),
        "producer": format!("{} {}", model.producer_name, model.producer_version).trim().to_string(),
        "graph": graph.name,
        "inputs": inputs.iter().map(port_json).collect::<Vec<_>>(),
        "outputs": outputs.iter().map(port_json).collect::<Vec<_>>(),
        "nodes": graph.node.len(),
        "operators": ops,
        "parameters": params,
        "macs": {
            "per_frame": macs.macs,
            "counted_nodes": macs.counted,
            "uncounted_nodes": macs.uncounted,
            "unknown_operators": macs.unknown_ops,
            "complete": macs.uncounted.is_empty(),
        },
        "metadata": metadata,
        "manifest": manifest_json,
    }))
}

fn millions(n: u64) -> String {
    format!("{:.2} M", n as f64 / 1e6)
}

/// The readable report.
pub fn render(v: &Value) -> String {
    let mut out = Lines(String::new());
    out.header(v);
    out.ports(v);
    out.figures(v);
    out.metadata(&v["metadata"]);
    out.manifest(&v["manifest"]);
    out.0
}

/// A JSON value as text: strings without quotes.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `items` formatted by `f` and joined with ", ".
fn list(items: &Value, f: impl Fn(&Value) -> String) -> String {
    let items = items.as_array().into_iter().flatten();
    items.map(f).collect::<Vec<_>>().join(", ")
}

/// The report being written, one `key  value` line at a time.
struct Lines(String);

impl Lines {
    fn line(&mut self, k: &str, val: String) {
        self.0.push_str(&format!("{k:<14}{val}\n"));
    }

    /// Path, format and producer.
    fn header(&mut self, v: &Value) {
        self.line("model", text(&v["path"]));
        let opsets = list(&v["opsets"], |o| {
            format!("{} {}", text(&o["domain"]), o["version"])
        });
        let format = format!(
            "ONNX IR {}, opsets {opsets}, {} bytes",
            v["ir_version"], v["size_bytes"]
        );
        self.line("format", format);
        if !text(&v["producer"]).is_empty() {
            self.line("producer", text(&v["producer"]));
        }
    }

    /// Inputs and outputs with their shapes.
    fn ports(&mut self, v: &Value) {
        for (title, key) in [("input", "inputs"), ("output", "outputs")] {
            for p in v[key].as_array().into_iter().flatten() {
                let dims = list(&p["shape"], |d| match d {
                    Value::Null => "?".to_string(),
                    other => text(other),
                });
                let layout = p["layout"]
                    .as_str()
                    .map(|l| format!("  (looks {l})"))
                    .unwrap_or_default();
                let port = format!(
                    "{}  {} [{dims}]{layout}",
                    text(&p["name"]),
                    text(&p["type"])
                );
                self.line(title, port);
            }
        }
    }

    /// Parameters, multiply-adds and operators.
    fn figures(&mut self, v: &Value) {
        let params = v["parameters"].as_u64().unwrap_or(0);
        self.line("parameters", format!("{} ({params})", millions(params)));
        let m = &v["macs"];
        let macs = m["per_frame"].as_u64().unwrap_or(0);
        let mut mac_text = format!(
            "{} per frame ({macs}; Conv/Gemm/MatMul, batch 1)",
            millions(macs)
        );
        if m["complete"] != true {
            mac_text.push_str(&format!(
                "; incomplete: shapes unknown for {}",
                m["uncounted_nodes"]
            ));
        }
        self.line("multiply-adds", mac_text);
        let ops = v["operators"].as_object().into_iter().flatten();
        let ops: Vec<String> = ops.map(|(k, n)| format!("{k} {n}")).collect();
        self.line(
            "operators",
            format!("{} nodes: {}", v["nodes"], ops.join(", ")),
        );
    }

    /// Metadata entries, long text only by its size.
    fn metadata(&mut self, meta: &Value) {
        let meta = meta.as_object().cloned().unwrap_or_default();
        if meta.is_empty() {
            self.line("metadata", "(none)".into());
        }
        for (k, val) in &meta {
            let t = text(val);
            let shown = if t.contains('\n') || t.len() > 80 {
                format!("({} bytes of text)", t.len())
            } else {
                t
            };
            self.line("metadata", format!("{k} = {shown}"));
        }
    }

    /// Where the manifest was found and what it says, or why it is invalid.
    fn manifest(&mut self, man: &Value) {
        if man["found"] != true {
            self.line(
                "manifest",
                "none (put model.toml beside the model, or the TOML in ONNX metadata `actiond.manifest`)"
                    .into(),
            );
            return;
        }
        if let Some(e) = man["error"].as_str() {
            self.line(
                "manifest",
                format!("{}: INVALID: {e}", text(&man["source"])),
            );
            return;
        }
        self.line("manifest", text(&man["source"]));
        self.line("  name", text(&man["name"]));
        let count = man["labels"].as_array().map_or(0, Vec::len);
        self.line(
            "  labels",
            format!("{count} ({})", list(&man["labels"], text)),
        );
        let i = &man["input"];
        let input = format!(
            "{} {} {}x{} {}, resize {}, x = (pixel / {} - {}) / {}",
            text(&i["name"]),
            text(&i["layout"]),
            i["width"],
            i["height"],
            text(&i["channel_order"]),
            text(&i["resize"]).to_lowercase(),
            i["scale"],
            i["mean"],
            i["std"]
        );
        self.line("  input", input);
        if let Some(fps) = i["sample_fps"].as_f64() {
            self.line(
                "  trained at",
                format!("{fps} fps (set the streams' sample_fps to it)"),
            );
        }
        let o = &man["output"];
        self.line(
            "  output",
            format!("{} ({})", text(&o["name"]), text(&o["kind"])),
        );
        self.line("  kind", kind_line(man));
    }
}

/// The model kind with its T (clip) or state pairs (stateful).
fn kind_line(man: &Value) -> String {
    let i = &man["input"];
    match man["kind"].as_str().unwrap_or("frame") {
        "clip" => format!(
            "clip, T = {} frames, every {} sampled frame(s)",
            i["frames"], i["frame_stride"]
        ),
        "stateful" => format!(
            "stateful, {}",
            list(&man["states"], |p| format!(
                "{} <- {}",
                text(&p["input"]),
                text(&p["output"])
            ))
        ),
        k => k.to_string(),
    }
}
