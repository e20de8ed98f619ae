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
    let manifest_json = match manifest {
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
                    "layout": match i.layout {
                        crate::model::preprocess::Layout::Nchw => "NCHW",
                        crate::model::preprocess::Layout::Nhwc => "NHWC",
                    },
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
            })
        }
    };
    let port_json = |p: &Port| {
        json!({
            "name": p.name,
            "type": p.elem_type,
            "shape": shape_json(p),
            "layout": layout_guess(p),
        })
    };
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
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut out = String::new();
    let mut line = |k: &str, val: String| out.push_str(&format!("{k:<14}{val}\n"));
    line("model", s(&v["path"]));
    line(
        "format",
        format!(
            "ONNX IR {}, opsets {}, {} bytes",
            v["ir_version"],
            v["opsets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| format!("{} {}", s(&o["domain"]), o["version"]))
                .collect::<Vec<_>>()
                .join(", "),
            v["size_bytes"]
        ),
    );
    if !s(&v["producer"]).is_empty() {
        line("producer", s(&v["producer"]));
    }
    for (title, key) in [("input", "inputs"), ("output", "outputs")] {
        for p in v[key].as_array().into_iter().flatten() {
            let dims: Vec<String> = p["shape"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|d| match d {
                            Value::Null => "?".to_string(),
                            other => s(other),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let layout = p["layout"]
                .as_str()
                .map(|l| format!("  (looks {l})"))
                .unwrap_or_default();
            line(
                title,
                format!(
                    "{}  {} [{}]{layout}",
                    s(&p["name"]),
                    s(&p["type"]),
                    dims.join(", ")
                ),
            );
        }
    }
    let params = v["parameters"].as_u64().unwrap_or(0);
    line("parameters", format!("{} ({params})", millions(params)));
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
    line("multiply-adds", mac_text);
    line(
        "operators",
        format!(
            "{} nodes: {}",
            v["nodes"],
            v["operators"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let meta = v["metadata"].as_object().cloned().unwrap_or_default();
    if meta.is_empty() {
        line("metadata", "(none)".into());
    }
    for (k, val) in &meta {
        let text = s(val);
        let shown = if text.contains('\n') || text.len() > 80 {
            format!("({} bytes of text)", text.len())
        } else {
            text
        };
        line("metadata", format!("{k} = {shown}"));
    }
    let man = &v["manifest"];
    if man["found"] != true {
        line(
            "manifest",
            "none (put model.toml beside the model, or the TOML in ONNX metadata `actiond.manifest`)"
                .into(),
        );
    } else if let Some(e) = man["error"].as_str() {
        line("manifest", format!("{}: INVALID: {e}", s(&man["source"])));
    } else {
        line("manifest", s(&man["source"]));
        line("  name", s(&man["name"]));
        let labels: Vec<String> = man["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .map(&s)
            .collect();
        line(
            "  labels",
            format!("{} ({})", labels.len(), labels.join(", ")),
        );
        let i = &man["input"];
        line(
            "  input",
            format!(
                "{} {} {}x{} {}, resize {}, x = (pixel / {} - {}) / {}",
                s(&i["name"]),
                s(&i["layout"]),
                i["width"],
                i["height"],
                s(&i["channel_order"]),
                s(&i["resize"]).to_lowercase(),
                i["scale"],
                i["mean"],
                i["std"]
            ),
        );
        line(
            "  output",
            format!(
                "{} ({})",
                s(&man["output"]["name"]),
                s(&man["output"]["kind"])
            ),
        );
    }
    out
}
